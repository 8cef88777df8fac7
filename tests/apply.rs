//! `clanc apply` end to end: a fixture clan whose toplevels are tiny derivations real
//! `nix build` makes offline (scripts/test sets NIX_CONFIG: no substituters, no sandbox), a
//! real `sshd` on a loopback port (generated host and user keys, running as the current
//! user, which must be root: the fixture logs in as root@127.0.0.1), real `nix copy` over
//! ssh-ng and real activation through the recorded `switch-to-configuration`.
//!
//! The fixture's `clan-core` input is a local stub flake (`path:<dir>/stub`) whose
//! `lib.clan` maps `inventory.machines` to derivations: clanc models it as clan-core (by
//! name), Nix evaluates the stub. The clan is a plain directory (a path flake, no git).

#[path = "common/loopback.rs"]
mod loopback;

use std::path::PathBuf;
use std::process::Command;

use loopback::*;

#[test]
fn every_machine_switches_over_loopback_ssh() {
    let Some(setup) = setup() else { return };
    let clan = fixture(
        setup.root.path(),
        &[("alpha", setup.port), ("beta", setup.port)],
    );
    let out = apply(&setup, &clan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{report}");
    for machine in ["alpha", "beta"] {
        assert_eq!(recorded(&setup, machine), "switch\n", "{machine}: {report}");
        let path = built_path(&stdout, machine);
        assert!(path.starts_with("/nix/store/"), "{report}");
        assert!(path.ends_with(machine), "{report}");
        assert_eq!(
            profile_target(&setup, machine),
            Some(PathBuf::from(&path)),
            "{report}"
        );
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(machine) && l.contains(" switched ")),
            "{report}"
        );
    }
    let logs = clan.join(".clanc/logs");
    let run = std::fs::read_dir(&logs).unwrap().next().unwrap().unwrap();
    assert!(run.path().join("alpha.log").exists());
}

#[test]
fn an_unreachable_host_fails_alone() {
    let Some(setup) = setup() else { return };
    let closed = free_port();
    let clan = fixture(
        setup.root.path(),
        &[("alpha", setup.port), ("gone", closed)],
    );
    let out = apply(&setup, &clan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(recorded(&setup, "alpha"), "switch\n", "{report}");
    assert!(profile_target(&setup, "alpha").is_some(), "{report}");
    assert_eq!(recorded(&setup, "gone"), "", "{report}");
    assert!(profile_target(&setup, "gone").is_none(), "{report}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("gone ") && l.contains(" failed ")),
        "{report}"
    );
    // The failed machine's log tail is shown, with ssh's reason.
    assert!(stdout.contains("--- gone: last lines of"), "{report}");
    assert!(stdout.contains("Connection refused"), "{report}");
}

#[test]
fn without_a_terminal_apply_needs_yes() {
    let root = tempfile::tempdir().unwrap();
    let clan = fixture(root.path(), &[("alpha", free_port())]);
    let out = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .arg("apply")
        .arg(&clan)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("clanc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr.contains("needs --yes"), "{stderr}");
    assert!(!clan.join(".clanc/logs").exists(), "nothing ran");
}
