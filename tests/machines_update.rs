//! `clanc machines update`: clan's deploy command runs the plan `clanc apply --on` makes
//! (same steps, over the loopback sshd of tests/apply.rs), and refuses what clan refuses.

#[path = "common/loopback.rs"]
mod loopback;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use loopback::*;

fn clanc(args: &[&str], clan: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(args)
        .current_dir(clan)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("clanc runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn update_runs_the_plan_of_apply_for_the_named_machines() {
    let setup = setup();
    let clan = fixture(
        setup.root.path(),
        &[("alpha", setup.port), ("beta", setup.port)],
    );
    // The plan `clanc apply --on alpha` would run: its step ids.
    let plan = clanc(&["plan", "--on", "alpha", "--format", "json"], &clan);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    let json: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let planned: BTreeSet<String> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert!(planned.contains("activate:alpha"), "{planned:?}");

    std::fs::create_dir_all(setup.root.path().join("profiles")).unwrap();
    let profile = setup.root.path().join("profiles/{machine}");
    let known_hosts = format!(
        "UserKnownHostsFile={}",
        setup.keys.join("known_hosts").display()
    );
    let identity = setup.keys.join("user");
    let out = clanc(
        &[
            "machines",
            "update",
            "alpha",
            "--flake",
            clan.to_str().unwrap(),
            "--host-key-check",
            "tofu",
            "--system-profile",
            profile.to_str().unwrap(),
            "--ssh-option",
            &known_hosts,
            "--ssh-option",
            "SendEnv=NIX_CONFIG",
            "-i",
            identity.to_str().unwrap(),
        ],
        setup.root.path(),
    );
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(recorded(&setup, "alpha"), "boot\nswitch\n", "{report}");
    assert_eq!(
        recorded(&setup, "beta"),
        "",
        "only the named machine: {report}"
    );
    let ran: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string).zip(Some(l)))
        .filter(|(_, l)| l.ends_with(" started"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ran, planned, "{report}");

    // --target-host sends the one machine elsewhere: a closed port fails it, and says so.
    let closed_port = free_port();
    let closed = format!("root@127.0.0.1:{closed_port}");
    let out = clanc(
        &[
            "machines",
            "update",
            "beta",
            "--target-host",
            &closed,
            "--system-profile",
            profile.to_str().unwrap(),
            "--ssh-option",
            &known_hosts,
            "-i",
            identity.to_str().unwrap(),
        ],
        &clan,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("port {closed_port}: Connection refused")),
        "{}",
        text(&out)
    );
    assert_eq!(recorded(&setup, "beta"), "");
}

#[test]
fn update_refuses_what_clan_refuses() {
    let root = tempfile::tempdir().unwrap();
    let clan = fixture(
        root.path(),
        &[("alpha", free_port()), ("beta", free_port())],
    );
    let out = clanc(&["machines", "update", "gamma"], &clan);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no machine `gamma`"), "{}", text(&out));
    let out = clanc(
        &[
            "machines",
            "update",
            "alpha",
            "beta",
            "--target-host",
            "root@h",
        ],
        &clan,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("only be set for one machine"),
        "{}",
        text(&out)
    );
    // --tags intersect, as clan's: none carries both, and a named machine must carry them
    let out = clanc(&["machines", "update", "--tags", "nixos", "gpu"], &clan);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no machines found with tags: nixos AND gpu"),
        "{}",
        text(&out)
    );
    let out = clanc(&["machines", "update", "--host-key-check", "maybe"], &clan);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!clan.join(".clanc/logs").exists(), "nothing ran");
}
