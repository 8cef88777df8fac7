//! The deploy plan: the checked model compiled into a graph of steps (generate vars, build,
//! copy, upload secrets, activate, confirm) with the exact commands each runs, ordered within
//! a machine and across machines (providers before consumers). `clanc plan` shows it;
//! `clanc apply` runs exactly it. Pure: the caller reads the disk.

mod changed;
pub mod diff;
mod fingerprint;
mod order;
mod render_dot;
mod render_json;
mod render_mermaid;
mod render_text;
pub mod select;
pub mod step;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use rnix::TextRange;

use crate::diagnostics::Code;
use crate::diagnostics::{Diagnostic, Severity, Span};
use crate::model::deploy_target::{DeployTarget, parse_deploy_target};
use crate::model::machine_selector::MachineSelector;
use crate::model::vars::listing::VarsListing;
use crate::model::{Clan, Known, Machine, MachineClass, Spanned};

pub use changed::{ChangedReport, ChangedSince};
pub use diff::{SystemDiff, diff_steps};
pub use fingerprint::{Fingerprint, VARS_TREE};
pub use order::{DroppedEdge, MachineEdge, Ordering, Reason, Strength, order_machines};
pub use render_dot::render_dot;
pub use render_json::{PlanJson, StepJson, parse_plan_json, plan_json, render_json};
pub use render_mermaid::render_mermaid;
pub use render_text::{render_commands, render_text};
pub use select::Goal;
pub use step::{BuildAt, Host, SourceUpload, Step, StepKind};

/// What to plan.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// The flake reference the commands use (the clan's absolute path).
    pub flake: String,
    pub goal: Goal,
    pub selector: Option<MachineSelector>,
    /// `--build-host`: overrides every machine's `deploy.buildHost`.
    pub build_host: Option<DeployTarget>,
    /// `--build-on local` (clan's `--build-host localhost`): build every machine here,
    /// whatever its build host. Otherwise a machine builds on its build host, else on its
    /// target (clan's default).
    pub build_local: bool,
    /// How the flake reaches a remote build host (`--upload-inputs`, or a local input).
    pub source_upload: step::SourceUpload,
    /// `--specialisation`, `--no-check`.
    pub activation: step::Activation,
    /// Whether this machine can build nix-darwin systems itself.
    pub local_is_darwin: bool,
    /// `clanc.toml`'s `[order]`: instance -> roles, first first.
    pub configured_order: BTreeMap<String, Vec<String>>,
    pub fingerprint: Fingerprint,
    /// `--system-profile`: the profile activation sets; `{machine}` stands for the machine's
    /// name (normally [`step::SYSTEM_PROFILE`]).
    pub system_profile: String,
    /// `--target-host`: overrides the selected machines' `deploy.targetHost` (the command
    /// line allows it with one machine, as clan does).
    pub target_host: Option<DeployTarget>,
    /// `--builders`: passed to every `nix build`.
    pub builders: Option<String>,
    /// `--upload-dir`: where secrets go on the target; `{machine}` stands for the machine's
    /// name (normally [`step::SECRETS_UPLOAD_DIR`]).
    pub upload_dir: String,
    /// `--changed-since`: only the machines a change affects are planned.
    pub changed: Option<ChangedSince>,
}

/// A machine as the plan sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedMachine {
    pub name: String,
    pub class: Option<MachineClass>,
    pub target_host: Option<String>,
    /// Where it is built (`None`: here).
    pub build_host: Option<String>,
    /// Why nothing is done for it.
    pub skipped: Option<String>,
    /// Its activation wave (0-based), for activating goals.
    pub wave: Option<usize>,
    /// What it gets (`clanc plan --diff`; None without).
    pub diff: Option<SystemDiff>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub flake: String,
    pub goal: Goal,
    pub fingerprint: Fingerprint,
    /// The selected machines.
    pub machines: BTreeMap<String, PlannedMachine>,
    /// In an order that runs each step after every step it waits for.
    pub steps: Vec<Step>,
    pub ordering: Ordering,
    pub diagnostics: Vec<Diagnostic>,
    /// `--changed-since`: which machines are affected and why.
    pub changed: Option<ChangedReport>,
}

