//! Terminal and HTML renderings.

use std::fmt::{self, Write as _};

use portcullis_iam::AccessLevel;

use crate::access::{Access, Grant};
use crate::export::{Gap, IdentityKind};
use crate::findings::{Finding, Severity};
use crate::report::{Gate, LevelAccess, PrincipalInfo, Report, ThroughReport, Verdict};

const SHORT: [&str; 5] = ["List", "Read", "Tag", "Write", "Perm"];

fn cell_text(a: &Access) -> &'static str {
    match a {
        Access::All => "ALL",
        Access::Some => "some",
        Access::Conditional { .. } => "cond",
        Access::None => "-",
    }
}

fn scope_text(a: &Access) -> String {
    match a {
        Access::Conditional { keys } => format!("conditional on {}", keys.join(", ")),
        other => other.as_str().to_string(),
    }
}

fn grants_text(g: &[Grant]) -> String {
    g.iter()
        .map(|g| g.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn who(p: &PrincipalInfo) -> String {
    let kind = match p.kind {
        IdentityKind::User => "user",
        IdentityKind::Role => "role",
    };
    format!("{kind} {} ({})", p.name, p.arn)
}

fn write_finding(f: &mut fmt::Formatter<'_>, x: &Finding, gate: Option<&Gate>) -> fmt::Result {
    write!(
        f,
        "  [{}] {}: {} — {} — scope {}",
        x.severity.as_str(),
        x.category.as_str(),
        x.capability,
        x.actions.join(" + "),
        scope_text(&x.scope)
    )?;
    match gate {
        Some(Gate::Open) => write!(f, " — gate: open")?,
        Some(Gate::Consent) => write!(f, " — gate: consent")?,
        Some(Gate::Closed(r)) => write!(f, " — gate: closed ({r})")?,
        None => {}
    }
    writeln!(f)?;
    writeln!(f, "      granted by {}", grants_text(&x.statements))
}

fn write_gaps(f: &mut fmt::Formatter<'_>, gaps: &[Gap]) -> fmt::Result {
    if gaps.is_empty() {
        return Ok(());
    }
    writeln!(f, "Could not read ({}):", gaps.len())?;
    for g in gaps {
        write!(f, "  {} ({})", g.policy, g.attached_to)?;
        if let Some(a) = &g.arn {
            write!(f, " {a}")?;
        }
        writeln!(f, ": {}", g.reason)?;
    }
    Ok(())
}

fn header(f: &mut fmt::Formatter<'_>, width: usize) -> fmt::Result {
    write!(f, "  {:<width$}", "service")?;
    for s in SHORT {
        write!(f, " {s:<8}")?;
    }
    writeln!(f)
}

/// The terminal summary: a service × access-level grid of the services with any access
/// (`ALL`, `some`, `cond`, `-`), then the findings and the gaps.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Blast radius of {}", who(&self.principal))?;
        let width = self
            .services
            .iter()
            .map(|s| s.prefix.len())
            .max()
            .unwrap_or(7)
            .max(7);
        if self.services.is_empty() {
            writeln!(f, "No access.")?;
        } else {
            header(f, width)?;
            for s in &self.services {
                write!(f, "  {:<width$}", s.prefix)?;
                for l in &s.levels {
                    write!(f, " {:<8}", cell_text(&l.access))?;
                }
                writeln!(f)?;
            }
        }
        writeln!(f, "Findings ({}):", self.findings.len())?;
        for x in &self.findings {
            write_finding(f, x, None)?;
        }
        write_gaps(f, &self.gaps)
    }
}

fn verdict_mark(v: Verdict) -> &'static str {
    match v {
        Verdict::Open => "",
        Verdict::Consent => "?",
        Verdict::Closed => "x",
    }
}

