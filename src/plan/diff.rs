//! `clanc plan --diff`: what each machine gets. The steps that find out (the plan's own
//! upload-sources and build, a copy to the target when the build happens elsewhere, then a
//! `diff` step on the target), the rule that calls a machine unchanged (shared with the
//! activation agent, which skips an activation the same rule calls unchanged), and
//! `nix store diff-closures`'s output read back. Pure: `exec` runs the steps.
//!
//! The diff runs on the target: the running system's closure is there by definition (a
//! garbage collector root), and the new system is either built there (clan's default) or
//! copied there first by the plan's own copy step, which `clanc apply` runs next anyway (nix
//! copies nothing twice). Fetching the running closure here instead (`nix copy --from`) would
//! download a whole system nobody deploys into this machine's store.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::MachineClass;
use crate::model::deploy_target::parse_deploy_target;

use super::Plan;
use super::step::{self, Host, Step, StepKind, TOPLEVEL};

/// Placeholder for the running system (`readlink -f /run/current-system` on the target).
pub const RUNNING: &str = "{running}";
/// Placeholder for the system the activation makes current (`{toplevel}`, or its
/// specialisation), resolved on the target.
pub const NEW: &str = "{new}";
/// Where NixOS and nix-darwin link the running system.
pub const CURRENT_SYSTEM: &str = "/run/current-system";

/// What a machine gets, as far as clanc could find out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum SystemDiff {
    /// The target runs the new system already (and its profile, when the activation sets
    /// one, is the new system): `clanc apply` skips the activation.
    Unchanged { system: String },
    /// What `nix store diff-closures <running> <new>` reports on the target.
    #[serde(rename_all = "camelCase")]
    Changed {
        running: String,
        new: String,
        packages: Vec<PackageChange>,
        /// Lines of the output clanc did not read as a package (shown as nix printed them).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unparsed: Vec<String>,
        /// Said when the closure is the same but the activation still changes something
        /// (the profile points elsewhere).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Not known, and why: never read as unchanged.
    Unknown { reason: String },
}

impl SystemDiff {
    pub fn unknown(reason: impl Into<String>) -> SystemDiff {
        SystemDiff::Unknown {
            reason: reason.into(),
        }
    }

    /// One short line: `unchanged`, `3 package(s) changed`, `unknown (why)`.
    pub fn summary(&self) -> String {
        match self {
            SystemDiff::Unchanged { .. } => "unchanged".to_string(),
            SystemDiff::Changed { packages, .. } => {
                let count = |kind: ChangeKind| packages.iter().filter(|p| p.kind() == kind).count();
                let parts: Vec<String> = [
                    (ChangeKind::Version, "version change(s)"),
                    (ChangeKind::Added, "added"),
                    (ChangeKind::Removed, "removed"),
                    (ChangeKind::Size, "size change(s)"),
                ]
                .into_iter()
                .filter_map(|(kind, word)| match count(kind) {
                    0 => None,
                    n => Some(format!("{n} {word}")),
                })
                .collect();
                if parts.is_empty() {
                    "changed (no package differs)".to_string()
                } else {
                    format!("changed: {}", parts.join(", "))
                }
            }
            SystemDiff::Unknown { reason } => format!("unknown ({reason})"),
        }
    }
}

/// The lines of a machine's label in the DOT and Mermaid renderings: the summary and the
/// first few packages.
pub fn label_lines(diff: &SystemDiff) -> Vec<String> {
    const SHOWN: usize = 5;
    let mut lines = vec![match diff {
        SystemDiff::Unchanged { .. } => "unchanged (activation skipped)".to_string(),
        other => other.summary(),
    }];
    if let SystemDiff::Changed { packages, .. } = diff {
        lines.extend(packages.iter().take(SHOWN).map(PackageChange::line));
        if packages.len() > SHOWN {
            lines.push(format!("and {} more", packages.len() - SHOWN));
        }
    }
    lines
}

/// How a package differs between the running and the new closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    Added,
    Removed,
    /// Some versions went, others came.
    Version,
    /// Same versions, another size.
    Size,
}

/// One line of `nix store diff-closures`: `name: 1.0 → 1.1, +20.0 KiB`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageChange {
    pub name: String,
    /// The versions only the running closure has (`ε`, the empty version, is ""); empty for
    /// nix's `∅`.
    pub before: Vec<String>,
    /// The versions only the new closure has.
    pub after: Vec<String>,
    /// The size change in KiB as nix prints it (only from 8 KiB on).
    #[serde(rename = "sizeDeltaKiB")]
    pub size_delta_kib: Option<f64>,
}