impl Plan {
    /// The step graph: an edge from each step to the steps that wait for it.
    pub fn graph(&self) -> DiGraph<&Step, ()> {
        let mut graph = DiGraph::with_capacity(self.steps.len(), self.steps.len() * 2);
        let mut index = HashMap::with_capacity(self.steps.len());
        for step in &self.steps {
            index.insert(step.id.as_str(), graph.add_node(step));
        }
        for step in &self.steps {
            for before in &step.after {
                if let Some(&from) = index.get(before.as_str()) {
                    graph.add_edge(from, index[step.id.as_str()], ());
                }
            }
        }
        graph
    }
}

fn place(machine: &Machine, value: Option<&Spanned<Known<String>>>) -> Span {
    value
        .and_then(|v| v.span.clone())
        .or_else(|| machine.span.clone())
        .unwrap_or_else(|| Span::new("flake.nix", TextRange::default()))
}

fn no_place() -> Span {
    Span::new("flake.nix", TextRange::default())
}

/// Where a machine's target or build host stands: absent, a target, or a reason it cannot
/// be used (with whether that is a mistake (warning) or just unknown (info)).
enum HostValue {
    Absent,
    Target(DeployTarget),
    Unusable(String, Severity),
}

fn host_value(option: &str, value: Option<&Spanned<Known<String>>>) -> HostValue {
    match value.map(|v| &v.value) {
        None => HostValue::Absent,
        Some(Known::Unknown(why)) => HostValue::Unusable(
            format!("deploy.{option} is unknown ({why})"),
            Severity::Info,
        ),
        Some(Known::Known(text)) => match parse_deploy_target(text) {
            Ok(target) => HostValue::Target(target),
            Err(e) => HostValue::Unusable(
                format!("deploy.{option} `{text}` does not parse: {e}"),
                Severity::Warning,
            ),
        },
    }
}

/// A machine the plan will act on.
struct Deployable<'a> {
    machine: &'a Machine,
    class: MachineClass,
    target: Option<DeployTarget>,
    build: BuildAt,
}

/// A build host of the inventory or the machine: `localhost` means here, as in clan
/// (`Machine.build_host`).
fn remote_or_local(host: DeployTarget) -> Option<DeployTarget> {
    (host.host != "localhost").then_some(host)
}

/// Why a machine is skipped, or what the plan needs to act on it.
fn deployable<'a>(
    machine: &'a Machine,
    options: &PlanOptions,
) -> Result<Deployable<'a>, (String, Severity, Span)> {
    let class = match &machine.class.value {
        Known::Known(class) => *class,
        Known::Unknown(why) => {
            return Err((
                format!("its machineClass is unknown ({why})"),
                Severity::Info,
                place(machine, None),
            ));
        }
    };
    let given = options.target_host.clone().map(HostValue::Target);
    let target =
        match given.unwrap_or_else(|| host_value("targetHost", machine.target_host.as_ref())) {
            HostValue::Target(t) => Some(t),
            HostValue::Absent if options.goal.needs_target() => {
                return Err((
                    "it has no deploy.targetHost".to_string(),
                    Severity::Warning,
                    place(machine, None),
                ));
            }
            HostValue::Absent => None,
            HostValue::Unusable(why, severity) if options.goal.needs_target() => {
                return Err((why, severity, place(machine, machine.target_host.as_ref())));
            }
            HostValue::Unusable(..) => None,
        };
    let build_host = if options.build_local {
        None
    } else {
        match &options.build_host {
            Some(host) => Some(Some(host.clone())),
            None => match host_value("buildHost", machine.build_host.as_ref()) {
                HostValue::Target(t) => Some(remote_or_local(t)),
                HostValue::Absent => None,
                HostValue::Unusable(why, severity) => {
                    return Err((why, severity, place(machine, machine.build_host.as_ref())));
                }
            },
        }
    };
    // clan: the build host, else the target (`build_host is None` -> the target builds).
    let build = match (build_host, &target) {
        (Some(Some(host)), _) => BuildAt::Remote {
            on_target: target.as_ref() == Some(&host),
            host,
        },
        (None, Some(target)) if !options.build_local => BuildAt::Remote {
            host: target.clone(),
            on_target: true,
        },
        _ => BuildAt::Local,
    };
    if class == MachineClass::Darwin {
        if build == BuildAt::Local && !options.local_is_darwin {
            return Err((
                "no darwin builder: this machine cannot build nix-darwin systems; build on \
                 the target (the default), set deploy.buildHost or pass --build-host with a Mac"
                    .to_string(),
                Severity::Warning,
                place(machine, None),
            ));
        }
        if options.goal.activates() && options.goal != Goal::Switch {
            return Err((
                format!(
                    "goal `{}` does not apply to nix-darwin machines (switch, build and push do)",
                    options.goal.as_str()
                ),
                Severity::Warning,
                place(machine, None),
            ));
        }
        if options.goal.activates() && options.activation.specialisation.is_some() {
            return Err((
                "--specialisation is not supported for nix-darwin machines (as in clan)"
                    .to_string(),
                Severity::Warning,
                place(machine, None),
            ));
        }
    }
    Ok(Deployable {
        machine,
        class,
        target,
        build,
    })
}

