//! `vars generate` below the command line: the model's generators as `GeneratorSpec`s, what to
//! run (`order`), the prompts asked up front, every run (`runner`) with its outputs kept in
//! memory, and only when all of them succeeded, the writes (`store`): public files as `value`,
//! secrets as sops files for the machine and the admins (`sops/users/*`), shared generators
//! under `vars/shared/`, and each machine's age key created on first need. The whole run holds
//! the lock of the clan's vars tree, and the writes are a transaction (`vars::transaction`):
//! staged, then swapped in generator by generator, undone if one fails, so a failure anywhere
//! leaves the clan as it was. Names become paths only through `model::vars::names`. Nothing here
//! prints or logs a value.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use age::x25519;
use zeroize::Zeroizing;

use super::vars_generator::{RunError, RunInputs, Sandbox, run_generator};
use crate::model::vars::generator::{FileSpec, GeneratorSpec, NeededFor, PromptKind, PromptSpec};
use crate::model::vars::names::{self, NameError};
use crate::model::vars::order::{OrderError, generators_to_run};
use crate::model::{Clan, Generator, Known, MachineClass};
use crate::vars::SecretBytes;
use crate::vars::keys;
use crate::vars::sops;
use crate::vars::store::{self, Recipients, StoredKind, VarsTree};
use crate::vars::transaction::{Transaction, VarsLock};

/// What to generate.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Machines to generate for; empty means every machine.
    pub machines: Vec<String>,
    /// Generators to consider; empty means all of them.
    pub generators: Vec<String>,
    pub regenerate: bool,
}

/// Answers a prompt: (generator, prompt name, its spec) to the value, or why there is none.
pub type PromptAnswerer<'a> =
    dyn FnMut(&str, &str, &PromptSpec) -> Result<Zeroizing<String>, String> + 'a;

/// Where a run happens and what it may ask.
pub struct Environment<'a> {
    pub sandbox: Sandbox,
    /// `PATH` for the scripts.
    pub path: OsString,
    pub cancel: &'a AtomicBool,
    /// Answers a prompt (`generator`, `prompt name`, its spec); an error names what is missing.
    pub prompt: &'a mut PromptAnswerer<'a>,
    /// The admin's age identities, asked for only when an existing secret must be read.
    pub admin_identities: &'a mut dyn FnMut() -> Result<Vec<x25519::Identity>, String>,
    /// Progress and warnings (never values).
    pub note: &'a mut dyn FnMut(&str),
    /// The `lastmodified` time written into sops files (RFC 3339 UTC).
    pub now: String,
    /// Builds a generator's `finalScript` from the flake (`machine`, its class, generator) and
    /// returns the script's store path: for generators whose script or runtime inputs are
    /// packages clanc does not evaluate.
    pub final_script: &'a mut dyn FnMut(&str, MachineClass, &str) -> Result<String, String>,
}

#[derive(Debug)]
pub enum GenerateError {
    /// Something the user must fix before anything can run (unknown machine, unknown script,
    /// missing prompt, dependency errors, missing admin keys).
    Plan(String),
    /// A generator failed; nothing was written.
    Run {
        machine: String,
        generator: String,
        error: RunError,
    },
    /// Writing the results failed; the tree is as it was.
    Io(String),
    /// A signal (`Environment::cancel`) stopped the generation before anything was written.
    Cancelled,
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::Plan(message) | GenerateError::Io(message) => write!(f, "{message}"),
            GenerateError::Cancelled => write!(f, "interrupted; nothing was written"),
            GenerateError::Run {
                machine,
                generator,
                error,
            } => write!(
                f,
                "generator `{generator}` of machine `{machine}` failed, nothing was written: {error}"
            ),
        }
    }
}

impl std::error::Error for GenerateError {}

/// One generator that ran (shared generators have no machine of their own: `machine` is the
/// one they ran for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    pub machine: String,
    pub generator: String,
    pub shared: bool,
    pub files: Vec<String>,
}

