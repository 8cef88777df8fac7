//! Which machines a change of the clan affects (`clanc plan --changed-since`): the models and
//! footprints ([`super::footprint`]) of two states of the clan, and the paths that differ
//! between them, give each machine of the newer state the reasons its configuration may have
//! changed, or none.
//!
//! A machine is affected when:
//! - its footprint holds code whose text differs between the two states (a module of it, a
//!   definition of it, code they use), or names a path that changed (a path literal, a file
//!   its evaluation read, a path clan-core reads for it by convention: `machines/<m>/`,
//!   `vars/per-machine/<m>/`, its shared vars, its sops secrets);
//! - its footprint (or what every machine shares) is unbounded and anything changed;
//! - what the inventory says of it differs (class, tags, deploy), or of an instance it is a
//!   member of (its roles in it, the service, the settings of its roles), or of an instance
//!   whose service reads the roles' members (then any member's change affects every
//!   member), or the clan's meta;
//! - `flake.lock` locks an input differently (every machine: clanc does not know which
//!   inputs a system uses), or `inventory.json` changed where clanc cannot tell whom it
//!   concerns.
//!
//! Unknown data is never taken as unchanged: an instance whose settings clanc cannot know is
//! compared by the text of its definitions, and an instance whose members are unknown may have
//! any machine as a member.

use std::collections::{BTreeMap, BTreeSet};

use super::footprint::{Footprint, Footprints, PieceKey, PieceKind, RolesRead, covers};
use super::{Clan, Data, ExtraModule, Instance, Known, Spanned};

/// One state of the clan.
pub struct State<'a> {
    pub clan: &'a Clan,
    pub footprints: &'a Footprints,
    /// `flake.lock`'s text.
    pub lock: Option<&'a str>,
    /// `inventory.json`'s text.
    pub inventory_json: Option<&'a str>,
    /// Whether a path (relative to the clan directory) exists in this state.
    pub exists: &'a dyn Fn(&str) -> bool,
    /// The names in a directory (relative to the clan directory) in this state.
    pub list: &'a dyn Fn(&str) -> Vec<String>,
}

/// The machines of the newer state, affected (with their reasons) or not.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Affected {
    pub machines: BTreeMap<String, Vec<String>>,
    pub unaffected: Vec<String>,
}

/// How many reasons are kept per machine.
const MAX_REASONS: usize = 4;

