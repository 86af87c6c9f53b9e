//! A moto server for end-to-end tests: started from the project venv on a free loopback port,
//! reset between uses, stopped on drop. Missing moto is a loud failure, never a skip.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // test support drives programs
#![allow(dead_code)] // each suite uses part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub port: u16,
}

/// The project's venv python (scripts/setup-venv.sh creates it; scripts/test.sh runs that first).
pub fn venv_python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = root.join(".venv/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup-venv.sh (scripts/test.sh does) to install moto and the awscli oracle",
        py.display()
    );
    py
}

impl Moto {
    pub fn start() -> Moto {
        let mut child = Command::new(venv_python())
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .env("MOTO_CALL_RESET_API", "true")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moto server");
        let stderr = child.stderr.take().expect("stderr");
        let stdout = child.stdout.take().expect("stdout");
        // Werkzeug prints "Running on http://127.0.0.1:PORT" on stderr (stdout in some versions).
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [Box::new(stderr) as Box<dyn Read + Send>, Box::new(stdout)] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("Running on http://127.0.0.1:").nth(1) {
                        let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                        let _ = tx.send(port.parse::<u16>().ok());
                    }
                }
            });
        }
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .flatten()
            .expect("moto did not report its port within 30 s");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if moto.http("GET", "/moto-api/", "").is_some() {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto on port {port} never answered /moto-api/");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Clears all state.
    #[allow(dead_code)] // not every suite resets
    pub fn reset(&self) {
        self.http("POST", "/moto-api/reset", "")
            .expect("reset moto");
    }

    /// A minimal HTTP/1.1 exchange on loopback (status line and body), for moto's control API.
    /// Whether moto holds a bucket named `name` (listed anonymously).
    #[allow(dead_code)] // not every suite asks
    pub fn bucket_exists(&self, name: &str) -> bool {
        let (status, body) = self.http("GET", "/", "").expect("list buckets on moto");
        assert_eq!(status, 200, "{body}");
        body.contains(&format!("<Name>{name}</Name>"))
    }

    pub fn http(&self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let status = out.split_whitespace().nth(1)?.parse().ok()?;
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Some((status, body))
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