/// What a generation changed: the generators run, the machine keys created, the paths written
/// (relative to the clan directory).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub generated: Vec<Generated>,
    pub new_machine_keys: Vec<String>,
    pub paths: BTreeSet<PathBuf>,
}

/// Why a generator's script must be built by Nix (`finalScript`): its text or its runtime
/// inputs refer to packages. `None` when clanc can run the script as the model holds it.
pub fn needs_final_script(generator: &Generator) -> Option<String> {
    match (&generator.script.value, &generator.runtime_inputs) {
        (Known::Unknown(reason), _) | (_, Known::Unknown(reason)) => Some(reason.clone()),
        _ => None,
    }
}

/// A generator of the model as the runner sees it, or why it cannot run. A generator whose
/// script needs Nix ([`needs_final_script`]) gets an empty script here: the caller builds it.
pub fn spec_of(generator: &Generator) -> Result<GeneratorSpec, String> {
    fn known<'a, T>(value: &'a Known<T>, what: &str) -> Result<&'a T, String> {
        match value {
            Known::Known(v) => Ok(v),
            Known::Unknown(reason) => Err(format!("{what} is unknown ({reason})")),
        }
    }
    let script = match needs_final_script(generator) {
        Some(_) => String::new(),
        None => known(&generator.script.value, "its script")?.clone(),
    };
    let share = *known(&generator.share, "`share`")?;
    let mut files = BTreeMap::new();
    for (name, file) in &generator.files {
        let what = |field: &str| format!("`files.{name}.{field}`");
        let needed_for = known(&file.needed_for.value, &what("neededFor"))?;
        files.insert(
            name.clone(),
            FileSpec {
                secret: *known(&file.secret, &what("secret"))?,
                deploy: *known(&file.deploy, &what("deploy"))?,
                owner: known(&file.owner.value, &what("owner"))?.clone(),
                group: known(&file.group.value, &what("group"))?.clone(),
                mode: known(&file.mode.value, &what("mode"))?.clone(),
                needed_for: NeededFor::parse(needed_for)
                    .ok_or_else(|| format!("{} is \"{needed_for}\"", what("neededFor")))?,
            },
        );
    }
    let mut prompts = BTreeMap::new();
    for (name, prompt) in &generator.prompts {
        let kind = known(&prompt.kind.value, &format!("the type of prompt `{name}`"))?;
        prompts.insert(
            name.clone(),
            PromptSpec {
                description: prompt
                    .description
                    .value
                    .known()
                    .cloned()
                    .unwrap_or_else(|| name.clone()),
                kind: PromptKind::parse(kind)
                    .ok_or_else(|| format!("the prompt `{name}` has the type \"{kind}\""))?,
                persist: prompt.persist.known().copied().unwrap_or(false),
            },
        );
    }
    let dependencies = known(&generator.dependencies, "its dependencies")?
        .iter()
        .map(|d| d.value.clone())
        .collect();
    Ok(GeneratorSpec {
        name: generator.name.clone(),
        share,
        files,
        prompts,
        dependencies,
        runtime_inputs: generator
            .runtime_inputs
            .known()
            .cloned()
            .unwrap_or_default(),
        script,
    })
}

/// Where a generator's files live: its machine's directory, or `None` for `vars/shared/`.
type Owner = Option<String>;

struct Planned {
    machine: String,
    spec: GeneratorSpec,
}

