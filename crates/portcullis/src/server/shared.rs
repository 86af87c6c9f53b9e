//! What replicas share: the key that seals consent rounds ([`Sealer`]), and the store that lets
//! each round be used once ([`OnceStore`]: in this process by default, a Redis server with
//! `PORTCULLIS_REDIS_URL`).
//!
//! A consent round of the multi-round-trip path (MCP 2026-07-28) is not kept server-side: its
//! `requestState` is the round itself, sealed with AES-256-GCM under a key the replicas share
//! (`PORTCULLIS_SEALING_KEY_FILE`; a random key per process without it). Any replica can open it;
//! nobody without the key can read or forge one. What it is bound to (the principal, the batch,
//! the digests, the time it was asked) is checked by `consent::ConsentStore::close`; that it runs
//! once is the store's `claim` of its random id. When the configured Redis cannot be reached, a
//! claim fails and the consent is refused (fail closed); nothing else depends on Redis.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// What every sealed state is bound to besides its contents (a state of another purpose or
/// version does not open).
const AAD: &[u8] = b"portcullis consent round v1";

/// Seals and opens consent rounds.
pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer with a random key: rounds open in this process only.
    pub fn random() -> anyhow::Result<Sealer> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| anyhow::anyhow!("no randomness for the sealing key: {e}"))?;
        Sealer::from_key(&key)
    }

    fn from_key(key: &[u8; 32]) -> anyhow::Result<Sealer> {
        let key = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| anyhow::anyhow!("the sealing key is not an AES-256 key"))?;
        Ok(Sealer {
            key: LessSafeKey::new(key),
        })
    }

    /// The key in `path`: 64 hex digits (32 bytes; `openssl rand -hex 32`), in a file others may
    /// neither read nor write (its group may read it: a Kubernetes Secret mounted with
    /// `defaultMode: 0440` and the pod's `fsGroup`). The replicas of one deployment share it.
    pub fn from_file(path: &Path) -> anyhow::Result<Sealer> {
        let what = || {
            format!(
                "the sealing key file {} (PORTCULLIS_SEALING_KEY_FILE)",
                path.display()
            )
        };
        let meta =
            std::fs::metadata(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", what()))?;
        let mode = portcullis_platform::mode_bits(&meta);
        anyhow::ensure!(
            mode.is_none_or(|m| m & 0o027 == 0),
            "{} may be read by others or written by its group (mode {:o}); make it 0600, 0400 or 0440",
            what(),
            mode.unwrap_or_default() & 0o777
        );
        portcullis_platform::ensure_acl_private(path, "the sealing key file")
            .map_err(anyhow::Error::msg)?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", what()))?;
        let hex = text.trim();
        let bytes: Option<Vec<u8>> = (hex.len() == 64)
            .then(|| {
                (0..32)
                    .map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                    .collect()
            })
            .flatten();
        let Some(bytes) = bytes else {
            anyhow::bail!(
                "{} must hold 64 hex digits (32 bytes), e.g. from `openssl rand -hex 32`",
                what()
            );
        };
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes);
        Sealer::from_key(&key)
    }

    /// `plain` sealed: base64url of a random nonce, then the ciphertext and its tag.
    pub fn seal(&self, plain: &[u8]) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| format!("no randomness: {e}"))?;
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(AAD),
                &mut data,
            )
            .map_err(|_| "cannot seal the approval request".to_string())?;
        let mut out = nonce.to_vec();
        out.extend(data);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// What [`Sealer::seal`] sealed, if `sealed` was sealed with this key and not changed.
    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        if sealed.len() > 64 * 1024 {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(sealed.trim()).ok()?;
        if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return None;
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(AAD), &mut data)
            .ok()?;
        Some(plain.to_vec())
    }
}

/// Where single use is enforced.
pub enum OnceStore {
    /// This process's memory (one replica).
    Memory(Mutex<HashMap<String, Instant>>),
    /// A Redis server the replicas share.
    Redis(std::sync::Arc<Redis>),
}