/// The machines of `new` that the change from `old` (with `changed`, the paths that differ,
/// relative to the clan directory) may affect.
pub fn affected(old: &State, new: &State, changed: &[String]) -> Affected {
    let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |m: &str, why: String| {
        let list = reasons.entry(m.to_string()).or_default();
        if !list.contains(&why) {
            list.push(why);
        }
    };
    let everyone: Vec<&String> = new.clan.machines.keys().collect();
    let first_changed = describe_changed(changed);
    // What every machine shares.
    let mut shared = Vec::new();
    let mut unbounded: BTreeMap<String, String> = BTreeMap::new();
    if !changed.is_empty()
        && let Some(why) =
            (new.footprints.shared.anything.as_ref()).or(old.footprints.shared.anything.as_ref())
    {
        for m in new.clan.machines.keys() {
            unbounded.insert(
                m.clone(),
                format!("{why} (every machine), and {first_changed}"),
            );
        }
    }
    shared.extend(piece_changes(
        &old.footprints.shared,
        &new.footprints.shared,
        "what every machine depends on",
        changed,
    ));
    shared.extend(path_changes(&new.footprints.shared, changed));
    shared.extend(lock_changes(old.lock, new.lock, changed));
    shared.extend(meta_change(old.clan, new.clan));
    let json = inventory_json_changes(old.inventory_json, new.inventory_json, changed);
    shared.extend(json.everyone.iter().cloned());
    for m in &everyone {
        for why in &shared {
            add(m, why.clone());
        }
    }
    for (m, why) in &json.machines {
        if new.clan.machines.contains_key(m) {
            add(m, why.clone());
        }
    }
    for name in &everyone {
        let name = name.as_str();
        let (Some(was), Some(is)) = (old.clan.machines.get(name), new.clan.machines.get(name))
        else {
            add(name, "it is new since then".to_string());
            continue;
        };
        let empty = Footprint::default();
        let fp_new = new.footprints.machines.get(name).unwrap_or(&empty);
        let fp_old = old.footprints.machines.get(name).unwrap_or(&empty);
        let pieces = piece_changes(fp_old, fp_new, "its configuration", changed);
        let named: Vec<&str> = changed
            .iter()
            .filter(|p| {
                pieces
                    .iter()
                    .any(|w| w.starts_with(&format!("{p} ")) || w.starts_with(&format!("{p}:")))
            })
            .map(String::as_str)
            .collect();
        for why in pieces.iter().cloned() {
            add(name, why);
        }
        let unnamed: Vec<String> = changed
            .iter()
            .filter(|p| !named.contains(&p.as_str()))
            .cloned()
            .collect();
        for why in path_changes(fp_new, &unnamed)
            .into_iter()
            .chain(path_changes(fp_old, &unnamed))
        {
            add(name, why);
        }
        for why in convention_changes(name, old, new, changed) {
            add(name, why);
        }
        for why in machine_fact_changes(was, is) {
            add(name, why);
        }
        if !changed.is_empty()
            && let Some(why) = fp_new.anything.as_ref().or(fp_old.anything.as_ref())
        {
            unbounded.insert(name.to_string(), format!("{why}, and {first_changed}"));
        }
    }
    for (instance, members) in instance_changes(old, new, changed) {
        for (m, why) in members {
            if new.clan.machines.contains_key(&m) {
                add(&m, format!("instance `{instance}`: {why}"));
            }
        }
    }
    // What made a machine's footprint unbounded comes after the precise reasons.
    for (m, why) in unbounded {
        add(&m, why);
    }
    let mut out = Affected::default();
    for name in everyone {
        match reasons.remove(name.as_str()) {
            Some(mut list) if !list.is_empty() => {
                if list.len() > MAX_REASONS {
                    let more = list.len() - MAX_REASONS + 1;
                    list.truncate(MAX_REASONS - 1);
                    list.push(format!("and {more} more reason(s)"));
                }
                out.machines.insert(name.clone(), list);
            }
            _ => out.unaffected.push(name.clone()),
        }
    }
    out
}

