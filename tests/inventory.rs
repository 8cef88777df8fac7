//! `clanc inventory --json` of the seed fleet and of the ten clans of `fixtures/shapes/`
//! (one per way real clans are laid out) against `tests/inventory/<name>.json`. The role
//! resolutions were checked by hand against `fixtures/shapes/README.md`. A mismatch fails
//! with a diff; `UPDATE_GOLDEN=1` rewrites the expectations.

mod common;

use std::path::Path;

fn inventory(dir: &Path) -> String {
    let out = common::clanc(&["inventory", "--json", &dir.to_string_lossy()]);
    assert!(
        out.status.success(),
        "{}: clanc inventory failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn inventories_match_their_goldens() {
    let repo = common::repo();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut cases = vec![("seed-fleet".to_string(), repo.join("fixtures/seed-fleet"))];
    let mut shapes: Vec<_> = std::fs::read_dir(repo.join("fixtures/shapes"))
        .expect("fixtures/shapes exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    shapes.sort();
    for shape in shapes {
        let name = shape
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        cases.push((name, shape));
    }
    let mut failures = Vec::new();
    for (name, dir) in &cases {
        let got = inventory(dir);
        let expected_path = repo.join("tests/inventory").join(format!("{name}.json"));
        failures.extend(common::golden_differs(&expected_path, &got, update));
    }
    assert!(
        failures.is_empty(),
        "{} inventories differ (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
