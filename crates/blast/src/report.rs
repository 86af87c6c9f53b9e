//! The report for one principal, and what a gate leaves of it.

use std::collections::HashMap;

use portcullis_iam::{AccessLevel, catalogue};
use serde::Serialize;

use crate::access::{Access, ActionAccess, Evaluator, catalogued, lookup};
use crate::export::{Export, Gap, Identity, IdentityKind, ReportError};
use crate::findings::{CHECKS, Finding, fallback_level};

/// Who the report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalInfo {
    /// `user` or `role`.
    pub kind: IdentityKind,
    /// The user or role name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
}

/// One cell of the map: a service's actions of one access level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LevelAccess {
    /// The access level.
    pub level: AccessLevel,
    /// The most any action of the level is allowed (flattened: `"scope": "all"`, ...).
    #[serde(flatten)]
    pub access: Access,
    /// How many of the level's actions are allowed at all.
    pub allowed: usize,
    /// How many actions of the level the service has.
    pub total: usize,
}

/// One row of the map: a service with some access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAccess {
    /// The service prefix (`s3`).
    pub prefix: String,
    /// Its name (`Amazon S3`).
    pub name: String,
    /// One entry per access level, in [`AccessLevel::ALL`] order.
    pub levels: Vec<LevelAccess>,
}

/// The blast-radius report for one user or role.
///
/// JSON (stable field names): `principal` {`kind`, `name`, `arn`}; `services`: [{`prefix`,
/// `name`, `levels`: [{`level`, `scope` (`all`, `some`, `conditional`, `none`), `keys` (when
/// conditional), `allowed`, `total`}]}]; `findings`: [{`id`, `capability`, `category`,
/// `severity`, `actions`, `scope` {`scope`, `keys`?}, `resources`?, `statements`: [{`policy`,
/// `kind`, `index`, `sid`?}]}]; `gaps`: [{`policy`, `arn`?, `attached_to`, `reason`}]. The
/// per-action detail ([`Report::actions`]) is not serialized (it runs to thousands of entries
/// for an administrator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Who.
    pub principal: PrincipalInfo,
    /// Services with any allowed action, by prefix.
    pub services: Vec<ServiceAccess>,
    /// Risky capabilities, in check order (privilege escalation first).
    pub findings: Vec<Finding>,
    /// Policies that could not be read: the report may understate (or, for a boundary,
    /// overstate) access.
    pub gaps: Vec<Gap>,
    #[serde(skip)]
    actions: Vec<ActionAccess>,
}

impl Report {
    /// The report for the user or role with this ARN (or name).
    pub fn new(export: &Export, who: &str) -> Result<Report, ReportError> {
        let id = export
            .find(who)
            .ok_or_else(|| ReportError::NotFound(who.to_string()))?;
        Report::for_identity(export, id)
    }

    /// The report for one identity of the export.
    pub fn for_identity(export: &Export, id: &Identity) -> Result<Report, ReportError> {
        Report::for_session(export, id, None)
    }

    /// The report for one identity's sessions created with these session policies (`None`: no
    /// session policy): the effective permissions are the identity's intersected with them.
    pub fn for_session(
        export: &Export,
        id: &Identity,
        session: Option<Vec<portcullis_iam_eval::Policy>>,
    ) -> Result<Report, ReportError> {
        let mut asm = export.assemble(id)?;
        asm.set.session = session;
        let ev = Evaluator::new(&asm.set, &asm.principal, &asm.allows);
        let map = ev.map();
        let mut services = Vec::with_capacity(map.len());
        for (prefix, actions) in &map {
            let Some(svc) = catalogue().service(prefix) else {
                continue;
            };
            let levels = AccessLevel::ALL
                .iter()
                .map(|&level| {
                    let mut access = Access::None;
                    let mut allowed = 0;
                    for a in actions.iter().filter(|a| a.level == level) {
                        access = access.max(a.access.clone());
                        allowed += 1;
                    }
                    LevelAccess {
                        level,
                        access,
                        allowed,
                        total: svc
                            .actions()
                            .iter()
                            .filter(|a| a.access_level == level)
                            .count(),
                    }
                })
                .collect();
            services.push(ServiceAccess {
                prefix: svc.prefix.clone(),
                name: svc.name.clone(),
                levels,
            });
        }
        // Actions the checks name that the catalogue lacks are evaluated on their own.
        let mut extras = Vec::new();
        for c in CHECKS {
            for a in c.actions {
                if catalogued(a).is_none() && !extras.iter().any(|x: &ActionAccess| x.action == *a)
                {
                    extras.push(ev.uncatalogued(a, fallback_level(a)));
                }
            }
        }
        let none = ActionAccess {
            action: String::new(),
            level: AccessLevel::List,
            access: Access::None,
            resources: Vec::new(),
            statements: Vec::new(),
        };
        let findings = CHECKS
            .iter()
            .filter_map(|c| {
                crate::findings::evaluate(c, |a| {
                    lookup(&map, a)
                        .or_else(|| extras.iter().find(|x| x.action == a))
                        .or(Some(&none))
                })
            })
            .collect();
        let mut actions: Vec<ActionAccess> = map.into_iter().flat_map(|(_, v)| v).collect();
        actions.extend(extras.into_iter().filter(|x| x.access.is_allowed()));
        Ok(Report {
            principal: PrincipalInfo {
                kind: id.kind,
                name: id.name.clone(),
                arn: id.arn.clone(),
            },
            services,
            findings,
            gaps: asm.gaps,
            actions,
        })
    }