/// "modules/a.nix changed" or "modules/a.nix and 3 other paths changed".
fn describe_changed(changed: &[String]) -> String {
    match changed {
        [] => "nothing changed".to_string(),
        [one] => format!("{} changed", shown(one)),
        [one, rest @ ..] => format!("{} and {} other path(s) changed", shown(one), rest.len()),
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() {
        "the clan directory"
    } else {
        path
    }
}

/// The pieces of code that differ between two footprints (as texts by file), described:
/// changed (the file is among the `changed` paths), or now part of it, or no longer.
fn piece_changes(old: &Footprint, new: &Footprint, whose: &str, changed: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let count = |fp: &Footprint, k: &PieceKey| fp.pieces.get(k).map_or(0, |i| i.count);
    let keys: BTreeSet<&PieceKey> = old.pieces.keys().chain(new.pieces.keys()).collect();
    // Per file, a piece the newer state has first (what it is now), else one it lost.
    let mut keys: Vec<&PieceKey> = keys.into_iter().collect();
    let line = |k: &PieceKey| {
        let info = new.pieces.get(k).or_else(|| old.pieces.get(k));
        info.map_or((true, 0), |i| (i.what != PieceKind::File, i.line))
    };
    keys.sort_by_key(|k| {
        (
            k.file.clone(),
            count(new, k) <= count(old, k),
            line(k),
            k.hash,
        )
    });
    let mut files_done = BTreeSet::new();
    for key in keys {
        if count(old, key) == count(new, key) || !files_done.insert(key.file.clone()) {
            continue;
        }
        let text = if key.file.is_empty() {
            format!("a value {whose} is made of changed")
        } else {
            let added = count(new, key) > count(old, key);
            let info = match (added, new.pieces.get(key), old.pieces.get(key)) {
                (true, Some(info), _) | (false, _, Some(info)) => info,
                _ => continue,
            };
            let place = match info.what {
                PieceKind::File => key.file.clone(),
                _ => format!("{}:{}", key.file, info.line),
            };
            let what = info.what.describe();
            if changed.contains(&key.file) {
                let when = if added { "" } else { " (as it was)" };
                format!("{place}{when} changed ({what} of {whose})")
            } else if added {
                format!("{place} is now part of {whose} ({what})")
            } else {
                format!("{place} is no longer part of {whose} ({what})")
            }
        };
        out.push(text);
    }
    out
}

/// The changed paths a footprint's paths cover, described.
fn path_changes(fp: &Footprint, changed: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for path in changed {
        // A changed directory (a submodule) holds the paths below it too.
        let hit = |u: &&super::footprint::PathUse| {
            covers(&u.path, u.below, path) || covers(path, true, &u.path)
        };
        if let Some(used) = fp.paths.iter().find(hit) {
            out.push(format!("{} changed ({})", shown(path), used.why));
        }
    }
    out
}

/// What clan-core reads for a machine by convention, where it changed.
fn convention_changes(m: &str, old: &State, new: &State, changed: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![
        format!("machines/{m}"),
        format!("vars/per-machine/{m}"),
        format!("sops/machines/{m}"),
        format!("sops/secrets/{m}-age.key"),
    ];
    // Its shared vars: of the generators it shares, or all when they may be more.
    let mut all_shared = false;
    for state in [old, new] {
        let Some(machine) = state.clan.machines.get(m) else {
            continue;
        };
        if machine.services_failed.is_some() {
            all_shared = true;
        }
        for g in machine.generators.values() {
            match &g.share {
                Known::Known(true) => dirs.push(format!("vars/shared/{}", g.name)),
                Known::Known(false) => {}
                Known::Unknown(_) => all_shared = true,
            }
        }
    }
    if all_shared {
        dirs.push("vars/shared".to_string());
    }
    let exists = |p: &str| (old.exists)(p) || (new.exists)(p);
    for path in changed {
        if let Some(dir) = dirs.iter().find(|d| covers(d, true, path)) {
            out.push(format!("{path} changed (clan-core reads {dir}/ for it)"));
            continue;
        }
        // sops/secrets/<name>/...: a secret it (or a group of it) may decrypt.
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            ["sops", "secrets", secret, ..] => {
                let mine = exists(&format!("sops/secrets/{secret}/machines/{m}"));
                let by_group = !mine
                    && secret_groups(old, new, secret)
                        .iter()
                        .any(|g| exists(&format!("sops/groups/{g}/machines/{m}")));
                if mine || by_group {
                    out.push(format!("{path} changed (a sops secret of it)"));
                }
            }
            ["sops", "groups", group, ..]
                if exists(&format!("sops/groups/{group}/machines/{m}")) =>
            {
                out.push(format!("{path} changed (a sops group of it)"));
            }
            _ => {}
        }
    }
    out
}

/// The sops groups a secret is encrypted for (`sops/secrets/<s>/groups/<g>`), in either
/// state.
fn secret_groups(old: &State, new: &State, secret: &str) -> BTreeSet<String> {
    let dir = format!("sops/secrets/{secret}/groups");
    (old.list)(&dir)
        .into_iter()
        .chain((new.list)(&dir))
        .collect()
}

/// What the inventory says of a machine itself, as text (spans left out).
fn machine_facts(m: &super::Machine) -> Vec<(&'static str, String)> {
    let known_string = |v: &Option<Spanned<Known<String>>>| match v {
        None => "-".to_string(),
        Some(s) => known_text(&s.value),
    };
    let mut tags: Vec<&str> = m.tags.iter().map(|t| t.value.as_str()).collect();
    tags.sort();
    vec![
        ("its machine class", format!("{:?}", m.class.value)),
        (
            "its tags",
            format!("{tags:?} {}", m.tags_unknown.as_deref().unwrap_or("")),
        ),
        ("its deploy.targetHost", known_string(&m.target_host)),
        ("its deploy.buildHost", known_string(&m.build_host)),
        ("its description", known_string(&m.description)),
    ]
}

fn known_text(k: &Known<String>) -> String {
    match k {
        Known::Known(s) => format!("{s:?}"),
        Known::Unknown(why) => format!("unknown ({why})"),
    }
}

fn machine_fact_changes(old: &super::Machine, new: &super::Machine) -> Vec<String> {
    machine_facts(old)
        .into_iter()
        .zip(machine_facts(new))
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| format!("{} changed", a.0))
        .collect()
}

