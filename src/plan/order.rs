//! Cross-machine order: which machines must be activated before which, from the instances'
//! roles (providers before consumers), and the waves that follow. Cycles keep the stronger
//! ordering and drop the weaker (reported as P004).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use petgraph::algo::{has_path_connecting, tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::model::{Clan, Instance, Known};

/// How much an ordering matters when orderings contradict each other: network controllers,
/// then certificate authorities, then servers, then `clanc.toml`'s `[order]`, then the
/// flake's own services' conventional role names. Later variants are stronger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strength {
    Conventional,
    Configured,
    Server,
    Ca,
    Network,
}

impl Strength {
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Conventional => "conventional role",
            Strength::Configured => "clanc.toml order",
            Strength::Server => "server",
            Strength::Ca => "certificate authority",
            Strength::Network => "network controller",
        }
    }
}

/// Why one machine goes before another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    pub instance: String,
    pub before_role: String,
    pub after_role: String,
    pub strength: Strength,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} before {}",
            self.instance, self.before_role, self.after_role
        )
    }
}

/// `before` is activated (and confirmed) before `after`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineEdge {
    pub before: String,
    pub after: String,
    pub reason: Reason,
}

/// An ordering dropped to break a cycle, with the kept path it contradicted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedEdge {
    pub edge: MachineEdge,
    /// The kept orderings from `edge.after` back to `edge.before`.
    pub cycle: Vec<MachineEdge>,
}

/// A role list that orders machines: every machine of a level before every machine of the
/// next non-empty level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub levels: Vec<Vec<String>>,
    pub strength: Strength,
}

/// Roles of the flake's own services that provide for the others.
pub const PROVIDER_ROLES: [&str; 5] = ["controller", "server", "ca", "bootstrap", "primary"];

fn rule(levels: &[&[&str]], strength: Strength) -> Rule {
    Rule {
        levels: levels
            .iter()
            .map(|l| l.iter().map(|r| r.to_string()).collect())
            .collect(),
        strength,
    }
}

/// The built-in rule of a clan-core service.
pub fn builtin_rule(service: &str) -> Option<Rule> {
    Some(match service {
        "zerotier" => rule(&[&["controller"], &["moon"], &["peer"]], Strength::Network),
        "wireguard" => rule(&[&["controller"], &["peer"]], Strength::Network),
        "certificates" => rule(&[&["ca"], &["default"]], Strength::Ca),
        "borgbackup" | "monitoring" | "ncps" => rule(&[&["server"], &["client"]], Strength::Server),
        _ => return None,
    })
}

/// The rules that apply to an instance: clan-core's services by name, the flake's own
/// services by role name, and `clanc.toml`'s `[order]` entry for the instance.
pub fn instance_rules(instance: &Instance, configured: Option<&Vec<String>>) -> Vec<Rule> {
    let mut rules = Vec::new();
    let input = match &instance.module_input {
        None => Some("clan-core"),
        Some(spanned) => spanned.value.known().map(String::as_str),
    };
    if let Known::Known(module) = &instance.module_name.value {
        match input {
            Some("clan-core") => rules.extend(builtin_rule(module)),
            Some("self") => {
                let (providers, others): (Vec<String>, Vec<String>) = instance
                    .roles
                    .keys()
                    .cloned()
                    .partition(|r| PROVIDER_ROLES.contains(&r.as_str()));
                if !providers.is_empty() && !others.is_empty() {
                    rules.push(Rule {
                        levels: vec![providers, others],
                        strength: Strength::Conventional,
                    });
                }
            }
            _ => {}
        }
    }
    if let Some(roles) = configured {
        rules.push(Rule {
            levels: roles.iter().map(|r| vec![r.clone()]).collect(),
            strength: Strength::Configured,
        });
    }
    rules
}

/// The outcome of ordering the machines that will be activated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ordering {
    /// Kept orderings, sorted by (before, after).
    pub edges: Vec<MachineEdge>,
    pub dropped: Vec<DroppedEdge>,
    /// Machines by wave: a machine's wave is one more than the latest wave of the machines
    /// ordered before it. Names sorted within a wave.
    pub waves: Vec<Vec<String>>,
    /// Instances whose ordering could not be known (a role's machines are unknown).
    pub unknown: Vec<(String, String)>,
}

