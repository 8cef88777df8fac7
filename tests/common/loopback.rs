//! Loopback deploy fixtures shared by the `clanc apply` tests: a real `sshd` on a free
//! 127.0.0.1 port with generated host and user keys, and a clan whose toplevels are tiny
//! derivations real `nix build` makes offline (see tests/apply.rs).

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

pub struct Sshd {
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A loopback deploy test cannot run but as root: its sshd logs the deploy in as `root` and
/// real `nix build` writes to the store. Not root is a failure that says so, never a silent
/// pass; CI runs as root.
pub fn require_root() {
    assert!(
        is_root(),
        "this loopback deploy test must run as root (it logs in to a local sshd as root and \
         builds with the real nix): run the tests as root, as CI does, or leave this test out \
         with `cargo test -- --skip <test name>`"
    );
}

pub fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
}

/// A started sshd on 127.0.0.1:`port` accepting `keys/user`; it takes `NIX_CONFIG` from the
/// client (`SendEnv`), so that nix run over ssh (a build on the target) stays offline too.
pub fn start_sshd(keys: &Path, port: u16) -> Sshd {
    spawn_sshd(
        keys,
        port,
        &["AcceptEnv=NIX_CONFIG"],
        &keys.join("sshd.log"),
        &keys.join("sshd.pid"),
    )
}

/// [`start_sshd`] with more `-o` options (like `AcceptEnv=NIX_CONFIG`), logging to
/// [`sshd_log`] so that several can share a key directory.
pub fn start_sshd_with(keys: &Path, port: u16, options: &[&str]) -> Sshd {
    let pid = keys.join(format!("sshd-{port}.pid"));
    spawn_sshd(keys, port, options, &sshd_log(keys, port), &pid)
}

/// [`start_sshd_with`] in a mount namespace of its own with an empty `/run` (a tmpfs): what
/// it runs sees its own `/run/current-system`, as each NixOS host has its own. Logs in
/// [`sshd_log`].
pub fn start_sshd_own_run(keys: &Path, port: u16, options: &[&str]) -> Sshd {
    let pid = keys.join(format!("sshd-{port}.pid"));
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"]);
    command.arg("mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd && exec \"$@\"");
    command.args(["sh", "/usr/sbin/sshd"]);
    spawn(command, keys, port, options, &sshd_log(keys, port), &pid)
}

fn spawn_sshd(keys: &Path, port: u16, options: &[&str], log: &Path, pid: &Path) -> Sshd {
    // Debian's sshd refuses to start without its privilege separation directory.
    std::fs::create_dir_all("/run/sshd").expect("/run/sshd");
    spawn(
        Command::new("/usr/sbin/sshd"),
        keys,
        port,
        options,
        log,
        pid,
    )
}

/// `sshd` (the end of `command`) on 127.0.0.1:`port`, accepting `keys/user`.
fn spawn(
    mut command: Command,
    keys: &Path,
    port: u16,
    options: &[&str],
    log: &Path,
    pid: &Path,
) -> Sshd {
    let mut child = command
        .args(["-D", "-e", "-p", &port.to_string()])
        .args(["-o", "ListenAddress=127.0.0.1", "-h"])
        .arg(keys.join("host"))
        .arg("-o")
        .arg(format!(
            "AuthorizedKeysFile={}",
            keys.join("user.pub").display()
        ))
        .arg("-o")
        .arg(format!("PidFile={}", pid.display()))
        .args([
            "-o",
            "StrictModes=no",
            "-o",
            "PermitRootLogin=prohibit-password",
        ])
        .args(options.iter().flat_map(|o| ["-o", o]))
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("sshd starts");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Sshd { child };
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "sshd did not listen: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// The log of an sshd started by [`start_sshd_with`] on `port` (`-e`: connections,
/// authentications, errors).
pub fn sshd_log(keys: &Path, port: u16) -> PathBuf {
    keys.join(format!("sshd-{port}.log"))
}

pub fn system() -> String {
    let out = Command::new("uname").arg("-m").output().unwrap();
    format!("{}-linux", String::from_utf8_lossy(&out.stdout).trim())
}

/// How the stub's toplevels behave (`Stub::default()`: every activation records and succeeds).
#[derive(Clone, Debug, Default)]
pub struct Stub {
    /// Part of every toplevel: a new revision is a new store path (a new generation).
    pub revision: u32,
    /// Machines whose `switch-to-configuration switch` records the call, then exits 1
    /// (`boot` succeeds).
    pub failing: Vec<String>,
    /// Machines whose `switch-to-configuration switch` records the call, then refuses as
    /// NixOS does when a switch inhibitor changed (`Pre-switch check failed`, exit 1).
    pub inhibited: Vec<String>,
    /// Machines whose live switch stops the fixture's sshd from accepting new connections
    /// (the running ones stay): a confirmation over a new connection cannot arrive.
    pub breaking_sshd: Vec<String>,
    /// Seconds every activation sleeps before it records (for Ctrl-C mid-activation).
    pub slow: u32,
    /// Nix text added to the clan's `lib.clan` arguments (instances that order machines).
    pub inventory: String,
    /// Machine -> the version of a toy package `hello-<version>` in its system's closure.
    pub hello: Vec<(String, String)>,
    /// `switch-to-configuration switch` and `test` link the system as `/run/current-system`,
    /// as NixOS's activation does (for sshds with their own `/run`: [`start_sshd_own_run`]).
    pub links_current_system: bool,
}

fn nix_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    format!("[ {} ]", quoted.join(" "))
}