fn meta_change(old: &Clan, new: &Clan) -> Option<String> {
    let text = |c: &Clan| {
        let s = |v: &Option<Spanned<Known<String>>>| v.as_ref().map(|v| known_text(&v.value));
        (s(&c.meta.name), s(&c.meta.domain), s(&c.meta.description))
    };
    (text(old) != text(new)).then(|| "the clan's meta changed".to_string())
}

/// The inputs `flake.lock` locks differently, when it changed.
fn lock_changes(old: Option<&str>, new: Option<&str>, changed: &[String]) -> Option<String> {
    if !changed.iter().any(|p| p == "flake.lock") {
        return None;
    }
    let locked = |text: Option<&str>| -> Option<BTreeMap<String, serde_json::Value>> {
        let value: serde_json::Value = serde_json::from_str(text?).ok()?;
        let nodes = value.get("nodes")?.as_object()?;
        Some(
            nodes
                .iter()
                .map(|(k, v)| {
                    let entry = serde_json::json!({
                        "locked": v.get("locked"),
                        "original": v.get("original"),
                        "inputs": v.get("inputs"),
                        "flake": v.get("flake"),
                    });
                    (k.clone(), entry)
                })
                .collect(),
        )
    };
    match (locked(old), locked(new)) {
        (Some(a), Some(b)) => {
            let names: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            let differ: Vec<&str> = names
                .into_iter()
                .filter(|n| a.get(*n) != b.get(*n))
                .map(String::as_str)
                .collect();
            if differ.is_empty() {
                return None;
            }
            Some(format!(
                "flake.lock locks {} differently (clanc does not know which inputs a system uses: every machine)",
                differ
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
        _ => Some("flake.lock changed (clanc cannot read which inputs: every machine)".to_string()),
    }
}

/// What changed in `inventory.json`: per machine, and for everyone.
#[derive(Default)]
struct JsonChanges {
    machines: Vec<(String, String)>,
    everyone: Vec<String>,
}

fn inventory_json_changes(old: Option<&str>, new: Option<&str>, changed: &[String]) -> JsonChanges {
    let mut out = JsonChanges::default();
    if !changed.iter().any(|p| p == "inventory.json") {
        return out;
    }
    let parse = |t: Option<&str>| -> Option<serde_json::Map<String, serde_json::Value>> {
        match t {
            None => Some(serde_json::Map::new()),
            Some(t) => serde_json::from_str::<serde_json::Value>(t)
                .ok()?
                .as_object()
                .cloned(),
        }
    };
    let (Some(a), Some(b)) = (parse(old), parse(new)) else {
        out.everyone
            .push("inventory.json changed and clanc cannot read it".to_string());
        return out;
    };
    let null = serde_json::Value::Null;
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let (x, y) = (a.get(key).unwrap_or(&null), b.get(key).unwrap_or(&null));
        if x == y {
            continue;
        }
        match key.as_str() {
            // Instances and tags: compared as the model reads them.
            "instances" | "tags" => {}
            "machines" => {
                let empty = serde_json::Map::new();
                let (x, y) = (
                    x.as_object().unwrap_or(&empty),
                    y.as_object().unwrap_or(&empty),
                );
                let names: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                for m in names {
                    if x.get(m) != y.get(m) {
                        out.machines
                            .push((m.clone(), format!("inventory.json: `machines.{m}` changed")));
                    }
                }
            }
            other => out
                .everyone
                .push(format!("inventory.json: `{other}` changed")),
        }
    }
    out
}

/// Per instance, the machines a change of it affects, with why.
fn instance_changes(
    old: &State,
    new: &State,
    changed: &[String],
) -> BTreeMap<String, Vec<(String, String)>> {
    let names: BTreeSet<&String> = (old.clan.instances.keys())
        .chain(new.clan.instances.keys())
        .collect();
    let everyone: BTreeSet<&String> = (old.clan.machines.keys())
        .chain(new.clan.machines.keys())
        .collect();
    let mut out = BTreeMap::new();
    for name in names {
        let list = one_instance(name, old, new, changed, &everyone);
        if !list.is_empty() {
            out.insert(name.clone(), list);
        }
    }
    out
}

/// An instance in both states: its members with their roles.
struct Compared<'c> {
    then: Option<&'c Instance>,
    now: Option<&'c Instance>,
    members_then: BTreeMap<String, BTreeSet<String>>,
    members_now: BTreeMap<String, BTreeSet<String>>,
    /// Members in either state (everyone when they are unknown).
    involved: BTreeSet<String>,
}

impl Compared<'_> {
    fn has_role(&self, m: &str, r: &str) -> bool {
        has_role(&self.members_then, m, r) || has_role(&self.members_now, m, r)
    }
}

