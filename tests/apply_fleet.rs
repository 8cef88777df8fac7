//! 30 loopback hosts: `clanc apply --parallel 10` on a 30-machine clan, and the
//! orchestration overhead of clanc against the same commands run by hand (a shell script of
//! the plan's argv, one machine after another, then ten at a time). Ignored by default (it
//! takes minutes and measures, it does not judge): run it with
//!   cargo test --release --test apply_fleet -- --ignored --nocapture
//! and copy the figures it prints into docs/performance.md ("clanc apply"). Every run uses a
//! fresh clan (the toplevels embed the clan's directory), so each builds 30 derivations.
//! Both sides build here (`--build-on local`), then copy: the hand-run scripts stay plain
//! `nix build` + `nix copy` + ssh lines (the figures measure orchestration, not where the
//! builds run).

#[path = "common/loopback.rs"]
mod loopback;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use clanc::exec::{command_line, remote_line};
use loopback::*;

const HOSTS: usize = 30;

struct Fleet {
    root: tempfile::TempDir,
    keys: PathBuf,
    ports: Vec<u16>,
    _sshds: Vec<Sshd>,
}

fn start_fleet() -> Fleet {
    let root = tempfile::tempdir().unwrap();
    let keys = root.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    keygen(&keys.join("host"));
    keygen(&keys.join("user"));
    let mut ports = Vec::new();
    let mut sshds = Vec::new();
    for _ in 0..HOSTS {
        let port = free_port();
        sshds.push(start_sshd_with(&keys, port, &["AcceptEnv=NIX_CONFIG"]));
        ports.push(port);
    }
    Fleet {
        root,
        keys,
        ports,
        _sshds: sshds,
    }
}

/// A fresh 30-machine clan for one run, under `<fleet>/<name>`.
fn clan_for(fleet: &Fleet, name: &str) -> PathBuf {
    let names: Vec<String> = (0..HOSTS).map(|i| format!("m{i:02}")).collect();
    let machines: Vec<(&str, u16)> = names
        .iter()
        .map(String::as_str)
        .zip(fleet.ports.iter().copied())
        .collect();
    let dir = fleet.root.path().join(name);
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    fixture(&dir, &machines)
}

/// The ssh options every run uses (clanc's defaults spelled out for the scripts).
fn ssh_options(fleet: &Fleet) -> Vec<String> {
    [
        format!(
            "UserKnownHostsFile={}",
            fleet.keys.join("known_hosts").display()
        ),
        "SendEnv=NIX_CONFIG".to_string(),
    ]
    .into_iter()
    .collect()
}

fn profile(clan: &Path) -> String {
    format!("{}/profiles/{{machine}}", clan.parent().unwrap().display())
}

fn clanc_apply(fleet: &Fleet, clan: &Path, parallel: usize) -> (Duration, Output) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clanc"));
    cmd.args(["apply", "--yes", "--parallel", &parallel.to_string()])
        .args(["--build-on", "local"])
        .args(["--system-profile", &profile(clan)]);
    for option in ssh_options(fleet) {
        cmd.args(["--ssh-option", &option]);
    }
    cmd.arg("-i").arg(fleet.keys.join("user")).arg(clan);
    let start = Instant::now();
    let out = cmd.output().expect("clanc runs");
    (start.elapsed(), out)
}

