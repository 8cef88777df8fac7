//! `clanc plan --changed-since`: git fixtures made at test time. Each case copies the clan
//! `tests/changed-since/input` into a fresh repository (at its top, or below it), commits it,
//! makes its edits (committed or not), plans with `--changed-since` and its arguments, and
//! checks which machines are affected (asserted here) and the whole output against
//! `tests/changed-since/<case>/expected.{text,json}` (`UPDATE_GOLDEN=1` rewrites them). The
//! clan's path reads `$CLAN` and the compared commit `$COMMIT` in them.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{clanc, repo};

/// An edit of the clan (its directory).
type Edit = fn(&Path);

struct Case {
    name: &'static str,
    /// Edits made before the first commit (a variant of the clan).
    base: &'static [Edit],
    /// Edits, each committed when the case says so.
    edits: &'static [Edit],
    commit_edits: bool,
    /// The clan sits in this subdirectory of the repository ("" for its top).
    below: &'static str,
    args: &'static [&'static str],
    /// The machines planned.
    planned: &'static [&'static str],
    /// Affected machines `--on` leaves out.
    not_selected: &'static [&'static str],
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("file of the fixture");
    assert!(text.contains(from), "{file} holds {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn nginx_gzip(dir: &Path) {
    edit(
        dir,
        "nixos/web.nix",
        "services.nginx.enable = true;",
        "services.nginx.enable = true;\n  services.nginx.recommendedGzipSettings = true;",
    );
}

fn postfix_off(dir: &Path) {
    edit(
        dir,
        "nixos/mail.nix",
        "services.postfix.enable = true;",
        "services.postfix.enable = false;",
    );
}

fn mail_joins_mesh(dir: &Path) {
    edit(
        dir,
        "modules/clan/instances.nix",
        "roles.peer.machines.db = { };",
        "roles.peer.machines.db = { };\n      roles.peer.machines.mail = { };",
    );
}

fn mail_joins_motd(dir: &Path) {
    edit(
        dir,
        "modules/clan/instances.nix",
        "roles.default.machines.db.settings.text = \"database\";",
        "roles.default.machines.db.settings.text = \"database\";\n      roles.default.machines.mail = { };",
    );
}

fn db_motd(dir: &Path) {
    edit(
        dir,
        "modules/clan/instances.nix",
        "settings.text = \"database\";",
        "settings.text = \"the database\";",
    );
}

fn redis_port(dir: &Path) {
    edit(
        dir,
        "modules/clan/machines.nix",
        "redisPort = 6379;",
        "redisPort = 6380;",
    );
}

fn unread_files(dir: &Path) {
    edit(dir, "README.md", "# harbor", "# harbor, the test clan");
    edit(dir, "notes/unused.nix", "true", "false");
    write(
        dir,
        "notes/draft.nix",
        "{ services.draft.enable = true; }\n",
    );
}

fn common_module(dir: &Path) {
    edit(
        dir,
        "nixos/common.nix",
        "system.stateVersion = \"25.05\";",
        "system.stateVersion = \"25.05\";\n  time.timeZone = \"UTC\";",
    );
}

fn nixpkgs_bump(dir: &Path) {
    let path = dir.join("flake.lock");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lock: serde_json::Value = serde_json::from_str(&text).unwrap();
    let locked = &mut lock["nodes"]["nixpkgs"]["locked"];
    assert!(locked.is_object(), "the fixture locks nixpkgs");
    locked["rev"] = serde_json::json!("0123456789abcdef0123456789abcdef01234567");
    std::fs::write(&path, serde_json::to_string_pretty(&lock).unwrap() + "\n").unwrap();
}

fn db_public_var(dir: &Path) {
    write(dir, "vars/per-machine/db/motd-id/id/value", "42\n");
}

/// mail's module reads the flake through `self` (given by `specialArgs`).
fn mail_reads_self(dir: &Path) {
    edit(
        dir,
        "modules/flake-parts.nix",
        "{ inputs, ... }:",
        "{ inputs, self, ... }:",
    );
    edit(
        dir,
        "modules/flake-parts.nix",
        "clan.meta.name = \"harbor\";",
        "clan.meta.name = \"harbor\";\n  clan.specialArgs = { inherit self; };",
    );
    edit(dir, "nixos/mail.nix", "{ ... }:", "{ self, ... }:");
    edit(
        dir,
        "nixos/mail.nix",
        "services.postfix.enable = true;",
        "services.postfix.enable = true;\n  environment.etc.\"flake-rev\".text = self.rev or \"dirty\";",
    );
}