/// The machines a change of one instance affects, with why.
fn one_instance(
    name: &str,
    old: &State,
    new: &State,
    changed: &[String],
    everyone: &BTreeSet<&String>,
) -> Vec<(String, String)> {
    let (then, now) = (old.clan.instances.get(name), new.clan.instances.get(name));
    let (members_then, members_now) = (members(then), members(now));
    let unknown = (members_then.as_ref().err())
        .or(members_now.as_ref().err())
        .cloned();
    let mut it = Compared {
        then,
        now,
        members_then: members_then.unwrap_or_default(),
        members_now: members_now.unwrap_or_default(),
        involved: BTreeSet::new(),
    };
    it.involved = match &unknown {
        Some(_) => everyone.iter().map(|m| (*m).clone()).collect(),
        None => (it.members_then.keys())
            .chain(it.members_now.keys())
            .cloned()
            .collect(),
    };
    let mut list = Vec::new();
    if unknown.is_none() {
        membership_changes(&it, &mut list);
    }
    let facts_then = then.map(instance_facts);
    let facts_now = now.map(instance_facts);
    let partial = facts_then.as_ref().is_some_and(|f| f.partial)
        || facts_now.as_ref().is_some_and(|f| f.partial);
    let whole = partial
        .then(|| whole_change(name, old, new, changed))
        .flatten();
    if let Some(why) = &unknown {
        if facts_then != facts_now || whole.is_some() {
            for m in everyone {
                let what = format!("it changed and its members are unknown ({why})");
                list.push(((*m).clone(), what));
            }
        }
        return list;
    }
    // Added or removed: its members are covered by joining or leaving.
    let (Some(fa), Some(fb)) = (&facts_then, &facts_now) else {
        return list;
    };
    if fa.module != fb.module {
        for m in &it.involved {
            list.push((m.clone(), "its service changed".to_string()));
        }
    } else if let Some(why) = flake_service_change(now, old, new, changed) {
        for m in &it.involved {
            list.push((m.clone(), why.clone()));
        }
    }
    extra_module_changes(&it, changed, &mut list);
    let others = role_changes(&it, fa, fb, &mut list);
    let reads = (new.footprints.roles_read.get(name)).or(old.footprints.roles_read.get(name));
    if let (Some(what), Some(read)) = (others.first(), roles_read_reason(reads)) {
        for_the_rest(&it, &mut list, &format!("{what} and {read}"));
    }
    if let Some(whole) = &whole {
        for_the_rest(&it, &mut list, whole);
    }
    list
}

/// Machines that joined or left a role.
fn membership_changes(it: &Compared, list: &mut Vec<(String, String)>) {
    let none = BTreeSet::new();
    for m in &it.involved {
        let then = it.members_then.get(m).unwrap_or(&none);
        let now = it.members_now.get(m).unwrap_or(&none);
        for r in now.difference(then) {
            list.push((m.clone(), format!("it joined role `{r}`")));
        }
        for r in then.difference(now) {
            list.push((m.clone(), format!("it left role `{r}`")));
        }
    }
}

/// Why an instance whose data clanc cannot all know may have changed: its definitions'
/// code.
fn whole_change(name: &str, old: &State, new: &State, changed: &[String]) -> Option<String> {
    let empty = Footprint::default();
    let then = old.footprints.instances.get(name).unwrap_or(&empty);
    let now = new.footprints.instances.get(name).unwrap_or(&empty);
    let anything = now.anything.as_ref().or(then.anything.as_ref());
    piece_changes(then, now, "its definition", changed)
        .into_iter()
        .chain(path_changes(now, changed))
        .next()
        .or_else(|| {
            anything.filter(|_| !changed.is_empty()).map(|why| {
                format!(
                    "its definition may depend on anything ({why}); {}",
                    describe_changed(changed)
                )
            })
        })
        .map(|w| format!("clanc cannot know all of its settings, and {w}"))
}

