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

/// What a successful NixOS switch runs, as clan does: `switch-to-configuration boot`, then
/// `switch`.
const SWITCHED: &str = "boot\nswitch\n";

#[test]
fn every_machine_switches_over_loopback_ssh() {
    let setup = setup();
    let clan = fixture(
        setup.root.path(),
        &[("alpha", setup.port), ("beta", setup.port)],
    );
    let out = apply(&setup, &clan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{report}");
    for machine in ["alpha", "beta"] {
        assert_eq!(recorded(&setup, machine), SWITCHED, "{machine}: {report}");
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
    let setup = setup();
    let closed = free_port();
    let clan = fixture(
        setup.root.path(),
        &[("alpha", setup.port), ("gone", closed)],
    );
    let out = apply(&setup, &clan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(recorded(&setup, "alpha"), SWITCHED, "{report}");
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

fn report(out: &std::process::Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn row<'a>(stdout: &'a str, machine: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{machine} ")))
        .unwrap_or_default()
}

fn call(goal: &str, system: &std::path::Path) -> (String, String) {
    (goal.to_string(), system.display().to_string())
}

/// Deploys revision 1 of every machine (the generation later runs roll back to).
fn first_generation(setup: &Setup, clan: &std::path::Path, machine: &str) -> PathBuf {
    let out = apply(setup, clan);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    profile_target(setup, machine).expect("the first deploy set the profile")
}

/// Deploys revision 1 of the one machine `alpha` (the generation later runs roll back to),
/// then changes the stub to `next` as revision 2: the clan and alpha's first system.
fn alpha_deployed_then(setup: &Setup, next: Stub) -> (PathBuf, PathBuf) {
    let root = setup.root.path();
    let first_stub = Stub {
        revision: 1,
        ..Stub::default()
    };
    let clan = fixture_with(root, &[("alpha", setup.port)], &first_stub);
    let first = first_generation(setup, &clan, "alpha");
    write_stub(
        root,
        &Stub {
            revision: 2,
            ..next
        },
    );
    relock(&clan);
    (clan, first)
}

#[test]
fn a_failing_activation_is_rolled_back_to_the_previous_generation() {
    let setup = setup();
    let (clan, first) = alpha_deployed_then(
        &setup,
        Stub {
            failing: vec!["alpha".into()],
            ..Stub::default()
        },
    );
    let out = apply(&setup, &clan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(row(&stdout, "alpha").contains(" rolled back "), "{report}");
    let second = PathBuf::from(built_path(&stdout, "alpha"));
    assert_ne!(second, first, "{report}");
    assert_eq!(
        profile_target(&setup, "alpha"),
        Some(first.clone()),
        "{report}"
    );
    // The new system was registered for boot, its live switch tried and retried once (as
    // clan does), then the previous one activated again.
    assert_eq!(
        calls(&setup, "alpha"),
        [
            call("boot", &first),
            call("switch", &first),
            call("boot", &second),
            call("switch", &second),
            call("switch", &second),
            call("switch", &first)
        ],
        "{report}"
    );
    assert!(stdout.contains("retrying once"), "{report}");
    // The log tail under the table shows the agent's rollback.
    assert!(stdout.contains("--- alpha: last lines of"), "{report}");
    assert!(stdout.contains("rolling back"), "{report}");
}

#[test]
fn an_unconfirmed_activation_rolls_back_on_its_own() {
    let setup = setup();
    // Revision 2's activation stops sshd from accepting connections: the master connection
    // stays, the confirmation's new connection is refused.
    let (clan, first) = alpha_deployed_then(
        &setup,
        Stub {
            breaking_sshd: vec!["alpha".into()],
            ..Stub::default()
        },
    );
    let out = apply_with(&setup, &clan, &["--confirm-timeout", "3"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(row(&stdout, "alpha").contains(" rolled back "), "{report}");
    assert!(stdout.contains("Connection refused"), "{report}");
    let second = PathBuf::from(built_path(&stdout, "alpha"));
    assert_eq!(
        profile_target(&setup, "alpha"),
        Some(first.clone()),
        "{report}"
    );
    assert_eq!(
        calls(&setup, "alpha"),
        [
            call("boot", &first),
            call("switch", &first),
            call("boot", &second),
            call("switch", &second),
            call("switch", &first)
        ],
        "{report}"
    );
}

#[test]
fn a_dependent_machine_is_skipped_when_its_provider_fails() {
    let setup = setup();
    // borgbackup orders its server before its clients.
    let stub = Stub {
        failing: vec!["provider".into()],
        inventory: "        inventory.instances.backup = { module.name = \"borgbackup\"; \
                    roles.server.machines.provider = { }; \
                    roles.client.machines.consumer = { }; };\n"
            .into(),
        ..Stub::default()
    };
    let clan = fixture_with(
        setup.root.path(),
        &[
            ("provider", setup.port),
            ("consumer", setup.port),
            ("loner", setup.port),
        ],
        &stub,
    );
    let out = apply(&setup, &clan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    // No earlier generation to go back to: failed, and said why.
    assert!(row(&stdout, "provider").contains(" failed "), "{report}");
    assert!(stdout.contains("cannot roll back"), "{report}");
    assert!(row(&stdout, "consumer").contains(" skipped ("), "{report}");
    assert_eq!(recorded(&setup, "consumer"), "", "{report}");
    assert!(profile_target(&setup, "consumer").is_none(), "{report}");
    assert!(row(&stdout, "loner").contains(" switched "), "{report}");
    assert_eq!(recorded(&setup, "loner"), SWITCHED, "{report}");
}

#[test]
fn ctrl_c_stops_the_run_and_leaves_no_host_half_activated() {
    use std::io::{BufRead, BufReader};
    let setup = setup();
    let machines = ["alpha", "beta", "gamma"];
    let stub = Stub {
        slow: 2,
        ..Stub::default()
    };
    let clan = fixture_with(setup.root.path(), &machines.map(|m| (m, setup.port)), &stub);
    let mut child = apply_command(&setup, &clan, &["--parallel", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("clanc starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.contains("activate:") && line.ends_with(" started") {
            // Mid-activation (it sleeps 2 s): Ctrl-C to clanc alone, as a terminal would
            // send it to clanc's process group (its children have their own).
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
            break;
        }
    }
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let stdout = seen.join("\n");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let report = format!("{status:?}\n{stdout}\n--- stderr\n{stderr}");
    assert_eq!(status.code(), Some(130), "{report}");
    assert!(stdout.contains("interrupted (Ctrl-C)"), "{report}");
    assert!(stdout.contains("MACHINE"), "summary printed: {report}");
    let mut switched = 0;
    for machine in machines {
        let profile = profile_target(&setup, machine);
        let switches = recorded(&setup, machine);
        match (profile, switches.as_str()) {
            (None, "") => assert!(row(&stdout, machine).contains("skipped"), "{report}"),
            (Some(_), SWITCHED) => {
                switched += 1;
                assert!(row(&stdout, machine).contains(" switched "), "{report}");
            }
            (profile, switches) => {
                panic!("{machine} half activated: {profile:?} {switches:?}\n{report}")
            }
        }
    }
    // The activation under way finished (and was confirmed); nothing new started.
    assert!(switched >= 1, "{report}");
    assert!(switched < machines.len(), "{report}");
}

#[test]
fn without_rollback_a_failed_activation_stays() {
    let setup = setup();
    let (clan, first) = alpha_deployed_then(
        &setup,
        Stub {
            failing: vec!["alpha".into()],
            ..Stub::default()
        },
    );
    let out = apply_with(&setup, &clan, &["--no-rollback"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(row(&stdout, "alpha").contains(" failed "), "{report}");
    let second = PathBuf::from(built_path(&stdout, "alpha"));
    assert_eq!(
        profile_target(&setup, "alpha"),
        Some(second.clone()),
        "{report}"
    );
    // the live switch retried once, then left as it is
    assert_eq!(
        calls(&setup, "alpha"),
        [
            call("boot", &first),
            call("switch", &first),
            call("boot", &second),
            call("switch", &second),
            call("switch", &second)
        ],
        "{report}"
    );
}

/// The log of `machine` in the newest run under `clan`.
fn newest_log(clan: &std::path::Path, machine: &str) -> String {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(clan.join(".clanc/logs"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    runs.sort();
    runs.last()
        .and_then(|run| std::fs::read_to_string(run.join(format!("{machine}.log"))).ok())
        .unwrap_or_default()
}

#[test]
fn a_second_ctrl_c_kills_clancs_side_and_the_target_still_rolls_back() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let setup = setup();
    let (clan, first) = alpha_deployed_then(
        &setup,
        Stub {
            slow: 2,
            ..Stub::default()
        },
    );
    let mut child = apply_command(&setup, &clan, &["--confirm-timeout", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("clanc starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.ends_with("activate:alpha started") {
            break;
        }
    }
    // Once the agent runs the activation (its log reaches clanc), Ctrl-C twice.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !newest_log(&clan, "alpha").contains("$ nix-env -p") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..2 {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        std::thread::sleep(Duration::from_millis(300));
    }
    seen.extend(lines.map_while(Result::ok));
    let status = child.wait().unwrap();
    let stdout = seen.join("\n");
    let report = format!(
        "{status:?}\n{stdout}\n--- log\n{}",
        newest_log(&clan, "alpha")
    );
    assert_eq!(status.code(), Some(130), "{report}");
    assert!(
        stdout.contains("aborting (second Ctrl-C): killing activate:alpha"),
        "{report}"
    );
    assert!(row(&stdout, "alpha").contains(" failed "), "{report}");
    // clanc is gone; the agent on the target finishes the activation, gets no
    // confirmation and goes back to the first generation.
    let second = PathBuf::from(built_path(&stdout, "alpha"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while calls(&setup, "alpha").len() < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        calls(&setup, "alpha"),
        [
            call("boot", &first),
            call("switch", &first),
            call("boot", &second),
            call("switch", &second),
            call("switch", &first)
        ],
        "{report}"
    );
    assert_eq!(profile_target(&setup, "alpha"), Some(first), "{report}");
    // clanc never read the outcome: the agent's directory stays with its log.
    let log = newest_log(&clan, "alpha");
    let dir = log
        .lines()
        .find_map(|l| l.strip_prefix("# activation agent in "))
        .and_then(|rest| rest.split(' ').next())
        .map(PathBuf::from)
        .expect("the log names the agent's directory");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.join("result").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let agent_log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    assert!(
        agent_log.contains("no confirmation within 2s"),
        "{agent_log}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_switch_blocked_by_inhibitors_is_not_retried_and_boots_next() {
    let setup = setup();
    let (clan, first) = alpha_deployed_then(
        &setup,
        Stub {
            inhibited: vec!["alpha".into()],
            ..Stub::default()
        },
    );
    let out = apply(&setup, &clan);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = report(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(row(&stdout, "alpha").contains(" failed "), "{report}");
    assert!(
        stdout.contains("blocked by switch inhibitors") && stdout.contains("reboot"),
        "{report}"
    );
    // As clan: the new system is the boot default (profile and `boot` ran), the live switch
    // ran once, and nothing was rolled back (the running system did not change).
    let second = PathBuf::from(built_path(&stdout, "alpha"));
    assert_eq!(
        profile_target(&setup, "alpha"),
        Some(second.clone()),
        "{report}"
    );
    assert_eq!(
        calls(&setup, "alpha"),
        [
            call("boot", &first),
            call("switch", &first),
            call("boot", &second),
            call("switch", &second)
        ],
        "{report}"
    );
    // --no-check passes NIXOS_NO_CHECK=1 to switch-to-configuration (the plan shows it)
    let plan = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["apply", "--dry-run", "--no-check"])
        .arg(&clan)
        .output()
        .unwrap();
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.lines()
            .filter(|l| l.contains("switch-to-configuration"))
            .all(|l| l.contains("-E 'NIXOS_NO_CHECK=1'")),
        "{plan}"
    );
}
