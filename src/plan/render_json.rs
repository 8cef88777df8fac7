//! The plan as JSON (version 3): what `clanc plan --format json` prints, what `-o` saves and
//! what `clanc apply` reads back. The shape is documented in `docs/plan.md`. Version 2 added
//! `machines.<m>.diff` (`clanc plan --diff`), version 3 `changedSince` (`--changed-since`);
//! plans of versions 1 and 2, which have neither or only the first, are still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Plan, Step, SystemDiff};

/// The version this clanc writes.
pub const PLAN_VERSION: u32 = 3;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanJson {
    pub version: u32,
    pub fingerprint: String,
    pub clanc_version: String,
    /// Each input of the plan (path relative to the clan, `vars/` for the vars tree) and its
    /// sha256: a stale plan names what changed.
    pub inputs: BTreeMap<String, String>,
    pub flake: String,
    pub goal: String,
    pub machines: BTreeMap<String, MachineJson>,
    /// Machines by activation wave.
    pub waves: Vec<Vec<String>>,
    /// Cross-machine orderings kept.
    pub orderings: Vec<OrderingJson>,
    pub steps: Vec<StepJson>,
    pub diagnostics: Vec<DiagnosticJson>,
    /// `--changed-since`: the machines a change affects, and why (version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_since: Option<ChangedSinceJson>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedSinceJson {
    pub rev: String,
    pub commit: String,
    /// Why this revision, when none was given.
    pub chosen: Option<String>,
    /// The paths that differ, relative to the clan directory.
    pub paths: Vec<String>,
    /// Each affected machine (of those `--on` selects) with its reasons.
    pub affected: BTreeMap<String, Vec<String>>,
    pub unaffected: Vec<String>,
    /// Affected machines `--on` does not select.
    pub not_selected: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineJson {
    pub class: Option<String>,
    pub target_host: Option<String>,
    pub build_host: Option<String>,
    pub skipped: Option<String>,
    pub wave: Option<usize>,
    /// What the machine gets; only with `clanc plan --diff`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<SystemDiff>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderingJson {
    pub before: String,
    pub after: String,
    pub instance: String,
    pub rule: String,
    pub strength: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepJson {
    pub id: String,
    pub kind: String,
    pub machine: Option<String>,
    pub host: String,
    /// The commands the step runs, in order, each an argv.
    pub argv: Vec<Vec<String>>,
    pub after: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiagnosticJson {
    pub code: String,
    pub severity: String,
    pub message: String,
    pub file: String,
}

fn step_json(step: &Step) -> StepJson {
    StepJson {
        id: step.id.clone(),
        kind: step.kind.as_str().to_string(),
        machine: step.machine.clone(),
        host: step.host.to_string(),
        argv: step.commands.clone(),
        after: step.after.clone(),
    }
}

pub fn plan_json(plan: &Plan) -> PlanJson {
    PlanJson {
        version: PLAN_VERSION,
        fingerprint: plan.fingerprint.digest.clone(),
        clanc_version: plan.fingerprint.clanc_version.clone(),
        inputs: plan.fingerprint.inputs.clone(),
        flake: plan.flake.clone(),
        goal: plan.goal.as_str().to_string(),
        machines: plan
            .machines
            .iter()
            .map(|(name, m)| {
                (
                    name.clone(),
                    MachineJson {
                        class: m.class.map(|c| c.as_str().to_string()),
                        target_host: m.target_host.clone(),
                        build_host: m.build_host.clone(),
                        skipped: m.skipped.clone(),
                        wave: m.wave.map(|w| w + 1),
                        diff: m.diff.clone(),
                    },
                )
            })
            .collect(),
        waves: plan.ordering.waves.clone(),
        orderings: plan
            .ordering
            .edges
            .iter()
            .map(|e| OrderingJson {
                before: e.before.clone(),
                after: e.after.clone(),
                instance: e.reason.instance.clone(),
                rule: format!("{} before {}", e.reason.before_role, e.reason.after_role),
                strength: e.reason.strength.as_str().to_string(),
            })
            .collect(),
        steps: plan.steps.iter().map(step_json).collect(),
        diagnostics: plan
            .diagnostics
            .iter()
            .map(|d| DiagnosticJson {
                code: d.code.to_string(),
                severity: d.severity.as_str().to_string(),
                message: d.message.clone(),
                file: d.span.file.to_string(),
            })
            .collect(),
        changed_since: plan.changed.as_ref().map(|r| ChangedSinceJson {
            rev: r.since.rev.clone(),
            commit: r.since.commit.clone(),
            chosen: r.since.chosen.clone(),
            paths: r.since.paths.clone(),
            affected: r.since.affected.clone(),
            unaffected: r.since.unaffected.clone(),
            not_selected: r.not_selected.clone(),
        }),
    }
}

/// Pretty JSON with a final newline.
pub fn render_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(&plan_json(plan)).unwrap_or_default();
    text.push('\n');
    text
}

/// Reads a saved plan of versions 1 to 3 (2 adds what `--diff` found, 3 `--changed-since`).
pub fn parse_plan_json(text: &str) -> Result<PlanJson, String> {
    let plan: PlanJson =
        serde_json::from_str(text).map_err(|e| format!("not a clanc plan: {e}"))?;
    if !(1..=PLAN_VERSION).contains(&plan.version) {
        return Err(format!(
            "plan version {} is not supported (this clanc reads versions 1 to {PLAN_VERSION})",
            plan.version
        ));
    }
    Ok(plan)
}