    /// Reports for every user and role of the export, in export order. An identity that cannot
    /// be evaluated (an ARN the evaluator rejects) gets an empty report whose gap says why.
    pub fn for_all(export: &Export) -> Vec<Report> {
        export
            .identities()
            .iter()
            .map(|id| {
                Report::for_identity(export, id).unwrap_or_else(|e| Report {
                    principal: PrincipalInfo {
                        kind: id.kind,
                        name: id.name.clone(),
                        arn: id.arn.clone(),
                    },
                    services: Vec::new(),
                    findings: Vec::new(),
                    gaps: vec![Gap {
                        policy: String::new(),
                        arn: None,
                        attached_to: id.arn.clone(),
                        reason: e.to_string(),
                    }],
                    actions: Vec::new(),
                })
            })
            .collect()
    }

    /// Every allowed action (catalogue order, then the checks' uncatalogued actions).
    pub fn actions(&self) -> &[ActionAccess] {
        &self.actions
    }

    /// One action's access ([`Access::None`] if not allowed).
    pub fn access(&self, action: &str) -> Access {
        self.actions
            .iter()
            .find(|a| a.action.eq_ignore_ascii_case(action))
            .map(|a| a.access.clone())
            .unwrap_or(Access::None)
    }

    /// One cell of the map ([`Access::None`] for a service without access).
    pub fn cell(&self, prefix: &str, level: AccessLevel) -> Access {
        self.services
            .iter()
            .find(|s| s.prefix.eq_ignore_ascii_case(prefix))
            .and_then(|s| s.levels.iter().find(|l| l.level == level))
            .map(|l| l.access.clone())
            .unwrap_or(Access::None)
    }

    /// The findings of one check.
    pub fn finding(&self, id: &str) -> Option<&Finding> {
        self.findings.iter().find(|f| f.id == id)
    }

