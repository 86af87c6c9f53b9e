//! The embedded model pack: an index of deflated JSON blobs, decoded one entry at a time.
//!
//! Layout (little endian), written by `scripts/gen_model_pack.py`:
//! `b"PCLSPK01" | u32 count | count × (u16 name len, name, u32 offset, u32 compressed len, u32 raw len) | blobs`.

use std::collections::HashMap;

use crate::ModelError;

const MAGIC: &[u8; 8] = b"PCLSPK01";

/// Where one entry's compressed bytes live in the pack.
#[derive(Debug, Clone, Copy)]
struct Entry {
    offset: usize,
    compressed: usize,
    raw: usize,
}

/// A parsed pack header over borrowed bytes; entries are inflated on demand.
#[derive(Debug)]
pub struct Pack<'a> {
    entries: HashMap<&'a str, Entry>,
    blobs: &'a [u8],
}

impl<'a> Pack<'a> {
    /// Reads the header of `bytes` (only the header: no entry is inflated here).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ModelError> {
        let corrupt = |why: &str| ModelError::CorruptPack(why.to_string());
        let mut cur = Cursor { bytes, pos: 0 };
        if cur.take(8).ok_or_else(|| corrupt("truncated magic"))? != MAGIC {
            return Err(corrupt("bad magic"));
        }
        let count = cur.u32().ok_or_else(|| corrupt("truncated count"))? as usize;
        let mut entries = HashMap::with_capacity(count);
        for _ in 0..count {
            let len = cur.u16().ok_or_else(|| corrupt("truncated entry"))? as usize;
            let name = cur
                .take(len)
                .ok_or_else(|| corrupt("truncated entry name"))?;
            let name = std::str::from_utf8(name).map_err(|_| corrupt("entry name is not UTF-8"))?;
            let (Some(offset), Some(compressed), Some(raw)) = (cur.u32(), cur.u32(), cur.u32())
            else {
                return Err(corrupt("truncated entry"));
            };
            entries.insert(
                name,
                Entry {
                    offset: offset as usize,
                    compressed: compressed as usize,
                    raw: raw as usize,
                },
            );
        }
        let blobs = &bytes[cur.pos..];
        for (name, e) in &entries {
            if e.offset
                .checked_add(e.compressed)
                .is_none_or(|end| end > blobs.len())
            {
                return Err(corrupt(&format!("entry {name} lies outside the pack")));
            }
        }
        Ok(Self { entries, blobs })
    }

    /// Names of all entries (unordered).
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.entries.keys().copied()
    }

    /// Whether the pack has an entry of that name.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// Inflates one entry.
    pub fn read(&self, name: &str) -> Result<Vec<u8>, ModelError> {
        let e = self
            .entries
            .get(name)
            .ok_or_else(|| ModelError::MissingEntry(name.to_string()))?;
        use miniz_oxide::inflate::TINFLStatus;
        use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
        let data = &self.blobs[e.offset..e.offset + e.compressed];
        // The size is known: inflate in one pass into an exact buffer (no regrowth, no copies).
        let mut out = vec![0u8; e.raw];
        let mut state = DecompressorOxide::new();
        let flags = inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
        let (status, _, written) = decompress(&mut state, data, &mut out, 0, flags);
        if status != TINFLStatus::Done || written != e.raw {
            return Err(ModelError::CorruptPack(format!(
                "entry {name}: inflate ended with {status:?} after {written} of {} bytes",
                e.raw
            )));
        }
        Ok(out)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_garbage_without_panicking() {
        for bytes in [
            &b""[..],
            b"PCLSPK01",
            b"PCLSPK01\x01\0\0\0\xff\xff",
            b"NOTAPACK\0\0\0\0",
        ] {
            assert!(Pack::parse(bytes).is_err());
        }
        // An entry pointing past the end.
        let mut b = MAGIC.to_vec();
        b.extend(1u32.to_le_bytes());
        b.extend(1u16.to_le_bytes());
        b.push(b'x');
        b.extend(0u32.to_le_bytes());
        b.extend(10u32.to_le_bytes());
        b.extend(10u32.to_le_bytes());
        let err = Pack::parse(&b).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
    }
}
