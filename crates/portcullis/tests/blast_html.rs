//! The blast-radius HTML report as a person sees it: `portcullis iam blast-radius --format html`
//! on the example export and policy of `tests/data/blast-html/` must be self-contained (no
//! scripts, nothing from the network), byte for byte the example committed as
//! `docs/blast-radius-example.html`, and render in a real headless Chromium: the DOM holds the
//! heat map and the findings, and a screenshot shows the heat-map colours.
//!
//! Needs Debian's `chromium` (`scripts/setup-browser.sh` installs it); the test fails, never
//! skips, without it. `PORTCULLIS_CHROMIUM` names another binary. After a deliberate change of the
//! renderer, `PORTCULLIS_BLESS=1` rewrites the docs example (then retake its screenshot:
//! `chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1800
//! --screenshot=docs/blast-radius-example.png file://$PWD/docs/blast-radius-example.html`).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)] // the test drives programs: the binary and Chromium

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The screenshot's size; the docs screenshot is taken at the same size.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1800;
/// Any browser run is killed after this.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// The heat-map colours of `crates/blast/src/render.rs`: all, some, conditional.
const ALL: [u8; 3] = [0xd7, 0x26, 0x3d];
const SOME: [u8; 3] = [0xf4, 0x9d, 0x37];
const COND: [u8; 3] = [0xf7, 0xe0, 0x8b];

/// The services of the example's access map, in order.
const SERVICES: [&str; 7] = [
    "cloudformation",
    "ec2",
    "iam",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
];

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn data(name: &str) -> PathBuf {
    manifest().join("tests/data/blast-html").join(name)
}

fn docs_example() -> PathBuf {
    manifest().join("../../docs/blast-radius-example.html")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "portcullis-blast-html-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary on the example export and policy; returns the HTML it wrote to `out`.
fn render(out: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["iam", "blast-radius", "--from-export"])
        .arg(data("example-export.json"))
        .args(["--principal", "deploy-bot", "--format", "html", "--policy"])
        .arg(data("example-policy.json"))
        .arg("--out")
        .arg(out)
        // The report must not depend on the environment's policy, mode or region.
        .env_remove("PORTCULLIS_POLICY_FILE")
        .env_remove("PORTCULLIS_MODE")
        .env_remove("READ_OPERATIONS_ONLY")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .expect("run portcullis");
    assert!(
        o.status.success(),
        "portcullis iam blast-radius failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out).unwrap()
}

fn assert_self_contained(html: &str) {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script", "http://", "https://", "src=", "href=", "<link", "@import", "url(", "=\"//",
        "='//", "(//", "<iframe", "<object", "<embed", "<img",
    ] {
        assert!(
            !lower.contains(bad),
            "the report must load nothing and run nothing, but it contains `{bad}`"
        );
    }
}

#[test]
fn the_report_is_self_contained_deterministic_and_the_docs_example_is_current() {
    let dir = scratch("docs");
    let html = render(&dir.join("a.html"));
    assert_self_contained(&html);
    assert_eq!(
        html,
        render(&dir.join("b.html")),
        "two runs on the same input must write the same page"
    );
    assert!(
        html.contains("<title>Blast radius of deploy-bot through Portcullis (guarded)</title>")
    );
    let docs = docs_example();
    if std::env::var_os("PORTCULLIS_BLESS").is_some() {
        std::fs::write(&docs, &html).unwrap();
    }
    let committed = std::fs::read_to_string(&docs).unwrap_or_default();
    assert!(
        committed == html,
        "{} is not what the renderer writes now from tests/data/blast-html/; rerun this test with \
         PORTCULLIS_BLESS=1 to rewrite it, then retake docs/blast-radius-example.png (see this \
         file's header)",
        docs.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Chromium binary, or a loud failure saying how to get one.
fn chromium() -> PathBuf {
    let candidates: Vec<PathBuf> = match std::env::var_os("PORTCULLIS_CHROMIUM") {
        Some(p) => vec![PathBuf::from(p)],
        None => std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/bin")])
            .flat_map(|d| [d.join("chromium"), d.join("chromium-browser")])
            .collect(),
    };
    candidates.into_iter().find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "no Chromium found (looked for `chromium` on PATH and /usr/bin, or PORTCULLIS_CHROMIUM): \
             run scripts/setup-browser.sh (apt-get install chromium) first; this test checks the \
             HTML report in a real browser and does not skip"
        )
    })
}

/// Runs headless Chromium on `page` with `args`, killed after [`BROWSER_TIMEOUT`]; returns its
/// standard output.
fn browse(dir: &Path, page: &Path, args: &[String]) -> String {
    let stdout = dir.join("chromium.out");
    let stderr = dir.join("chromium.err");
    let mut child = Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--mute-audio",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium {args:?} did not finish in {BROWSER_TIMEOUT:?}; stderr:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium {args:?} failed ({status}); stderr:\n{}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    std::fs::read_to_string(&stdout).unwrap()
}