/// Runs what `request` asks for in the clan at `root` and writes the results.
pub fn generate(
    root: &Path,
    clan: &Clan,
    request: &Request,
    env: &mut Environment<'_>,
) -> Result<Outcome, GenerateError> {
    let plan_error = |m: String| GenerateError::Plan(m);
    for m in &request.machines {
        if !clan.machines.contains_key(m) {
            return Err(plan_error(format!(
                "the clan has no machine `{m}`; it has {}",
                names(clan.machines.keys())
            )));
        }
    }
    let selected: BTreeSet<String> = if request.machines.is_empty() {
        clan.machines.keys().cloned().collect()
    } else {
        request.machines.iter().cloned().collect()
    };
    let machines: Vec<&String> = if request.machines.is_empty() {
        clan.machines.keys().collect()
    } else {
        clan.machines
            .keys()
            .filter(|m| request.machines.contains(m))
            .collect()
    };
    // Everything from reading the tree to the last write happens under the lock: what is
    // missing, what the dependencies hold and what is written come from one state.
    let lock = VarsLock::acquire(root, env.cancel, &mut *env.note).map_err(|e| {
        if e.kind() == std::io::ErrorKind::Interrupted {
            GenerateError::Cancelled
        } else {
            GenerateError::Io(format!("cannot lock the vars of the clan: {e}"))
        }
    })?;
    let tree =
        VarsTree::read(root).map_err(|e| GenerateError::Io(format!("cannot read `vars/`: {e}")))?;

    let planned = plan_runs(clan, machines, request, &tree, env)?;
    if planned.is_empty() {
        return Ok(Outcome::default());
    }

    // ---- prompts, all before anything runs
    let mut answers: Vec<BTreeMap<String, Zeroizing<String>>> = Vec::new();
    for p in &planned {
        let mut these = BTreeMap::new();
        for (name, prompt) in &p.spec.prompts {
            let value = (env.prompt)(&p.spec.name, name, prompt).map_err(plan_error)?;
            these.insert(name.clone(), value);
        }
        answers.push(these);
    }

    // ---- recipients, before anything runs
    let admins = read_key_dir(&root.join("sops/users"))?;
    let writes_secrets = planned
        .iter()
        .any(|p| p.spec.files.values().any(|f| f.secret));
    if writes_secrets && admins.is_empty() {
        return Err(plan_error(
            "no admin key under `sops/users/`: add yours first (`clan secrets users add <name> <age public key>`)".to_string(),
        ));
    }

    if env.sandbox == Sandbox::None {
        (env.note)(
            "warning: bubblewrap (bwrap) is not usable here: generators run without a sandbox",
        );
    }

    let outputs = run_all(clan, &planned, &answers, &tree, env)?;
    let outcome = write_all(
        root, clan, &selected, &planned, &outputs, &admins, &lock, env,
    )?;
    drop(lock);
    Ok(outcome)
}

/// What runs, in order: per machine, the generators asked for (or missing) and what depends on
/// them; a shared generator once. Names are checked and Nix-built scripts built here, before
/// anything is asked or run.
fn plan_runs(
    clan: &Clan,
    machines: Vec<&String>,
    request: &Request,
    tree: &VarsTree,
    env: &mut Environment<'_>,
) -> Result<Vec<Planned>, GenerateError> {
    let plan_error = |m: String| GenerateError::Plan(m);
    let mut planned: Vec<Planned> = Vec::new();
    let mut shared_planned: BTreeSet<String> = BTreeSet::new();
    for machine_name in machines {
        let machine = &clan.machines[machine_name];
        for g in &request.generators {
            if !machine.generators.contains_key(g) && request.machines.contains(machine_name) {
                return Err(plan_error(format!(
                    "machine `{machine_name}` has no vars generator `{g}`; it has {}",
                    names(machine.generators.keys())
                )));
            }
        }
        let (mut specs, unrunnable) = specs_of(machine);
        let missing = |g: &str| {
            let spec = &specs[g];
            if spec.share && shared_planned.contains(g) {
                return false;
            }
            spec.files.keys().any(|f| {
                let stored = if spec.share {
                    tree.shared.get(g).and_then(|s| s.files.get(f))
                } else {
                    tree.per_machine
                        .get(machine_name)
                        .and_then(|m| m.get(g))
                        .and_then(|s| s.files.get(f))
                };
                stored.is_none_or(|s| s.kind == StoredKind::Empty)
            })
        };
        let order = generators_to_run(&specs, &request.generators, request.regenerate, missing)
            .map_err(|errors| plan_error(order_errors(machine_name, &errors)))?;
        for name in order {
            if let Some(reason) = unrunnable.get(&name) {
                return Err(plan_error(format!(
                    "generator `{name}` of machine `{machine_name}` cannot run: {reason}"
                )));
            }
            let Some(mut spec) = specs.remove(&name) else {
                continue;
            };
            // Before anything is built, asked or run.
            check_names(machine_name, &spec).map_err(plan_error)?;
            if let Some(generator) = machine.generators.get(&name)
                && needs_final_script(generator).is_some()
                && !(spec.share && shared_planned.contains(&name))
            {
                let Known::Known(class) = machine.class.value else {
                    return Err(plan_error(format!(
                        "generator `{name}` of machine `{machine_name}` cannot run: the machine's class is unknown"
                    )));
                };
                let path = (env.final_script)(machine_name, class, &name).map_err(|e| {
                    plan_error(format!(
                        "generator `{name}` of machine `{machine_name}`: building its script with Nix failed: {e}"
                    ))
                })?;
                // The built script sets its own PATH (its runtime inputs).
                spec.script = crate::shell::quote_word(&path);
                spec.runtime_inputs = Vec::new();
            }
            if spec.share && !shared_planned.insert(name.clone()) {
                continue; // already run for another machine
            }
            planned.push(Planned {
                machine: machine_name.clone(),
                spec,
            });
        }
    }
    Ok(planned)
}