/// Orders `active` (the machines that will be activated) by the clan's instances and the
/// configured `[order]` entries (instance name -> roles, first first).
pub fn order_machines(
    clan: &Clan,
    active: &BTreeSet<String>,
    configured: &BTreeMap<String, Vec<String>>,
) -> Ordering {
    let mut ordering = Ordering::default();
    // (before, after) -> strongest reason
    let mut candidates: BTreeMap<(String, String), Reason> = BTreeMap::new();
    for instance in clan.instances.values() {
        for rule in instance_rules(instance, configured.get(&instance.name)) {
            let mut levels: Vec<(String, BTreeSet<String>)> = Vec::new();
            let mut unknown = None;
            for level in &rule.levels {
                let mut machines = BTreeSet::new();
                for role_name in level {
                    let Some(role) = instance.roles.get(role_name) else {
                        continue;
                    };
                    match &role.resolved {
                        Known::Known(names) => {
                            machines.extend(names.iter().filter(|n| active.contains(*n)).cloned())
                        }
                        Known::Unknown(why) => unknown = Some(why.clone()),
                    }
                }
                if !machines.is_empty() {
                    levels.push((level.join("/"), machines));
                }
            }
            if let Some(why) = unknown {
                ordering.unknown.push((instance.name.clone(), why));
                continue;
            }
            for pair in levels.windows(2) {
                let ((before_role, befores), (after_role, afters)) = (&pair[0], &pair[1]);
                for b in befores {
                    for a in afters {
                        if a == b {
                            continue;
                        }
                        let reason = Reason {
                            instance: instance.name.clone(),
                            before_role: before_role.clone(),
                            after_role: after_role.clone(),
                            strength: rule.strength,
                        };
                        let key = (b.clone(), a.clone());
                        match candidates.get(&key) {
                            Some(old) if old.strength >= reason.strength => {}
                            _ => {
                                candidates.insert(key, reason);
                            }
                        }
                    }
                }
            }
        }
    }
    break_cycles(active, candidates, &mut ordering);
    ordering
}

/// A kept ordering inside a cycle: its (before, after) names and reason.
type KeptEdge<'a> = (&'a (String, String), &'a Reason);

