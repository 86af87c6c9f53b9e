//! Every operation of every service the CLI offers: its skeleton generates, and feeding that
//! skeleton back through --cli-input-json parses or is refused with problems — never a panic.
//! This walks all shapes of all 18,000+ operations through unpacking and validation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches fail loudly by design

use portcullis_cli::{Command, DenyAll, Parser};

#[test]
fn every_operation_round_trips_its_skeleton() {
    let models = portcullis_model::models();
    let parser = Parser::new(&DenyAll);
    let (mut ops, mut parsed, mut refused, mut by_design) = (0, 0, 0, 0);
    for (cli_name, cmd) in models.commands() {
        let Some(service) = &cmd.service else {
            continue;
        };
        let cli = models.service_cli(service).expect("cli");
        for cli_op in cli.by_cli_name.keys() {
            ops += 1;
            let command = format!("aws {cli_name} {cli_op} --generate-cli-skeleton");
            let skeleton = match parser.parse(&command) {
                Ok(Command::Skeleton { skeleton, .. }) => skeleton,
                // Operations the AWS CLI completes by starting a local program are refused outright.
                Err(e) if e.to_string().contains("Portcullis starts no programs") => {
                    by_design += 1;
                    continue;
                }
                other => panic!("{command}: {other:?}"),
            };
            let json = serde_json::to_string(&skeleton).expect("json");
            let words = vec![
                "aws".to_string(),
                cli_name.clone(),
                cli_op.clone(),
                "--cli-input-json".to_string(),
                json,
            ];
            match parser.parse_words(&words) {
                Ok(Command::Call(call)) => {
                    assert_eq!(&call.service, service);
                    parsed += 1;
                }
                Ok(other) => panic!("{command}: {other:?}"),
                Err(e) => {
                    assert!(!e.problems.is_empty());
                    refused += 1;
                }
            }
        }
    }
    assert!(ops > 18_000, "{ops}");
    assert_eq!(by_design, 2, "ecs execute-command and ssm start-session");
    // Skeletons hold placeholder values (empty strings, zeros) that many constraints refuse; what
    // matters is that both paths are exercised at scale.
    assert!(
        parsed > 1_000 && refused > 1_000,
        "parsed {parsed}, refused {refused}"
    );
    eprintln!(
        "{ops} operations: {parsed} skeletons parse as given, {refused} refused by validation"
    );
}
