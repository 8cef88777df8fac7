//! `clanc plan` and `clanc apply --dry-run`. Golden plans: every `tests/golden-plan/<case>/`
//! holds a clan (`input/`, or `fixture` naming one relative to the repository), optional
//! `args` (one per line) and `expected.{text,json,dot}`; the clan's absolute path reads
//! `$CLAN` in them. `UPDATE_GOLDEN=1` rewrites the expectations. Every DOT output is laid out
//! by Graphviz's `dot` (installed by scripts/test; missing is a failure).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::repo;

const FORMATS: [&str; 3] = ["text", "json", "dot"];

fn clanc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .expect("clanc runs")
}

fn case_input(case: &Path) -> PathBuf {
    match std::fs::read_to_string(case.join("fixture")) {
        Ok(rel) => repo().join(rel.trim()),
        Err(_) => case.join("input"),
    }
}

fn canonical(path: &Path) -> String {
    std::fs::canonicalize(path)
        .expect("clan exists")
        .to_string_lossy()
        .into_owned()
}

fn run_plan(input: &Path, format: &str, extra: &[String]) -> (String, Output) {
    let mut args = vec!["plan".to_string(), input.display().to_string()];
    args.extend(["--format".to_string(), format.to_string()]);
    args.extend(extra.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = clanc(&refs);
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !stderr.is_empty() {
        text.push_str("--- stderr ---\n");
        text.push_str(&stderr);
    }
    text.push_str(&format!(
        "--- exit status: {} ---\n",
        output
            .status
            .code()
            .map_or("signal".into(), |c| c.to_string())
    ));
    (text.replace(&canonical(input), "$CLAN"), output)
}

fn cases() -> Vec<PathBuf> {
    let root = repo().join("tests/golden-plan");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden-plan exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Graphviz must accept the graph without a word of complaint.
fn assert_dot_lays_out(dot: &str, what: &str) {
    use std::io::Write;
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("Graphviz `dot` is installed (scripts/test installs graphviz)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dot.as_bytes())
        .expect("write to dot");
    let out = child.wait_with_output().expect("dot runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "{what}: dot rejected the graph: {stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}

#[test]
fn golden_plans() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let cases = cases();
    assert!(cases.len() >= 5, "expected at least 5 plan cases");
    let mut failures = Vec::new();
    for case in &cases {
        let input = case_input(case);
        let extra: Vec<String> = std::fs::read_to_string(case.join("args"))
            .map(|a| a.lines().map(str::to_string).collect())
            .unwrap_or_default();
        for format in FORMATS {
            let (actual, output) = run_plan(&input, format, &extra);
            assert_eq!(
                output.status.code(),
                Some(0),
                "{}: {actual}",
                case.display()
            );
            if format == "dot" {
                assert_dot_lays_out(
                    &String::from_utf8_lossy(&output.stdout),
                    &case.display().to_string(),
                );
            }
            if format == "json" {
                check_json_invariants(&String::from_utf8_lossy(&output.stdout), case);
            }
            let expected_path = case.join(format!("expected.{format}"));
            failures.extend(common::golden_differs(&expected_path, &actual, update));
        }
    }
    assert!(
        failures.is_empty(),
        "{} plan expectation(s) differ (UPDATE_GOLDEN=1 to accept):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Properties every plan has, whatever its goldens say: unique ids, `after` names earlier
/// steps only, skipped machines have no steps, and the per-machine chain is in order.
fn check_json_invariants(text: &str, case: &Path) {
    let plan: serde_json::Value = serde_json::from_str(text).expect("plan JSON parses");
    assert_eq!(plan["version"], 3);
    assert!(plan["fingerprint"].as_str().unwrap().starts_with("sha256:"));
    let steps = plan["steps"].as_array().expect("steps");
    let mut seen = std::collections::HashSet::new();
    let chain = [
        "generate-vars",
        "upload-sources",
        "build",
        "copy",
        "diff",
        "upload-secrets",
        "activate",
        "confirm",
    ];
    let mut last_kind: std::collections::HashMap<String, usize> = Default::default();
    for step in steps {
        let id = step["id"].as_str().unwrap();
        for after in step["after"].as_array().unwrap() {
            assert!(
                seen.contains(after.as_str().unwrap()),
                "{}: {id} runs before {after}",
                case.display()
            );
        }
        assert!(
            seen.insert(id.to_string()),
            "{}: {id} twice",
            case.display()
        );
        if let Some(machine) = step["machine"].as_str() {
            assert!(
                plan["machines"][machine]["skipped"].is_null(),
                "{id}: skipped machine has steps"
            );
            let kind = chain.iter().position(|k| *k == step["kind"]).unwrap();
            let previous = last_kind.insert(machine.to_string(), kind).unwrap_or(0);
            assert!(
                previous <= kind,
                "{}: {id} out of the machine's order",
                case.display()
            );
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A change to a copy of a clan.
type Edit = Box<dyn Fn(&Path)>;

#[test]
fn a_stale_plan_is_refused_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let clan = dir.path().join("clan");
    copy_dir(&repo().join("tests/golden-plan/orders/input"), &clan);
    let plan = dir.path().join("plan.json");
    let made = clanc(&["plan", clan.to_str().unwrap(), "-o", plan.to_str().unwrap()]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );

    let fresh = clanc(&["apply", "--dry-run", plan.to_str().unwrap()]);
    let commands = String::from_utf8_lossy(&fresh.stdout);
    assert!(
        fresh.status.success(),
        "{}",
        String::from_utf8_lossy(&fresh.stderr)
    );
    let first_activation = commands
        .find("[activate:ctl] root@ctl.example.org: nix-env")
        .unwrap();
    let later = commands.find("[activate:moon1]").unwrap();
    assert!(
        first_activation < later,
        "ctl is activated before moon1:\n{commands}"
    );

    // Any input changing makes the plan stale: a Nix file, the vars tree, flake.lock.
    let edits: [(&str, Edit); 3] = [
        (
            "modules/clan/orders.nix",
            Box::new(|c: &Path| {
                let path = c.join("modules/clan/orders.nix");
                let mut text = std::fs::read_to_string(&path).unwrap();
                text.push_str("# edited\n");
                std::fs::write(path, text).unwrap();
            }),
        ),
        (
            "the vars tree (vars/)",
            Box::new(|c: &Path| {
                std::fs::create_dir_all(c.join("vars/per-machine/web1/api-key/key")).unwrap();
            }),
        ),
        (
            "flake.lock",
            Box::new(|c: &Path| {
                let path = c.join("flake.lock");
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(path, text.replace("\"version\": 7", "\"version\":  7")).unwrap();
            }),
        ),
    ];
    for (what, edit) in edits {
        let clan = dir.path().join(format!("clan-{}", what.len()));
        copy_dir(&repo().join("tests/golden-plan/orders/input"), &clan);
        let plan = dir.path().join(format!("plan-{}.json", what.len()));
        assert!(
            clanc(&["plan", clan.to_str().unwrap(), "-o", plan.to_str().unwrap()])
                .status
                .success()
        );
        edit(&clan);
        let stale = clanc(&["apply", "--dry-run", plan.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&stale.stderr);
        assert_eq!(stale.status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stale.stdout.is_empty(),
            "{what}: a stale plan printed commands"
        );
        assert!(
            stderr.starts_with("P002")
                && stderr.contains(&format!(
                    "stale plan: {what} changed since the plan was made"
                ))
                && stderr.contains("help: make the plan again"),
            "{what}: {stderr}"
        );
    }
}

/// Version 2 only added `machines.<m>.diff` (`clanc plan --diff`): a saved version 1 plan
/// runs the same; a version this clanc does not know is refused before anything runs.
#[test]
fn a_version_1_plan_is_still_read_and_an_unknown_version_refused() {
    let dir = tempfile::tempdir().unwrap();
    let clan = dir.path().join("clan");
    copy_dir(&repo().join("tests/golden-plan/orders/input"), &clan);
    let plan = dir.path().join("plan.json");
    let made = clanc(&["plan", clan.to_str().unwrap(), "-o", plan.to_str().unwrap()]);
    assert!(made.status.success());
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.starts_with("{\n  \"version\": 3,"), "{text}");
    assert!(!text.contains("\"diff\""), "no diff without --diff");
    assert!(
        !text.contains("changedSince"),
        "no changedSince without --changed-since"
    );
    let now = clanc(&["apply", "--dry-run", plan.to_str().unwrap()]);
    assert!(now.status.success());
    for (version, ok) in [(1, true), (2, true), (4, false)] {
        let older = dir.path().join(format!("plan-v{version}.json"));
        let replaced = text.replacen("\"version\": 3,", &format!("\"version\": {version},"), 1);
        std::fs::write(&older, replaced).unwrap();
        let out = clanc(&["apply", "--dry-run", older.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if ok {
            assert!(out.status.success(), "{stderr}");
            assert_eq!(out.stdout, now.stdout, "the same commands");
        } else {
            assert_eq!(out.status.code(), Some(2), "{stderr}");
            assert!(
                stderr
                    .contains("plan version 4 is not supported (this clanc reads versions 1 to 3)"),
                "{stderr}"
            );
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn apply_dry_run_of_a_directory_prints_every_command_in_order() {
    let input = repo().join("fixtures/seed-fleet");
    let out = clanc(&["apply", "--dry-run", input.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    // cinnabar is the zerotier controller: its confirm comes before any peer's activation.
    let confirm = lines
        .iter()
        .position(|l| l.starts_with("[confirm:cinnabar]"))
        .unwrap();
    let peer = lines
        .iter()
        .position(|l| l.starts_with("[activate:electrum]"))
        .unwrap();
    assert!(confirm < peer, "{text}");
    // a darwin laptop builds on itself, as clan does without a build host: its flake goes
    // up, the build runs there (as root, in a login shell); no copy step
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[upload-sources:argentum] local: ")
                && l.contains("nix copy")
                && l.contains("ssh-ng://cameron@argentum.local?remote-program=")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with(
            "[build:argentum] cameron@argentum.local:22: sudo -n bash -lc 'exec \"$@\"' bash nix build "
        ) && l.contains("'{source}#darwinConfigurations.\"argentum\"")),
        "{text}"
    );
    assert!(!text.contains("[copy:argentum]"), "{text}");
    assert!(!text.contains("--print-out-paths"));
}

#[test]
fn apply_dry_run_says_which_machines_it_skips_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let clan = dir.path().join("clan");
    common::copy_dir(&repo().join("fixtures/seed-fleet"), &clan);
    let all = clanc(&["apply", "--dry-run", clan.to_str().unwrap()]);
    let all = String::from_utf8_lossy(&all.stdout);
    assert!(
        !all.contains("[skipped:"),
        "every seed machine has a target: {all}"
    );
    // pyrite without a target (in the inventory or its own clan.core.networking): skipped,
    // and the dry run says so
    let machines = clan.join("modules/clan/inventory/machines.nix");
    let text = std::fs::read_to_string(&machines).unwrap();
    let without = text.replace("deploy.targetHost = \"root@pyrite.lan:2222\";", "");
    assert_ne!(text, without);
    std::fs::write(&machines, without).unwrap();
    let out = clanc(&["apply", "--dry-run", clan.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("[build:pyrite]"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("[skipped:pyrite] ") && l.contains("targetHost")),
        "{text}"
    );
}

#[test]
fn no_plan_when_the_check_finds_errors() {
    let input = repo().join("tests/golden/missing-semicolon/input");
    let out = clanc(&["plan", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no plan: `clanc check` found"));
}

#[test]
fn bad_selectors_and_build_hosts_are_usage_errors() {
    let input = repo().join("fixtures/seed-fleet");
    let out = clanc(&["plan", input.to_str().unwrap(), "--on", "cinnabar;x"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unexpected `;` in machine selector"),
        "{stderr}"
    );
    let out = clanc(&["plan", input.to_str().unwrap(), "--build-host", "root@a b"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The commands of `clanc plan --format text`, by step: `(machine, header) -> lines`, where a
/// machine's step has the header `kind [host]` (`kind generator [host]` for vars) and a
/// shared vars step its id. A machine's `diff:` block (`--diff`) holds no command.
fn text_commands(text: &str) -> BTreeMap<(Option<String>, String), Vec<String>> {
    let mut blocks: BTreeMap<(Option<String>, String), Vec<String>> = BTreeMap::new();
    let mut section = "";
    let mut machine: Option<String> = None;
    let mut current: Option<(Option<String>, String)> = None;
    let mut in_diff = false;
    for line in text.lines() {
        if line.starts_with("    diff: ") {
            in_diff = true;
            current = None;
            continue;
        }
        if in_diff && line.starts_with("      ") {
            continue;
        }
        in_diff = false;
        if !line.starts_with(' ') {
            section = if line.starts_with("Wave ") {
                "wave"
            } else if line == "Shared vars to generate" {
                "shared"
            } else {
                ""
            };
            current = None;
            continue;
        }
        if section.is_empty() {
            continue;
        }
        let key = current.clone();
        if let Some(rest) = line.strip_prefix("      && ") {
            blocks
                .get_mut(&key.expect("a command under a step"))
                .unwrap()
                .push(rest.into());
        } else if let Some(rest) = line.strip_prefix("      ") {
            blocks
                .get_mut(&key.expect("a command under a step"))
                .unwrap()
                .push(rest.into());
        } else if let Some(rest) = line.strip_prefix("    ") {
            let header = rest.split(" after ").next().unwrap().to_string();
            let key = (
                Some(machine.clone().expect("a step under a machine")),
                header,
            );
            assert!(
                blocks.insert(key.clone(), Vec::new()).is_none(),
                "{key:?} twice"
            );
            current = Some(key);
        } else if let Some(rest) = line.strip_prefix("  ") {
            if section == "shared" {
                let key = (None, rest.to_string());
                assert!(
                    blocks.insert(key.clone(), Vec::new()).is_none(),
                    "{key:?} twice"
                );
                current = Some(key);
            } else {
                machine = Some(rest.split(' ').next().unwrap().to_string());
                current = None;
            }
        }
    }
    blocks
}

/// The line the executor runs for one command of a step, with `toplevel` as the machine's
/// built system and `source` as its uploaded flake: a local argv runs as is (logged as this
/// line), a remote one is sent to the target's shell as this line.
fn executor_line(
    step: &clanc::plan::StepJson,
    argv: &[String],
    toplevel: &str,
    source: &str,
) -> String {
    let filled = clanc::exec::fill(argv, Some(toplevel), Some(source)).expect("filled");
    if step.host == "local" {
        clanc::exec::command_line(&clanc::exec::local_argv(filled, &[], "clanc"))
    } else {
        clanc::exec::remote_line(&filled, &[])
    }
}

/// The shown line is the executor's line; an activation through `systemd-run` is sent with
/// a fallback for targets without systemd, whose first branch is the shown line.
fn assert_shows_executor_line(shown: &str, step: &clanc::plan::StepJson, argv: &[String]) {
    let toplevel = "/nix/store/0a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p-nixos-system-m-25.05";
    let source = "/nix/store/5p4o3n2m1l0k9j8i7h6g5f4e3d2c1b0a-source";
    let shown = shown
        .replace("{toplevel}", toplevel)
        .replace("{source}", source);
    let sent = executor_line(step, argv, toplevel, source);
    let fallback = format!("if [ -d /run/systemd/system ]; then {shown}; else ");
    assert!(
        sent == shown || (argv.iter().any(|w| w == "systemd-run") && sent.starts_with(&fallback)),
        "{}: the plan shows\n  {shown}\nthe executor runs\n  {sent}",
        step.id
    );
}

#[test]
fn the_plan_shows_every_command_as_the_executor_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut commands = 0;
    for case in cases() {
        let input = case_input(&case);
        let extra: Vec<String> = std::fs::read_to_string(case.join("args"))
            .map(|a| a.lines().map(str::to_string).collect())
            .unwrap_or_default();
        let (_, json) = run_plan(&input, "json", &extra);
        let (_, text) = run_plan(&input, "text", &extra);
        assert!(json.status.success() && text.status.success(), "{case:?}");
        let plan = clanc::plan::parse_plan_json(&String::from_utf8_lossy(&json.stdout)).unwrap();
        let blocks = text_commands(&String::from_utf8_lossy(&text.stdout));
        assert_eq!(
            blocks.len(),
            plan.steps.len(),
            "{case:?}: steps in the text"
        );

        // `clanc apply --dry-run` of the same plan: `[id] host: line` for every command
        let file = dir.path().join("plan.json");
        std::fs::write(&file, &json.stdout).unwrap();
        let dry = clanc(&["apply", "--dry-run", file.to_str().unwrap()]);
        assert!(dry.status.success(), "{case:?}: {dry:?}");
        let dry = String::from_utf8_lossy(&dry.stdout).into_owned();
        let mut dry_lines = dry.lines();

        for step in &plan.steps {
            let header = match step.machine.as_deref() {
                None => step.id.clone(),
                Some(_) if step.kind == "generate-vars" => {
                    let generator = step.id.rsplit('/').next().unwrap();
                    format!("{} {generator} [{}]", step.kind, step.host)
                }
                Some(_) => format!("{} [{}]", step.kind, step.host),
            };
            let shown = &blocks[&(step.machine.clone(), header)];
            assert_eq!(shown.len(), step.argv.len(), "{}", step.id);
            for (line, argv) in shown.iter().zip(&step.argv) {
                assert_shows_executor_line(line, step, argv);
                let dry_line = dry_lines.next().expect("a dry-run line per command");
                let prefix = format!("[{}] {}: ", step.id, step.host);
                assert_eq!(dry_line.strip_prefix(&prefix), Some(line.as_str()));
                commands += 1;
            }
        }
        // after the commands, the machines the plan skips, each with its reason
        let rest: Vec<&str> = dry_lines.collect();
        let skipped: Vec<String> = (plan.machines.iter())
            .filter_map(|(name, m)| Some(format!("[skipped:{name}] {}", m.skipped.as_ref()?)))
            .collect();
        assert_eq!(
            rest, skipped,
            "{case:?}: the dry run's lines after the commands"
        );
    }
    assert!(commands >= 100, "only {commands} commands compared");
}