fn generator_missing(
    listing: &VarsListing,
    machine: &str,
    generator: &crate::model::Generator,
    shared: bool,
) -> bool {
    let dirs = if shared {
        Some(&listing.shared)
    } else {
        listing.per_machine.get(machine)
    };
    let present = dirs.and_then(|d| d.get(&generator.name));
    generator
        .files
        .keys()
        .any(|f| !present.is_some_and(|files| files.contains(f)))
}

fn is_shared(generator: &crate::model::Generator) -> bool {
    generator.share == Known::Known(true)
}

/// Whether the machine has secrets to upload before activation: any deployed secret file
/// (unknown counts as yes; uploading nothing is harmless, missing a secret is not).
fn has_secrets(machine: &Machine) -> bool {
    machine.generators.values().any(|g| {
        g.files
            .values()
            .any(|f| f.secret != Known::Known(false) && f.deploy != Known::Known(false))
    })
}

/// The steps of one machine, in order (vars, sources, build, copy, secrets, activation,
/// confirmation), pushed onto `steps`; returns the id of its last step.
fn machine_steps(
    d: &Deployable,
    options: &PlanOptions,
    listing: &VarsListing,
    run_id: &str,
    steps: &mut Vec<Step>,
    shared_seen: &mut BTreeMap<String, usize>,
) -> String {
    let name = &d.machine.name;
    let vars = vars_steps(d, options, listing, steps, shared_seen);
    let build = step::step_id(StepKind::Build, name);
    let (build_on, build_after) = match &d.build {
        BuildAt::Local => (Host::Local, vars),
        BuildAt::Remote { host, .. } => {
            // clan's upload_sources: the flake into the build host's store first
            let upload = step::step_id(StepKind::UploadSources, name);
            steps.push(Step {
                id: upload.clone(),
                kind: StepKind::UploadSources,
                machine: Some(name.clone()),
                host: Host::Local,
                commands: step::upload_sources_commands(
                    &options.flake,
                    host,
                    d.class,
                    options.source_upload,
                ),
                after: vars,
            });
            (Host::Remote(host.clone()), vec![upload])
        }
    };
    steps.push(Step {
        id: build.clone(),
        kind: StepKind::Build,
        machine: Some(name.clone()),
        host: build_on.clone(),
        commands: vec![step::build_argv(
            &options.flake,
            d.class,
            name,
            &d.build,
            options.builders.as_deref(),
        )],
        after: build_after,
    });
    let mut previous = build;
    let Some(target) = d.target.as_ref().filter(|_| options.goal.needs_target()) else {
        return previous;
    };
    // Built on the target itself: the system is already in its store.
    if !matches!(
        d.build,
        BuildAt::Remote {
            on_target: true,
            ..
        }
    ) {
        let copy = step::step_id(StepKind::Copy, name);
        steps.push(Step {
            id: copy.clone(),
            kind: StepKind::Copy,
            machine: Some(name.clone()),
            host: build_on,
            commands: vec![step::copy_argv(target, d.class)],
            after: vec![previous],
        });
        previous = copy;
    }
    if options.goal.uploads_secrets() && has_secrets(d.machine) {
        let upload = step::step_id(StepKind::UploadSecrets, name);
        steps.push(Step {
            id: upload.clone(),
            kind: StepKind::UploadSecrets,
            machine: Some(name.clone()),
            host: Host::Local,
            commands: vec![step::upload_secrets_argv(
                &options.flake,
                name,
                target,
                &options.upload_dir.replace("{machine}", name),
            )],
            after: vec![previous],
        });
        previous = upload;
    }
    if let Some(commands) = step::activate_commands(
        d.class,
        options.goal,
        target,
        name,
        run_id,
        &options.system_profile.replace("{machine}", name),
        &options.activation,
    ) {
        let activate = step::step_id(StepKind::Activate, name);
        steps.push(Step {
            id: activate.clone(),
            kind: StepKind::Activate,
            machine: Some(name.clone()),
            host: Host::Remote(target.clone()),
            commands,
            after: vec![previous],
        });
        previous = activate;
        if options.goal.confirms() {
            let confirm = step::step_id(StepKind::Confirm, name);
            steps.push(Step {
                id: confirm.clone(),
                kind: StepKind::Confirm,
                machine: Some(name.clone()),
                host: Host::Local,
                commands: vec![step::confirm_argv(target)],
                after: vec![previous],
            });
            previous = confirm;
        }
    }
    previous
}