/// The most ids the in-memory store keeps (expired ones are dropped first).
const MAX_MEMORY_IDS: usize = 100_000;

impl OnceStore {
    pub fn memory() -> OnceStore {
        OnceStore::Memory(Mutex::new(HashMap::new()))
    }

    /// Marks `id` used for `ttl`: `Ok(true)` the first time, `Ok(false)` after, `Err` when the
    /// store cannot say (the caller refuses).
    pub async fn claim(&self, id: &str, ttl: Duration) -> Result<bool, String> {
        match self {
            OnceStore::Memory(used) => {
                let mut used = used
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                if used.len() >= MAX_MEMORY_IDS {
                    used.retain(|_, until| *until > now);
                }
                if used.get(id).is_some_and(|until| *until > now) {
                    return Ok(false);
                }
                if used.len() >= MAX_MEMORY_IDS {
                    return Err("too many approvals in flight".into());
                }
                used.insert(id.to_string(), now + ttl);
                Ok(true)
            }
            OnceStore::Redis(redis) => {
                let key = format!("portcullis:consent:{id}");
                let ms = ttl.as_millis().max(1).to_string();
                match redis
                    .command(&[b"SET", key.as_bytes(), b"1", b"NX", b"PX", ms.as_bytes()])
                    .await?
                {
                    Reply::Simple(s) if s == "OK" => Ok(true),
                    Reply::Nil => Ok(false),
                    other => Err(format!("unexpected answer from Redis to SET NX: {other:?}")),
                }
            }
        }
    }

    /// A one-line description for the start-up log.
    pub fn describe(&self) -> String {
        match self {
            OnceStore::Memory(_) => "in this process (one replica)".into(),
            OnceStore::Redis(r) => format!("Redis at {}", r.addr),
        }
    }
}

/// Increments `KEYS[1]`, setting its expiry (ms, `ARGV[1]`) when it is new: one round trip.
const INCR_SCRIPT: &str = "local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

impl crate::pipeline::limits::SharedCounter for Redis {
    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<u64, String>> + Send + 'a>> {
        Box::pin(async move {
            let ms = ttl.as_millis().max(1).to_string();
            match self
                .command(&[
                    b"EVAL",
                    INCR_SCRIPT.as_bytes(),
                    b"1",
                    key.as_bytes(),
                    ms.as_bytes(),
                ])
                .await?
            {
                Reply::Int(n) => Ok(u64::try_from(n).unwrap_or(0)),
                other => Err(format!("unexpected answer from Redis to INCR: {other:?}")),
            }
        })
    }
}

/// A Redis reply (RESP2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
}

