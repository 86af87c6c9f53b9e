//! The standard library functions that work on plain strings: host labels, S3 bucket names, ARNs, substrings and
//! percent-encoding. (`parseURL` lives in `url`, `aws.partition` in `partitions`.)

use std::borrow::Cow;
use std::rc::Rc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::value::{Arn, Text};

/// `isValidHostLabel`: an RFC 1123 label (1 to 63 ASCII letters, digits or `-`, not starting or ending with `-`);
/// with `allow_subdomains`, every `.`-separated label must be one.
///
/// botocore's regex would also accept Unicode digits and one trailing newline; neither belongs in a host name, so
/// neither is accepted here.
pub(crate) fn is_valid_host_label(value: &str, allow_subdomains: bool) -> bool {
    if allow_subdomains {
        value.split('.').all(is_label)
    } else {
        is_label(value)
    }
}

fn is_label(label: &str) -> bool {
    let b = label.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b.first() != Some(&b'-')
        && b.last() != Some(&b'-')
}

/// `aws.isVirtualHostableS3Bucket`: at least 3 characters, no upper case, not an IPv4 address, and a valid host
/// label (per label with `allow_subdomains`).
pub(crate) fn is_virtual_hostable_s3_bucket(value: &str, allow_subdomains: bool) -> bool {
    value.len() >= 3
        && !value.bytes().any(|b| b.is_ascii_uppercase())
        && !is_ipv4_pattern(value)
        && is_valid_host_label(value, allow_subdomains)
}

/// botocore's `IPV4_RE`: four dot-separated runs of 1 to 3 ASCII digits (no range check).
pub(crate) fn is_ipv4_pattern(value: &str) -> bool {
    let mut n = 0;
    for part in value.split('.') {
        n += 1;
        if n > 4 || !(1..=3).contains(&part.len()) || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    n == 4
}

/// `aws.parseArn`: `arn:partition:service:region:account:resource` with partition, service and resource non-empty.
pub(crate) fn parse_arn<'a>(value: &Text<'a>) -> Option<Arn<'a>> {
    let s = value.as_str();
    if !s.starts_with("arn:") {
        return None;
    }
    // Byte offsets of the first five colons; the resource is everything after the fifth.
    let mut colons = [0usize; 5];
    let mut found = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b':' {
            colons[found] = i;
            found += 1;
            if found == 5 {
                break;
            }
        }
    }
    if found < 5 {
        return None;
    }
    let field = |k: usize| value.slice(colons[k] + 1..colons[k + 1]);
    let resource_start = colons[4] + 1;
    let resource = s.get(resource_start..)?;
    if colons[1] == colons[0] + 1 || colons[2] == colons[1] + 1 || resource.is_empty() {
        return None;
    }
    let mut resource_id = Vec::new();
    let mut start = resource_start;
    for (i, b) in resource.bytes().enumerate() {
        if b == b':' || b == b'/' {
            resource_id.push(value.slice(start..resource_start + i)?);
            start = resource_start + i + 1;
        }
    }
    resource_id.push(value.slice(start..s.len())?);
    Some(Arn {
        partition: field(0)?,
        service: field(1)?,
        region: field(2)?,
        account_id: field(3)?,
        resource_id,
    })
}

/// `substring`: `[start, stop)` counted from the start, or from the end with `reverse`; nothing for non-ASCII
/// input or a range that does not fit.
pub(crate) fn substring<'a>(
    value: &Text<'a>,
    start: i64,
    stop: i64,
    reverse: bool,
) -> Option<Text<'a>> {
    let s = value.as_str();
    let len = i64::try_from(s.len()).ok()?;
    if start < 0 || start >= stop || len < stop || !s.is_ascii() {
        return None;
    }
    let (from, to) = if reverse {
        (len - stop, len - start)
    } else {
        (start, stop)
    };
    value.slice(usize::try_from(from).ok()?..usize::try_from(to).ok()?)
}

