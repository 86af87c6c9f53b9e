//! Problems found in a command, reported all at once in wording an agent can act on.

use serde::Serialize;

/// What kind of problem a command has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Shell syntax (pipes, redirections, substitutions...) or broken quoting.
    ShellSyntax,
    /// Not an `aws ...` command.
    NotAws,
    /// A bound (length, words, nesting) was exceeded.
    TooLarge,
    UnknownService,
    UnknownOperation,
    UnknownOption,
    MissingValue,
    DuplicateOption,
    MissingRequired,
    /// A value of the wrong type, or a value that does not parse (JSON, shorthand, number).
    InvalidType,
    /// A well-typed value outside what the model allows (enum, range, length, pattern).
    InvalidValue,
    /// A `file://` / `fileb://` value that cannot be read (missing, refused by the path policy).
    BadFile,
    /// Something the CLI has that Portcullis does not run (yet), e.g. `aws configure`.
    Unsupported,
}

impl ProblemKind {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::ShellSyntax => "shell_syntax",
            ProblemKind::NotAws => "not_aws",
            ProblemKind::TooLarge => "too_large",
            ProblemKind::UnknownService => "unknown_service",
            ProblemKind::UnknownOperation => "unknown_operation",
            ProblemKind::UnknownOption => "unknown_option",
            ProblemKind::MissingValue => "missing_value",
            ProblemKind::DuplicateOption => "duplicate_option",
            ProblemKind::MissingRequired => "missing_required",
            ProblemKind::InvalidType => "invalid_type",
            ProblemKind::InvalidValue => "invalid_value",
            ProblemKind::BadFile => "bad_file",
            ProblemKind::Unsupported => "unsupported",
        }
    }
}

/// One problem, with where it is and what might have been meant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    /// Where in the request: `--filters[0].Values`, `--cli-input-json.Bucket`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Close matches for an unknown name ("did you mean").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
}

impl Problem {
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            path: None,
            suggestions: Vec::new(),
        }
    }

    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn suggest(mut self, suggestions: Vec<String>) -> Self {
        self.suggestions = suggestions;
        self
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{path}: ")?;
        }
        f.write_str(&self.message)?;
        match self.suggestions.as_slice() {
            [] => Ok(()),
            [one] => write!(f, " (did you mean {one}?)"),
            many => write!(f, " (did you mean one of: {}?)", many.join(", ")),
        }
    }
}

/// Every problem found in one command.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
pub struct CommandError {
    pub problems: Vec<Problem>,
}

impl CommandError {
    pub fn one(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }

    /// The kind of the first problem (the one that matters most).
    pub fn kind(&self) -> Option<ProblemKind> {
        self.problems.first().map(|p| p.kind)
    }

    pub fn has(&self, kind: ProblemKind) -> bool {
        self.problems.iter().any(|p| p.kind == kind)
    }
}

impl From<Problem> for CommandError {
    fn from(p: Problem) -> Self {
        Self::one(p)
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problems.as_slice() {
            [] => f.write_str("invalid command"),
            [one] => write!(f, "{one}"),
            many => {
                write!(f, "{} problems in the command:", many.len())?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}

/// Up to three known names closest to `wanted` (edit distance, then common prefix).
pub fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted = wanted.to_ascii_lowercase();
    let limit = (wanted.chars().count() / 3).clamp(2, 5);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .filter_map(|k| {
            let d = strsim::damerau_levenshtein(&wanted, k);
            let contains =
                k.len() > 3 && wanted.len() > 3 && (k.contains(&*wanted) || wanted.contains(k));
            (d <= limit || contains).then_some((if contains { d.min(limit) } else { d }, k))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(3)
        .map(|(_, k)| k.to_string())
        .collect()
}