/// One shell script per machine with the plan's commands, as a person would type them:
/// the build's `--json` read for the store path, nix's ssh options in `NIX_SSHOPTS`, each
/// remote command through its own `ssh` (no connection sharing), quoted as clanc quotes it.
fn hand_scripts(fleet: &Fleet, clan: &Path) -> Vec<PathBuf> {
    let out = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args([
            "plan",
            "--format",
            "json",
            "--build-on",
            "local",
            "--system-profile",
            &profile(clan),
        ])
        .arg(clan)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ssh: Vec<String> = Vec::new();
    for option in ssh_options(fleet) {
        ssh.push("-o".to_string());
        ssh.push(option);
    }
    ssh.extend(
        [
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-i",
        ]
        .map(String::from),
    );
    ssh.push(fleet.keys.join("user").display().to_string());
    let sshopts = ssh.join(" ");
    let dir = clan.parent().unwrap().join("scripts");
    std::fs::create_dir_all(&dir).unwrap();
    let mut scripts: Vec<(String, String)> = Vec::new();
    for step in plan["steps"].as_array().unwrap() {
        let machine = step["machine"].as_str().unwrap().to_string();
        let host = step["host"].as_str().unwrap();
        let index = match scripts.iter().position(|(m, _)| *m == machine) {
            Some(i) => i,
            None => {
                scripts.push((machine.clone(), "set -eu\n".to_string()));
                scripts.len() - 1
            }
        };
        for argv in step["argv"].as_array().unwrap() {
            let argv: Vec<String> = argv
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().unwrap().replace("{toplevel}", TOP))
                .collect();
            let line = match (step["kind"].as_str().unwrap(), host) {
                ("build", "local") => format!(
                    "top=$({} | sed -n 's/.*\"out\":\"\\([^\"]*\\)\".*/\\1/p')",
                    command_line(&argv)
                ),
                (_, "local") => {
                    let argv: Vec<String> = argv
                        .iter()
                        .map(|w| match w.strip_prefix("NIX_SSHOPTS=") {
                            Some(own) => format!("NIX_SSHOPTS={sshopts} {own}"),
                            None => w.clone(),
                        })
                        .collect();
                    let argv = if argv[0] == "ssh" {
                        let mut with = vec!["ssh".to_string()];
                        with.extend(ssh.iter().cloned());
                        with.extend(argv[1..].iter().cloned());
                        with
                    } else {
                        argv
                    };
                    command_line(&argv)
                }
                (_, target) => {
                    let (destination, port) = target.rsplit_once(':').unwrap();
                    let mut outer = vec!["ssh".to_string()];
                    outer.extend(ssh.iter().cloned());
                    outer.extend(["-p".to_string(), port.to_string()]);
                    outer.push(destination.to_string());
                    outer.push(remote_line(&argv, &[]));
                    command_line(&outer)
                }
            };
            let script = &mut scripts[index].1;
            script.push_str(&with_top(&line));
            script.push('\n');
        }
    }
    scripts
        .into_iter()
        .map(|(machine, text)| {
            let path = dir.join(format!("{machine}.sh"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

/// Stands for the built store path while a line is quoted (stays bare when quoted).
const TOP: &str = "@TOP@";

/// `line` with [`TOP`] replaced by the shell variable `$top`, closing and reopening single
/// quotes where it stands inside them.
fn with_top(line: &str) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut rest = line;
    while !rest.is_empty() {
        if rest.starts_with(TOP) {
            out.push_str(if quoted { "'\"$top\"'" } else { "\"$top\"" });
            rest = &rest[TOP.len()..];
            continue;
        }
        let c = rest.chars().next().unwrap();
        match c {
            '\'' => quoted = !quoted,
            '\\' if !quoted => {
                out.push(c);
                rest = &rest[1..];
                let next = rest.chars().next().unwrap();
                out.push(next);
                rest = &rest[next.len_utf8()..];
                continue;
            }
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn by_hand(scripts: &[PathBuf], parallel: usize) -> Duration {
    let log = scripts[0].with_file_name("output.log");
    let list = scripts
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let start = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "printf '%s\\n' \"$LIST\" | xargs -P {parallel} -n 1 sh >\"$LOG\" 2>&1"
        ))
        .env("LIST", list)
        .env("LOG", &log)
        .status()
        .unwrap();
    let took = start.elapsed();
    assert!(
        status.success(),
        "a hand-run script failed:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    took
}

fn switched_all(fleet: &Fleet, run: &str) -> bool {
    (0..HOSTS).all(|i| {
        std::fs::read_to_string(
            fleet
                .root
                .path()
                .join(run)
                .join("record")
                .join(format!("m{i:02}")),
        )
        .is_ok_and(|r| r == "boot\nswitch\n")
    })
}

#[test]
#[ignore = "30 sshd instances and 120 real nix builds: run by hand, see the module docs"]
fn thirty_loopback_hosts() {
    require_root();
    let fleet = start_fleet();
    let mut rows = Vec::new();

    let clan = clan_for(&fleet, "clanc-p10");
    let (p10, out) = clanc_apply(&fleet, &clan, 10);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(switched_all(&fleet, "clanc-p10"));
    rows.push(("clanc apply --parallel 10", p10));

    let clan = clan_for(&fleet, "hand-p10");
    let start = Instant::now();
    let scripts = hand_scripts(&fleet, &clan);
    rows.push(("clanc plan (check and plan, no command)", start.elapsed()));
    let hand10 = by_hand(&scripts, 10);
    assert!(switched_all(&fleet, "hand-p10"));
    rows.push(("by hand, 10 at a time (xargs -P 10)", hand10));

    let clan = clan_for(&fleet, "clanc-p1");
    let (p1, out) = clanc_apply(&fleet, &clan, 1);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(switched_all(&fleet, "clanc-p1"));
    rows.push(("clanc apply --parallel 1", p1));

    let clan = clan_for(&fleet, "hand-p1");
    let scripts = hand_scripts(&fleet, &clan);
    let hand1 = by_hand(&scripts, 1);
    assert!(switched_all(&fleet, "hand-p1"));
    rows.push(("by hand, one after another", hand1));

    eprintln!(
        "{HOSTS} loopback hosts, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (what, took) in &rows {
        eprintln!("{what:40} {:7.2} s", took.as_secs_f64());
    }
    let per =
        |a: Duration, b: Duration| (a.as_secs_f64() - b.as_secs_f64()) / HOSTS as f64 * 1000.0;
    eprintln!(
        "overhead per machine, one at a time: {:+.0} ms",
        per(p1, hand1)
    );
    eprintln!(
        "overhead per machine, ten at a time: {:+.0} ms",
        per(p10, hand10)
    );
}
