//! `clanc apply` beyond one local build: secrets uploaded to the target (a real age/sops
//! fixture: the plan's generate-vars step makes the machine's key and an activation secret,
//! the upload-secrets step sends them over the loopback sshd) and builds on a build host (a
//! second loopback sshd in front of the same store). Same fixture as tests/apply.rs.

#[path = "common/loopback.rs"]
mod loopback;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clanc::vars::{keys, sops};
use loopback::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn decrypt(clan: &Path, rel: &str) -> String {
    let admin = keys::parse_identities(
        &std::fs::read_to_string(clan.join("TEST-ONLY-admin-age-key.txt")).unwrap(),
    )
    .unwrap();
    let text = std::fs::read_to_string(clan.join(rel)).unwrap();
    String::from_utf8(sops::decrypt(&text, &admin).unwrap().to_vec()).unwrap()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}

fn report(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn apply_with(setup: &Setup, clan: &Path, extra: &[&str]) -> Output {
    let profile = setup.root.path().join("profiles/{machine}");
    std::fs::create_dir_all(setup.root.path().join("profiles")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["apply", "--yes", "--system-profile"])
        .arg(&profile)
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
        .env(
            "SOPS_AGE_KEY_FILE",
            clan.join("TEST-ONLY-admin-age-key.txt"),
        )
        .env_remove("SOPS_AGE_KEY")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("clanc runs")
}

#[test]
fn secrets_arrive_private_and_never_in_a_log() {
    let setup = setup();
    let clan = secrets_fixture(setup.root.path(), &[("alpha", setup.port)]);
    let uploads = setup.root.path().join("uploads");
    let dir_flag = format!("{}/{{machine}}", uploads.display());
    let out = apply_with(&setup, &clan, &["--upload-dir", &dir_flag]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(recorded(&setup, "alpha"), "boot\nswitch\n", "{text}");

    // what arrived: the machine's age key (0600) and the activation secret with its mode,
    // in a 0700 directory; the service secret stays in the closure's sops files
    let dest = uploads.join("alpha");
    assert_eq!(mode(&dest), 0o700);
    assert_eq!(mode(&dest.join("key.txt")), 0o600);
    assert_eq!(mode(&dest.join("activation")), 0o700);
    assert_eq!(
        mode(&dest.join("activation/per-machine/alpha/boot/token")),
        0o440
    );
    let mut arrived: Vec<String> = files_under(&dest)
        .iter()
        .map(|p| p.strip_prefix(&dest).unwrap().display().to_string())
        .collect();
    arrived.sort();
    assert_eq!(
        arrived,
        ["activation/per-machine/alpha/boot/token", "key.txt"]
    );
    let key = decrypt(&clan, "sops/secrets/alpha-age.key/secret");
    assert!(key.contains("AGE-SECRET-KEY-1"));
    assert_eq!(std::fs::read_to_string(dest.join("key.txt")).unwrap(), key);
    let token = decrypt(&clan, "vars/per-machine/alpha/boot/token/secret");
    assert!(token.starts_with("token-"), "{token}");
    assert_eq!(
        std::fs::read_to_string(dest.join("activation/per-machine/alpha/boot/token")).unwrap(),
        token
    );
    let password = decrypt(&clan, "vars/per-machine/alpha/boot/password/secret");
    // no half-extracted directory is left next to it
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["alpha"], "{text}");

    // no secret value in the run's output or any log
    let logs = files_under(&clan.join(".clanc/logs"));
    assert!(!logs.is_empty());
    let alpha_log = logs
        .iter()
        .find(|p| p.ends_with("alpha.log"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default();
    assert!(alpha_log.contains("vars upload"), "{alpha_log}");
    assert!(alpha_log.contains("uploaded 2 file(s)"), "{alpha_log}");
    let secret_key_line = key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap()
        .to_string();
    for secret in [&secret_key_line, &token, &password] {
        assert!(!text.contains(secret.as_str()), "a secret in the output");
        for log in &logs {
            let bytes = std::fs::read(log).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret.as_str()),
                "a secret in {}",
                log.display()
            );
        }
    }

    // a second run replaces the directory with the same content
    let again = apply_with(&setup, &clan, &["--upload-dir", &dir_flag]);
    assert_eq!(again.status.code(), Some(0), "{}", report(&again));
    assert_eq!(std::fs::read_to_string(dest.join("key.txt")).unwrap(), key);
}

/// An `ssh-agent` holding the test user's key (the build host reaches the target through
/// the forwarded agent, as clan forwards it).
struct Agent {
    child: std::process::Child,
    socket: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_agent(setup: &Setup) -> Agent {
    let socket = setup.root.path().join("agent.sock");
    let child = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent starts");
    let agent = Agent { child, socket };
    for _ in 0..100 {
        if agent.socket.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(setup.keys.join("user"))
        .env("SSH_AUTH_SOCK", &agent.socket)
        .output()
        .unwrap();
    assert!(added.status.success(), "ssh-add: {added:?}");
    agent
}

#[test]
fn a_build_host_builds_and_copies_straight_to_the_target() {
    let setup = setup();
    // The target and the build host: two more sshds in front of this machine's store that
    // take NIX_CONFIG from the client, so their nix daemons stay offline too.
    let target_port = free_port();
    let _target = start_sshd_with(&setup.keys, target_port, &["AcceptEnv=NIX_CONFIG"]);
    let build_port = free_port();
    let _builder = start_sshd_with(&setup.keys, build_port, &["AcceptEnv=NIX_CONFIG"]);
    let agent = start_agent(&setup);
    let clan = fixture(setup.root.path(), &[("alpha", target_port)]);
    let build_host = format!("root@127.0.0.1:{build_port}");
    let profile = setup.root.path().join("profiles/{machine}");
    std::fs::create_dir_all(setup.root.path().join("profiles")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["apply", "--yes", "--build-host", &build_host])
        .arg("--system-profile")
        .arg(&profile)
        .arg("--ssh-option")
        .arg(format!(
            "UserKnownHostsFile={}",
            setup.keys.join("known_hosts").display()
        ))
        .args(["--ssh-option", "ForwardAgent=yes"])
        .args(["--ssh-option", "SendEnv=NIX_CONFIG"])
        .arg("-i")
        .arg(setup.keys.join("user"))
        .arg(&clan)
        .env("SSH_AUTH_SOCK", &agent.socket)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("clanc runs");
    let text = report(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(recorded(&setup, "alpha"), "boot\nswitch\n", "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = built_path(&stdout, "alpha");
    assert!(
        path.starts_with("/nix/store/") && path.ends_with("-alpha"),
        "{text}"
    );
    assert_eq!(profile_target(&setup, "alpha"), Some(PathBuf::from(&path)));

    // The log: the flake went to the build host first (with its locked inputs: the stub
    // clan-core is a local path input, which clan archives), nix built there over the build
    // host's ssh master from that source, the copy ran on the build host (ssh to its port)
    // towards the target.
    let log = machine_log(&clan, "alpha");
    let upload_line = log
        .lines()
        .find(|l| l.starts_with("$ ") && l.contains("nix flake archive"))
        .unwrap_or_else(|| panic!("no upload of the sources in:\n{log}"));
    assert!(
        upload_line.contains("--to ssh://root@127.0.0.1")
            && upload_line.contains(&format!("-p {build_port}")),
        "{upload_line}"
    );
    let build_line = log
        .lines()
        .find(|l| l.starts_with("$ ssh") && l.contains("nix build"))
        .unwrap_or_else(|| panic!("no build on the build host in:\n{log}"));
    assert!(build_line.contains(" -S "), "{build_line}");
    assert!(
        build_line.contains("-source#nixosConfigurations."),
        "{build_line}"
    );
    assert!(log.contains("building '/nix/store/"), "{log}");
    assert!(!build_line.contains("{source}"), "{build_line}");
    let copy_line = log
        .lines()
        .find(|l| l.starts_with("$ ssh") && l.contains("nix copy"))
        .unwrap_or_else(|| panic!("no copy on the build host in:\n{log}"));
    // over the build host's master connection (runs are `ssh -S <master socket>` clients)
    assert!(copy_line.contains(" -S "), "{copy_line}");
    assert!(
        log.contains(&format!("# ssh master to root@127.0.0.1:{build_port} ")),
        "{log}"
    );
    assert!(
        copy_line.contains(&format!("-p {target_port}")),
        "{copy_line}"
    );
    // Both the build and the copy logged in to the build host; the target was reached by
    // the copy (from the build host) and the activation.
    let logins = |port| {
        std::fs::read_to_string(sshd_log(&setup.keys, port))
            .unwrap()
            .matches("Accepted publickey for root")
            .count()
    };
    assert!(
        logins(build_port) >= 2,
        "build host logins: {}",
        logins(build_port)
    );
    assert!(
        logins(target_port) >= 2,
        "target logins: {}",
        logins(target_port)
    );
}

/// The newest run's log of `machine`.
fn machine_log(clan: &Path, machine: &str) -> String {
    let mut logs: Vec<PathBuf> = files_under(&clan.join(".clanc/logs"))
        .into_iter()
        .filter(|p| p.ends_with(format!("{machine}.log")))
        .collect();
    logs.sort();
    logs.last()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_default()
}

#[test]
fn by_default_a_machine_is_built_on_its_target_as_clan_does() {
    let setup = setup();
    let clan = fixture(setup.root.path(), &[("alpha", setup.port)]);
    let out = apply_with(&setup, &clan, &[]);
    let text = report(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(recorded(&setup, "alpha"), "boot\nswitch\n", "{text}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = built_path(&stdout, "alpha");
    assert!(path.starts_with("/nix/store/"), "{text}");
    assert_eq!(profile_target(&setup, "alpha"), Some(PathBuf::from(&path)));
    // the steps: sources up, build there, activate; no copy (the system is already there)
    for step in ["upload-sources:alpha", "build:alpha", "activate:alpha"] {
        assert!(stdout.contains(&format!("{step} ok")), "{step}: {text}");
    }
    assert!(!stdout.contains("copy:alpha"), "{text}");

    let log = machine_log(&clan, "alpha");
    // the flake with its locked inputs (the stub clan-core is a local path input) into the
    // target's store, over the target's port
    let upload = log
        .lines()
        .find(|l| l.starts_with("$ ") && l.contains("nix flake archive"))
        .unwrap_or_else(|| panic!("no upload of the sources in:\n{log}"));
    assert!(
        upload.contains("--to ssh://root@127.0.0.1")
            && upload.contains(&format!("-p {}", setup.port))
            && upload.contains("--json"),
        "{upload}"
    );
    // the build ran on the target, over its ssh master, from the uploaded source, with
    // clan's nix options
    let build = log
        .lines()
        .find(|l| l.starts_with("$ ssh") && l.contains("nix build"))
        .unwrap_or_else(|| panic!("no build on the target in:\n{log}"));
    assert!(build.contains(" -S "), "{build}");
    assert!(build.contains("-source#nixosConfigurations."), "{build}");
    assert!(
        build
            .contains("--show-trace --option keep-going true --option accept-flake-config true -L"),
        "{build}"
    );
    assert!(log.contains("building '/nix/store/"), "{log}");
    // activation as clan's: the system checked, profile, boot, then the live switch
    let commands: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("$ "))
        .filter(|l| !l.starts_with("ssh") && !l.starts_with("env ") && !l.starts_with("nix "))
        .collect();
    let check = commands
        .iter()
        .position(|l| l.starts_with("test -e /nix/store/") && l.ends_with("/nixos-version"));
    let profile = commands.iter().position(|l| l.starts_with("nix-env -p"));
    let boot = commands
        .iter()
        .position(|l| l.contains("switch-to-configuration boot"));
    let switch = commands
        .iter()
        .position(|l| l.contains("switch-to-configuration switch"));
    assert!(
        check.is_some() && check < profile && profile < boot && boot < switch,
        "{log}"
    );

    // building here instead: clan's `--build-host localhost`, or `--build-on local`
    for flag in [["--build-on", "local"], ["--build-host", "localhost"]] {
        let dry = Command::new(env!("CARGO_BIN_EXE_clanc"))
            .args(["apply", "--dry-run"])
            .args(flag)
            .arg(&clan)
            .output()
            .unwrap();
        let dry = String::from_utf8_lossy(&dry.stdout);
        assert!(dry.contains("[build:alpha] local: nix build"), "{dry}");
        assert!(dry.contains("[copy:alpha] local: "), "{dry}");
        assert!(!dry.contains("upload-sources"), "{dry}");
    }
}
