//! `aws s3 sync`: local → S3, S3 → local and S3 → S3, as the AWS CLI does it
//! (`awscli/customizations/s3/{comparator,filegenerator}.py` and `syncstrategy/`).
//!
//! Both sides are listed recursively (a local directory through the
//! [`PathPolicy`](portcullis_cli::PathPolicy), with each file's size and modification time; an S3
//! prefix with `ListObjectsV2`, "folder" markers left out), filtered by `--exclude`/`--include`,
//! and walked together in key order, each file named by its path under the directory or prefix:
//!
//! * only at the source: copied;
//! * at both: copied when the sizes differ, or when the times say so — an upload or S3 copy when
//!   the source is newer than the destination, a download when the local file is newer than the
//!   object (the AWS CLI's rule; a download sets the file's time to the object's, so the next
//!   sync skips it). `--size-only` compares sizes only; `--exact-timestamps` makes a download of
//!   a same-sized file wait for the times to be exactly equal (and wins over `--size-only`, as in
//!   the CLI);
//! * only at the destination: deleted with `--delete` (an object by `DeleteObject`, a local file
//!   through the policy), else left alone.
//!
//! A missing local destination directory is an empty one (downloads create it). A local source
//! that is not a directory is a fatal error, and nothing is changed (the AWS CLI warns, finds
//! nothing to copy and, with `--delete`, deletes the whole destination). Local listings never
//! follow symlinks (the policy skips them), as the AWS CLI's `--no-follow-symlinks`: a symlink in
//! the source is not uploaded (and, with `--delete`, its object is deleted), one in a local
//! destination is neither compared nor deleted.

use portcullis_cli::files::FileStat;
use portcullis_cli::{S3Op, S3Path};

use super::filter::{Filter, local_file, s3_file};
use super::format::{escapes, join, local};
use super::transfer::{Job, Printer, Settings, dir_prefix, list_objects, run};
use super::{Ctx, S3Error, S3Outcome};
use crate::protocol::timestamp::Timestamp;

/// A file or object under the directory or prefix being synced.
struct Entry {
    /// Its path under the directory or prefix (the AWS CLI's compare key).
    rel: String,
    /// The local path, or the object's key.
    full: String,
    size: u64,
    /// Last modified, in microseconds since the epoch (the precision Python compares at).
    micros: i128,
    /// An object's `LastModified`, which a download gives the file.
    modified: Option<Timestamp>,
}

/// What a file at both sides would become.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Upload,
    Download,
    Copy,
}

/// How files at both sides are compared.
struct Strategy {
    size_only: bool,
    exact_timestamps: bool,
}

impl Strategy {
    /// The AWS CLI's `determine_should_sync` for a file at both sides.
    fn should_sync(&self, direction: Direction, src: &Entry, dst: &Entry) -> bool {
        let same_size = src.size == dst.size;
        if self.size_only && !self.exact_timestamps {
            return !same_size;
        }
        let delta = dst.micros - src.micros;
        let same_time = match direction {
            // The destination is as new as the source, or newer.
            Direction::Upload | Direction::Copy => delta >= 0,
            Direction::Download if self.exact_timestamps => delta == 0,
            // Only a local file newer than the object counts as changed.
            Direction::Download => delta <= 0,
        };
        !same_size || !same_time
    }
}