/// The machine's generators as specs, and why those that cannot run cannot (they get a
/// stand-in with what is known, so the order still sees their edges).
fn specs_of(
    machine: &crate::model::Machine,
) -> (BTreeMap<String, GeneratorSpec>, BTreeMap<String, String>) {
    let mut specs = BTreeMap::new();
    let mut unrunnable = BTreeMap::new();
    for (name, generator) in &machine.generators {
        match spec_of(generator) {
            Ok(spec) => {
                specs.insert(name.clone(), spec);
            }
            Err(reason) => {
                // A stand-in with what is known, so the order still sees its edges.
                let dependencies = generator
                    .dependencies
                    .known()
                    .map(|d| d.iter().map(|s| s.value.clone()).collect())
                    .unwrap_or_default();
                let files = generator
                    .files
                    .keys()
                    .map(|f| (f.clone(), FileSpec::default()))
                    .collect();
                specs.insert(
                    name.clone(),
                    GeneratorSpec {
                        name: name.clone(),
                        share: generator.share == Known::Known(true),
                        files,
                        prompts: BTreeMap::new(),
                        dependencies,
                        runtime_inputs: Vec::new(),
                        script: String::new(),
                    },
                );
                unrunnable.insert(name.clone(), reason);
            }
        }
    }
    (specs, unrunnable)
}

/// Outputs of every run, in memory (zeroized on drop), by owner and generator.
type Outputs = BTreeMap<(Owner, String), BTreeMap<String, SecretBytes>>;

