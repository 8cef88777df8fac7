//! Which generators run, and in what order: the requested ones that are missing (or all of them
//! with `--regenerate`), the missing generators they depend on, and everything that depends on a
//! generator that runs; in dependency order (petgraph's topological sort). A dependency on a
//! generator that does not exist is V001; a dependency cycle is V002.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graphmap::DiGraphMap;

use super::generator::GeneratorSpec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderError {
    /// V001: `generator` depends on `dependency`, which nothing declares.
    UnknownDependency {
        generator: String,
        dependency: String,
    },
    /// V002: these generators depend on each other in a cycle (in cycle order).
    Cycle(Vec<String>),
}

/// The dependency graph of a set of generators (an edge from each dependency to its dependent)
/// and the V001 errors found while building it. `dependencies` gives a generator's dependency
/// names. Shared by `generators_to_run` and the checker (`check::vars`).
fn dependency_graph<'a, T>(
    specs: &'a BTreeMap<String, T>,
    dependencies: impl Fn(&'a T) -> Vec<&'a str>,
) -> (DiGraphMap<&'a str, ()>, Vec<OrderError>) {
    let mut graph: DiGraphMap<&str, ()> = DiGraphMap::new();
    let mut errors = Vec::new();
    for (name, spec) in specs {
        graph.add_node(name.as_str());
        for dependency in dependencies(spec) {
            match specs.get_key_value(dependency) {
                Some((dep, _)) => {
                    graph.add_edge(dep.as_str(), name.as_str(), ());
                }
                None => errors.push(OrderError::UnknownDependency {
                    generator: name.clone(),
                    dependency: dependency.to_string(),
                }),
            }
        }
    }
    (graph, errors)
}

/// V002: every cycle of the graph (strongly connected components of two or more generators,
/// and self-loops), each sorted by name.
fn cycles(graph: &DiGraphMap<&str, ()>) -> Vec<OrderError> {
    let mut found = Vec::new();
    for component in tarjan_scc(graph) {
        let self_loop = component.len() == 1 && graph.contains_edge(component[0], component[0]);
        if component.len() > 1 || self_loop {
            let mut cycle: Vec<String> = component.iter().map(|s| s.to_string()).collect();
            cycle.sort();
            found.push(OrderError::Cycle(cycle));
        }
    }
    found.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    found
}

/// V001 and V002 for a set of generators, without ordering them: unknown dependencies first
/// (in generator order), then cycles.
pub fn dependency_errors<'a, T>(
    specs: &'a BTreeMap<String, T>,
    dependencies: impl Fn(&'a T) -> Vec<&'a str>,
) -> Vec<OrderError> {
    let (graph, mut errors) = dependency_graph(specs, dependencies);
    errors.extend(cycles(&graph));
    errors
}

/// What to run for one machine. `requested` empty means every generator; `missing(g)` says
/// whether any of g's files is absent from the vars tree.
pub fn generators_to_run(
    specs: &BTreeMap<String, GeneratorSpec>,
    requested: &[String],
    regenerate: bool,
    missing: impl Fn(&str) -> bool,
) -> Result<Vec<String>, Vec<OrderError>> {
    let (graph, mut errors) = dependency_graph(specs, |spec| {
        spec.dependencies.iter().map(String::as_str).collect()
    });
    let order = match toposort(&graph, None) {
        Ok(order) => order,
        Err(_) => {
            errors.extend(cycles(&graph));
            return Err(errors);
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }

    let seeds: Vec<&str> = if requested.is_empty() {
        specs.keys().map(String::as_str).collect()
    } else {
        requested
            .iter()
            .map(String::as_str)
            .filter(|r| specs.contains_key(*r))
            .collect()
    };
    let mut run: BTreeSet<&str> = seeds
        .into_iter()
        .filter(|g| regenerate || missing(g))
        .collect();
    // Missing generators anywhere upstream (their files are inputs), then everything
    // downstream of what runs.
    let mut upstream: BTreeSet<&str> = BTreeSet::new();
    let mut stack: Vec<&str> = run.iter().copied().collect();
    while let Some(g) = stack.pop() {
        for dep in graph.neighbors_directed(g, petgraph::Direction::Incoming) {
            if upstream.insert(dep) {
                stack.push(dep);
            }
        }
    }
    run.extend(upstream.into_iter().filter(|g| missing(g)));
    let mut stack: Vec<&str> = run.iter().copied().collect();
    while let Some(g) = stack.pop() {
        for dependent in graph.neighbors_directed(g, petgraph::Direction::Outgoing) {
            if run.insert(dependent) {
                stack.push(dependent);
            }
        }
    }
    Ok(order
        .into_iter()
        .filter(|g| run.contains(g))
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs(deps: &[(&str, &[&str])]) -> BTreeMap<String, GeneratorSpec> {
        deps.iter()
            .map(|(name, deps)| {
                let spec = GeneratorSpec {
                    name: name.to_string(),
                    share: false,
                    files: BTreeMap::new(),
                    prompts: BTreeMap::new(),
                    dependencies: deps.iter().map(|d| d.to_string()).collect(),
                    runtime_inputs: Vec::new(),
                    script: String::new(),
                };
                (name.to_string(), spec)
            })
            .collect()
    }

    #[test]
    fn missing_generators_their_missing_dependencies_and_dependents_in_order() {
        // ca <- cert <- nginx-conf; password alone
        let s = specs(&[
            ("ca", &[]),
            ("cert", &["ca"]),
            ("nginx-conf", &["cert"]),
            ("password", &[]),
        ]);
        let all_missing = generators_to_run(&s, &[], false, |_| true).unwrap();
        assert_eq!(all_missing.len(), 4);
        let pos = |g: &str| all_missing.iter().position(|x| x == g).unwrap();
        assert!(pos("ca") < pos("cert") && pos("cert") < pos("nginx-conf"));

        // only cert missing: cert and what depends on it
        let only_cert = generators_to_run(&s, &[], false, |g| g == "cert").unwrap();
        assert_eq!(only_cert, ["cert", "nginx-conf"]);

        // nothing missing: nothing runs, unless regenerating
        assert!(
            generators_to_run(&s, &[], false, |_| false)
                .unwrap()
                .is_empty()
        );
        let again = generators_to_run(&s, &["ca".to_string()], true, |_| false).unwrap();
        assert_eq!(again, ["ca", "cert", "nginx-conf"]);

        // requesting nginx-conf with ca missing generates ca first
        let chain =
            generators_to_run(&s, &["nginx-conf".to_string()], false, |g| g != "cert").unwrap();
        assert_eq!(chain, ["ca", "cert", "nginx-conf"]);
    }

    #[test]
    fn unknown_dependencies_and_cycles_are_errors() {
        let s = specs(&[("a", &["nope"])]);
        assert_eq!(
            generators_to_run(&s, &[], false, |_| true),
            Err(vec![OrderError::UnknownDependency {
                generator: "a".into(),
                dependency: "nope".into()
            }])
        );
        let s = specs(&[
            ("a", &["b"]),
            ("b", &["c"]),
            ("c", &["a"]),
            ("d", &["d"]),
            ("e", &[]),
        ]);
        let errors = generators_to_run(&s, &[], false, |_| true).unwrap_err();
        assert!(errors.contains(&OrderError::Cycle(vec!["a".into(), "b".into(), "c".into()])));
        assert!(errors.contains(&OrderError::Cycle(vec!["d".into()])));
        assert_eq!(errors.len(), 2);
    }
}
