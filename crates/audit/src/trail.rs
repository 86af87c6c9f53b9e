//! The trail on disk: numbered files `audit-000001.jsonl`, ... and the head file `audit.head`.
//!
//! The head is one fixed-size line, rewritten in place after each durable append:
//! `{"head":1,"seq":N,"file":"audit-000003.jsonl","hash":"<sha256 of record N's line>","key_id":"…","mac":"…"}`
//! padded with spaces to 255 bytes plus a newline. Its MAC is HMAC-SHA256 over the same
//! body-and-suffix construction as a record (the body starts with `{"head":`, a record's with
//! `{"seq":`, so one can never pass for the other).

use std::fs::File;
use std::path::Path;

use serde::Deserialize;

use crate::codec::is_lower_hex;
use crate::key::AuditKey;
use crate::record::MAC_SUFFIX_LEN;

pub(crate) const HEAD_FILE: &str = "audit.head";
pub(crate) const HEAD_LEN: usize = 256;

/// `audit-000001.jsonl` for 1.
pub(crate) fn file_name(index: u32) -> String {
    format!("audit-{index:06}.jsonl")
}

/// The index of a trail file name, if it is one.
pub(crate) fn parse_file_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("audit-")?.strip_suffix(".jsonl")?;
    if digits.len() < 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The trail's files, sorted by index.
pub(crate) fn list_files(dir: &Path) -> std::io::Result<Vec<(u32, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(name) = entry.file_name().to_str()
            && let Some(index) = parse_file_name(name)
        {
            files.push((index, name.to_string()));
        }
    }
    files.sort();
    Ok(files)
}

/// What the head says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Head {
    /// Seq of the last record known durable (0: none yet).
    pub seq: u64,
    /// The file holding it.
    pub file: String,
    /// Hex SHA-256 of its line.
    pub hash: String,
    /// The key that MAC'd the head.
    pub key_id: String,
}

pub(crate) fn head_bytes(head: &Head, key: &AuditKey) -> Vec<u8> {
    let body = format!(
        "{{\"head\":1,\"seq\":{},\"file\":\"{}\",\"hash\":\"{}\",\"key_id\":\"{}\"}}",
        head.seq, head.file, head.hash, head.key_id
    );
    let mac = key.mac_hex(body.as_bytes());
    let mut line = body.into_bytes();
    line.pop();
    line.extend_from_slice(b",\"mac\":\"");
    line.extend_from_slice(mac.as_bytes());
    line.extend_from_slice(b"\"}");
    line.resize(HEAD_LEN - 1, b' ');
    line.push(b'\n');
    line
}

pub(crate) fn write_head(file: &File, head: &Head, key: &AuditKey) -> std::io::Result<()> {
    portcullis_platform::write_all_at(file, &head_bytes(head, key), 0)
}

/// Why a head could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadError {
    Missing,
    Empty,
    Malformed,
    BadMac,
}

pub(crate) fn parse_head(bytes: &[u8], key: &AuditKey) -> Result<Head, HeadError> {
    if bytes.iter().all(|b| *b == 0) {
        return Err(HeadError::Empty);
    }
    let end = bytes
        .iter()
        .rposition(|b| *b == b'}')
        .ok_or(HeadError::Malformed)?
        + 1;
    let line = &bytes[..end];
    if bytes[end..].iter().any(|b| !matches!(b, b' ' | b'\n')) || !line.starts_with(b"{\"head\":1,")
    {
        return Err(HeadError::Malformed);
    }
    let cut = line
        .len()
        .checked_sub(MAC_SUFFIX_LEN)
        .ok_or(HeadError::Malformed)?;
    let suffix = &line[cut..];
    if !suffix.starts_with(b",\"mac\":\"") || !is_lower_hex(&suffix[8..72], 64) {
        return Err(HeadError::Malformed);
    }
    let mut body = line[..cut].to_vec();
    body.push(b'}');
    let mac = std::str::from_utf8(&suffix[8..72]).map_err(|_| HeadError::Malformed)?;
    if !key.verify_hex(&body, mac) {
        return Err(HeadError::BadMac);
    }
    serde_json::from_slice(&body).map_err(|_| HeadError::Malformed)
}

pub(crate) fn read_head(dir: &Path, key: &AuditKey) -> Result<Head, HeadError> {
    let path = dir.join(HEAD_FILE);
    match std::fs::symlink_metadata(&path) {
        Err(_) => return Err(HeadError::Missing),
        Ok(m) if !m.is_file() => return Err(HeadError::Malformed),
        Ok(_) => {}
    }
    let bytes = std::fs::read(&path).map_err(|_| HeadError::Missing)?;
    if bytes.is_empty() {
        return Err(HeadError::Empty);
    }
    parse_head(&bytes, key)
}

/// Reads `len` bytes at `offset`.
pub(crate) fn read_at(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    portcullis_platform::read_exact_at(file, &mut buf, offset)?;
    Ok(buf)
}

/// The end of a file: its last complete line (start offset and bytes, without the newline) and
/// the length of a torn tail (bytes after the last newline).
pub(crate) struct Tail {
    pub last_line: Option<(u64, Vec<u8>)>,
    pub complete_len: u64,
    pub torn_len: u64,
}

/// Finds the tail by reading backwards in growing windows (never the whole file unless needed).
pub(crate) fn read_tail(file: &File, len: u64) -> std::io::Result<Tail> {
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        let bytes = read_at(
            file,
            start,
            usize::try_from(len - start).unwrap_or(usize::MAX),
        )?;
        let last_nl = bytes.iter().rposition(|b| *b == b'\n');
        match last_nl {
            None if start > 0 => {}
            None => {
                return Ok(Tail {
                    last_line: None,
                    complete_len: 0,
                    torn_len: len,
                });
            }
            Some(nl) => {
                let complete_len = start + nl as u64 + 1;
                let torn_len = len - complete_len;
                match bytes[..nl].iter().rposition(|b| *b == b'\n') {
                    Some(prev) => {
                        let line = bytes[prev + 1..nl].to_vec();
                        return Ok(Tail {
                            last_line: Some((start + prev as u64 + 1, line)),
                            complete_len,
                            torn_len,
                        });
                    }
                    None if start == 0 => {
                        let line = bytes[..nl].to_vec();
                        return Ok(Tail {
                            last_line: Some((0, line)),
                            complete_len,
                            torn_len,
                        });
                    }
                    None => {}
                }
            }
        }
        window = window.saturating_mul(4);
    }
}