/// A minimal Redis client: one connection, one command at a time, each bounded by a timeout;
/// reconnects after an error. Enough for `SET NX PX` and counters.
pub struct Redis {
    addr: String,
    password: Option<String>,
    db: Option<u32>,
    conn: tokio::sync::Mutex<Option<BufReader<tokio::net::TcpStream>>>,
    timeout: Duration,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// From `redis://[:password@]host:port[/db]` (no TLS: keep Redis on the pod network).
    pub fn from_url(url: &str) -> anyhow::Result<Redis> {
        let bad = |why: &str| {
            anyhow::anyhow!(
                "PORTCULLIS_REDIS_URL must be redis://[:password@]host:port[/db]: {why}"
            )
        };
        let rest = url.trim().strip_prefix("redis://").ok_or_else(|| {
            bad("it does not start with redis:// (rediss:// with TLS is not supported)")
        })?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((a, r)) => (Some(a), r),
            None => (None, rest),
        };
        let (hostport, db) = match rest.split_once('/') {
            Some((h, "")) => (h, None),
            Some((h, d)) => (
                h,
                Some(
                    d.parse::<u32>()
                        .map_err(|_| bad("the database is not a number"))?,
                ),
            ),
            None => (rest, None),
        };
        let (host, port) = hostport.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        port.parse::<u16>()
            .map_err(|_| bad("the port is not a number"))?;
        anyhow::ensure!(!host.is_empty(), bad("no host"));
        let password = auth
            .map(|a| a.strip_prefix(':').unwrap_or(a).to_string())
            .filter(|p| !p.is_empty());
        Ok(Redis {
            addr: hostport.to_string(),
            password,
            db,
            conn: tokio::sync::Mutex::new(None),
            timeout: Duration::from_millis(1000),
        })
    }

    /// Sends one command and reads its reply, connecting first when needed; on any error the
    /// connection is dropped (the next command reconnects).
    pub async fn command(&self, args: &[&[u8]]) -> Result<Reply, String> {
        let mut conn = self.conn.lock().await;
        let result = tokio::time::timeout(self.timeout, async {
            if conn.is_none() {
                *conn = Some(self.connect().await?);
            }
            let stream = conn.as_mut().ok_or("not connected")?;
            exchange(stream, args).await
        })
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "Redis at {} did not answer within {:?}",
                self.addr, self.timeout
            ))
        });
        if result.is_err() {
            *conn = None;
        }
        match result {
            Ok(Reply::Error(e)) => Err(format!("Redis refused: {e}")),
            other => other,
        }
    }

    async fn connect(&self) -> Result<BufReader<tokio::net::TcpStream>, String> {
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| format!("cannot connect to Redis at {}: {e}", self.addr))?;
        let _ = stream.set_nodelay(true);
        let mut stream = BufReader::new(stream);
        if let Some(p) = &self.password
            && let Reply::Error(e) = exchange(&mut stream, &[b"AUTH", p.as_bytes()]).await?
        {
            return Err(format!("Redis refused the password: {e}"));
        }
        if let Some(db) = self.db {
            let db = db.to_string();
            if let Reply::Error(e) = exchange(&mut stream, &[b"SELECT", db.as_bytes()]).await? {
                return Err(format!("Redis refused SELECT {db}: {e}"));
            }
        }
        Ok(stream)
    }

    /// Whether the server answers `PING` (at start: a warning when not).
    pub async fn ping(&self) -> Result<(), String> {
        match self.command(&[b"PING"]).await? {
            Reply::Simple(s) if s == "PONG" => Ok(()),
            other => Err(format!("unexpected answer to PING: {other:?}")),
        }
    }
}

async fn exchange(
    stream: &mut BufReader<tokio::net::TcpStream>,
    args: &[&[u8]],
) -> Result<Reply, String> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend(b"\r\n");
    }
    stream
        .get_mut()
        .write_all(&out)
        .await
        .map_err(|e| format!("Redis write: {e}"))?;
    read_reply(stream, 0).await
}