/// Runs the planned generators in order, each with its dependencies' files (from this run or
/// the store) and its prompts' answers.
fn run_all(
    clan: &Clan,
    planned: &[Planned],
    answers: &[BTreeMap<String, Zeroizing<String>>],
    tree: &VarsTree,
    env: &mut Environment<'_>,
) -> Result<Outputs, GenerateError> {
    let plan_error = |m: String| GenerateError::Plan(m);
    let mut outputs: Outputs = BTreeMap::new();
    let mut identities: Option<Vec<x25519::Identity>> = None;
    for (p, prompts) in planned.iter().zip(answers) {
        let machine = &clan.machines[&p.machine];
        let mut dependencies = BTreeMap::new();
        for dep in &p.spec.dependencies {
            let dep_spec = machine
                .generators
                .get(dep)
                .map(spec_of)
                .transpose()
                .map_err(plan_error)?
                .ok_or_else(|| plan_error(format!("no generator `{dep}`")))?;
            let owner: Owner = (!dep_spec.share).then(|| p.machine.clone());
            let files = match outputs.get(&(owner.clone(), dep.clone())) {
                Some(files) => files
                    .iter()
                    .map(|(k, v)| (k.clone(), Zeroizing::new(v.to_vec())))
                    .collect(),
                None => read_stored(tree, owner.as_deref(), &dep_spec, &mut || {
                    if identities.is_none() {
                        identities = Some((env.admin_identities)()?);
                    }
                    Ok(identities.clone().unwrap_or_default())
                })
                .map_err(plan_error)?,
            };
            dependencies.insert(dep.clone(), files);
        }
        if !matches!(&machine.generators[&p.spec.name].runtime_inputs, Known::Known(v) if v.is_empty())
        {
            (env.note)(&format!(
                "warning: the runtimeInputs of `{}` are packages clanc does not build: its script uses the host's PATH",
                p.spec.name
            ));
        }
        (env.note)(&format!(
            "generating `{}` for `{}`{}",
            p.spec.name,
            p.machine,
            if p.spec.share { " (shared)" } else { "" }
        ));
        let inputs = RunInputs {
            dependencies: &dependencies,
            prompts,
            path: env.path.clone(),
        };
        let files = run_generator(&p.spec, &inputs, &env.sandbox, env.cancel).map_err(|error| {
            GenerateError::Run {
                machine: p.machine.clone(),
                generator: p.spec.name.clone(),
                error,
            }
        })?;
        let owner: Owner = (!p.spec.share).then(|| p.machine.clone());
        outputs.insert((owner, p.spec.name.clone()), files);
    }

    Ok(outputs)
}

/// Writes every output: staged, then put in place generator by generator
/// (`vars::transaction`); the machine keys secrets need are created first.
#[allow(clippy::too_many_arguments)]
fn write_all(
    root: &Path,
    clan: &Clan,
    selected: &BTreeSet<String>,
    planned: &[Planned],
    outputs: &Outputs,
    admins: &BTreeMap<String, Vec<x25519::Recipient>>,
    lock: &VarsLock,
    env: &mut Environment<'_>,
) -> Result<Outcome, GenerateError> {
    let plan_error = |m: String| GenerateError::Plan(m);
    let io = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| GenerateError::Io(format!("cannot write {what}: {e}"))
    };
    let mut txn = Transaction::begin(root, lock).map_err(io("the staging directory"))?;
    let mut outcome = Outcome::default();
    let mut machine_keys = read_key_dir(&root.join("sops/machines"))?;
    let admin_names: Vec<String> = admins.keys().cloned().collect();
    let admin_keys: Vec<x25519::Recipient> = admins.values().flatten().cloned().collect();
    for p in planned {
        let owner: Owner = (!p.spec.share).then(|| p.machine.clone());
        let files = &outputs[&(owner.clone(), p.spec.name.clone())];
        let target = store::generator_dir(root, owner.as_deref(), &p.spec.name)
            .map_err(|e| plan_error(e.to_string()))?;
        // Shared secrets are for every selected machine declaring the generator, and for the
        // others that declare it and have a key.
        let mut deployed_to: Vec<String> = vec![p.machine.clone()];
        if p.spec.share {
            for (name, m) in &clan.machines {
                if name != &p.machine
                    && m.generators
                        .get(&p.spec.name)
                        .is_some_and(|g| g.share == Known::Known(true))
                    && (machine_keys.contains_key(name) || selected.contains(name))
                {
                    deployed_to.push(name.clone());
                }
            }
        }
        // The machine keys this generator's secrets need, staged before it: they are put in
        // place first.
        for file in p.spec.files.values() {
            if !(file.secret && file.deploy) {
                continue;
            }
            for m in &deployed_to {
                if machine_keys.contains_key(m) {
                    continue;
                }
                let public = stage_machine_key(root, &mut txn, m, admins, &env.now)?;
                outcome.new_machine_keys.push(m.clone());
                outcome
                    .paths
                    .insert(PathBuf::from(format!("sops/machines/{m}")));
                outcome
                    .paths
                    .insert(PathBuf::from(format!("sops/secrets/{m}-age.key")));
                machine_keys.insert(m.clone(), vec![public]);
            }
        }
        let replaced: BTreeSet<String> = p.spec.files.keys().cloned().collect();
        let staged = txn
            .stage(target.clone(), &replaced)
            .map_err(io(&format!("`{}`", target.display())))?;
        for (name, file) in &p.spec.files {
            let content = &files[name];
            let file_dir =
                names::join(&staged, &[("file", name)]).map_err(|e| plan_error(e.to_string()))?;
            let final_dir = target.join(name);
            if !file.secret {
                store::write_public(&file_dir, content)
                    .map_err(io(&format!("`{}`", final_dir.display())))?;
                outcome.paths.insert(relative(root, &final_dir));
                continue;
            }
            let machines: Vec<String> = if file.deploy {
                deployed_to.clone()
            } else {
                Vec::new()
            };
            let mut recipients = admin_keys.clone();
            for m in &machines {
                recipients.extend(machine_keys[m].iter().cloned());
            }
            let text = sops::encrypt(content, &recipients, &env.now).map_err(|e| {
                GenerateError::Io(format!("cannot encrypt `{}/{name}`: {e}", p.spec.name))
            })?;
            let links = Recipients {
                machines,
                users: admin_names.clone(),
                groups: Vec::new(),
            };
            store::write_secret(&file_dir, &text, &links, p.spec.share)
                .map_err(io(&format!("`{}`", final_dir.display())))?;
            outcome.paths.insert(relative(root, &final_dir));
        }
        outcome.generated.push(Generated {
            machine: p.machine.clone(),
            generator: p.spec.name.clone(),
            shared: p.spec.share,
            files: p.spec.files.keys().cloned().collect(),
        });
    }
    // The last moment a signal can stop the generation with nothing written; putting the
    // units in place is quick and, once begun, finishes or is undone.
    if env.cancel.load(Ordering::SeqCst) {
        return Err(GenerateError::Cancelled);
    }
    txn.install().map_err(|e| {
        GenerateError::Io(format!("cannot write the vars, nothing was changed: {e}"))
    })?;
    Ok(outcome)
}