fn break_cycles(
    active: &BTreeSet<String>,
    candidates: BTreeMap<(String, String), Reason>,
    ordering: &mut Ordering,
) {
    let names: Vec<&String> = active.iter().collect();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let mut graph: DiGraph<(), Strength> = DiGraph::with_capacity(names.len(), candidates.len());
    for _ in &names {
        graph.add_node(());
    }
    for ((b, a), reason) in &candidates {
        graph.add_edge(
            NodeIndex::new(index[b.as_str()]),
            NodeIndex::new(index[a.as_str()]),
            reason.strength,
        );
    }
    let mut dropped_keys: BTreeSet<(String, String)> = BTreeSet::new();
    for component in tarjan_scc(&graph) {
        if component.len() < 2 {
            continue;
        }
        let members: BTreeSet<usize> = component.iter().map(|n| n.index()).collect();
        let mut inner: Vec<(&(String, String), &Reason)> = candidates
            .iter()
            .filter(|((b, a), _)| {
                members.contains(&index[b.as_str()]) && members.contains(&index[a.as_str()])
            })
            .collect();
        // Strongest first; ties in name order, so the result never depends on hashing.
        inner.sort_by(|x, y| y.1.strength.cmp(&x.1.strength).then(x.0.cmp(y.0)));
        let mut kept: DiGraph<(), ()> = DiGraph::new();
        let mut local: BTreeMap<usize, NodeIndex> = BTreeMap::new();
        for &m in &members {
            local.insert(m, kept.add_node(()));
        }
        let mut kept_edges: BTreeMap<(usize, usize), KeptEdge> = BTreeMap::new();
        for (key, reason) in inner {
            let (b, a) = (index[key.0.as_str()], index[key.1.as_str()]);
            if has_path_connecting(&kept, local[&a], local[&b], None) {
                let path = kept_path(&kept, &local, a, b);
                let cycle = path
                    .windows(2)
                    .filter_map(|w| kept_edges.get(&(w[0], w[1])))
                    .map(|(k, r)| MachineEdge {
                        before: k.0.clone(),
                        after: k.1.clone(),
                        reason: (*r).clone(),
                    })
                    .collect();
                ordering.dropped.push(DroppedEdge {
                    edge: MachineEdge {
                        before: key.0.clone(),
                        after: key.1.clone(),
                        reason: reason.clone(),
                    },
                    cycle,
                });
                dropped_keys.insert(key.clone());
            } else {
                kept.add_edge(local[&b], local[&a], ());
                kept_edges.insert((b, a), (key, reason));
            }
        }
    }
    ordering
        .dropped
        .sort_by(|x, y| (&x.edge.before, &x.edge.after).cmp(&(&y.edge.before, &y.edge.after)));

    let mut dag: DiGraph<(), ()> = DiGraph::with_capacity(names.len(), candidates.len());
    for _ in &names {
        dag.add_node(());
    }
    for ((b, a), reason) in candidates {
        if dropped_keys.contains(&(b.clone(), a.clone())) {
            continue;
        }
        dag.add_edge(
            NodeIndex::new(index[b.as_str()]),
            NodeIndex::new(index[a.as_str()]),
            (),
        );
        ordering.edges.push(MachineEdge {
            before: b,
            after: a,
            reason,
        });
    }
    let mut wave = vec![0usize; names.len()];
    // Acyclic by construction; a cycle here would be a bug: fall back to one wave.
    if let Ok(order) = toposort(&dag, None) {
        for node in order {
            let next = wave[node.index()] + 1;
            for succ in dag.neighbors(node) {
                wave[succ.index()] = wave[succ.index()].max(next);
            }
        }
    }
    let count = wave.iter().copied().max().map_or(0, |w| w + 1);
    ordering.waves = vec![Vec::new(); count];
    for (i, name) in names.iter().enumerate() {
        ordering.waves[wave[i]].push((*name).clone());
    }
}