/// The terminal summary through the gate: each cell as IAM allows it, marked `?` when only
/// consent lets it through and `x` when the gate closes it.
impl fmt::Display for ThroughReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Blast radius of {} through the gate",
            who(&self.principal)
        )?;
        let width = self
            .services
            .iter()
            .map(|s| s.prefix.len())
            .max()
            .unwrap_or(7)
            .max(7);
        if self.services.is_empty() {
            writeln!(f, "No access.")?;
        } else {
            header(f, width)?;
            for s in &self.services {
                write!(f, "  {:<width$}", s.prefix)?;
                for l in &s.levels {
                    let mut c = cell_text(&l.cell.access).to_string();
                    if l.cell.access.is_allowed() {
                        c.push_str(verdict_mark(l.gate));
                    }
                    write!(f, " {c:<8}")?;
                }
                writeln!(f)?;
            }
            writeln!(f, "  (? = only with consent, x = closed by the gate)")?;
        }
        writeln!(f, "Findings ({}):", self.findings.len())?;
        for x in &self.findings {
            write_finding(f, &x.finding, Some(&x.gate))?;
        }
        write_gaps(f, &self.gaps)
    }
}

/// What [`render_html`] draws: a plain report or one through a gate.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    /// A report.
    Report(&'a Report),
    /// A report through a gate.
    Through(&'a ThroughReport),
}

impl<'a> From<&'a Report> for View<'a> {
    fn from(r: &'a Report) -> View<'a> {
        View::Report(r)
    }
}

impl<'a> From<&'a ThroughReport> for View<'a> {
    fn from(r: &'a ThroughReport) -> View<'a> {
        View::Through(r)
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Heat-map colours, one per [`Access`] (also asserted on a screenshot by the portcullis tests):
/// all `#d7263d` (red), some `#f49d37` (orange), conditional `#f7e08b` (yellow), none `#f4f4f4`.
const CSS: &str = "*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;padding:1.5rem 2rem 2rem;color:#1d1d1f;background:#fff;max-width:82rem;line-height:1.35}\
h1{font-size:1.55rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.7rem 0 .4rem}\
p{margin:.3rem 0}.who{color:#444}.note{color:#555;font-size:.85rem;margin:0 0 .5rem}\
code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.78rem}\
#summary{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0 .5rem}\
.stat{border:1px solid #d8d8d8;border-radius:.4rem;padding:.4rem .8rem;background:#fafafa;flex:0 1 auto}\
.stat b{font-size:1.45rem;margin-right:.35rem}.stat span{color:#555;font-size:.82rem}.stat.alarm{border-color:#d7263d;background:#fff5f6}.stat.alarm b{color:#b3001b}\
#legend{display:grid;grid-template-columns:max-content 1fr;gap:.35rem .8rem;align-items:center;font-size:.85rem;margin:.9rem 0 0}\
#legend .k{font-weight:700;color:#333}#legend .items{display:flex;flex-wrap:wrap;gap:.35rem 1rem;align-items:center}\
.sw{display:inline-block;width:2.6rem;height:1.25rem;border:1px solid #bbb;vertical-align:middle;margin-right:.3rem}\
table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #d0d0d0;padding:.3rem .5rem;text-align:left;vertical-align:top}\
thead th{background:#ececec;font-weight:700}\
#access-map thead th{text-align:center;vertical-align:bottom}\
#access-map tbody th{background:#f7f7f7;font-family:ui-monospace,'DejaVu Sans Mono',Menlo,Consolas,monospace;font-size:.85rem;vertical-align:middle;padding-right:1.2rem}\
td.c{text-align:center;vertical-align:middle;width:9.4rem;height:3.1rem;padding:.2rem}\
.lv{display:block;font-weight:800;font-size:.95rem;letter-spacing:.02em}\
.all{background:#d7263d;color:#fff}.some{background:#f49d37;color:#1d1d1f}.cond{background:#f7e08b;color:#1d1d1f}.none{background:#f4f4f4;color:#aaa}\
[data-gate=closed].c,.sw.closed{background-image:repeating-linear-gradient(135deg,rgba(255,255,255,.78) 0 6px,rgba(255,255,255,0) 6px 12px);color:#222}\
[data-gate=closed].c .lv{text-decoration:line-through;text-decoration-thickness:2px}\
[data-gate=consent].c,.sw.consent{outline:2px dashed #4a3200;outline-offset:-5px}\
.g{display:inline-block;margin-top:.15rem;padding:0 .45rem;border-radius:.7rem;font-size:.72rem;font-weight:700;background:#fff;color:#000;border:1.5px solid #000;white-space:nowrap;line-height:1.35}\
.g.open{border-color:#0a6b2c;color:#0a6b2c}.g.consent{border-color:#7a4f00;color:#7a4f00;border-style:dashed}.g.closed{border-color:#333;color:#333;background:#e4e4e4}\
.g.part{margin-left:.25rem}\
#findings table{width:100%;table-layout:fixed}#findings th:nth-child(1){width:5.6rem}#findings th:nth-child(2){width:7.8rem}#findings th:nth-child(3){width:10rem}#findings th:nth-child(4){width:15.5rem}#findings th:nth-child(5){width:13rem}#findings th:nth-child(6){width:8rem}#findings td{overflow-wrap:break-word}#findings td{background:#fff}\
#findings tr[data-gate=closed] td{background:#f6f6f6;color:#555}\
#findings tr[data-gate=closed] .sev{opacity:.6}\
.sev{display:inline-block;padding:.05rem .45rem;border-radius:.3rem;font-weight:800;font-size:.72rem;text-transform:uppercase;color:#fff;letter-spacing:.03em}\
.sev.critical{background:#5c0011}.sev.high{background:#b3261e}.sev.medium{background:#b86e00}.sev.low{background:#6b7280}\
.scope{display:inline-block;padding:0 .45rem;border-radius:.3rem;font-weight:700;font-size:.78rem;border:1px solid rgba(0,0,0,.15)}\
.res{display:block;margin-top:.2rem;color:#444;overflow-wrap:anywhere}\
.why{font-size:.76rem;color:#555;margin-top:.2rem}\
.muted{color:#777}footer{margin-top:2rem;color:#888;font-size:.78rem}";

fn cell_class(a: &Access) -> &'static str {
    match a {
        Access::All => "all",
        Access::Some => "some",
        Access::Conditional { .. } => "cond",
        Access::None => "none",
    }
}

fn badge(v: Verdict) -> &'static str {
    match v {
        Verdict::Open => "<span class=\"g open\">&#10003; open</span>",
        Verdict::Consent => "<span class=\"g consent\">? consent</span>",
        Verdict::Closed => "<span class=\"g closed\">&#10005; closed</span>",
    }
}

fn gate_verdict(g: &Gate) -> Verdict {
    match g {
        Gate::Open => Verdict::Open,
        Gate::Consent => Verdict::Consent,
        Gate::Closed(_) => Verdict::Closed,
    }
}

fn scope_word(a: &Access) -> &'static str {
    match a {
        Access::All => "every resource",
        Access::Some => "named resources",
        Access::Conditional { .. } => "only under conditions",
        Access::None => "none",
    }
}