/// Extra modules named by path whose files changed, for the members of their roles.
fn extra_module_changes(it: &Compared, changed: &[String], list: &mut Vec<(String, String)>) {
    for m in &it.involved {
        for p in changed {
            let named = [it.then, it.now].into_iter().flatten().any(|i| {
                i.roles.values().any(|r| {
                    it.has_role(m, &r.name)
                        && r.extra_modules.iter().any(|e| {
                            matches!(&e.value, ExtraModule::File(f)
                                if covers(f, true, p) || covers(p, true, f))
                        })
                })
            });
            if named {
                let what = format!("{p} changed (an extra module of its role)");
                list.push((m.clone(), what));
            }
        }
    }
}

/// What changed in the instance's roles: the machines whose own data changed get it
/// directly; returns what changed for the others (which matters when the service reads
/// the roles' members).
fn role_changes(
    it: &Compared,
    then: &InstanceFacts,
    now: &InstanceFacts,
    list: &mut Vec<(String, String)>,
) -> Vec<String> {
    let mut others = Vec::new();
    let roles: BTreeSet<&String> = then.roles.keys().chain(now.roles.keys()).collect();
    for r in roles {
        let (x, y) = (then.roles.get(r), now.roles.get(r));
        if x == y {
            continue;
        }
        let none = RoleFacts::default();
        let (x, y) = (x.unwrap_or(&none), y.unwrap_or(&none));
        if x.role != y.role {
            for m in it.involved.iter().filter(|m| it.has_role(m, r)) {
                list.push((m.clone(), format!("the settings of role `{r}` changed")));
            }
            others.push(format!("role `{r}` changed"));
        }
        let machines: BTreeSet<&String> = x.machines.keys().chain(y.machines.keys()).collect();
        for m in machines {
            match (x.machines.get(m), y.machines.get(m)) {
                (a, b) if a == b => {}
                (Some(_), Some(_)) => {
                    list.push((m.clone(), format!("its settings in role `{r}` changed")));
                    others.push(format!("the settings of `{m}` in role `{r}` changed"));
                }
                (None, _) => others.push(format!("`{m}` joined role `{r}`")),
                (_, None) => others.push(format!("`{m}` left role `{r}`")),
            }
        }
        if x.members != y.members && others.is_empty() {
            others.push(format!("the members of role `{r}` changed"));
        }
    }
    others
}

/// Why the roles' members matter to the others, when they may.
fn roles_read_reason(reads: Option<&RolesRead>) -> Option<String> {
    match reads {
        Some(RolesRead::Yes(at)) => Some(format!("its service reads the roles' members ({at})")),
        Some(RolesRead::Maybe(why)) => Some(format!(
            "clanc cannot tell whether its service reads the roles' members ({why})"
        )),
        Some(RolesRead::No) => None,
        None => Some("clanc cannot tell whether its service reads the roles' members".into()),
    }
}

/// Gives `why` to the members that have no reason yet.
fn for_the_rest(it: &Compared, list: &mut Vec<(String, String)>, why: &str) {
    let direct: BTreeSet<String> = list.iter().map(|(m, _)| m.clone()).collect();
    for m in it.involved.iter().filter(|m| !direct.contains(*m)) {
        list.push((m.clone(), why.to_string()));
    }
}

/// How the code of an instance's service changed, when it is the flake's own service.
fn flake_service_change(
    instance: Option<&Instance>,
    old: &State,
    new: &State,
    changed: &[String],
) -> Option<String> {
    let instance = instance?;
    let is_flake = matches!(
        instance.module_input.as_ref().map(|i| &i.value),
        Some(Known::Known(i)) if i == "self"
    );
    let Known::Known(name) = &instance.module_name.value else {
        return None;
    };
    if !is_flake {
        return None;
    }
    let empty = Footprint::default();
    let a = old.footprints.services.get(name).unwrap_or(&empty);
    let b = new.footprints.services.get(name).unwrap_or(&empty);
    let what = format!("its service `{name}`");
    piece_changes(a, b, &what, changed)
        .into_iter()
        .chain(path_changes(b, changed))
        .next()
        .or_else(|| {
            let why = b.anything.as_ref().or(a.anything.as_ref())?;
            (!changed.is_empty()).then(|| {
                format!(
                    "its service `{name}` may depend on anything ({why}); {}",
                    describe_changed(changed)
                )
            })
        })
}

fn has_role(members: &BTreeMap<String, BTreeSet<String>>, m: &str, r: &str) -> bool {
    members.get(m).is_some_and(|roles| roles.contains(r))
}

