//! Terminal and HTML renderings.

use std::fmt::{self, Write as _};

use portcullis_iam::AccessLevel;

use crate::access::{Access, Grant};
use crate::export::{Gap, IdentityKind};
use crate::findings::Finding;
use crate::report::{Gate, PrincipalInfo, Report, ThroughReport, Verdict};

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

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d1d1f}\
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}\
table{border-collapse:collapse;font-size:.85rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.c{text-align:center;min-width:5.5rem}\
.all{background:#d7263d;color:#fff}.some{background:#f49d37}.cond{background:#f7e08b}.none{background:#f5f5f5;color:#999}\
.g{display:inline-block;margin-left:.3rem;padding:0 .3rem;border-radius:.6rem;font-size:.7rem;font-weight:bold;background:#fff;color:#000;border:1px solid #000}\
.g.open{border-color:#0a7d32;color:#0a7d32}.g.consent{border-color:#9a6b00;color:#9a6b00}.g.closed{border-color:#333;color:#333;text-decoration:line-through}\
.sev-critical{color:#a00;font-weight:bold}.sev-high{color:#d7263d;font-weight:bold}.sev-medium{color:#9a6b00}.sev-low{color:#555}\
.legend span{display:inline-block;padding:.1rem .5rem;margin-right:.4rem;border:1px solid #ccc}\
code{font-size:.8rem}.muted{color:#777}";

fn cell_class(a: &Access) -> &'static str {
    match a {
        Access::All => "all",
        Access::Some => "some",
        Access::Conditional { .. } => "cond",
        Access::None => "none",
    }
}

fn cell_html(out: &mut String, a: &Access, allowed: usize, total: usize, gate: Option<Verdict>) {
    let title = match a {
        Access::Conditional { keys } => {
            format!(
                "{allowed}/{total} actions, conditional on {}",
                keys.join(", ")
            )
        }
        _ => format!("{allowed}/{total} actions"),
    };
    let _ = write!(
        out,
        "<td class=\"c {}\" title=\"{}\">{}",
        cell_class(a),
        escape_html(&title),
        if a.is_allowed() { cell_text(a) } else { "" }
    );
    if let (Some(v), true) = (gate, a.is_allowed()) {
        let mark = match v {
            Verdict::Open => "open",
            Verdict::Consent => "consent",
            Verdict::Closed => "closed",
        };
        let _ = write!(out, "<span class=\"g {mark}\">{mark}</span>");
    }
    out.push_str("</td>");
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

/// One self-contained HTML page (inline CSS, no scripts, no external assets): the service ×
/// access-level heat map (colour per cell: all, some, conditional, none; through a gate, a marker
/// per cell: open, consent, closed), a legend, the findings with their granting statements, and
/// the gaps. Every string from the input is escaped.
pub fn render_html<'a>(view: impl Into<View<'a>>, title: &str) -> String {
    let view = view.into();
    let (principal, gaps) = match view {
        View::Report(r) => (&r.principal, &r.gaps),
        View::Through(t) => (&t.principal, &t.gaps),
    };
    let gated = matches!(view, View::Through(_));
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{CSS}</style></head><body>\n<h1>{t}</h1>\n<p>{w}</p>\n",
        t = escape_html(title),
        w = escape_html(&who(principal)),
    );
    // Legend.
    out.push_str("<p class=\"legend\"><span class=\"all\">ALL: every resource</span><span class=\"some\">some: some resources</span><span class=\"cond\">cond: only under conditions</span><span class=\"none\">none</span>");
    if gated {
        out.push_str(" Gate: <span class=\"g open\">open</span> passes <span class=\"g consent\">consent</span> needs a human's consent <span class=\"g closed\">closed</span> refused");
    }
    out.push_str("</p>\n<h2>Access map</h2>\n");
    let mut rows = 0;
    out.push_str("<table><thead><tr><th>Service</th>");
    for l in AccessLevel::ALL {
        let _ = write!(out, "<th>{}</th>", escape_html(l.as_str()));
    }
    out.push_str("</tr></thead><tbody>\n");
    match view {
        View::Report(r) => {
            for s in &r.services {
                rows += 1;
                let _ = write!(
                    out,
                    "<tr><th title=\"{}\">{}</th>",
                    escape_html(&s.name),
                    escape_html(&s.prefix)
                );
                for l in &s.levels {
                    cell_html(&mut out, &l.access, l.allowed, l.total, None);
                }
                out.push_str("</tr>\n");
            }
        }
        View::Through(t) => {
            for s in &t.services {
                rows += 1;
                let _ = write!(
                    out,
                    "<tr><th title=\"{}\">{}</th>",
                    escape_html(&s.name),
                    escape_html(&s.prefix)
                );
                for l in &s.levels {
                    cell_html(
                        &mut out,
                        &l.cell.access,
                        l.cell.allowed,
                        l.cell.total,
                        Some(l.gate),
                    );
                }
                out.push_str("</tr>\n");
            }
        }
    }
    if rows == 0 {
        out.push_str("<tr><td colspan=\"6\" class=\"muted\">No access.</td></tr>\n");
    }
    out.push_str("</tbody></table>\n<h2>Findings</h2>\n");
    let findings: Vec<(&Finding, Option<&Gate>)> = match view {
        View::Report(r) => r.findings.iter().map(|f| (f, None)).collect(),
        View::Through(t) => t
            .findings
            .iter()
            .map(|f| (&f.finding, Some(&f.gate)))
            .collect(),
    };
    if findings.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>\n");
    } else {
        out.push_str("<table><thead><tr><th>Severity</th><th>Category</th><th>Capability</th><th>Actions</th><th>Scope</th><th>Granted by</th>");
        if gated {
            out.push_str("<th>Gate</th>");
        }
        out.push_str("</tr></thead><tbody>\n");
        for (f, g) in findings {
            let _ = write!(
                out,
                "<tr><td class=\"sev-{sev}\">{sev}</td><td>{cat}</td><td>{cap}</td><td><code>{acts}</code></td><td class=\"{cls}\">{scope}",
                sev = f.severity.as_str(),
                cat = escape_html(f.category.as_str()),
                cap = escape_html(f.capability),
                acts = escape_html(&f.actions.join(" + ")),
                cls = cell_class(&f.scope),
                scope = escape_html(&scope_text(&f.scope)),
            );
            if !f.resources.is_empty() {
                let _ = write!(
                    out,
                    "<br><code>{}</code>",
                    f.resources
                        .iter()
                        .map(|r| escape_html(r))
                        .collect::<Vec<_>>()
                        .join("<br>")
                );
            }
            let _ = write!(out, "</td><td>{}</td>", grants_html(&f.statements));
            if let Some(g) = g {
                let (cls, text) = match g {
                    Gate::Open => ("open", "open".to_string()),
                    Gate::Consent => ("consent", "consent".to_string()),
                    Gate::Closed(r) => ("closed", format!("closed: {r}")),
                };
                let _ = write!(
                    out,
                    "<td><span class=\"g {cls}\">{cls}</span> {}</td>",
                    if cls == "closed" {
                        escape_html(&text["closed: ".len()..])
                    } else {
                        String::new()
                    }
                );
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("<h2>Could not read</h2>\n");
    if gaps.is_empty() {
        out.push_str("<p class=\"muted\">Every policy was read.</p>\n");
    } else {
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
    out.push_str("</body></html>\n");
    out
}
