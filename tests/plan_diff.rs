//! `clanc plan --diff` end to end over loopback ssh with the real nix (issue 23, item 2):
//! two hosts, each an sshd in a mount namespace of its own (its own `/run`, so its own
//! `/run/current-system`, which the stub's `switch-to-configuration` links as NixOS does),
//! both first deployed with `hello-1.0`; then one machine's system gets `hello-1.1`. The
//! diff reads `readlink -f /run/current-system` on each target: the other machine is
//! unchanged and `clanc apply` skips its activation; the changed one shows the package with
//! both versions. A third machine whose target does not answer is unknown, never unchanged.
//! Same fixture as tests/apply.rs (tests/common/loopback.rs).

#[path = "common/loopback.rs"]
mod loopback;

use std::path::Path;
use std::process::{Command, Output};

use loopback::*;

fn report(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `clanc plan --diff` with the fixture's keys and profiles (as `apply_command` passes them).
fn plan_diff(setup: &Setup, clan: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["plan", "--diff", "--system-profile"])
        .arg(setup.root.path().join("profiles/{machine}"))
        .arg("--ssh-option")
        .arg(format!(
            "UserKnownHostsFile={}",
            setup.keys.join("known_hosts").display()
        ))
        .args(["--ssh-option", "SendEnv=NIX_CONFIG"])
        .arg("-i")
        .arg(setup.keys.join("user"))
        .args(extra)
        .arg(clan)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("clanc runs")
}