/// The vars steps one machine needs: generators with missing files and everything that
/// depends on them. Returns (generator name -> step id) for the machine.
fn vars_steps(
    deployable: &Deployable,
    options: &PlanOptions,
    listing: &VarsListing,
    steps: &mut Vec<Step>,
    shared_seen: &mut BTreeMap<String, usize>,
) -> Vec<String> {
    let machine = deployable.machine;
    let gens = &machine.generators;
    let deps = |g: &crate::model::Generator| -> Vec<String> {
        match &g.dependencies {
            Known::Known(list) => list
                .iter()
                .map(|d| d.value.clone())
                .filter(|d| gens.contains_key(d))
                .collect(),
            Known::Unknown(_) => Vec::new(),
        }
    };
    let mut run: BTreeSet<&str> = gens
        .values()
        .filter(|g| generator_missing(listing, &machine.name, g, is_shared(g)))
        .map(|g| g.name.as_str())
        .collect();
    // Dependents of what runs run too (their inputs change); a fixed point, cycles included.
    loop {
        let before = run.len();
        for g in gens.values() {
            if !run.contains(g.name.as_str()) && deps(g).iter().any(|d| run.contains(d.as_str())) {
                run.insert(g.name.as_str());
            }
        }
        if run.len() == before {
            break;
        }
    }
    let id = |g: &crate::model::Generator| {
        if is_shared(g) {
            format!("generate-vars:shared/{}", g.name)
        } else {
            format!("generate-vars:{}/{}", machine.name, g.name)
        }
    };
    let mut ids = Vec::new();
    for &name in &run {
        let g = &gens[name];
        let step_id = id(g);
        let after: Vec<String> = deps(g)
            .iter()
            .filter(|d| run.contains(d.as_str()))
            .map(|d| id(&gens[d.as_str()]))
            .collect();
        if is_shared(g) {
            if let Some(&at) = shared_seen.get(&g.name) {
                for a in after {
                    if !steps[at].after.contains(&a) {
                        steps[at].after.push(a);
                    }
                }
                ids.push(step_id);
                continue;
            }
            shared_seen.insert(g.name.clone(), steps.len());
        }
        steps.push(Step {
            id: step_id.clone(),
            kind: StepKind::GenerateVars,
            machine: (!is_shared(g)).then(|| machine.name.clone()),
            host: Host::Local,
            commands: vec![step::generate_vars_argv(
                &options.flake,
                &machine.name,
                &g.name,
            )],
            after,
        });
        ids.push(step_id);
    }
    ids
}