/// The text between the first `start` and the next `end` after it.
fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` not in the DOM"));
    let rest = &s[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[test]
fn chromium_renders_the_heat_map_and_the_findings() {
    let dir = scratch("browser");
    let page = dir.join("report.html");
    let html = render(&page);
    assert_self_contained(&html);

    // The DOM as the browser built it.
    let dom = browse(&dir, &page, &["--dump-dom".to_string()]);
    let map = between(&dom, "<section id=\"access-map\">", "</section>");
    assert!(map.contains("<table>"), "no heat-map table in:\n{map}");
    let rows: Vec<&str> = map
        .split("<th scope=\"row\"")
        .skip(1)
        .map(|r| {
            let r = &r[r.find('>').unwrap() + 1..];
            &r[..r.find("</th>").unwrap()]
        })
        .collect();
    assert_eq!(rows, SERVICES, "service rows of the heat map");
    assert_eq!(map.matches("<td class=\"c ").count(), SERVICES.len() * 5);
    assert_eq!(map.matches("<td class=\"c all\"").count(), 8);
    assert_eq!(map.matches("<td class=\"c cond\"").count(), 1);
    assert_eq!(map.matches("data-gate=\"closed\"").count(), 1);
    assert_eq!(map.matches("data-gate=\"consent\"").count(), 6);
    let findings = between(&dom, "<section id=\"findings\">", "</section>");
    assert!(findings.contains("Findings (10)"));
    assert_eq!(findings.matches("<tr data-gate=").count(), 10);
    for id in [
        "privesc-passrole-ec2",
        "privesc-passrole-cloudformation",
        "exfil-s3-get-object",
        "destroy-ec2-terminate-instances",
    ] {
        assert!(
            findings.contains(&format!("id=\"{id}\"")),
            "finding {id} missing"
        );
    }
    assert!(findings.contains("deploy #1 (PassAppRoles)"));
    assert!(findings.contains("instances are retired by the autoscaler"));
    let gaps = between(&dom, "<section id=\"gaps\">", "</section>");
    assert!(gaps.contains("legacy-deploy"));

    // What a person sees.
    let shot = dir.join("report.png");
    browse(
        &dir,
        &page,
        &[
            format!("--window-size={WIDTH},{HEIGHT}"),
            format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    let img = Png::decode(&png);
    assert_eq!((img.width, img.height), (WIDTH, HEIGHT), "screenshot size");
    let count = |c: [u8; 3]| img.pixels().filter(|p| near(*p, c)).count();
    let (all, some, cond) = (count(ALL), count(SOME), count(COND));
    // Eight red cells, seven orange ones (one hatched), one yellow, of ~150 × 50 px each.
    assert!(all > 8 * 3000, "too few red (all) pixels: {all}");
    assert!(some > 5 * 3000, "too few orange (some) pixels: {some}");
    assert!(cond > 3000, "too few yellow (conditional) pixels: {cond}");
    let white = img.pixels().filter(|p| *p == [255, 255, 255]).count();
    assert!(
        white < img.pixels().count() * 9 / 10,
        "the screenshot is mostly blank"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn near(p: [u8; 3], c: [u8; 3]) -> bool {
    p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= 2)
}

/// A decoded 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes).
struct Png {
    width: u32,
    height: u32,
    channels: usize,
    data: Vec<u8>,
}

impl Png {
    fn decode(bytes: &[u8]) -> Png {
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "not a PNG signature"
        );
        let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let (mut width, mut height, mut channels) = (0, 0, 0);
        let mut idat = Vec::new();
        let mut pos = 8;
        while pos + 8 <= bytes.len() {
            let len = be(&bytes[pos..]) as usize;
            let kind = &bytes[pos + 4..pos + 8];
            let body = &bytes[pos + 8..pos + 8 + len];
            match kind {
                b"IHDR" => {
                    width = be(body);
                    height = be(&body[4..]);
                    assert_eq!(body[8], 8, "bit depth");
                    channels = match body[9] {
                        2 => 3,
                        6 => 4,
                        t => panic!("colour type {t}"),
                    };
                    assert_eq!(body[12], 0, "interlaced");
                }
                b"IDAT" => idat.extend_from_slice(body),
                b"IEND" => break,
                _ => {}
            }
            pos += 12 + len;
        }
        assert!(width > 0 && channels > 0, "no IHDR");
        // zlib: a 2-byte header, deflate data, an Adler-32.
        assert_eq!(idat[0] & 0x0f, 8, "not deflate");
        let raw = inflate(&idat[2..]);
        let stride = width as usize * channels;
        assert_eq!(raw.len(), (stride + 1) * height as usize, "image data size");
        let mut data = vec![0u8; stride * height as usize];
        for y in 0..height as usize {
            let filter = raw[y * (stride + 1)];
            let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
            for x in 0..stride {
                let a = if x >= channels {
                    data[y * stride + x - channels]
                } else {
                    0
                };
                let b = if y > 0 { data[(y - 1) * stride + x] } else { 0 };
                let c = if x >= channels && y > 0 {
                    data[(y - 1) * stride + x - channels]
                } else {
                    0
                };
                let pred = match filter {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    4 => {
                        let p = i16::from(a) + i16::from(b) - i16::from(c);
                        let (pa, pb, pc) = (
                            (p - i16::from(a)).abs(),
                            (p - i16::from(b)).abs(),
                            (p - i16::from(c)).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                    f => panic!("filter type {f}"),
                };
                data[y * stride + x] = line[x].wrapping_add(pred);
            }
        }
        Png {
            width,
            height,
            channels,
            data,
        }
    }

    /// RGB of every pixel.
    fn pixels(&self) -> impl Iterator<Item = [u8; 3]> + '_ {
        self.data
            .chunks_exact(self.channels)
            .map(|p| [p[0], p[1], p[2]])
    }
}

/// Bits of a deflate stream, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> u32 {
        let byte = *self
            .data
            .get(self.pos / 8)
            .expect("deflate data ends early");
        let b = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        u32::from(b)
    }

    fn bits(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |acc, i| acc | (self.bit() << i))
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Huffman {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut symbols = Vec::with_capacity(lengths.len());
        for len in 1..16u8 {
            for (s, &l) in lengths.iter().enumerate() {
                if l == len {
                    symbols.push(s as u16);
                }
            }
        }
        Huffman { counts, symbols }
    }

    fn decode(&self, bits: &mut Bits<'_>) -> u16 {
        // Codes of one length are consecutive; `first` is the first code of length `len`.
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit() as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return self.symbols[(index + code - first) as usize];
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        panic!("bad Huffman code in deflate data");
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Decompresses raw deflate data (RFC 1951): stored, fixed and dynamic Huffman blocks.
fn inflate(data: &[u8]) -> Vec<u8> {
    let mut bits = Bits { data, pos: 0 };
    let mut out = Vec::new();
    loop {
        let last = bits.bit() == 1;
        match bits.bits(2) {
            0 => {
                bits.pos = bits.pos.div_ceil(8) * 8;
                let at = bits.pos / 8;
                let len = usize::from(u16::from_le_bytes([data[at], data[at + 1]]));
                out.extend_from_slice(&data[at + 4..at + 4 + len]);
                bits.pos = (at + 4 + len) * 8;
            }
            1 => {
                let mut lengths = [8u8; 288];
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                block(
                    &mut bits,
                    &mut out,
                    &Huffman::new(&lengths),
                    &Huffman::new(&[5; 30]),
                );
            }
            2 => {
                let hlit = bits.bits(5) as usize + 257;
                let hdist = bits.bits(5) as usize + 1;
                let hclen = bits.bits(4) as usize + 4;
                const ORDER: [usize; 19] = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut cl = [0u8; 19];
                for &i in &ORDER[..hclen] {
                    cl[i] = bits.bits(3) as u8;
                }
                let cl = Huffman::new(&cl);
                let mut lengths = Vec::with_capacity(hlit + hdist);
                while lengths.len() < hlit + hdist {
                    match cl.decode(&mut bits) {
                        s @ 0..=15 => lengths.push(s as u8),
                        16 => {
                            let prev = *lengths.last().expect("repeat with no length");
                            let n = 3 + bits.bits(2) as usize;
                            lengths.extend(std::iter::repeat_n(prev, n));
                        }
                        17 => {
                            let n = 3 + bits.bits(3) as usize;
                            lengths.extend(std::iter::repeat_n(0, n));
                        }
                        _ => {
                            let n = 11 + bits.bits(7) as usize;
                            lengths.extend(std::iter::repeat_n(0, n));
                        }
                    }
                }
                block(
                    &mut bits,
                    &mut out,
                    &Huffman::new(&lengths[..hlit]),
                    &Huffman::new(&lengths[hlit..]),
                );
            }
            t => panic!("deflate block type {t}"),
        }
        if last {
            return out;
        }
    }
}

/// One Huffman-coded block, up to its end-of-block symbol.
fn block(bits: &mut Bits<'_>, out: &mut Vec<u8>, lit: &Huffman, dist: &Huffman) {
    loop {
        let s = usize::from(lit.decode(bits));
        match s {
            0..=255 => out.push(s as u8),
            256 => return,
            _ => {
                let i = s - 257;
                let len = usize::from(LEN_BASE[i]) + bits.bits(u32::from(LEN_EXTRA[i])) as usize;
                let d = usize::from(dist.decode(bits));
                let back = usize::from(DIST_BASE[d]) + bits.bits(u32::from(DIST_EXTRA[d])) as usize;
                let from = out.len() - back;
                for k in 0..len {
                    out.push(out[from + k]);
                }
            }
        }
    }
}
