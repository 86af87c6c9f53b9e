//! How the AWS CLI's `aws s3` commands show dates, sizes and local paths.

use serde_json::Value as Json;

use crate::protocol::timestamp::{Timestamp, TimestampFormat};

/// `2024-05-01 12:34:56` (UTC; the AWS CLI uses the machine's local zone), padded to 19.
pub fn date(v: &Json) -> String {
    let ts = match v {
        Json::String(s) => Timestamp::parse(s),
        Json::Number(n) => Timestamp::from_epoch_number(n),
        _ => None,
    };
    match ts {
        Some(t) => {
            let iso = t.truncated().format(TimestampFormat::Iso8601);
            let text: String = iso
                .chars()
                .take(19)
                .map(|c| if c == 'T' { ' ' } else { c })
                .collect();
            format!("{text:<19}")
        }
        None => format!("{:<19}", ""),
    }
}

/// The CLI's `human_readable_size`: `1 Byte`, `10 Bytes`, `1.0 KiB`, `3.5 MiB`.
pub fn human_size(bytes: u64) -> String {
    const SUFFIXES: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let v = bytes as f64;
    if bytes == 1 {
        return "1 Byte".into();
    }
    if bytes < 1024 {
        return format!("{bytes} Bytes");
    }
    for (i, suffix) in SUFFIXES.iter().enumerate() {
        let unit = 1024f64.powi(i as i32 + 2);
        if ((v / unit) * 1024.0).round_ties_even() < 1024.0 {
            return format!("{:.1} {suffix}", 1024.0 * v / unit);
        }
    }
    // Python's version returns None past EiB (and prints "None").
    "None".into()
}

/// A local path as the CLI prints it: relative to the working directory, with its directory
/// part shown (`./file` for a file in the working directory), `.` and `..` resolved lexically.
pub fn local(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !absolute {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    if absolute {
        return format!("/{joined}");
    }
    if parts.len() <= 1 {
        format!("./{joined}")
    } else {
        joined
    }
}

/// `dir` + `/` + `rel`, without doubling the separator.
pub fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else if dir.ends_with('/') {
        format!("{dir}{rel}")
    } else {
        format!("{dir}/{rel}")
    }
}

/// The last `/`-separated component.
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether a key, taken as a path below a directory, climbs out of it (`../x`, `a/../../x`).
pub fn escapes(rel: &str) -> bool {
    let mut depth: i64 = 0;
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// The content type the CLI would guess from a file name (Python's `mimetypes`, common types).
pub fn guess_content_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "txt" | "text" | "log" | "conf" | "def" | "list" | "in" | "ini" => "text/plain",
        "html" | "htm" | "shtml" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "md" | "markdown" => "text/markdown",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "text/xml",
        "yaml" | "yml" => "application/yaml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "ico" => "image/vnd.microsoft.icon",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/x-wav",
        "sh" => "application/x-sh",
        "py" => "text/x-python",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_the_cli() {
        assert_eq!(human_size(0), "0 Bytes");
        assert_eq!(human_size(1), "1 Byte");
        assert_eq!(human_size(1023), "1023 Bytes");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1024 * 1024 - 1), "1.0 MiB");
        assert_eq!(human_size(9 * 1024 * 1024 + 512 * 1024), "9.5 MiB");
    }

    #[test]
    fn local_paths_like_the_cli() {
        assert_eq!(local("out2.txt"), "./out2.txt");
        assert_eq!(local("./out2.txt"), "./out2.txt");
        assert_eq!(local("d/a.txt"), "d/a.txt");
        assert_eq!(local("d/./sub/../a.txt"), "d/a.txt");
        assert_eq!(local("../x"), "../x");
        assert!(escapes("../x") && escapes("a/../../x") && !escapes("a/../b") && !escapes("/a"));
    }

    #[test]
    fn dates() {
        assert_eq!(
            date(&Json::String("2024-05-01T12:34:56.000Z".into())),
            "2024-05-01 12:34:56"
        );
    }
}