/// `uriEncode`: percent-encodes everything but ASCII letters, digits and `-._~` (botocore's `percent_encode`).
pub(crate) fn uri_encode<'a>(value: &Text<'a>) -> Text<'a> {
    match percent_encode(value.as_str(), false) {
        Cow::Borrowed(_) => value.clone(),
        Cow::Owned(s) => Text::Shared(Rc::from(s)),
    }
}

/// What `percent_encode` escapes: everything but ASCII letters, digits and `-._~` (non-ASCII bytes included).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// [`UNRESERVED`], keeping `/` too.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Python's `urllib.parse.quote` over UTF-8: unreserved characters (and `/` when `keep_slash`) stay, the rest
/// become `%XX` with upper-case hex. Borrowed exactly when nothing needed encoding.
pub(crate) fn percent_encode(s: &str, keep_slash: bool) -> Cow<'_, str> {
    let set = if keep_slash {
        UNRESERVED_AND_SLASH
    } else {
        UNRESERVED
    };
    // The encoder yields unchanged runs borrowed and each escape as its own `%XX`; one chunk equal to the input
    // means nothing was escaped (a lone escape such as `%20` is borrowed too, but never equals its input).
    match Cow::from(utf8_percent_encode(s, set)) {
        Cow::Borrowed(same) if same == s => Cow::Borrowed(s),
        other => Cow::Owned(other.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_labels() {
        assert!(is_valid_host_label("us-east-1", false));
        assert!(!is_valid_host_label("a.b", false));
        assert!(is_valid_host_label("a.b", true));
        assert!(!is_valid_host_label("a..b", true));
        assert!(!is_valid_host_label("", false));
        assert!(!is_valid_host_label("-a", false));
        assert!(!is_valid_host_label("a-", false));
        assert!(!is_valid_host_label("abc\n", false));
        assert!(is_valid_host_label(&"a".repeat(63), false));
        assert!(!is_valid_host_label(&"a".repeat(64), false));
    }

    #[test]
    fn arns() {
        let arn = Text::Borrowed("arn:aws:s3:us-east-1:123:accesspoint/my:thing");
        let parsed = parse_arn(&arn).expect("valid");
        assert_eq!(parsed.partition.as_str(), "aws");
        assert_eq!(parsed.account_id.as_str(), "123");
        let ids: Vec<_> = parsed.resource_id.iter().map(Text::as_str).collect();
        assert_eq!(ids, ["accesspoint", "my", "thing"]);
        assert!(parse_arn(&Text::Borrowed("arn:aws:s3:us-east-1:123:")).is_none());
        assert!(parse_arn(&Text::Borrowed("arn::s3:r:a:x")).is_none());
        assert!(parse_arn(&Text::Borrowed("arn:aws:s3:r:a")).is_none());
    }

    #[test]
    fn encoding() {
        assert_eq!(percent_encode("a b/c", false), "a%20b%2Fc");
        assert_eq!(percent_encode("a b/c", true), "a%20b/c");
        assert_eq!(percent_encode("é", false), "%C3%A9");
        assert!(matches!(
            percent_encode("a-b_c.d~/e", true),
            Cow::Borrowed(_)
        ));
        assert!(matches!(percent_encode("", false), Cow::Borrowed(_)));
        // A single escaped character is a change, not a borrow of the input.
        assert!(matches!(percent_encode(" ", false), Cow::Owned(ref s) if s == "%20"));
        assert!(matches!(percent_encode("/", false), Cow::Owned(ref s) if s == "%2F"));
        for b in 0..=127u8 {
            let s = char::from(b).to_string();
            let keep = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
            let want = |keep: bool| if keep { s.clone() } else { format!("%{b:02X}") };
            assert_eq!(percent_encode(&s, false), want(keep), "byte {b}");
            assert_eq!(
                percent_encode(&s, true),
                want(keep || b == b'/'),
                "byte {b}"
            );
        }
    }
}