/// Writes the stub clan-core flake under `root/stub` (see [`Stub`]).
pub fn write_stub(root: &Path, stub: &Stub) {
    let dir = root.join("stub");
    let record = root.join("record");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&record).unwrap();
    let record = record.display();
    let pidfile = root.join("keys/sshd.pid");
    let pidfile = pidfile.display();
    let system = system();
    let (revision, slow) = (stub.revision, stub.slow);
    let failing = nix_list(&stub.failing);
    let inhibited = nix_list(&stub.inhibited);
    let breaking = nix_list(&stub.breaking_sshd);
    let hellos: String = stub
        .hello
        .iter()
        .map(|(m, v)| format!(" \"{m}\" = \"{v}\";"))
        .collect();
    let links = if stub.links_current_system { "1" } else { "" };
    std::fs::write(
        dir.join("flake.nix"),
        format!(
            r#"{{
  outputs = {{ self }}: {{
    lib.clan = {{ self, inventory ? {{ }}, ... }}: {{
      config.clanInternals = {{ }};
      config.nixosConfigurations = builtins.mapAttrs (name: _: let
        hellos = {{{hellos} }};
        hello = derivation {{
          name = "hello-${{hellos.${{name}}}}";
          system = "{system}";
          builder = "/bin/sh";
          args = [ "-c" "/bin/mkdir -p $out/bin && /bin/echo hello > $out/bin/hello" ];
        }};
      in {{
        config.system.build.toplevel = derivation {{
          inherit name;
          revision = "{revision}";
          hello = if hellos ? ${{name}} then hello else "";
          links = "{links}";
          system = "{system}";
          builder = "/bin/sh";
          fails = if builtins.elem name {failing} then "[ \"$1\" != switch ] || exit 1" else "";
          inhibits = if builtins.elem name {inhibited} then "[ \"$1\" != switch ] || {{ echo 'Pre-switch check failed: dbus changed'; exit 1; }}" else "";
          breaks = if builtins.elem name {breaking} then "[ \"$1\" != switch ] || kill $(cat {pidfile})" else "";
          args = [ "-c" ''
            /bin/mkdir -p $out/bin
            if [ -n "$hello" ]; then /bin/ln -s $hello $out/sw; fi
            /bin/echo {revision} > $out/nixos-version
            s=$out/bin/switch-to-configuration
            /bin/echo '#!/bin/sh' > $s
            if [ {slow} -gt 0 ]; then /bin/echo 'sleep {slow}' >> $s; fi
            /bin/echo 'echo "$1" >> {record}/${{name}}' >> $s
            /bin/echo "echo \"\$1 $out\" >> {record}/${{name}}.calls" >> $s
            if [ -n "$links" ]; then
              /bin/echo "case \$1 in switch|test) /bin/ln -sfn $out /run/current-system ;; esac" >> $s
            fi
            /bin/echo "$breaks" >> $s
            /bin/echo "$fails" >> $s
            /bin/echo "$inhibits" >> $s
            /bin/chmod +x $s
          '' ];
        }};
      }}) (inventory.machines or {{ }});
    }};
  }};
}}
"#
        ),
    )
    .unwrap();
}

/// Locks the clan again after the stub changed.
pub fn relock(clan: &Path) {
    let out = Command::new("nix")
        .args(["--extra-experimental-features", "nix-command flakes"])
        .args(["flake", "lock", "--update-input", "clan-core"])
        .arg(format!("path:{}", clan.display()))
        .output()
        .expect("nix runs");
    assert!(out.status.success(), "nix flake lock: {out:?}");
}

/// The stub clan-core and a clan with `machines` (name, target port).
pub fn fixture(root: &Path, machines: &[(&str, u16)]) -> PathBuf {
    fixture_with(root, machines, &Stub::default())
}