/// Every name a generator's run turns into a path is one path component (`model::vars::names`):
/// its machine, its own name, its files and prompts.
fn check_names(machine: &str, spec: &GeneratorSpec) -> Result<(), String> {
    let context = |e: NameError| {
        format!(
            "generator `{}` of machine `{machine}` cannot run: {e}",
            spec.name
        )
    };
    names::component("machine", machine).map_err(context)?;
    names::component("generator", &spec.name).map_err(context)?;
    for file in spec.files.keys() {
        names::component("file", file).map_err(context)?;
    }
    for prompt in spec.prompts.keys() {
        names::component("prompt", prompt).map_err(context)?;
    }
    Ok(())
}

/// A new age key for `machine`, staged in `txn`: the private half as
/// `sops/secrets/<m>-age.key/secret` for the admins (with `users/<u>` links), the public half
/// as `sops/machines/<m>/key.json`, in that order (a run killed between the two leaves a key
/// nobody encrypts to yet, never a public key without its private half).
fn stage_machine_key(
    root: &Path,
    txn: &mut Transaction<'_>,
    machine: &str,
    admins: &BTreeMap<String, Vec<x25519::Recipient>>,
    now: &str,
) -> Result<x25519::Recipient, GenerateError> {
    let name_error = |e: NameError| GenerateError::Plan(e.to_string());
    let secret_dir = store::key_secret_dir(root, machine).map_err(name_error)?;
    let public_dir = store::machine_key_dir(root, machine).map_err(name_error)?;
    let identity = x25519::Identity::generate();
    let public = identity.to_public();
    let secret = age::secrecy::ExposeSecret::expose_secret(&identity.to_string()).to_string();
    let text = Zeroizing::new(format!(
        "# created: {now}\n# public key: {public}\n{secret}\n"
    ));
    drop(Zeroizing::new(secret));
    let recipients: Vec<x25519::Recipient> = admins.values().flatten().cloned().collect();
    let sops_text = sops::encrypt(text.as_bytes(), &recipients, now)
        .map_err(|e| GenerateError::Io(format!("cannot encrypt the key of `{machine}`: {e}")))?;
    let io = |e: std::io::Error| {
        GenerateError::Io(format!("cannot write the age key of `{machine}`: {e}"))
    };
    let users: Vec<String> = admins.keys().cloned().collect();
    let replaced: BTreeSet<String> = ["secret", "users"].map(String::from).into();
    let staged = txn.stage(secret_dir, &replaced).map_err(io)?;
    store::write_key_secret(&staged, &sops_text, &users).map_err(io)?;
    let key_json = serde_json::to_string_pretty(&serde_json::json!([
        {"publickey": public.to_string(), "type": "age"}
    ]))
    .unwrap_or_default();
    let replaced: BTreeSet<String> = ["key.json".to_string()].into();
    let staged = txn.stage(public_dir, &replaced).map_err(io)?;
    store::write_key_json(&staged, &key_json).map_err(io)?;
    Ok(public)
}

