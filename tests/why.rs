//! `clanc inventory --why MACHINE` goldens: every `tests/why/<case>/` holds a clan (`input/`,
//! or `fixture` naming one relative to the repository), `machine` (the name to explain) and the
//! expected output as text (`expected.text`) and as JSON (`expected.json`): stdout, then stderr
//! and the exit status. Every location in them was
//! checked by hand against the clan's files. A mismatch fails with a diff; `UPDATE_GOLDEN=1`
//! rewrites the expectations.

mod common;

use std::path::PathBuf;

fn run(dir: &str, machine: &str, json: bool) -> String {
    let mut args = vec!["inventory", "--why", machine];
    if json {
        args.push("--json");
    }
    args.push(dir);
    let out = common::clanc(&args);
    format!(
        "{}--- stderr ---\n{}--- exit status: {} ---\n",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        out.status
            .code()
            .map_or("signal".to_string(), |c| c.to_string())
    )
}

#[test]
fn why_matches_its_goldens() {
    let repo = common::repo();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(repo.join("tests/why"))
        .expect("tests/why exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 8,
        "expected the --why cases, found {cases:?}"
    );
    let mut failures = Vec::new();
    for case in &cases {
        let machine = std::fs::read_to_string(case.join("machine"))
            .unwrap_or_else(|_| panic!("{}: no `machine`", case.display()));
        let machine = machine.trim();
        let dir = match std::fs::read_to_string(case.join("fixture")) {
            Ok(fixture) => repo.join(fixture.trim()),
            Err(_) => case.join("input"),
        };
        let dir = dir.to_string_lossy().into_owned();
        for (json, file) in [(false, "expected.text"), (true, "expected.json")] {
            let got = run(&dir, machine, json);
            let path = case.join(file);
            failures.extend(common::golden_differs(&path, &got, update));
        }
    }
    assert!(
        failures.is_empty(),
        "{} --why outputs differ (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `--why` agrees with the roles `clanc inventory --json` resolves, for every machine of the
/// seed fleet and of `fixtures/shapes/`: a role whose resolution holds the machine is listed
/// as certain, one whose resolution lacks it is not listed, and a role listed as unknown is
/// one whose resolution is unknown.
#[test]
fn why_agrees_with_the_resolved_roles() {
    let repo = common::repo();
    let mut clans = vec![repo.join("fixtures/seed-fleet")];
    let mut shapes: Vec<PathBuf> = std::fs::read_dir(repo.join("fixtures/shapes"))
        .expect("fixtures/shapes exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    shapes.sort();
    clans.extend(shapes);
    let json = |args: &[&str]| -> serde_json::Value {
        let out = common::clanc(args);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out:?}"))
    };
    let mut checked = 0;
    for clan in &clans {
        let dir = clan.to_string_lossy();
        let inventory = json(&["inventory", "--json", &dir]);
        let machines = inventory["machines"].as_object().expect("machines");
        for machine in machines.keys() {
            let why = json(&["inventory", "--why", machine, "--json", &dir]);
            assert_eq!(why["version"], 1);
            let roles = why["roles"].as_array().expect("roles");
            let listed = |instance: &str, role: &str| {
                roles
                    .iter()
                    .find(|r| r["instance"] == instance && r["role"] == role)
                    .map(|r| r["membership"].as_str().unwrap_or_default().to_string())
            };
            for (instance, i) in inventory["instances"].as_object().expect("instances") {
                for (role, r) in i["roles"].as_object().expect("roles") {
                    let got = listed(instance, role);
                    let context = format!("{dir}: {machine} in {instance}/{role}: {got:?}");
                    match r["resolved"].as_array() {
                        Some(members) if members.iter().any(|m| m == machine.as_str()) => {
                            assert_eq!(got.as_deref(), Some("certain"), "{context}")
                        }
                        Some(_) => assert_eq!(got, None, "{context}"),
                        // unknown as a whole: --why may know better for this machine (below)
                        None => {}
                    }
                    checked += 1;
                }
            }
            // every role --why lists is one the inventory has; unknown only where the
            // inventory's resolution is unknown too
            for r in roles {
                let (instance, role) = (r["instance"].as_str(), r["role"].as_str());
                let (Some(instance), Some(role)) = (instance, role) else {
                    panic!("{dir}: {machine}: {r}");
                };
                if role == "?" {
                    continue;
                }
                let resolved = &inventory["instances"][instance]["roles"][role]["resolved"];
                let context = format!("{dir}: {machine} in {instance}/{role}: {r}, {resolved}");
                match (r["membership"].as_str(), resolved.as_array()) {
                    (Some("certain"), Some(members)) => {
                        assert!(members.iter().any(|m| m == machine.as_str()), "{context}")
                    }
                    (Some("certain"), None) => {
                        assert!(resolved["unknown"].is_string(), "{context}")
                    }
                    (Some("unknown"), None) => {
                        assert!(resolved["unknown"].is_string(), "{context}");
                        assert!(r["unknown"].is_string(), "{context}");
                    }
                    _ => panic!("{context}"),
                }
            }
        }
    }
    assert!(checked > 100, "only {checked} machine/role pairs");
}
