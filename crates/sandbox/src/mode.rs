//! The file-access mode, named as the awslabs server names it.

use std::fmt;

/// The environment variable that chooses the mode (the awslabs server's name for it).
pub const FILE_ACCESS_ENV: &str = "AWS_API_MCP_ALLOW_UNRESTRICTED_LOCAL_FILE_ACCESS";

/// How far local file access reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileAccessMode {
    /// Only files beneath the working directory, resolved by the kernel (`openat2` with
    /// `RESOLVE_BENEATH`), race-free. The default.
    #[default]
    Workdir,
    /// No local file at all; S3 URIs and `-` remain.
    NoAccess,
    /// Any path; relative paths are relative to the working directory.
    Unrestricted,
}

impl FileAccessMode {
    /// Parses the value of [`FILE_ACCESS_ENV`]. `workdir` (also `false`, `no`, `0`), `no-access`,
    /// `unrestricted` (also `true`, `yes`, `1`), case-insensitive, surrounding blanks ignored; an
    /// empty value counts as unset (the default, `workdir`). Unlike the awslabs server, any other
    /// value is an error rather than a silent `workdir`: a typo must not change the security mode
    /// unnoticed.
    pub fn from_env_value(value: &str) -> Result<FileAccessMode, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "workdir" | "false" | "no" | "0" => Ok(FileAccessMode::Workdir),
            "no-access" => Ok(FileAccessMode::NoAccess),
            "unrestricted" | "true" | "yes" | "1" => Ok(FileAccessMode::Unrestricted),
            _ => Err(format!(
                "{FILE_ACCESS_ENV}={:?} is not a file access mode; use workdir (the default; also false/no/0), no-access, \
                 or unrestricted (also true/yes/1)",
                value.chars().take(64).collect::<String>()
            )),
        }
    }

    /// The mode from the environment: [`FILE_ACCESS_ENV`] parsed by [`Self::from_env_value`];
    /// unset means `workdir`; a value that is not UTF-8 is an error.
    pub fn from_env() -> Result<FileAccessMode, String> {
        match std::env::var(FILE_ACCESS_ENV) {
            Ok(v) => FileAccessMode::from_env_value(&v),
            Err(std::env::VarError::NotPresent) => Ok(FileAccessMode::Workdir),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(format!("{FILE_ACCESS_ENV} is not valid UTF-8"))
            }
        }
    }

    /// The canonical name: `workdir`, `no-access` or `unrestricted`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileAccessMode::Workdir => "workdir",
            FileAccessMode::NoAccess => "no-access",
            FileAccessMode::Unrestricted => "unrestricted",
        }
    }
}

impl fmt::Display for FileAccessMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        for (v, m) in [
            ("workdir", FileAccessMode::Workdir),
            ("WORKDIR", FileAccessMode::Workdir),
            ("false", FileAccessMode::Workdir),
            ("no", FileAccessMode::Workdir),
            ("0", FileAccessMode::Workdir),
            ("", FileAccessMode::Workdir),
            (" workdir ", FileAccessMode::Workdir),
            ("no-access", FileAccessMode::NoAccess),
            ("No-Access", FileAccessMode::NoAccess),
            ("unrestricted", FileAccessMode::Unrestricted),
            ("true", FileAccessMode::Unrestricted),
            ("TRUE", FileAccessMode::Unrestricted),
            ("yes", FileAccessMode::Unrestricted),
            ("1", FileAccessMode::Unrestricted),
        ] {
            assert_eq!(FileAccessMode::from_env_value(v), Ok(m), "{v:?}");
            assert_eq!(FileAccessMode::from_env_value(m.as_str()), Ok(m));
        }
    }

    #[test]
    fn unknown_values_are_errors() {
        for v in [
            "2",
            "on",
            "off",
            "noaccess",
            "no_access",
            "restricted",
            "work dir",
            "unrestricted!",
            "y",
            "n",
        ] {
            let e = FileAccessMode::from_env_value(v).expect_err(v);
            assert!(
                e.contains(FILE_ACCESS_ENV) && e.contains("no-access"),
                "{e}"
            );
        }
    }
}