impl PackageChange {
    pub fn kind(&self) -> ChangeKind {
        match (self.before.is_empty(), self.after.is_empty()) {
            (true, false) => ChangeKind::Added,
            (false, true) => ChangeKind::Removed,
            (false, false) => ChangeKind::Version,
            (true, true) => ChangeKind::Size,
        }
    }

    /// The line as `nix store diff-closures` prints it (without colours).
    pub fn line(&self) -> String {
        let versions = |list: &[String]| {
            if list.is_empty() {
                "∅".to_string()
            } else {
                list.iter()
                    .map(|v| if v.is_empty() { "ε" } else { v.as_str() })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let mut parts = Vec::new();
        if self.kind() != ChangeKind::Size {
            parts.push(format!(
                "{} → {}",
                versions(&self.before),
                versions(&self.after)
            ));
        }
        if let Some(kib) = self.size_delta_kib {
            parts.push(format!("{kib:+.1} KiB"));
        }
        format!("{}: {}", self.name, parts.join(", "))
    }
}

/// `text` without ANSI escape sequences (nix 2.8 colours the size even into a pipe).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            // parameters and intermediates, then one final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

/// `+20.0 KiB` -> 20.0.
fn size_delta(text: &str) -> Option<f64> {
    let number = text.strip_suffix(" KiB")?;
    if !number.starts_with(['+', '-']) {
        return None;
    }
    number.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn versions(text: &str) -> Vec<String> {
    if text == "∅" {
        return Vec::new();
    }
    text.split(", ")
        .map(|v| {
            if v == "ε" {
                String::new()
            } else {
                v.to_string()
            }
        })
        .collect()
}

/// One line of output, or None when it is not one nix prints for a package.
fn parse_line(line: &str) -> Option<PackageChange> {
    let (name, rest) = line.split_once(": ")?;
    // a store path name has neither spaces nor colons
    if name.is_empty() || name.contains([' ', ':']) {
        return None;
    }
    let (before, after, delta) = match rest.split_once(" → ") {
        Some((before, after)) => {
            let (after, delta) = match after.rsplit_once(", ") {
                Some((versions, last)) if size_delta(last).is_some() => {
                    (versions, size_delta(last))
                }
                _ => (after, None),
            };
            (versions(before), versions(after), delta)
        }
        None => (Vec::new(), Vec::new(), Some(size_delta(rest)?)),
    };
    if before.iter().chain(&after).any(|v| v.contains(' ')) {
        return None;
    }
    Some(PackageChange {
        name: name.to_string(),
        before,
        after,
        size_delta_kib: delta,
    })
}

/// Reads `nix store diff-closures` output: the packages, and the lines that are not one.
pub fn parse_diff_closures(output: &str) -> (Vec<PackageChange>, Vec<String>) {
    let mut packages = Vec::new();
    let mut unparsed = Vec::new();
    for line in strip_ansi(output).lines() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Some(change) => packages.push(change),
            None => unparsed.push(line.to_string()),
        }
    }
    (packages, unparsed)
}

/// The system an activation's last command makes current, with `{toplevel}` in it:
/// `{toplevel}[/specialisation/<s>]` of `.../bin/switch-to-configuration <action>` (NixOS),
/// `{toplevel}` of `{toplevel}/activate` (nix-darwin).
pub fn activated_system(argv: &[String]) -> Option<String> {
    argv.iter().find_map(|word| {
        if !word.starts_with(TOPLEVEL) {
            return None;
        }
        word.strip_suffix("/bin/switch-to-configuration")
            .or_else(|| word.strip_suffix("/activate"))
            .map(str::to_string)
    })
}

/// The profile an activation sets: `<profile>` of `nix-env -p <profile> --set ...` among its
/// commands.
pub fn profile_set(commands: &[Vec<String>]) -> Option<String> {
    commands.iter().find_map(|argv| {
        let env = argv.iter().position(|w| w == "nix-env")?;
        let rest = &argv[env + 1..];
        if !rest.iter().any(|w| w == "--set") {
            return None;
        }
        let p = rest.iter().position(|w| w == "-p" || w == "--profile")?;
        rest.get(p + 1).cloned()
    })
}

/// The diff step's commands on the target, in this order (the executor reads them so):
/// `readlink -f /run/current-system` (the running system), `readlink -f <new>` (the system
/// the activation makes current: `{toplevel}` or its specialisation), `readlink -f <profile>`
/// when the activation sets the profile, and `nix store diff-closures {running} {new}`
/// (through a login shell on a Mac, where nix is on `PATH`), run only when the machine is
/// not unchanged.
pub fn diff_commands(class: MachineClass, new: &str, profile: Option<&str>) -> Vec<Vec<String>> {
    let readlink = |path: &str| vec!["readlink".to_string(), "-f".to_string(), path.to_string()];
    let mut commands = vec![readlink(CURRENT_SYSTEM), readlink(new)];
    if let Some(profile) = profile {
        commands.push(readlink(profile));
    }
    let mut diff: Vec<String> = [
        "nix",
        "store",
        "diff-closures",
        "--extra-experimental-features",
        "nix-command flakes",
        RUNNING,
        NEW,
    ]
    .iter()
    .map(|w| w.to_string())
    .collect();
    if class == MachineClass::Darwin {
        let mut shell: Vec<String> = ["bash", "-lc", "exec \"$@\"", "bash"]
            .iter()
            .map(|w| w.to_string())
            .collect();
        shell.append(&mut diff);
        diff = shell;
    }
    commands.push(diff);
    commands
}

/// Whether a target is unchanged, from what its diff step read: the running system is the
/// new one and, when the activation sets a profile, the profile is `toplevel`. The
/// activation agent (`exec::rollback`) applies the same rule before it activates.
pub fn is_unchanged(running: &str, new: &str, profile: Option<&str>, toplevel: &str) -> bool {
    running == new && profile.is_none_or(|p| p == toplevel)
}

/// What `clanc plan --diff` runs: per machine the plan's upload-sources and build steps (as
/// `clanc apply` runs them), the plan's copy step (or one made the same way when the goal
/// has none and the build is not on the target), then `diff:<machine>` on the target.
/// Machines that cannot be compared are returned with the reason instead.
pub fn diff_steps(plan: &Plan) -> (Vec<Step>, BTreeMap<String, SystemDiff>) {
    let mut steps = Vec::new();
    let mut unknown = BTreeMap::new();
    for name in plan.machines.keys() {
        match machine_diff_steps(plan, name) {
            Ok(mut more) => steps.append(&mut more),
            Err(reason) => {
                unknown.insert(name.clone(), SystemDiff::unknown(reason));
            }
        }
    }
    (steps, unknown)
}

fn machine_diff_steps(plan: &Plan, name: &str) -> Result<Vec<Step>, String> {
    let machine = &plan.machines[name];
    if let Some(why) = &machine.skipped {
        return Err(format!("the plan skips it: {why}"));
    }
    let Some(text) = &machine.target_host else {
        return Err("it has no deploy.targetHost: no running system to compare with".into());
    };
    let target = parse_deploy_target(text)
        .map_err(|e| format!("deploy.targetHost `{text}` does not parse: {e}"))?;
    let class = machine
        .class
        .ok_or_else(|| "its machineClass is unknown".to_string())?;
    let of = |kind: StepKind| {
        plan.steps
            .iter()
            .find(|s| s.kind == kind && s.machine.as_deref() == Some(name))
    };
    let build = of(StepKind::Build).ok_or_else(|| "the plan does not build it".to_string())?;
    let upload = of(StepKind::UploadSources);
    let vars: BTreeSet<&str> = build
        .after
        .iter()
        .chain(upload.iter().flat_map(|u| u.after.iter()))
        .filter(|id| id.starts_with("generate-vars:"))
        .map(|id| id.rsplit('/').next().unwrap_or(id))
        .collect();
    if !vars.is_empty() {
        let names: Vec<&str> = vars.into_iter().collect();
        return Err(format!(
            "its system needs vars not generated yet ({}): `clanc apply` generates them \
             first, `clanc vars generate` alone",
            names.join(", ")
        ));
    }
    let mut steps = Vec::new();
    let keep = |step: &Step, steps: &mut Vec<Step>| {
        let mut step = step.clone();
        step.after
            .retain(|id| steps.iter().any(|s: &Step| &s.id == id));
        steps.push(step);
    };
    if let Some(upload) = upload {
        keep(upload, &mut steps);
    }
    keep(build, &mut steps);
    let on_target = build.host == Host::Remote(target.clone());
    let mut last = build.id.clone();
    match of(StepKind::Copy) {
        Some(copy) => {
            keep(copy, &mut steps);
            last = copy.id.clone();
        }
        None if !on_target => {
            let id = step::step_id(StepKind::Copy, name);
            steps.push(Step {
                id: id.clone(),
                kind: StepKind::Copy,
                machine: Some(name.to_string()),
                host: build.host.clone(),
                commands: vec![step::copy_argv(&target, class)],
                after: vec![last],
            });
            last = id;
        }
        None => {}
    }
    let activation = of(StepKind::Activate);
    let new = activation
        .and_then(|a| a.commands.last())
        .and_then(|last| activated_system(last))
        .unwrap_or_else(|| TOPLEVEL.to_string());
    let profile = activation.and_then(|a| profile_set(&a.commands));
    steps.push(Step {
        id: step::step_id(StepKind::Diff, name),
        kind: StepKind::Diff,
        machine: Some(name.to_string()),
        host: Host::Remote(target),
        commands: diff_commands(class, &new, profile.as_deref()),
        after: vec![last],
    });
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::vars::listing::VarsListing;
    use crate::model::{Clan, Generator, Known, Machine, Spanned, VarFile};
    use crate::plan::{Fingerprint, PlanOptions, SourceUpload, make_plan, select::Goal};

    fn machine(name: &str, target: Option<&str>, build: Option<&str>) -> Machine {
        let mut m = Machine::new(
            name.to_string(),
            None,
            Spanned::new(Known::Known(MachineClass::Nixos), None),
        );
        let host = |h: &str| Spanned::new(Known::Known(h.to_string()), None);
        m.target_host = target.map(host);
        m.build_host = build.map(host);
        m
    }

    /// A generator with one public file, never generated (nothing under `vars/`).
    fn missing_generator(name: &str) -> Generator {
        let unset = || Spanned::new(Known::Unknown("unset".into()), None);
        let file = VarFile {
            name: "f".into(),
            span: None,
            secret: Known::Known(false),
            deploy: Known::Known(true),
            owner: unset(),
            group: unset(),
            mode: unset(),
            needed_for: unset(),
        };
        Generator {
            name: name.into(),
            span: None,
            share: Known::Known(false),
            files: [("f".to_string(), file)].into(),
            prompts: Default::default(),
            dependencies: Known::Known(Vec::new()),
            script: unset(),
            runtime_inputs: Known::Unknown("unset".into()),
        }
    }

    fn plan(goal: Goal, build_local: bool) -> Plan {
        let mut clan = Clan::default();
        let mut with_vars = machine("vars", Some("root@vars"), None);
        with_vars
            .generators
            .insert("boot".into(), missing_generator("boot"));
        for m in [
            machine("web", Some("admin@web:2222"), None),
            machine("far", Some("root@far"), Some("b@builder")),
            machine("nowhere", None, None),
            with_vars,
        ] {
            clan.machines.insert(m.name.clone(), m);
        }
        let options = PlanOptions {
            flake: "/c".into(),
            goal,
            selector: None,
            build_host: None,
            build_local,
            source_upload: SourceUpload::SourceOnly,
            activation: Default::default(),
            local_is_darwin: false,
            configured_order: Default::default(),
            fingerprint: Fingerprint::compute(Vec::new(), Vec::new(), "0"),
            system_profile: step::SYSTEM_PROFILE.into(),
            target_host: None,
            builders: None,
            upload_dir: step::SECRETS_UPLOAD_DIR.into(),
            changed: None,
        };
        make_plan(&clan, &VarsListing::default(), &options)
    }

    fn ids(steps: &[Step], machine: &str) -> Vec<String> {
        steps
            .iter()
            .filter(|s| s.machine.as_deref() == Some(machine))
            .map(|s| s.id.clone())
            .collect()
    }

    #[test]
    fn the_diff_builds_as_apply_would_then_compares_on_the_target() {
        let (steps, unknown) = diff_steps(&plan(Goal::Switch, false));
        // built on its target (clan's default): nothing to copy
        assert_eq!(
            ids(&steps, "web"),
            ["upload-sources:web", "build:web", "diff:web"]
        );
        // built on a build host: the plan's copy to the target first
        assert_eq!(
            ids(&steps, "far"),
            ["upload-sources:far", "build:far", "copy:far", "diff:far"]
        );
        let diff = steps.iter().find(|s| s.id == "diff:web").unwrap();
        assert_eq!(diff.after, ["build:web"]);
        assert_eq!(diff.host.to_string(), "admin@web:2222");
        // the activation sets the profile: the diff reads it too
        assert_eq!(
            diff.commands,
            diff_commands(MachineClass::Nixos, TOPLEVEL, Some(step::SYSTEM_PROFILE))
        );
        // no step waits for one the diff does not run (vars, secrets)
        for step in &steps {
            for after in &step.after {
                assert!(steps.iter().any(|s| &s.id == after), "{after}");
            }
        }
        // what cannot be compared says why, and is never unchanged
        let reason = |m: &str| match &unknown[m] {
            SystemDiff::Unknown { reason } => reason.clone(),
            other => panic!("{other:?}"),
        };
        assert!(
            reason("nowhere").contains("no deploy.targetHost"),
            "{unknown:?}"
        );
        assert!(
            reason("vars").contains("vars not generated yet (boot)"),
            "{unknown:?}"
        );
        assert_eq!(unknown.len(), 2);
    }

    #[test]
    fn a_goal_without_a_copy_gets_one_and_no_profile_is_read() {
        let (steps, unknown) = diff_steps(&plan(Goal::Build, true));
        assert_eq!(ids(&steps, "web"), ["build:web", "copy:web", "diff:web"]);
        let copy = steps.iter().find(|s| s.id == "copy:web").unwrap();
        assert_eq!(copy.host, Host::Local);
        let diff = steps.iter().find(|s| s.id == "diff:web").unwrap();
        assert_eq!(diff.commands.len(), 3, "running, new, diff-closures");
        assert!(unknown["nowhere"].summary().starts_with("unknown ("));
    }

    /// Nix 2.8's output for two toy closures (`tests/plan_diff.rs` makes such closures with
    /// the real nix), colours and all.
    const NIX_2_8: &str = "added: ∅ → ε, \u{1b}[31;1m+9.3 KiB\u{1b}[0m\n\
        foo-bar: 1.2.3 → 1.2.4\n\
        gone: 3 → ∅, \u{1b}[32;1m-20.3 KiB\u{1b}[0m\n\
        grow: \u{1b}[31;1m+90.0 KiB\u{1b}[0m\n\
        hello: 1.0 → 1.1, \u{1b}[31;1m+20.0 KiB\u{1b}[0m\n\
        multi: 1.0, 2.0 → 3.0\n";

    #[test]
    fn reads_what_diff_closures_prints() {
        let (packages, unparsed) = parse_diff_closures(NIX_2_8);
        assert!(unparsed.is_empty(), "{unparsed:?}");
        let kinds: Vec<(&str, ChangeKind)> = packages
            .iter()
            .map(|p| (p.name.as_str(), p.kind()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("added", ChangeKind::Added),
                ("foo-bar", ChangeKind::Version),
                ("gone", ChangeKind::Removed),
                ("grow", ChangeKind::Size),
                ("hello", ChangeKind::Version),
                ("multi", ChangeKind::Version),
            ]
        );
        assert_eq!(packages[0].after, [""]);
        assert_eq!(packages[2].size_delta_kib, Some(-20.3));
        assert_eq!(packages[5].before, ["1.0", "2.0"]);
        // the lines come back as nix printed them, without colours
        let lines: Vec<String> = packages.iter().map(PackageChange::line).collect();
        assert_eq!(lines.join("\n") + "\n", strip_ansi(NIX_2_8));
    }

    #[test]
    fn what_is_not_a_package_line_is_kept_apart() {
        let (packages, unparsed) =
            parse_diff_closures("warning: something odd\nhello: 1 → 2\nnot a line\n\n");
        assert_eq!(packages.len(), 1);
        assert_eq!(unparsed, ["warning: something odd", "not a line"]);
    }

    #[test]
    fn the_activated_system_and_profile_come_from_the_activation() {
        let words = |t: &str| t.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            activated_system(&words(
                "sudo -n systemd-run -- {toplevel}/specialisation/x/bin/switch-to-configuration switch"
            ))
            .as_deref(),
            Some("{toplevel}/specialisation/x")
        );
        assert_eq!(
            activated_system(&words("sudo -n {toplevel}/activate")).as_deref(),
            Some("{toplevel}")
        );
        assert_eq!(
            activated_system(&words("test -e {toplevel}/nixos-version")),
            None
        );
        assert_eq!(
            profile_set(&[words("nix-env -p /p --set {toplevel}")]).as_deref(),
            Some("/p")
        );
        assert!(is_unchanged("/s/a", "/s/a", Some("/s/t"), "/s/t"));
        assert!(is_unchanged("/s/a", "/s/a", None, "/s/t"));
        assert!(!is_unchanged("/s/a", "/s/a", Some("/s/old"), "/s/t"));
        assert!(!is_unchanged("/s/a", "/s/b", None, "/s/b"));
    }