pub(crate) async fn sync(ctx: &Ctx<'_>, op: &S3Op) -> S3Outcome {
    let S3Op::Cp {
        src,
        dst,
        content_type,
        acl,
        dryrun,
        quiet,
        only_show_errors,
        filters,
        delete,
        size_only,
        exact_timestamps,
        ..
    } = op
    else {
        return S3Outcome::default();
    };
    let set = Settings {
        content_type: content_type.as_deref(),
        acl: acl.as_deref(),
        printer: Printer {
            quiet: *quiet,
            only_errors: *only_show_errors,
            dryrun: *dryrun,
        },
        mv: false,
    };
    let direction = match (src, dst) {
        (S3Path::Local { .. }, S3Path::S3 { .. }) => Direction::Upload,
        (S3Path::S3 { .. }, S3Path::Local { .. }) => Direction::Download,
        (S3Path::S3 { .. }, S3Path::S3 { .. }) => Direction::Copy,
        // Refused by the parser.
        (S3Path::Local { .. }, S3Path::Local { .. }) => return S3Outcome::default(),
    };
    let strategy = Strategy {
        size_only: *size_only,
        exact_timestamps: *exact_timestamps,
    };
    let filter = Filter::new(filters, src, dst, true);
    let mut out = S3Outcome::default();
    let source = match list_side(ctx, src, &filter, true, &set, &mut out).await {
        Ok(v) => v,
        Err(e) => {
            set.printer.fatal(&mut out, e);
            return out;
        }
    };
    let dest = match list_side(ctx, dst, &filter, false, &set, &mut out).await {
        Ok(v) => v,
        Err(e) => {
            set.printer.fatal(&mut out, e);
            return out;
        }
    };
    let (mut i, mut j) = (0, 0);
    loop {
        let job = match (source.get(i), dest.get(j)) {
            (Some(s), Some(d)) if s.rel == d.rel => {
                i += 1;
                j += 1;
                if !strategy.should_sync(direction, s, d) {
                    continue;
                }
                transfer(s, src, dst, &set, &mut out)
            }
            (Some(s), d) if d.is_none_or(|d| s.rel < d.rel) => {
                i += 1;
                transfer(s, src, dst, &set, &mut out)
            }
            (_, Some(d)) => {
                j += 1;
                if !*delete {
                    continue;
                }
                Some(match dst {
                    S3Path::Local { .. } => Job::DeleteFile {
                        path: d.full.clone(),
                    },
                    S3Path::S3 { bucket, .. } => Job::DeleteObject {
                        bucket: bucket.clone(),
                        key: d.full.clone(),
                    },
                })
            }
            (_, None) => break,
        };
        if let Some(job) = job {
            run(ctx, job, &set, &mut out).await;
        }
    }
    out
}

/// The job that brings `entry` from the source to the destination; `None` (with the CLI's
/// warning) for an object whose key would lead out of a local destination directory.
fn transfer(
    entry: &Entry,
    src: &S3Path,
    dst: &S3Path,
    set: &Settings<'_>,
    out: &mut S3Outcome,
) -> Option<Job> {
    match (src, dst) {
        (S3Path::Local { .. }, S3Path::S3 { bucket, key }) => Some(Job::Upload {
            path: entry.full.clone(),
            bucket: bucket.clone(),
            key: format!("{}{}", dir_prefix(key), entry.rel),
        }),
        (S3Path::S3 { bucket, .. }, S3Path::Local { path }) => {
            if escapes(&entry.rel) {
                set.printer.warning(
                    out,
                    &format!(
                        "Skipping file {}. File references a parent directory.",
                        entry.rel
                    ),
                );
                return None;
            }
            Some(Job::Download {
                bucket: bucket.clone(),
                key: entry.full.clone(),
                dest: join(path, &entry.rel),
                modified: entry.modified,
            })
        }
        (
            S3Path::S3 { bucket, .. },
            S3Path::S3 {
                bucket: dest_bucket,
                key: dest_key,
            },
        ) => Some(Job::Copy {
            bucket: bucket.clone(),
            key: entry.full.clone(),
            size: entry.size,
            dest_bucket: dest_bucket.clone(),
            dest_key: format!("{}{}", dir_prefix(dest_key), entry.rel),
        }),
        (S3Path::Local { .. }, S3Path::Local { .. }) => None,
    }
}

