//! A process's resident memory from `/proc/PID/status` (`VmRSS`), read once or sampled every
//! 100 ms in the background.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

/// `VmRSS` of a `/proc/PID/status` text, in KiB.
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | Some("KB") | Some("kiB") | None => Some(n),
        Some("mB") | Some("MB") => Some(n * 1024),
        _ => None,
    }
}

/// The resident memory of process `pid` now, in KiB (`None` once it has gone).
pub fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .as_deref()
        .and_then(parse_vm_rss_kib)
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// Samples a process's RSS every `every` until stopped.
pub struct RssSampler {
    samples: Arc<Mutex<Vec<(Duration, u64)>>>,
    task: JoinHandle<()>,
    started: Instant,
}

impl RssSampler {
    /// Starts sampling `pid` now (inside a Tokio runtime).
    pub fn start(pid: u32, every: Duration) -> RssSampler {
        let samples: Arc<Mutex<Vec<(Duration, u64)>>> = Arc::default();
        let started = Instant::now();
        let sink = samples.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(kib) = rss_kib(pid) else { return };
                if let Ok(mut s) = sink.lock() {
                    s.push((started.elapsed(), kib));
                }
            }
        });
        RssSampler {
            samples,
            task,
            started,
        }
    }

    /// When sampling started.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The samples so far: (time since start, KiB).
    pub fn samples(&self) -> Vec<(Duration, u64)> {
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The highest sample so far (KiB).
    pub fn peak(&self) -> u64 {
        self.samples().iter().map(|s| s.1).max().unwrap_or(0)
    }

    /// The highest sample taken between `from` and `to` (times since start).
    pub fn peak_between(&self, from: Duration, to: Duration) -> u64 {
        self.samples()
            .iter()
            .filter(|s| s.0 >= from && s.0 <= to)
            .map(|s| s.1)
            .max()
            .unwrap_or(0)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_lines() {
        let status =
            "Name:\tportcullis\nVmPeak:\t  200000 kB\nVmRSS:\t   12345 kB\nRssAnon:\t 9000 kB\n";
        assert_eq!(parse_vm_rss_kib(status), Some(12345));
        assert_eq!(parse_vm_rss_kib("VmRSS: 7"), Some(7));
        assert_eq!(parse_vm_rss_kib("VmRSS:\t2 MB\n"), Some(2048));
        // A kernel thread has no VmRSS line; garbage is not a number.
        assert_eq!(parse_vm_rss_kib("Name:\tkthreadd\nState:\tS\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\t12 pages\n"), None);
        assert_eq!(mib(1536), "1.5");
    }

    #[test]
    fn own_rss() {
        let kib = rss_kib(std::process::id()).unwrap();
        assert!(kib > 0);
    }
}