/// The selected machines as the plan shows them, and those it deploys (a machine it cannot
/// deploy is skipped with P001 and its reason).
fn planned_machines<'a>(
    clan: &'a Clan,
    selected: &BTreeSet<String>,
    options: &PlanOptions,
    diagnostics: &mut Vec<Diagnostic>,
) -> (BTreeMap<String, PlannedMachine>, Vec<Deployable<'a>>) {
    let mut machines = BTreeMap::new();
    let mut ready = Vec::new();
    for name in selected {
        let Some(machine) = clan.machines.get(name) else {
            continue;
        };
        let mut planned = PlannedMachine {
            name: name.clone(),
            class: machine.class.value.known().copied(),
            target_host: match &options.target_host {
                Some(given) => Some(given.to_string()),
                None => machine
                    .target_host
                    .as_ref()
                    .and_then(|t| t.value.known().cloned()),
            },
            build_host: None,
            skipped: None,
            wave: None,
            diff: None,
        };
        match deployable(machine, options) {
            Ok(d) => {
                planned.build_host = match &d.build {
                    BuildAt::Local => None,
                    BuildAt::Remote { host, .. } => Some(host.to_string()),
                };
                ready.push(d);
            }
            Err((reason, severity, span)) => {
                diagnostics.push(Diagnostic::new(
                    Code::P001,
                    severity,
                    format!("machine `{name}` is skipped: {reason}"),
                    span,
                ));
                planned.skipped = Some(reason);
            }
        }
        machines.insert(name.clone(), planned);
    }
    (machines, ready)
}

/// P004 for each ordering dropped to break a cycle, P006 for each instance whose order is
/// not known.
fn ordering_diagnostics(clan: &Clan, ordering: &Ordering, diagnostics: &mut Vec<Diagnostic>) {
    for dropped in &ordering.dropped {
        let cycle: Vec<String> = dropped
            .cycle
            .iter()
            .map(|e| format!("{} before {} ({})", e.before, e.after, e.reason))
            .collect();
        diagnostics.push(Diagnostic::new(
            Code::P004,
            Severity::Info,
            format!(
                "dropped the ordering {} before {} ({}; a {} ordering): it closes a cycle with the kept {}",
                dropped.edge.before,
                dropped.edge.after,
                dropped.edge.reason,
                dropped.edge.reason.strength.as_str(),
                cycle.join(", ")
            ),
            instance_place(clan, &dropped.edge.reason.instance),
        ));
    }
    for (instance, why) in &ordering.unknown {
        diagnostics.push(Diagnostic::new(
            Code::P006,
            Severity::Info,
            format!("the order of instance `{instance}` is not known: {why}"),
            instance_place(clan, instance),
        ));
    }
}

/// Across machines: a consumer's activation waits for its providers' last step.
fn wait_for_providers(
    steps: &mut [Step],
    ordering: &Ordering,
    last_step: &HashMap<String, String>,
) {
    let mut extra: HashMap<String, Vec<String>> = HashMap::new();
    for edge in &ordering.edges {
        if let Some(last) = last_step.get(&edge.before) {
            extra
                .entry(step::step_id(StepKind::Activate, &edge.after))
                .or_default()
                .push(last.clone());
        }
    }
    for step in steps.iter_mut() {
        if let Some(more) = extra.remove(&step.id) {
            step.after.extend(more);
        }
    }
}

/// Compiles the checked clan into a plan.
pub fn make_plan(clan: &Clan, listing: &VarsListing, options: &PlanOptions) -> Plan {
    let mut diagnostics = Vec::new();
    let (mut selected, unmatched) = select::select_machines(clan, options.selector.as_ref());
    let changed = changed::select_affected(options.changed.as_ref(), &mut selected);
    for term in unmatched {
        diagnostics.push(Diagnostic::warning(
            Code::P003,
            format!("selector term `{term}` matches no machine"),
            no_place(),
        ));
    }
    if options.selector.is_some() && selected.is_empty() {
        diagnostics.push(Diagnostic::warning(
            Code::P003,
            "the selector picks no machine: the plan is empty",
            no_place(),
        ));
    }

    let (mut machines, ready) = planned_machines(clan, &selected, options, &mut diagnostics);

    let active: BTreeSet<String> = if options.goal.activates() {
        ready.iter().map(|d| d.machine.name.clone()).collect()
    } else {
        BTreeSet::new()
    };
    let mut ordering = order_machines(clan, &active, &options.configured_order);
    if !options.goal.activates() {
        ordering.waves = vec![ready.iter().map(|d| d.machine.name.clone()).collect()];
        ordering.waves.retain(|w| !w.is_empty());
    }
    ordering_diagnostics(clan, &ordering, &mut diagnostics);
    check_configured_order(clan, &options.configured_order, &mut diagnostics);
    let mut wave_of: HashMap<&str, usize> = HashMap::new();
    for (i, wave) in ordering.waves.iter().enumerate() {
        for m in wave {
            wave_of.insert(m.as_str(), i);
        }
    }
    for (name, planned) in machines.iter_mut() {
        planned.wave = wave_of.get(name.as_str()).copied();
    }

    let run_id = options.fingerprint.run_id();
    let mut steps = Vec::new();
    let mut shared_seen = BTreeMap::new();
    let mut last_step: HashMap<String, String> = HashMap::new();
    for d in &ready {
        let last = machine_steps(d, options, listing, &run_id, &mut steps, &mut shared_seen);
        last_step.insert(d.machine.name.clone(), last);
    }
    wait_for_providers(&mut steps, &ordering, &last_step);
    let steps = in_run_order(steps, &wave_of);
    Plan {
        flake: options.flake.clone(),
        goal: options.goal,
        fingerprint: options.fingerprint.clone(),
        machines,
        steps,
        ordering,
        diagnostics,
        changed,
    }
}