    #[test]
    fn a_mac_runs_nix_through_a_login_shell() {
        let nixos = diff_commands(MachineClass::Nixos, TOPLEVEL, None);
        assert_eq!(nixos.len(), 3);
        assert_eq!(nixos[0], ["readlink", "-f", CURRENT_SYSTEM]);
        assert_eq!(nixos[2][..3], ["nix", "store", "diff-closures"]);
        let darwin = diff_commands(MachineClass::Darwin, TOPLEVEL, Some("/p"));
        assert_eq!(darwin.len(), 4);
        assert_eq!(darwin[2], ["readlink", "-f", "/p"]);
        assert_eq!(
            darwin[3][..5],
            ["bash", "-lc", "exec \"$@\"", "bash", "nix"]
        );
    }

    fn changed() -> SystemDiff {
        SystemDiff::Changed {
            running: "/nix/store/a-web".into(),
            new: "/nix/store/b-web".into(),
            packages: parse_diff_closures(NIX_2_8).0,
            unparsed: Vec::new(),
            note: None,
        }
    }

    #[test]
    fn the_json_schema_of_a_diff_and_its_way_back() {
        let json = serde_json::to_value(changed()).unwrap();
        assert_eq!(json["status"], "changed");
        assert_eq!(json["running"], "/nix/store/a-web");
        assert!(json.get("unparsed").is_none() && json.get("note").is_none());
        assert_eq!(
            json["packages"][4],
            serde_json::json!({"name": "hello", "before": ["1.0"], "after": ["1.1"], "sizeDeltaKiB": 20.0})
        );
        assert_eq!(json["packages"][1]["sizeDeltaKiB"], serde_json::Value::Null);
        for diff in [
            changed(),
            SystemDiff::Unchanged {
                system: "/nix/store/a-web".into(),
            },
            SystemDiff::unknown("why"),
        ] {
            let text = serde_json::to_string(&diff).unwrap();
            assert_eq!(serde_json::from_str::<SystemDiff>(&text).unwrap(), diff);
        }
        assert_eq!(
            serde_json::to_string(&SystemDiff::unknown("why")).unwrap(),
            r#"{"status":"unknown","reason":"why"}"#
        );
    }