/// Each member of an instance with its roles, or why they are unknown.
fn members(instance: Option<&Instance>) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let Some(instance) = instance else {
        return Ok(out);
    };
    for (r, role) in &instance.roles {
        match &role.resolved {
            Known::Known(list) => {
                for m in list {
                    out.entry(m.clone()).or_default().insert(r.clone());
                }
            }
            Known::Unknown(why) => return Err(format!("role `{r}`: {why}")),
        }
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Default)]
struct RoleFacts {
    /// The role's own settings, tags and extra modules.
    role: String,
    /// Per machine named in it: its settings.
    machines: BTreeMap<String, String>,
    members: String,
}

#[derive(Clone, Debug, PartialEq)]
struct InstanceFacts {
    module: String,
    roles: BTreeMap<String, RoleFacts>,
    /// Some of it is not known to clanc.
    partial: bool,
}

fn instance_facts(i: &Instance) -> InstanceFacts {
    let mut partial = false;
    let mut roles = BTreeMap::new();
    for (name, role) in &i.roles {
        let mut tags: Vec<&str> = role.tags.iter().map(|t| t.value.as_str()).collect();
        tags.sort();
        let extra: Vec<String> = role
            .extra_modules
            .iter()
            .map(|e| match &e.value {
                ExtraModule::File(f) => format!("file {f}"),
                ExtraModule::Inline => {
                    partial = true;
                    "inline".to_string()
                }
                ExtraModule::Unknown(why) => {
                    partial = true;
                    format!("unknown {why}")
                }
            })
            .collect();
        partial |= role.tags_unknown.is_some() || role.machines_unknown.is_some();
        let settings = settings_text(&role.settings, &mut partial);
        let machines = role
            .machines
            .iter()
            .map(|(m, rm)| (m.clone(), settings_text(&rm.settings, &mut partial)))
            .collect();
        roles.insert(
            name.clone(),
            RoleFacts {
                role: format!("settings {settings}; tags {tags:?}; extra {extra:?}"),
                machines,
                members: format!("{:?}", role.resolved),
            },
        );
    }
    let module = format!(
        "{} from {}",
        known_text(&i.module_name.value),
        i.module_input
            .as_ref()
            .map_or("clan-core".to_string(), |s| known_text(&s.value))
    );
    partial |= matches!(i.module_name.value, Known::Unknown(_))
        || i.module_input
            .as_ref()
            .is_some_and(|s| matches!(s.value, Known::Unknown(_)));
    InstanceFacts {
        module,
        roles,
        partial,
    }
}

fn settings_text(settings: &Option<Spanned<Data>>, partial: &mut bool) -> String {
    match settings {
        None => "-".to_string(),
        Some(s) => data_text(&s.value, partial),
    }
}

/// Data as text, without spans; notes whether some of it is not known.
fn data_text(data: &Data, partial: &mut bool) -> String {
    match data {
        Data::Null => "null".into(),
        Data::Bool(b) => b.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => format!("{f:?}"),
        Data::String(s) => format!("{s:?}"),
        Data::Path(p) => format!("path {p:?}"),
        Data::List(items) => {
            let items: Vec<String> = items.iter().map(|i| data_text(&i.value, partial)).collect();
            format!("[{}]", items.join(" "))
        }
        Data::Attrs(attrs) => {
            let items: Vec<String> = attrs
                .iter()
                .map(|(k, v)| format!("{k:?}={}", data_text(&v.value, partial)))
                .collect();
            format!("{{{}}}", items.join(" "))
        }
        Data::Function => {
            *partial = true;
            "function".into()
        }
        Data::Override { priority, content } => {
            format!("override {priority} {}", data_text(&content.value, partial))
        }
        Data::If { condition, content } => {
            if matches!(condition, Known::Unknown(_)) {
                *partial = true;
            }
            format!("if {condition:?} {}", data_text(&content.value, partial))
        }
        Data::Merge(items) => {
            let items: Vec<String> = items.iter().map(|i| data_text(&i.value, partial)).collect();
            format!("merge [{}]", items.join(" "))
        }
        Data::Order { priority, content } => {
            format!("order {priority} {}", data_text(&content.value, partial))
        }
        Data::Unknown(why) => {
            *partial = true;
            format!("unknown {why}")
        }
    }
}