/// One side, listed, filtered and sorted by `rel`. A local destination that does not exist is
/// empty; a local file that cannot be looked at is skipped with a warning, as in the CLI.
async fn list_side(
    ctx: &Ctx<'_>,
    side: &S3Path,
    filter: &Filter,
    is_source: bool,
    set: &Settings<'_>,
    out: &mut S3Outcome,
) -> Result<Vec<Entry>, S3Error> {
    let mut entries = Vec::new();
    match side {
        S3Path::Local { path } => {
            if !is_source && !ctx.files.is_dir(path) {
                return Ok(entries);
            }
            for rel in ctx.files.list(path).map_err(|e| S3Error::File(e.0))? {
                if !filter.includes(&local_file(path, &rel)) {
                    continue;
                }
                let full = join(path, &rel);
                match ctx.files.stat(&full) {
                    Ok(st) => entries.push(Entry {
                        micros: local_micros(&st),
                        size: st.size,
                        rel,
                        full,
                        modified: None,
                    }),
                    Err(e) => set
                        .printer
                        .warning(out, &format!("Skipping file {}. {e}", local(&full))),
                }
            }
        }
        S3Path::S3 { bucket, key } => {
            let prefix = dir_prefix(key);
            for o in list_objects(ctx, bucket, &prefix).await? {
                if !filter.includes(&s3_file(bucket, &o.key)) {
                    continue;
                }
                let rel = o.key.get(prefix.len()..).unwrap_or_default().to_string();
                let micros = o
                    .modified
                    .map_or(0, |t| i128::from(t.secs) * 1_000_000 + i128::from(t.micros));
                entries.push(Entry {
                    rel,
                    size: o.size,
                    micros,
                    modified: o.modified,
                    full: o.key,
                });
            }
        }
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(entries)
}

/// A local file's modification time as Python sees it: `st_mtime` as a float, then a datetime
/// (rounded to the microsecond).
fn local_micros(st: &FileStat) -> i128 {
    let t =
        Timestamp::from_epoch_f64(st.modified_secs as f64 + f64::from(st.modified_nanos) * 1e-9);
    t.map_or(0, |t| i128::from(t.secs) * 1_000_000 + i128::from(t.micros))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(size: u64, secs: i64) -> Entry {
        Entry {
            rel: "a".into(),
            full: "a".into(),
            size,
            micros: i128::from(secs) * 1_000_000,
            modified: None,
        }
    }

    #[test]
    fn strategies_decide_as_the_cli() {
        let default = Strategy {
            size_only: false,
            exact_timestamps: false,
        };
        let size_only = Strategy {
            size_only: true,
            exact_timestamps: false,
        };
        let exact = Strategy {
            size_only: false,
            exact_timestamps: true,
        };
        let both = Strategy {
            size_only: true,
            exact_timestamps: true,
        };
        use Direction::*;
        // (strategy, direction, source (size, time), destination (size, time), sync?)
        type Case<'a> = (&'a Strategy, Direction, (u64, i64), (u64, i64), bool);
        let cases: &[Case] = &[
            (&default, Upload, (5, 100), (5, 100), false),
            (&default, Upload, (5, 101), (5, 100), true),
            (&default, Upload, (5, 99), (5, 100), false),
            (&default, Upload, (6, 99), (5, 100), true),
            (&default, Copy, (5, 101), (5, 100), true),
            (&default, Copy, (5, 100), (5, 101), false),
            (&default, Download, (5, 100), (5, 100), false),
            (&default, Download, (5, 100), (5, 99), false),
            (&default, Download, (5, 100), (5, 101), true),
            (&default, Download, (4, 100), (5, 100), true),
            (&size_only, Upload, (5, 200), (5, 100), false),
            (&size_only, Download, (5, 100), (5, 200), false),
            (&size_only, Download, (4, 100), (5, 100), true),
            (&exact, Download, (5, 100), (5, 99), true),
            (&exact, Download, (5, 100), (5, 100), false),
            (&exact, Upload, (5, 99), (5, 100), false),
            (&both, Download, (5, 100), (5, 99), true),
        ];
        for (i, (strategy, direction, (ss, st), (ds, dt), want)) in cases.iter().enumerate() {
            assert_eq!(
                strategy.should_sync(*direction, &entry(*ss, *st), &entry(*ds, *dt)),
                *want,
                "case {i}"
            );
        }
    }

    #[test]
    fn local_times_round_like_python() {
        let st = |secs, nanos| FileStat {
            size: 0,
            modified_secs: secs,
            modified_nanos: nanos,
        };
        assert_eq!(local_micros(&st(1_700_000_000, 0)), 1_700_000_000_000_000);
        assert_eq!(
            local_micros(&st(1_700_000_000, 123_456_789)),
            1_700_000_000_123_457
        );
    }
}
