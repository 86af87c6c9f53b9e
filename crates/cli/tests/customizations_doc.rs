//! The migration guide lists every refused customization with what to run instead, as the
//! refusal says it: the guide's table and `CUSTOMIZATION_ALTERNATIVES` cannot drift apart, and
//! each customization is refused with its alternative.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use portcullis_cli::parse::CUSTOMIZATION_ALTERNATIVES;
use portcullis_cli::{DenyAll, Parser};

#[test]
fn every_refused_customization_names_its_alternative_in_the_guide_and_the_refusal() {
    let guide = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/migrating-from-awslabs.md"),
    )
    .unwrap();
    let parser = Parser::new(&DenyAll);
    for (cmd, op, alt) in CUSTOMIZATION_ALTERNATIVES {
        let row = format!("| `aws {cmd} {op}` | {alt} |");
        assert!(guide.contains(&row), "the guide lacks the row {row}");
        let refused = parser
            .parse(&format!("aws {cmd} {op}"))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("customization") && refused.contains(alt),
            "`aws {cmd} {op}`: {refused}"
        );
    }
}