fn instance_place(clan: &Clan, instance: &str) -> Span {
    clan.instances
        .get(instance)
        .and_then(|i| i.span.clone())
        .unwrap_or_else(no_place)
}

/// P005: `clanc.toml` orders an instance or role that does not exist.
fn check_configured_order(
    clan: &Clan,
    configured: &BTreeMap<String, Vec<String>>,
    out: &mut Vec<Diagnostic>,
) {
    let place = Span::new("clanc.toml", TextRange::default());
    for (instance, roles) in configured {
        let Some(found) = clan.instances.get(instance) else {
            out.push(Diagnostic::warning(
                Code::P005,
                format!("clanc.toml orders instance `{instance}`, which the clan does not define"),
                place.clone(),
            ));
            continue;
        };
        for role in roles {
            if !found.roles.contains_key(role) {
                out.push(Diagnostic::warning(
                    Code::P005,
                    format!("clanc.toml orders role `{role}` of instance `{instance}`, which it does not have"),
                    place.clone(),
                ));
            }
        }
    }
}

/// The steps in an order that respects `after`: Kahn's algorithm, taking among the ready
/// steps the one of the earliest wave, then machine, then kind (shared vars first).
fn in_run_order(steps: Vec<Step>, wave_of: &HashMap<&str, usize>) -> Vec<Step> {
    let index: HashMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut graph: DiGraph<usize, ()> = DiGraph::with_capacity(steps.len(), steps.len() * 2);
    for i in 0..steps.len() {
        graph.add_node(i);
    }
    let mut waiting = vec![0usize; steps.len()];
    for (i, step) in steps.iter().enumerate() {
        for before in &step.after {
            if let Some(&b) = index.get(before.as_str()) {
                graph.add_edge(NodeIndex::new(b), NodeIndex::new(i), ());
                waiting[i] += 1;
            }
        }
    }
    let key = |i: usize| {
        let s = &steps[i];
        let machine = s.machine.as_deref().unwrap_or("");
        let wave = s
            .machine
            .as_deref()
            .and_then(|m| wave_of.get(m).copied())
            .map_or(0, |w| w + 1);
        Reverse((wave, machine.to_string(), s.kind, s.id.clone(), i))
    };
    let mut ready: BinaryHeap<_> = (0..steps.len())
        .filter(|&i| waiting[i] == 0)
        .map(key)
        .collect();
    let mut order = Vec::with_capacity(steps.len());
    let mut placed = vec![false; steps.len()];
    while let Some(Reverse((_, _, _, _, i))) = ready.pop() {
        order.push(i);
        placed[i] = true;
        for next in graph.neighbors(NodeIndex::new(i)) {
            let n = next.index();
            waiting[n] -= 1;
            if waiting[n] == 0 {
                ready.push(key(n));
            }
        }
    }
    // A cycle (never produced by the planner) leaves steps behind: keep them, in id order.
    let mut rest: Vec<usize> = (0..steps.len()).filter(|&i| !placed[i]).collect();
    rest.sort_by(|a, b| steps[*a].id.cmp(&steps[*b].id));
    order.extend(rest);
    let mut slots: Vec<Option<Step>> = steps.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}
