//! `clanc vars upload` refusals, before any connection: an unknown machine, a machine
//! without a target, a bad `--target-host`, a missing admin key, and a machine without an
//! age key (nothing to upload, as in clan). The upload itself is tested over a loopback sshd
//! in tests/apply_remote.rs.

#[path = "common/loopback.rs"]
mod loopback;

use std::path::Path;
use std::process::{Command, Output};

use loopback::*;

fn upload(clan: &Path, args: &[&str], admin_key: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clanc"));
    cmd.args(["vars", "upload"])
        .arg(clan)
        .args(args)
        .env_remove("SOPS_AGE_KEY")
        .env("HOME", clan.join("no-home"))
        .stdin(std::process::Stdio::null());
    if admin_key {
        cmd.env("SOPS_AGE_KEY_FILE", clan.join(ADMIN_KEY_FILE));
    } else {
        cmd.env_remove("SOPS_AGE_KEY_FILE");
    }
    cmd.output().expect("clanc runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn refusals_come_before_any_connection() {
    let root = tempfile::tempdir().unwrap();
    // 192.0.2.0/24 is TEST-NET: never reached, every case stops before ssh
    let clan = secrets_fixture(root.path(), &[("alpha", 22)]);
    let out = upload(&clan, &["--machine", "zeta"], true);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no machine `zeta`; it has `alpha`"));

    // alpha has no age key until its vars are generated
    let out = upload(
        &clan,
        &["--machine", "alpha", "--target-host", "root@192.0.2.1"],
        true,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing to upload"),
        "{}",
        stderr(&out)
    );

    let generated = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["vars", "generate"])
        .arg(&clan)
        .env("SOPS_AGE_KEY_FILE", clan.join(ADMIN_KEY_FILE))
        .output()
        .unwrap();
    assert!(generated.status.success(), "{generated:?}");
    assert!(clan.join("sops/secrets/alpha-age.key/secret").exists());

    let out = upload(
        &clan,
        &["--machine", "alpha", "--target-host", "root@"],
        true,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("target host `root@`"),
        "{}",
        stderr(&out)
    );

    let out = upload(
        &clan,
        &["--machine", "alpha", "--target-host", "root@192.0.2.1"],
        false,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot read the admin age key"),
        "{}",
        stderr(&out)
    );

    let out = upload(
        &clan,
        &[
            "--machine",
            "alpha",
            "--target-host",
            "root@192.0.2.1",
            "--upload-dir",
            "relative/dir",
        ],
        true,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is not absolute"), "{}", stderr(&out));
}