/// The files of a generator that ran before, from the vars tree: public values as they are,
/// secrets decrypted with the admin's identities.
fn read_stored(
    tree: &VarsTree,
    owner: Option<&str>,
    spec: &GeneratorSpec,
    identities: &mut dyn FnMut() -> Result<Vec<x25519::Identity>, String>,
) -> Result<BTreeMap<String, SecretBytes>, String> {
    let stored = match owner {
        Some(m) => tree.per_machine.get(m).and_then(|g| g.get(&spec.name)),
        None => tree.shared.get(&spec.name),
    };
    let mut files = BTreeMap::new();
    for name in spec.files.keys() {
        let Some(file) = stored.and_then(|g| g.files.get(name)) else {
            return Err(format!(
                "the dependency `{}` has no file `{name}` yet",
                spec.name
            ));
        };
        let content = match &file.kind {
            StoredKind::Public => Zeroizing::new(
                std::fs::read(file.dir.join("value"))
                    .map_err(|e| format!("cannot read `{}/{name}`: {e}", spec.name))?,
            ),
            StoredKind::Secret(_) => {
                let text = std::fs::read_to_string(file.dir.join("secret"))
                    .map_err(|e| format!("cannot read `{}/{name}`: {e}", spec.name))?;
                sops::decrypt(&text, &identities()?)
                    .map_err(|e| format!("cannot decrypt `{}/{name}`: {e}", spec.name))?
            }
            StoredKind::Empty => {
                return Err(format!("`{}/{name}` holds no value", spec.name));
            }
        };
        files.insert(name.clone(), content);
    }
    Ok(files)
}

/// `<dir>/<name>/key.json` for every name: its age public keys.
fn read_key_dir(dir: &Path) -> Result<BTreeMap<String, Vec<x25519::Recipient>>, GenerateError> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for entry in entries.flatten() {
        let path = entry.path().join("key.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let parsed = keys::parse_key_json(&text)
            .map_err(|e| GenerateError::Plan(format!("`{}`: {e}", path.display())))?;
        if !parsed.is_empty() {
            out.insert(entry.file_name().to_string_lossy().into_owned(), parsed);
        }
    }
    Ok(out)
}

fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let list: Vec<String> = names.map(|n| format!("`{n}`")).collect();
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}

fn order_errors(machine: &str, errors: &[OrderError]) -> String {
    let text: Vec<String> = errors
        .iter()
        .map(|e| match e {
            OrderError::UnknownDependency {
                generator,
                dependency,
            } => format!(
                "generator `{generator}` of machine `{machine}` depends on `{dependency}`, which the machine does not declare (V001)"
            ),
            OrderError::Cycle(cycle) => format!(
                "generators of machine `{machine}` depend on each other in a cycle: {} (V002)",
                cycle.join(", ")
            ),
        })
        .collect();
    text.join("\n")
}