/// Machine indices along a kept path from `from` to `to` (breadth first, smallest first).
fn kept_path(
    kept: &DiGraph<(), ()>,
    local: &BTreeMap<usize, NodeIndex>,
    from: usize,
    to: usize,
) -> Vec<usize> {
    let global: HashMap<NodeIndex, usize> = local.iter().map(|(g, l)| (*l, *g)).collect();
    let mut previous: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(node) = queue.pop_front() {
        if node == to {
            break;
        }
        let mut next: Vec<usize> = kept.neighbors(local[&node]).map(|n| global[&n]).collect();
        next.sort_unstable();
        for n in next {
            if seen.insert(n) {
                previous.insert(n, node);
                queue.push_back(n);
            }
        }
    }
    let mut path = vec![to];
    let mut at = to;
    while let Some(&p) = previous.get(&at) {
        path.push(p);
        at = p;
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, Spanned};

    fn instance(
        name: &str,
        module: &str,
        input: Option<&str>,
        roles: &[(&str, &[&str])],
    ) -> Instance {
        Instance {
            name: name.to_string(),
            span: None,
            module_name: Spanned::new(Known::Known(module.to_string()), None),
            module_name_defaulted: false,
            module_input: input.map(|i| Spanned::new(Known::Known(i.to_string()), None)),
            roles: roles
                .iter()
                .map(|(r, ms)| {
                    (
                        r.to_string(),
                        Role {
                            name: r.to_string(),
                            span: None,
                            machines: BTreeMap::new(),
                            tags: Vec::new(),
                            tags_unknown: None,
                            machines_unknown: None,
                            settings: None,
                            extra_modules: Vec::new(),
                            resolved: Known::Known(ms.iter().map(|m| m.to_string()).collect()),
                        },
                    )
                })
                .collect(),
        }
    }

    fn clan(instances: Vec<Instance>) -> Clan {
        Clan {
            instances: instances.into_iter().map(|i| (i.name.clone(), i)).collect(),
            ..Clan::default()
        }
    }

    fn all(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn pairs(o: &Ordering) -> Vec<(String, String)> {
        o.edges
            .iter()
            .map(|e| (e.before.clone(), e.after.clone()))
            .collect()
    }

    fn p(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn zerotier_controller_moons_peers_and_never_self() {
        let c = clan(vec![instance(
            "zt",
            "zerotier",
            None,
            &[
                ("controller", &["c"]),
                ("moon", &["m"]),
                ("peer", &["c", "m", "p"]),
            ],
        )]);
        let o = order_machines(&c, &all(&["c", "m", "p"]), &BTreeMap::new());
        assert_eq!(pairs(&o), vec![p("c", "m"), p("m", "p")]);
        // m is a moon and a peer: moon -> peer gives m -> c, which contradicts c -> m at
        // equal strength; the later in name order is dropped.
        assert_eq!(o.dropped.len(), 1);
        assert_eq!(
            o.waves,
            vec![
                vec!["c".to_string()],
                vec!["m".to_string()],
                vec!["p".to_string()]
            ]
        );
    }

    #[test]
    fn no_moons_means_controller_before_peers() {
        let c = clan(vec![instance(
            "zt",
            "zerotier",
            None,
            &[("controller", &["c"]), ("peer", &["a", "b"])],
        )]);
        let o = order_machines(&c, &all(&["a", "b", "c"]), &BTreeMap::new());
        assert_eq!(pairs(&o), vec![p("c", "a"), p("c", "b")]);
        assert_eq!(o.waves.len(), 2);
    }

    #[test]
    fn stronger_orderings_win_cycles() {
        // borg says s before n; zerotier says n before s: the network controller wins.
        let c = clan(vec![
            instance(
                "zt",
                "zerotier",
                None,
                &[("controller", &["n"]), ("peer", &["s"])],
            ),
            instance(
                "borg",
                "borgbackup",
                None,
                &[("server", &["s"]), ("client", &["n"])],
            ),
        ]);
        let o = order_machines(&c, &all(&["n", "s"]), &BTreeMap::new());
        assert_eq!(pairs(&o), vec![p("n", "s")]);
        assert_eq!(o.dropped.len(), 1);
        assert_eq!(o.dropped[0].edge.reason.instance, "borg");
        assert_eq!(o.dropped[0].cycle[0].reason.instance, "zt");
    }

    #[test]
    fn flake_services_use_role_names_and_config_adds_orders() {
        let c = clan(vec![
            instance(
                "site",
                "static-site",
                Some("self"),
                &[("server", &["w"]), ("client", &["x"])],
            ),
            instance(
                "db",
                "postgres",
                Some("self"),
                &[("replica", &["r"]), ("leader", &["l"])],
            ),
            instance(
                "other",
                "thing",
                Some("someinput"),
                &[("server", &["o"]), ("client", &["x"])],
            ),
            instance(
                "sshd",
                "sshd",
                None,
                &[("server", &["w"]), ("client", &["x"])],
            ),
        ]);
        let active = all(&["l", "o", "r", "w", "x"]);
        let o = order_machines(&c, &active, &BTreeMap::new());
        assert_eq!(pairs(&o), vec![p("w", "x")]);
        let configured = BTreeMap::from([(
            "db".to_string(),
            vec!["leader".to_string(), "replica".to_string()],
        )]);
        let o = order_machines(&c, &active, &configured);
        assert_eq!(pairs(&o), vec![p("l", "r"), p("w", "x")]);
        assert_eq!(o.edges[0].reason.strength, Strength::Configured);
    }

    #[test]
    fn inactive_machines_and_unknown_roles_add_nothing() {
        let mut zt = instance(
            "zt",
            "zerotier",
            None,
            &[("controller", &["c"]), ("peer", &["a"])],
        );
        let c = clan(vec![zt.clone()]);
        let o = order_machines(&c, &all(&["a"]), &BTreeMap::new());
        assert!(o.edges.is_empty());
        zt.roles.get_mut("peer").unwrap().resolved = Known::Unknown("tags are computed".into());
        let o = order_machines(&clan(vec![zt]), &all(&["a", "c"]), &BTreeMap::new());
        assert!(o.edges.is_empty());
        assert_eq!(
            o.unknown,
            vec![("zt".to_string(), "tags are computed".to_string())]
        );
    }
}