/// One heat-map cell; `gate` is `(verdict, open, consent, closed)` through a gate.
fn cell_html(
    out: &mut String,
    level: AccessLevel,
    l: &LevelAccess,
    gate: Option<(Verdict, usize, usize, usize)>,
) {
    let a = &l.access;
    let mut title = format!(
        "{} of {} {} actions allowed: {}",
        l.allowed,
        l.total,
        level.as_str(),
        scope_word(a)
    );
    if let Access::Conditional { keys } = a {
        let _ = write!(title, " ({})", keys.join(", "));
    }
    let gate = gate.filter(|_| a.is_allowed());
    if let Some((_, open, consent, closed)) = gate {
        let _ = write!(
            title,
            "; through the gate: {open} open, {consent} need consent, {closed} closed"
        );
    }
    let _ = write!(out, "<td class=\"c {}\"", cell_class(a));
    if let Some((v, ..)) = gate {
        let _ = write!(out, " data-gate=\"{}\"", v.as_str());
    }
    let _ = write!(out, " title=\"{}\">", escape_html(&title));
    if a.is_allowed() {
        let _ = write!(out, "<span class=\"lv\">{}</span>", cell_text(a));
    }
    if let Some((v, _, _, closed)) = gate {
        out.push_str(badge(v));
        if v != Verdict::Closed && closed > 0 {
            let _ = write!(
                out,
                "<span class=\"g closed part\" title=\"{closed} of these actions closed\">&#10005; {closed}</span>"
            );
        }
    }
    out.push_str("</td>");
}