/// [`fixture`] with the stub's behaviour and extra inventory from `stub`.
pub fn fixture_with(root: &Path, machines: &[(&str, u16)], stub: &Stub) -> PathBuf {
    let stub_dir = root.join("stub");
    let clan = root.join("clan");
    std::fs::create_dir_all(&clan).unwrap();
    write_stub(root, stub);
    let mut inventory = String::new();
    for (name, port) in machines {
        inventory.push_str(&format!(
            "        inventory.machines.{name}.deploy.targetHost = \"root@127.0.0.1:{port}\";\n"
        ));
    }
    inventory.push_str(&stub.inventory);
    std::fs::write(
        clan.join("flake.nix"),
        format!(
            r#"{{
  inputs.clan-core.url = "path:{stub}";
  outputs = {{ self, clan-core, ... }}:
    let
      clan = clan-core.lib.clan {{
        inherit self;
        meta.name = "loopback";
{inventory}      }};
    in
    {{ inherit (clan.config) nixosConfigurations clanInternals; }};
}}
"#,
            stub = stub_dir.display()
        ),
    )
    .unwrap();
    // Lock before clanc fingerprints the clan (nix would write flake.lock on first build).
    let out = Command::new("nix")
        .args(["--extra-experimental-features", "nix-command flakes"])
        .args(["flake", "lock"])
        .arg(format!("path:{}", clan.display()))
        .output()
        .expect("nix runs");
    assert!(out.status.success(), "nix flake lock: {out:?}");
    clan
}

/// alpha's vars generator: an activation secret (mode 0440) and a service secret.
pub const ALPHA_GENERATORS: &str = r#"        machines.alpha.clan.core.vars.generators.boot = {
          files.token = { neededFor = "activation"; mode = "0440"; };
          files.password = { };
          script = ''
            printf 'token-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$out"/token
            printf 'password-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$out"/password
          '';
        };
"#;

/// The admin's age key in a [`secrets_fixture`] clan (the recipient of every secret).
pub const ADMIN_KEY_FILE: &str = "TEST-ONLY-admin-age-key.txt";

/// [`fixture`] with [`ALPHA_GENERATORS`] and the test admin key of tests/vars/clan (its
/// `sops/users/admin`); vars are generated on first need.
pub fn secrets_fixture(root: &Path, machines: &[(&str, u16)]) -> PathBuf {
    let stub = Stub {
        inventory: ALPHA_GENERATORS.to_string(),
        ..Stub::default()
    };
    let clan = fixture_with(root, machines, &stub);
    let vars = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vars/clan");
    std::fs::copy(vars.join(ADMIN_KEY_FILE), clan.join(ADMIN_KEY_FILE)).unwrap();
    std::fs::create_dir_all(clan.join("sops/users/admin")).unwrap();
    std::fs::copy(
        vars.join("sops/users/admin/key.json"),
        clan.join("sops/users/admin/key.json"),
    )
    .unwrap();
    clan
}

pub struct Setup {
    pub root: tempfile::TempDir,
    pub keys: PathBuf,
    pub _sshd: Sshd,
    pub port: u16,
}

/// Fails (never skips) when not root: the deploy logs in as root over ssh.
pub fn setup() -> Setup {
    require_root();
    let root = tempfile::tempdir().unwrap();
    let keys = root.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    keygen(&keys.join("host"));
    keygen(&keys.join("user"));
    let port = free_port();
    let sshd = start_sshd(&keys, port);
    Setup {
        keys,
        _sshd: sshd,
        port,
        root,
    }
}

pub fn apply(setup: &Setup, clan: &Path) -> Output {
    apply_with(setup, clan, &[])
}

/// `clanc apply --yes` on the fixture's profiles and keys, with `extra` arguments.
pub fn apply_command(setup: &Setup, clan: &Path, extra: &[&str]) -> Command {
    let profile = setup.root.path().join("profiles/{machine}");
    std::fs::create_dir_all(setup.root.path().join("profiles")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_clanc"));
    command
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
        .arg(clan);
    command
}

pub fn apply_with(setup: &Setup, clan: &Path, extra: &[&str]) -> Output {
    apply_command(setup, clan, extra)
        .output()
        .expect("clanc runs")
}

pub fn recorded(setup: &Setup, machine: &str) -> String {
    std::fs::read_to_string(setup.root.path().join("record").join(machine)).unwrap_or_default()
}

/// Every `switch-to-configuration` call on `machine`: (goal, the system it belongs to).
pub fn calls(setup: &Setup, machine: &str) -> Vec<(String, String)> {
    let path = setup
        .root
        .path()
        .join("record")
        .join(format!("{machine}.calls"));
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(goal, system)| (goal.to_string(), system.to_string()))
        .collect()
}

/// The store path the profile of `machine` points at (through its generation link).
pub fn profile_target(setup: &Setup, machine: &str) -> Option<PathBuf> {
    std::fs::canonicalize(setup.root.path().join("profiles").join(machine)).ok()
}

pub fn built_path(stdout: &str, machine: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{machine} ")))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_default()
        .to_string()
}