    /// The report seen through a gate (Portcullis's policy): each action, cell and finding
    /// annotated with what `gate` does to it. `gate` is called once per allowed action.
    pub fn through(&self, gate: impl Fn(&str, AccessLevel) -> Gate) -> ThroughReport {
        let gates: Vec<Gate> = self
            .actions
            .iter()
            .map(|a| gate(&a.action, a.level))
            .collect();
        let gate_of = |action: &str| -> Gate {
            match self
                .actions
                .iter()
                .position(|a| a.action.eq_ignore_ascii_case(action))
            {
                Some(i) => gates[i].clone(),
                None => gate(
                    action,
                    catalogued(action).unwrap_or_else(|| fallback_level(action)),
                ),
            }
        };
        // (prefix, level) -> (open, consent, closed, access through the gate).
        let mut tally: HashMap<(String, AccessLevel), (usize, usize, usize, Access)> =
            HashMap::new();
        for (a, g) in self.actions.iter().zip(&gates) {
            let prefix = a
                .action
                .split_once(':')
                .map(|(p, _)| p.to_ascii_lowercase())
                .unwrap_or_default();
            let e = tally
                .entry((prefix, a.level))
                .or_insert((0, 0, 0, Access::None));
            match g {
                Gate::Open => e.0 += 1,
                Gate::Consent => e.1 += 1,
                Gate::Closed(_) => e.2 += 1,
            }
            if !matches!(g, Gate::Closed(_)) {
                e.3 = e.3.clone().max(a.access.clone());
            }
        }
        let services = self
            .services
            .iter()
            .map(|s| {
                let levels = s
                    .levels
                    .iter()
                    .map(|l| {
                        let (open, consent, closed, through) = tally
                            .get(&(s.prefix.to_ascii_lowercase(), l.level))
                            .cloned()
                            .unwrap_or((0, 0, 0, Access::None));
                        let gate = if open > 0 {
                            Verdict::Open
                        } else if consent > 0 {
                            Verdict::Consent
                        } else {
                            Verdict::Closed
                        };
                        ThroughLevel {
                            cell: l.clone(),
                            open,
                            consent,
                            closed,
                            gate,
                            through,
                        }
                    })
                    .collect();
                ThroughService {
                    prefix: s.prefix.clone(),
                    name: s.name.clone(),
                    levels,
                }
            })
            .collect();
        let findings = self
            .findings
            .iter()
            .map(|f| {
                let per_action: Vec<ActionGate> = f
                    .actions
                    .iter()
                    .map(|a| ActionGate {
                        action: a.clone(),
                        gate: gate_of(a),
                    })
                    .collect();
                let closed = per_action.iter().find_map(|x| match &x.gate {
                    Gate::Closed(r) => Some(format!("{}: {r}", x.action)),
                    _ => None,
                });
                let gate = match closed {
                    Some(r) => Gate::Closed(r),
                    None if per_action.iter().any(|x| x.gate == Gate::Consent) => Gate::Consent,
                    None => Gate::Open,
                };
                ThroughFinding {
                    finding: f.clone(),
                    gate,
                    per_action,
                }
            })
            .collect();
        ThroughReport {
            principal: self.principal.clone(),
            services,
            findings,
            gaps: self.gaps.clone(),
        }
    }
}

/// What the gate (Portcullis's policy decide stage) does with a call of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "gate", content = "reason", rename_all = "lowercase")]
pub enum Gate {
    /// Let through.
    Open,
    /// Let through after a human consents.
    Consent,
    /// Refused, with the reason.
    Closed(String),
}

/// A cell's summary verdict: `open` if any of its allowed actions is open, else `consent` if any
/// needs consent, else `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Some action passes.
    Open,
    /// Some action passes with consent, none freely.
    Consent,
    /// Nothing passes.
    Closed,
}

impl Verdict {
    /// `open`, `consent`, `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Open => "open",
            Verdict::Consent => "consent",
            Verdict::Closed => "closed",
        }
    }
}

/// A cell seen through the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThroughLevel {
    /// The cell as IAM allows it.
    #[serde(flatten)]
    pub cell: LevelAccess,
    /// Allowed actions the gate lets through.
    pub open: usize,
    /// Allowed actions that need consent.
    pub consent: usize,
    /// Allowed actions the gate refuses.
    pub closed: usize,
    /// The summary verdict.
    pub gate: Verdict,
    /// What is left through the gate (open or consent actions): the most of them.
    pub through: Access,
}

/// A service row seen through the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThroughService {
    /// The service prefix.
    pub prefix: String,
    /// Its name.
    pub name: String,
    /// One per access level, in [`AccessLevel::ALL`] order.
    pub levels: Vec<ThroughLevel>,
}

/// What the gate does with one action of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionGate {
    /// The action.
    pub action: String,
    /// The gate's answer.
    #[serde(flatten)]
    pub gate: Gate,
}

/// A finding seen through the gate: closed if any of its actions is closed (the capability needs
/// them all), else consent if any needs consent, else open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThroughFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// The gate's effect on the whole capability (`gate` and, if closed, `reason`).
    #[serde(flatten)]
    pub gate: Gate,
    /// Per action.
    pub per_action: Vec<ActionGate>,
}

/// A [`Report`] seen through a gate; see [`Report::through`]. Same JSON as [`Report`] plus, per
/// cell, `open`/`consent`/`closed` counts, `gate` and `through`; per finding `gate`, `reason` (if
/// closed) and `per_action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThroughReport {
    /// Who.
    pub principal: PrincipalInfo,
    /// The map with the gate's verdicts.
    pub services: Vec<ThroughService>,
    /// The findings with the gate's verdicts.
    pub findings: Vec<ThroughFinding>,
    /// Policies that could not be read.
    pub gaps: Vec<Gap>,
}

impl ThroughReport {
    /// The findings of one check.
    pub fn finding(&self, id: &str) -> Option<&ThroughFinding> {
        self.findings.iter().find(|f| f.finding.id == id)
    }
}