/// What `/run/current-system` is on the target at `port` (its own `/run`).
fn current_system(setup: &Setup, port: u16) -> String {
    let out = Command::new("ssh")
        .args([
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
        ])
        .arg("-o")
        .arg(format!(
            "UserKnownHostsFile={}",
            setup.keys.join("known_hosts").display()
        ))
        .arg("-i")
        .arg(setup.keys.join("user"))
        .args(["-p", &port.to_string(), "root@127.0.0.1"])
        .args(["readlink", "-f", "/run/current-system"])
        .output()
        .expect("ssh runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn stub(beta_hello: &str) -> Stub {
    Stub {
        hello: vec![
            ("alpha".to_string(), "1.0".to_string()),
            ("beta".to_string(), beta_hello.to_string()),
        ],
        links_current_system: true,
        ..Stub::default()
    }
}

#[test]
fn plan_diff_shows_what_each_machine_gets_and_apply_skips_the_unchanged() {
    require_root();
    let root = tempfile::tempdir().unwrap();
    let keys = root.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    keygen(&keys.join("host"));
    keygen(&keys.join("user"));
    let (alpha_port, beta_port) = (free_port(), free_port());
    let alpha_sshd = start_sshd_own_run(&keys, alpha_port, &["AcceptEnv=NIX_CONFIG"]);
    let _beta_sshd = start_sshd_own_run(&keys, beta_port, &["AcceptEnv=NIX_CONFIG"]);
    let setup = Setup {
        root,
        keys,
        _sshd: alpha_sshd,
        port: alpha_port,
    };
    // nothing listens there: gamma's target does not answer
    let gamma_port = free_port();
    let clan = fixture_with(
        setup.root.path(),
        &[
            ("alpha", alpha_port),
            ("beta", beta_port),
            ("gamma", gamma_port),
        ],
        &stub("1.0"),
    );

    // first deploy: both run hello-1.0, each linked as its own /run/current-system
    let first = apply_with(&setup, &clan, &["--on", "alpha,beta"]);
    assert_eq!(first.status.code(), Some(0), "{}", report(&first));
    let first_stdout = String::from_utf8_lossy(&first.stdout).into_owned();
    let alpha_system = built_path(&first_stdout, "alpha");
    let beta_before = built_path(&first_stdout, "beta");
    assert!(alpha_system.starts_with("/nix/store/"), "{first_stdout}");
    assert_eq!(current_system(&setup, alpha_port), alpha_system);
    assert_eq!(current_system(&setup, beta_port), beta_before);
    assert_eq!(recorded(&setup, "alpha"), "boot\nswitch\n");

    // beta's system gets hello-1.1; alpha's stays as it is
    write_stub(setup.root.path(), &stub("1.1"));
    relock(&clan);
    let out = plan_diff(&setup, &clan, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    let plan: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", report(&out)));
    assert_eq!(plan["version"], 3);
    let alpha = &plan["machines"]["alpha"]["diff"];
    assert_eq!(alpha["status"], "unchanged", "{}", report(&out));
    assert_eq!(alpha["system"], alpha_system.as_str());
    let beta = &plan["machines"]["beta"]["diff"];
    assert_eq!(beta["status"], "changed", "{}", report(&out));
    assert_eq!(beta["running"], beta_before.as_str());
    let beta_new = beta["new"].as_str().unwrap_or_default().to_string();
    assert!(
        beta_new.starts_with("/nix/store/") && beta_new != beta_before,
        "{beta}"
    );
    let packages = beta["packages"].as_array().cloned().unwrap_or_default();
    assert_eq!(packages.len(), 1, "one package changed: {beta}");
    assert_eq!(packages[0]["name"], "hello");
    assert_eq!(packages[0]["before"], serde_json::json!(["1.0"]));
    assert_eq!(packages[0]["after"], serde_json::json!(["1.1"]));
    let gamma = &plan["machines"]["gamma"]["diff"];
    assert_eq!(gamma["status"], "unknown", "{}", report(&out));
    let reason = gamma["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("upload-sources:gamma failed: ") && reason.contains("error:"),
        "{reason}"
    );
    // the diff changed nothing on the targets
    assert_eq!(current_system(&setup, beta_port), beta_before);
    assert_eq!(recorded(&setup, "beta"), "boot\nswitch\n");

    // the text names the package with both versions, and alpha as unchanged
    let out = plan_diff(&setup, &clan, &["--on", "alpha,beta"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", report(&out));
    assert!(
        text.contains("diff: 1 unchanged, 1 changed, 0 unknown"),
        "{text}"
    );
    assert!(text.contains("      hello: 1.0 → 1.1\n"), "{text}");
    assert!(
        text.contains(&format!(
            "    diff: unchanged, {alpha_system} runs already (apply skips its activation)"
        )),
        "{text}"
    );
    // and the graphs label each machine with it
    let dot = plan_diff(&setup, &clan, &["--on", "alpha,beta", "--format", "dot"]);
    let dot = String::from_utf8_lossy(&dot.stdout).into_owned();
    assert!(
        dot.contains("label=\"alpha\\nunchanged (activation skipped)\";"),
        "{dot}"
    );
    assert!(dot.contains("hello: 1.0 → 1.1"), "{dot}");

    // apply: alpha's activation is skipped and said so; beta switches to hello-1.1
    let second = apply_with(&setup, &clan, &["--on", "alpha,beta"]);
    let second_stdout = String::from_utf8_lossy(&second.stdout).into_owned();
    assert_eq!(second.status.code(), Some(0), "{}", report(&second));
    let alpha_row = second_stdout
        .lines()
        .find(|l| l.starts_with("alpha "))
        .unwrap_or_default();
    assert!(
        alpha_row.contains("unchanged (activation skipped)"),
        "{second_stdout}"
    );
    assert_eq!(
        recorded(&setup, "alpha"),
        "boot\nswitch\n",
        "not activated again"
    );
    assert_eq!(recorded(&setup, "beta"), "boot\nswitch\nboot\nswitch\n");
    assert_eq!(current_system(&setup, beta_port), beta_new);
    assert_eq!(current_system(&setup, alpha_port), alpha_system);

    // now both run what would be deployed
    let out = plan_diff(&setup, &clan, &["--on", "alpha,beta"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("diff: 2 unchanged, 0 changed, 0 unknown"),
        "{}",
        report(&out)
    );
}