    #[test]
    fn every_rendering_labels_the_machine_with_what_it_gets() {
        let mut plan = plan(Goal::Switch, false);
        let get = |m: &str| plan.machines.get(m).cloned().unwrap();
        assert!(get("web").diff.is_none());
        let (_, unknown) = diff_steps(&plan);
        for (name, diff) in unknown {
            plan.machines.get_mut(&name).unwrap().diff = Some(diff);
        }
        plan.machines.get_mut("web").unwrap().diff = Some(changed());
        plan.machines.get_mut("far").unwrap().diff = Some(SystemDiff::Unchanged {
            system: "/nix/store/c-far".into(),
        });
        let text = crate::plan::render_text(&plan);
        assert!(
            text.contains("diff: 1 unchanged, 1 changed, 2 unknown\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "    diff: changed: 3 version change(s), 1 added, 1 removed, 1 size change(s)\n\
                 \x20     running /nix/store/a-web\n      new     /nix/store/b-web\n\
                 \x20     added: ∅ → ε, +9.3 KiB\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("    diff: unknown, the plan skips it: it has no deploy.targetHost\n")
        );
        let dot = crate::plan::render_dot(&plan);
        assert!(
            dot.contains("label=\"far\\nunchanged (activation skipped)\";"),
            "{dot}"
        );
        assert!(
            dot.contains("\\nhello: 1.0 → 1.1, +20.0 KiB\\nand 1 more\";"),
            "{dot}"
        );
        let mermaid = crate::plan::render_mermaid(&plan);
        assert!(
            mermaid.contains("[\"far<br/>unchanged (activation skipped)\"]"),
            "{mermaid}"
        );
        let json = crate::plan::render_json(&plan);
        let back = crate::plan::parse_plan_json(&json).unwrap();
        assert_eq!(back.machines["web"].diff, Some(changed()));
    }
}
