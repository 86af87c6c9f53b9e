//! Every service in the pack decodes, every shape reference resolves, and every CLI name we
//! derive is the one the pinned awscli uses (checked against its full command table).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use std::collections::{BTreeSet, HashMap};
use std::io::Read;

use portcullis_model::naming::ArgForm;
use portcullis_model::{ServiceModel, ShapeRef, models};

fn check_ref(model: &ServiceModel, r: &ShapeRef, what: &str, problems: &mut Vec<String>) {
    if model.shape(&r.shape).is_none() {
        problems.push(format!(
            "{}: {what} refers to missing shape {}",
            model.name, r.shape
        ));
    }
}

#[test]
fn every_service_decodes_and_every_shape_reference_resolves() {
    let models = models();
    let names: Vec<&str> = models.service_names().collect();
    assert!(
        names.len() >= 420,
        "only {} services in the pack",
        names.len()
    );
    let mut problems = Vec::new();
    let mut operations = 0;
    for name in &names {
        let model = models
            .service(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!model.operations.is_empty(), "{name} has no operations");
        for (op_name, op) in &model.operations {
            operations += 1;
            assert_eq!(&op.name, op_name);
            for r in op
                .input
                .iter()
                .chain(op.output.iter())
                .chain(op.errors.iter())
            {
                check_ref(&model, r, op_name, &mut problems);
            }
        }
        for shape_name in model.shape_names() {
            let Some(shape) = model.shape(shape_name) else {
                problems.push(format!("{name}: shape {shape_name} does not decode"));
                continue;
            };
            for r in shape
                .members
                .values()
                .chain(shape.member.iter())
                .chain(shape.key.iter())
                .chain(shape.value.iter())
            {
                check_ref(&model, r, shape_name, &mut problems);
            }
        }
        models
            .service_cli(name)
            .unwrap_or_else(|e| panic!("{name} cli: {e}"));
        models
            .paginators(name)
            .unwrap_or_else(|e| panic!("{name} paginators: {e}"));
        models
            .waiters(name)
            .unwrap_or_else(|e| panic!("{name} waiters: {e}"));
        assert!(
            models
                .endpoint_rules(name)
                .unwrap_or_else(|e| panic!("{name} rules: {e}"))
                .is_some(),
            "{name} has no endpoint rules"
        );
    }
    assert!(
        problems.is_empty(),
        "{} dangling references, first: {:?}",
        problems.len(),
        &problems[..problems.len().min(5)]
    );
    assert!(operations > 18_000, "only {operations} operations");
    for g in ["partitions", "retry", "sdk-default-configuration"] {
        models.global(g).unwrap_or_else(|e| panic!("{g}: {e}"));
    }
}

#[test]
fn operations_have_summaries() {
    let models = models();
    let s3 = models.service("s3").unwrap();
    let summary = s3
        .operation("ListBuckets")
        .and_then(|o| o.summary.as_deref())
        .unwrap();
    assert!(
        summary.starts_with("End of support notice") || summary.contains("bucket"),
        "{summary}"
    );
    let mut with = 0;
    let mut total = 0;
    for name in models.service_names() {
        for op in models.service(name).unwrap().operations.values() {
            total += 1;
            with += usize::from(op.summary.is_some());
            if let Some(s) = &op.summary {
                assert!(!s.contains('<'), "HTML left in {name}.{}: {s}", op.name);
                assert!(s.chars().count() <= 300);
            }
        }
    }
    assert!(
        with * 100 / total >= 95,
        "only {with} of {total} operations have a summary"
    );
}

/// The awscli command table, dumped by scripts/dump_awscli_table.py (gzip, JSON).
fn awscli_table() -> serde_json::Value {
    let gz = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/awscli-table.json.gz"
    ))
    .unwrap();
    // gzip: 10-byte header (no optional fields: written by Python's gzip.compress), deflate, 8-byte trailer.
    assert_eq!(&gz[..3], &[0x1f, 0x8b, 8]);
    assert_eq!(gz[3], 0, "unexpected gzip header flags");
    let raw = miniz_oxide::inflate::decompress_to_vec(&gz[10..gz.len() - 8]).unwrap();
    let mut s = String::new();
    raw.as_slice().read_to_string(&mut s).unwrap();
    serde_json::from_str(&s).unwrap()
}

#[test]
fn cli_names_match_the_pinned_awscli_exactly() {
    let models = models();
    let table = awscli_table();
    let commands = table["commands"].as_object().unwrap();
    assert_eq!(commands.len(), models.commands().len());
    let mut mismatches = Vec::new();
    let (mut ops_checked, mut args_checked) = (0, 0);
    for (cli_name, cmd) in commands {
        let ours = models
            .command(cli_name)
            .unwrap_or_else(|| panic!("command {cli_name} missing"));
        assert_eq!(
            ours.service.as_deref(),
            cmd["service"].as_str(),
            "{cli_name}"
        );
        let Some(service) = cmd["service"].as_str() else {
            continue;
        };
        let model = models.service(service).unwrap();
        let cli = models.service_cli(service).unwrap();
        let theirs = cmd["operations"].as_object().unwrap();
        let ours_by_name: HashMap<String, &str> = cli
            .by_cli_name
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str()))
            .collect();
        let their_names: BTreeSet<&str> = theirs.keys().map(String::as_str).collect();
        let our_names: BTreeSet<&str> = ours_by_name.keys().map(String::as_str).collect();
        if their_names != our_names {
            mismatches.push(format!(
                "{cli_name}: ops differ: ours-only {:?} theirs-only {:?}",
                our_names.difference(&their_names).collect::<Vec<_>>(),
                their_names.difference(&our_names).collect::<Vec<_>>()
            ));
            continue;
        }
        for (cli_op, op_rec) in theirs {
            ops_checked += 1;
            let op_name = ours_by_name[cli_op.as_str()];
            assert_eq!(op_rec["operation"].as_str(), Some(op_name));
            let op = model.operation(op_name).unwrap();
            let specs = models.cli_args(&model, &cli, cli_op, op);
            let mut expected: Vec<(String, String, ArgForm)> = Vec::new();
            for a in op_rec["args"].as_array().unwrap() {
                let Some(member) = a["member"].as_str() else {
                    continue;
                };
                if !model
                    .input_shape(op)
                    .is_some_and(|s| s.members.contains_key(member))
                {
                    continue; // bound to a nested member by a customization: a custom argument
                }
                let form = match a["boolean"].as_str() {
                    Some("positive") => ArgForm::SetTrue,
                    Some("negative") => ArgForm::SetFalse,
                    _ => ArgForm::Value,
                };
                expected.push((
                    a["name"].as_str().unwrap().to_string(),
                    member.to_string(),
                    form,
                ));
            }
            let got: Vec<(String, String, ArgForm)> = specs
                .iter()
                .map(|s| (s.name.clone(), s.member.clone(), s.form))
                .collect();
            args_checked += expected.len();
            let mut e_sorted = expected.clone();
            e_sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let mut g_sorted = got.clone();
            g_sorted.sort_by(|a, b| a.0.cmp(&b.0));
            if e_sorted != g_sorted {
                mismatches.push(format!(
                    "{cli_name} {cli_op}: awscli {e_sorted:?} ours {g_sorted:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:#?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
    assert!(ops_checked > 18_000, "{ops_checked}");
    assert!(args_checked > 60_000, "{args_checked}");
}