/// Reads one reply (nested arrays at most 4 deep; bulk strings at most 1 MiB).
fn read_reply<'a>(
    stream: &'a mut BufReader<tokio::net::TcpStream>,
    depth: u8,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, String>> + Send + 'a>> {
    Box::pin(async move {
        let mut line = Vec::new();
        let n = (&mut *stream)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| format!("Redis read: {e}"))?;
        if n == 0 || !line.ends_with(b"\r\n") {
            return Err("Redis closed the connection".into());
        }
        let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        let int = |t: &str| {
            t.parse::<i64>()
                .map_err(|_| format!("bad Redis reply: {t}"))
        };
        match line[0] {
            b'+' => Ok(Reply::Simple(text)),
            b'-' => Ok(Reply::Error(text)),
            b':' => Ok(Reply::Int(int(&text)?)),
            b'$' => {
                let len = int(&text)?;
                if len < 0 {
                    return Ok(Reply::Nil);
                }
                let len = usize::try_from(len).map_err(|_| "bad length")?;
                if len > 1024 * 1024 {
                    return Err("Redis reply too large".into());
                }
                let mut buf = vec![0u8; len + 2];
                stream
                    .read_exact(&mut buf)
                    .await
                    .map_err(|e| format!("Redis read: {e}"))?;
                buf.truncate(len);
                Ok(Reply::Bulk(buf))
            }
            b'*' => {
                let len = int(&text)?;
                if len < 0 {
                    return Ok(Reply::Nil);
                }
                if depth >= 4 || len > 1024 {
                    return Err("Redis reply too deep or too long".into());
                }
                let mut items = Vec::new();
                for _ in 0..len {
                    items.push(read_reply(stream, depth + 1).await?);
                }
                Ok(Reply::Array(items))
            }
            _ => Err("bad Redis reply".into()),
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn sealed_states_open_only_unchanged_and_under_the_same_key() {
        let a = Sealer::random().unwrap();
        let b = Sealer::random().unwrap();
        let sealed = a.seal(b"round").unwrap();
        assert_eq!(a.open(&sealed).unwrap(), b"round");
        assert!(b.open(&sealed).is_none());
        // Two seals of the same round differ (random nonces).
        assert_ne!(a.seal(b"round").unwrap(), sealed);
        // Any change to any byte.
        let raw = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        for i in 0..raw.len() {
            let mut bent = raw.clone();
            bent[i] ^= 1;
            assert!(a.open(&URL_SAFE_NO_PAD.encode(&bent)).is_none(), "byte {i}");
        }
        for junk in ["", "x", "!!!", &"A".repeat(100)] {
            assert!(a.open(junk).is_none());
        }
    }

    #[test]
    fn the_key_file_is_hex_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pc-seal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        std::fs::write(&path, format!("{hex}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Sealer::from_file(&path).unwrap_err().to_string();
        assert!(
            e.contains("may be read by others") && e.contains("0400"),
            "{e}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let one = Sealer::from_file(&path).unwrap();
        let two = Sealer::from_file(&path).unwrap();
        assert_eq!(two.open(&one.seal(b"x").unwrap()).unwrap(), b"x");
        std::fs::write(&path, "not hex").unwrap();
        let e = Sealer::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("64 hex digits"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn memory_claims_once() {
        let s = OnceStore::memory();
        assert_eq!(s.claim("a", Duration::from_secs(60)).await, Ok(true));
        assert_eq!(s.claim("a", Duration::from_secs(60)).await, Ok(false));
        assert_eq!(s.claim("b", Duration::from_secs(60)).await, Ok(true));
    }

    #[test]
    fn redis_urls() {
        let r = Redis::from_url("redis://127.0.0.1:6379").unwrap();
        assert_eq!(
            (r.addr.as_str(), r.password.as_deref(), r.db),
            ("127.0.0.1:6379", None, None)
        );
        let r = Redis::from_url("redis://:s3cret@redis.ns.svc:6380/2").unwrap();
        assert_eq!(
            (r.addr.as_str(), r.password.as_deref(), r.db),
            ("redis.ns.svc:6380", Some("s3cret"), Some(2))
        );
        for bad in [
            "127.0.0.1:6379",
            "rediss://h:1",
            "redis://h",
            "redis://h:x",
            "redis://:1",
            "redis://h:1/x",
        ] {
            assert!(Redis::from_url(bad).is_err(), "{bad}");
        }
        // The password never shows.
        assert!(
            !format!("{:?}", Redis::from_url("redis://:s3cret@h:1").unwrap()).contains("s3cret")
        );
    }

    #[tokio::test]
    async fn an_unreachable_redis_fails_the_claim() {
        // A port nothing listens on (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = OnceStore::Redis(std::sync::Arc::new(
            Redis::from_url(&format!("redis://127.0.0.1:{port}")).unwrap(),
        ));
        let e = s.claim("a", Duration::from_secs(1)).await.unwrap_err();
        assert!(e.contains("cannot connect to Redis"), "{e}");
    }
}