/// Escapes `s`, setting its `backticked` spans (rule ids, commands, actions) in `<code>`.
fn ticks_html(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let mut out = String::with_capacity(s.len() + 16);
    for (i, p) in parts.iter().enumerate() {
        // An unpaired last backtick stays as it was.
        if i % 2 == 1 && i + 1 < parts.len() {
            let _ = write!(out, "<code>{}</code>", escape_html(p));
        } else {
            if i % 2 == 1 {
                out.push('`');
            }
            out.push_str(&escape_html(p));
        }
    }
    out
}

fn grants_html(g: &[Grant]) -> String {
    g.iter()
        .map(|g| {
            let mut s = format!("{} #{}", escape_html(&g.policy), g.index);
            if let Some(sid) = &g.sid {
                let _ = write!(s, " ({})", escape_html(sid));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 0,
        Severity::High => 1,
        Severity::Medium => 2,
        Severity::Low => 3,
    }
}

fn verdict_rank(v: Option<Verdict>) -> u8 {
    match v {
        None | Some(Verdict::Open) => 0,
        Some(Verdict::Consent) => 1,
        Some(Verdict::Closed) => 2,
    }
}

fn stat(out: &mut String, alarm: bool, n: usize, what: &str, detail: &str) {
    let _ = write!(
        out,
        "<div class=\"stat{}\"><b>{n}</b>{}<br><span>{}</span></div>",
        if alarm { " alarm" } else { "" },
        escape_html(what),
        escape_html(detail)
    );
}

fn summary(out: &mut String, services: usize, findings: &[(&Finding, Option<&Gate>)], gated: bool) {
    out.push_str("<section id=\"summary\">");
    stat(
        out,
        false,
        services,
        if services == 1 { "service" } else { "services" },
        "reachable through IAM",
    );
    let mut by_sev = Vec::new();
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = findings.iter().filter(|(f, _)| f.severity == s).count();
        if n > 0 {
            by_sev.push(format!("{n} {}", s.as_str()));
        }
    }
    let serious = findings.iter().any(|(f, _)| f.severity >= Severity::High);
    stat(
        out,
        serious && !gated,
        findings.len(),
        if findings.len() == 1 {
            "finding"
        } else {
            "findings"
        },
        &if by_sev.is_empty() {
            "no risky capability".to_string()
        } else {
            by_sev.join(" · ")
        },
    );
    if gated {
        let count = |v: Verdict| {
            findings
                .iter()
                .filter(|(_, g)| g.map(gate_verdict) == Some(v))
                .count()
        };
        let open = count(Verdict::Open);
        let open_serious = findings
            .iter()
            .filter(|(f, g)| {
                g.map(gate_verdict) == Some(Verdict::Open) && f.severity >= Severity::High
            })
            .count();
        stat(
            out,
            open_serious > 0,
            open,
            "open",
            &format!("run without asking ({open_serious} high or critical)"),
        );
        stat(
            out,
            false,
            count(Verdict::Consent),
            "need consent",
            "a person approves each call",
        );
        stat(
            out,
            false,
            count(Verdict::Closed),
            "closed",
            "refused by the Portcullis policy",
        );
    }
    out.push_str("</section>\n");
}

fn legend(out: &mut String, gated: bool) {
    out.push_str(
        "<section id=\"legend\"><span class=\"k\">IAM allows</span><span class=\"items\">\
<span><span class=\"sw all\"></span>ALL: every resource</span>\
<span><span class=\"sw some\"></span>some: named resources only</span>\
<span><span class=\"sw cond\"></span>cond: only under conditions</span>\
<span><span class=\"sw none\"></span>none</span></span>",
    );
    if gated {
        out.push_str("<span class=\"k\">Through Portcullis</span><span class=\"items\">\
<span><span class=\"g open\">&#10003; open</span> runs</span>\
<span><span class=\"sw some consent\"></span><span class=\"g consent\">? consent</span> a person approves each call</span>\
<span><span class=\"sw some closed\"></span><span class=\"g closed\">&#10005; closed</span> refused (hatched, struck out)</span>\
<span><span class=\"g closed part\">&#10005; n</span> n of the cell&#39;s actions refused</span></span>");
    }
    out.push_str("</section>\n");
}

/// One self-contained HTML page (inline CSS, no scripts, no external assets, nothing
/// time-dependent): a summary, a legend, the service × access-level heat map (colour per cell:
/// all red, some orange, conditional yellow, none grey; through a gate, a marker per cell: open,
/// consent with a dashed outline, closed hatched and struck out), the findings with their granting
/// statements (through a gate: what it lets through first, then by severity), and the gaps. Every
/// string from the input is escaped.
pub fn render_html<'a>(view: impl Into<View<'a>>, title: &str) -> String {
    let view = view.into();
    let (principal, gaps) = match view {
        View::Report(r) => (&r.principal, &r.gaps),
        View::Through(t) => (&t.principal, &t.gaps),
    };
    let gated = matches!(view, View::Through(_));
    let mut findings: Vec<(&Finding, Option<&Gate>)> = match view {
        View::Report(r) => r.findings.iter().map(|f| (f, None)).collect(),
        View::Through(t) => t
            .findings
            .iter()
            .map(|f| (&f.finding, Some(&f.gate)))
            .collect(),
    };
    findings.sort_by_key(|(f, g)| (verdict_rank(g.map(gate_verdict)), severity_rank(f.severity)));
    let services = match view {
        View::Report(r) => r.services.len(),
        View::Through(t) => t.services.len(),
    };
    let kind = match principal.kind {
        IdentityKind::User => "user",
        IdentityKind::Role => "role",
    };
    let mut out = String::with_capacity(24 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title><style>{CSS}</style></head><body>\n<header><h1>{t}</h1>\n<p class=\"who\">IAM {kind} <b>{n}</b> &middot; <code>{arn}</code></p></header>\n",
        t = escape_html(title),
        n = escape_html(&principal.name),
        arn = escape_html(&principal.arn),
    );
    summary(&mut out, services, &findings, gated);
    legend(&mut out, gated);
    out.push_str("<section id=\"access-map\"><h2>Access map</h2>\n<p class=\"note\">One row per service the identity&#39;s IAM policies reach, one column per IAM access level");
    if gated {
        out.push_str("; the marker is what the Portcullis policy does with those actions");
    }
    out.push_str(". Hover a cell for its action counts.</p>\n<table><thead><tr><th>Service</th>");
    for l in AccessLevel::ALL {
        let _ = write!(out, "<th>{}</th>", escape_html(l.as_str()));
    }
    out.push_str("</tr></thead><tbody>\n");
    let row_head = |out: &mut String, name: &str, prefix: &str| {
        let _ = write!(
            out,
            "<tr><th scope=\"row\" title=\"{}\">{}</th>",
            escape_html(name),
            escape_html(prefix)
        );
    };
    match view {
        View::Report(r) => {
            for s in &r.services {
                row_head(&mut out, &s.name, &s.prefix);
                for l in &s.levels {
                    cell_html(&mut out, l.level, l, None);
                }
                out.push_str("</tr>\n");
            }
        }
        View::Through(t) => {
            for s in &t.services {
                row_head(&mut out, &s.name, &s.prefix);
                for l in &s.levels {
                    cell_html(
                        &mut out,
                        l.cell.level,
                        &l.cell,
                        Some((l.gate, l.open, l.consent, l.closed)),
                    );
                }
                out.push_str("</tr>\n");
            }
        }
    }
    if services == 0 {
        out.push_str("<tr><td colspan=\"6\" class=\"muted\">No access.</td></tr>\n");
    }
    let _ = write!(
        out,
        "</tbody></table></section>\n<section id=\"findings\"><h2>Findings ({})</h2>\n",
        findings.len()
    );
    if findings.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>\n");
    } else {
        out.push_str(if gated {
            "<p class=\"note\">Risky capabilities the IAM policies grant, with the statements granting them; what the gate lets through first, then by severity.</p>\n"
        } else {
            "<p class=\"note\">Risky capabilities the IAM policies grant, with the statements granting them, by severity.</p>\n"
        });
        out.push_str("<table><thead><tr><th>Severity</th><th>Category</th><th>Capability</th><th>Actions</th><th>Scope</th><th>Granted by</th>");
        if gated {
            out.push_str("<th>Gate</th>");
        }
        out.push_str("</tr></thead><tbody>\n");
        for (f, g) in findings {
            out.push_str("<tr");
            if let Some(g) = g {
                let _ = write!(out, " data-gate=\"{}\"", gate_verdict(g).as_str());
            }
            let _ = write!(
                out,
                " id=\"{id}\"><td><span class=\"sev {sev}\">{sev}</span></td><td>{cat}</td><td>{cap}</td><td>{acts}</td><td><span class=\"scope {cls}\">{scope}</span>",
                id = escape_html(f.id),
                sev = f.severity.as_str(),
                cat = escape_html(f.category.as_str()),
                cap = escape_html(f.capability),
                acts = f
                    .actions
                    .iter()
                    .map(|a| format!("<code>{}</code>", escape_html(a)))
                    .collect::<Vec<_>>()
                    .join(" +<br>"),
                cls = cell_class(&f.scope),
                scope = escape_html(&scope_text(&f.scope)),
            );
            for r in &f.resources {
                let _ = write!(out, "<code class=\"res\">{}</code>", escape_html(r));
            }
            let _ = write!(out, "</td><td>{}</td>", grants_html(&f.statements));
            if let Some(g) = g {
                out.push_str("<td>");
                out.push_str(badge(gate_verdict(g)));
                if let Gate::Closed(r) = g {
                    let _ = write!(out, "<div class=\"why\">{}</div>", ticks_html(r));
                }
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n<section id=\"gaps\">");
    if gaps.is_empty() {
        out.push_str("<h2>Could not read</h2>\n<p class=\"muted\">Every policy was read.</p>\n");
    } else {
        let _ = write!(
            out,
            "<h2>Could not read ({})</h2>\n<p class=\"note\">The report cannot see into these policies: the identity may be able to do more than shown.</p>\n",
            gaps.len()
        );
        out.push_str("<table><thead><tr><th>Policy</th><th>ARN</th><th>Attached to</th><th>Reason</th></tr></thead><tbody>\n");
        for g in gaps {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                escape_html(&g.policy),
                escape_html(g.arn.as_deref().unwrap_or("")),
                escape_html(&g.attached_to),
                escape_html(&g.reason)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n<footer>Made by <code>portcullis iam blast-radius</code> from IAM policies alone: no scripts, nothing loaded from the network.</footer>\n</body></html>\n");
    out
}