fn readme(dir: &Path) {
    edit(dir, "README.md", "# harbor", "# harbor, the test clan");
}

fn outside_and_web(dir: &Path) {
    // The repository's README, beside the clan (below `infra/`).
    write(
        &dir.join(".."),
        "README.md",
        "# the infrastructure repository\n",
    );
    nginx_gzip(dir);
}

const CASES: &[Case] = &[
    Case {
        name: "unknown-read-of-self",
        base: &[mail_reads_self],
        edits: &[readme],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["mail"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "module-of-one-machine",
        edits: &[nginx_gzip],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["web"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "membership-a-service-reads",
        edits: &[mail_joins_mesh],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["db", "mail", "web"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "membership-a-service-does-not-read",
        edits: &[mail_joins_motd],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["mail"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "settings-of-one-machine",
        edits: &[db_motd],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["db"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "binding-an-inline-module-uses",
        edits: &[redis_port],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["db"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "files-no-evaluation-reads",
        edits: &[unread_files],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &[],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "shared-module-with-on",
        edits: &[common_module],
        commit_edits: false,
        below: "",
        args: &["--on", "web"],
        planned: &["web"],
        not_selected: &["db", "mail"],
    },
    Case {
        base: &[],
        name: "flake-lock",
        edits: &[nixpkgs_bump],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["db", "mail", "web"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "public-var-of-one-machine",
        edits: &[db_public_var],
        commit_edits: false,
        below: "",
        args: &[],
        planned: &["db"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "clean-tree-last-commit",
        edits: &[nginx_gzip],
        commit_edits: true,
        below: "",
        args: &[],
        planned: &["web"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "two-commits-back",
        edits: &[nginx_gzip, postfix_off],
        commit_edits: true,
        below: "",
        args: &["--changed-since=HEAD~2"],
        planned: &["mail", "web"],
        not_selected: &[],
    },
    Case {
        base: &[],
        name: "clan-below-the-top",
        edits: &[outside_and_web],
        commit_edits: false,
        below: "infra",
        args: &[],
        planned: &["web"],
        not_selected: &[],
    },
];

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=clanc test",
            "-c",
            "user.email=test@clanc.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", "2026-08-22T12:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-08-22T12:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
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

/// The case's repository: the clan committed, then edited. Returns the clan's directory.
fn prepare(case: &Case, top: &Path) -> PathBuf {
    let clan = top.join(case.below);
    copy_dir(&repo().join("tests/changed-since/input"), &clan);
    for edit in case.base {
        edit(&clan);
    }
    git(top, &["init", "-q"]);
    git(top, &["add", "-A"]);
    git(top, &["commit", "-q", "-m", "the clan"]);
    for (i, edit) in case.edits.iter().enumerate() {
        edit(&clan);
        if case.commit_edits {
            git(top, &["add", "-A"]);
            git(top, &["commit", "-q", "-m", &format!("edit {}", i + 1)]);
        }
    }
    clan
}

fn plan(clan: &Path, format: &str, args: &[&str]) -> (String, String, Option<i32>) {
    let mut all = vec![
        "plan",
        clan.to_str().unwrap(),
        "--goal",
        "build",
        "--format",
        format,
        "--changed-since",
    ];
    // `--changed-since=REF` replaces the bare flag.
    if args.iter().any(|a| a.starts_with("--changed-since")) {
        all.pop();
    }
    all.extend(args.iter().copied());
    let out = clanc(&all);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

fn names(value: &serde_json::Value) -> BTreeSet<String> {
    match value {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn changed_since_selects_the_machines_a_change_affects() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for case in CASES {
        let top = tempfile::tempdir().unwrap();
        let top_path = std::fs::canonicalize(top.path()).unwrap();
        let clan = prepare(case, &top_path);
        let commit = git(&top_path, &["rev-parse", "HEAD"]);
        let compared = match case
            .args
            .iter()
            .find_map(|a| a.strip_prefix("--changed-since="))
        {
            Some(rev) => git(&top_path, &["rev-parse", rev]),
            None if case.commit_edits => git(&top_path, &["rev-parse", "HEAD~1"]),
            None => commit,
        };
        for format in ["text", "json"] {
            let (stdout, stderr, status) = plan(&clan, format, case.args);
            assert_eq!(status, Some(0), "{}: {stdout}{stderr}", case.name);
            assert!(stderr.is_empty(), "{}: {stderr}", case.name);
            if format == "json" {
                let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                assert_eq!(json["version"], 3);
                let since = &json["changedSince"];
                assert_eq!(since["commit"], compared.as_str(), "{}", case.name);
                assert_eq!(names(&json["machines"]), set(case.planned), "{}", case.name);
                assert_eq!(
                    names(&since["affected"]),
                    set(case.planned),
                    "{}",
                    case.name
                );
                assert_eq!(
                    names(&since["notSelected"]),
                    set(case.not_selected),
                    "{}",
                    case.name
                );
                // Every machine is either affected or not, with a reason for each affected.
                let everyone = set(&["db", "mail", "web"]);
                let mut seen = names(&since["affected"]);
                seen.extend(names(&since["unaffected"]));
                seen.extend(names(&since["notSelected"]));
                assert_eq!(seen, everyone, "{}", case.name);
                for (m, reasons) in since["affected"].as_object().unwrap() {
                    assert!(
                        reasons.as_array().is_some_and(|r| !r.is_empty()),
                        "{}: {m} has no reason",
                        case.name
                    );
                }
            } else if case.planned.is_empty() {
                assert!(
                    stdout.contains("No machine is affected: nothing to plan."),
                    "{}: {stdout}",
                    case.name
                );
            }
            let actual = stdout
                .replace(clan.to_string_lossy().trim_end_matches('/'), "$CLAN")
                .replace(&compared, "$COMMIT")
                .replace(&compared[..12], "$COMMIT");
            let expected_path = repo()
                .join("tests/changed-since")
                .join(case.name)
                .join(format!("expected.{format}"));
            failures.extend(common::golden_differs(&expected_path, &actual, update));
        }
    }
    assert!(
        failures.is_empty(),
        "{} expectation(s) differ (UPDATE_GOLDEN=1 to accept):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Nothing changed since REF: no machine is affected, and the clan as it was is not even
/// read. A revision that names nothing, and a directory that is not in git, are usage
/// errors.
#[test]
fn nothing_changed_and_bad_revisions() {
    let top = tempfile::tempdir().unwrap();
    let top_path = std::fs::canonicalize(top.path()).unwrap();
    let clan = top_path.clone();
    copy_dir(&repo().join("tests/changed-since/input"), &clan);
    git(&top_path, &["init", "-q"]);
    git(&top_path, &["add", "-A"]);
    git(&top_path, &["commit", "-q", "-m", "the clan"]);
    let (stdout, _, status) = plan(&clan, "text", &["--changed-since=HEAD"]);
    assert_eq!(status, Some(0), "{stdout}");
    assert!(stdout.contains("0 path(s)"), "{stdout}");
    assert!(stdout.contains("No machine is affected: nothing to plan."));
    assert!(stdout.contains("Not affected: db, mail, web"));
    // The first commit, clean: every machine is new.
    let (stdout, _, status) = plan(&clan, "text", &[]);
    assert_eq!(status, Some(0), "{stdout}");
    assert!(stdout.contains("HEAD has no parent"), "{stdout}");
    assert!(stdout.contains("Affected: 3 machine(s)"), "{stdout}");
    let (stdout, stderr, status) = plan(&clan, "text", &["--changed-since=no-such-rev"]);
    assert_eq!(status, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("names no commit"), "{stderr}");
    let (_, stderr, status) = plan(&clan, "text", &["--changed-since=--output=/tmp/x"]);
    assert_eq!(status, Some(2), "{stderr}");
    let elsewhere = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/changed-since/input"), elsewhere.path());
    let (_, stderr, status) = plan(elsewhere.path(), "text", &[]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("--changed-since"), "{stderr}");
}

/// The DOT rendering names the change and lays out (Graphviz, installed by scripts/test).
#[test]
fn dot_names_the_change() {
    let case = CASES
        .iter()
        .find(|c| c.name == "membership-a-service-reads")
        .expect("the case");
    let top = tempfile::tempdir().unwrap();
    let top_path = std::fs::canonicalize(top.path()).unwrap();
    let clan = prepare(case, &top_path);
    let (dot, stderr, status) = plan(&clan, "dot", case.args);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(dot.contains("changed since HEAD ("), "{dot}");
    assert!(dot.contains("3 machine(s) affected"), "{dot}");
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
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
