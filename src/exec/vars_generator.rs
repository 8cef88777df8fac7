//! Runs one vars generator: a private temporary directory (mode 0700) with `in/` (the files of
//! its dependencies), `out/` and `prompts/`, the variables `in`, `out` and `prompts`, and the
//! script under `bash -eu -o pipefail`, inside bubblewrap when it works here. Every declared file
//! must appear in `$out`. The directory is removed on every exit path: success, failure, and
//! cancellation (the caller sets `cancel`, e.g. from a Ctrl-C handler; the script is killed).
//! Outputs are returned in memory (zeroized on drop); nothing here prints or logs them.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::model::vars::generator::GeneratorSpec;
use crate::vars::SecretBytes;

/// How the script is isolated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sandbox {
    /// bubblewrap: only the temporary directory, `/nix/store` and (for host tools) `/usr`.
    Bubblewrap(PathBuf),
    /// No isolation (bubblewrap missing or not usable here); callers warn.
    None,
}

impl Sandbox {
    /// bubblewrap when it is installed and can start a sandbox on this machine.
    pub fn detect() -> Sandbox {
        let Some(bwrap) = find_in_path("bwrap") else {
            return Sandbox::None;
        };
        let works = Command::new(&bwrap)
            .args([
                "--unshare-all",
                "--die-with-parent",
                "--ro-bind",
                "/",
                "/",
                "true",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if works {
            Sandbox::Bubblewrap(bwrap)
        } else {
            Sandbox::None
        }
    }
}

/// Everything a run needs besides the spec.
pub struct RunInputs<'a> {
    /// Files of the dependencies: generator -> file -> content.
    pub dependencies: &'a BTreeMap<String, BTreeMap<String, SecretBytes>>,
    /// Prompt answers: prompt name -> value.
    pub prompts: &'a BTreeMap<String, Zeroizing<String>>,
    /// `PATH` inside the script: the runtime inputs' `bin/`, else the host's.
    pub path: OsString,
}

#[derive(Debug)]
pub enum RunError {
    Io(String),
    /// The script exited unsuccessfully; the last lines it wrote to stderr.
    Failed {
        status: String,
        stderr_tail: String,
    },
    /// A declared file was not generated (clan: "did not generate a file for '`<f>`'").
    MissingFile(String),
    Cancelled,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Io(e) => write!(f, "{e}"),
            RunError::Failed {
                status,
                stderr_tail,
            } => {
                write!(f, "the script failed ({status})")?;
                if !stderr_tail.is_empty() {
                    write!(f, ":\n{stderr_tail}")?;
                }
                Ok(())
            }
            RunError::MissingFile(name) => write!(f, "did not generate a file for '{name}'"),
            RunError::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for RunError {}

fn io(context: &str) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |e| RunError::Io(format!("{context}: {e}"))
}

/// Runs `spec` and returns its files (declared names only).
pub fn run_generator(
    spec: &GeneratorSpec,
    inputs: &RunInputs<'_>,
    sandbox: &Sandbox,
    cancel: &AtomicBool,
) -> Result<BTreeMap<String, SecretBytes>, RunError> {
    check_file_names(spec, inputs)?;
    remove_orphaned_work_dirs(&std::env::temp_dir());
    // Declared before `running`: dropped after it, once the script is killed.
    let (work, dirs) = prepare_work_dir(inputs)?;
    let mut command = script_command(sandbox, work.path(), &dirs, &inputs.path, &spec.script);
    let mut running = Running::spawn(&mut command).map_err(io("cannot start bash"))?;
    let reader = read_in_background(running.child.stderr.take());
    let status = wait_for_script(&mut running, cancel)?;
    let stderr_text = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(script_failed(status, &stderr_text));
    }
    read_outputs(spec, &dirs.out)
}

/// Checks that every file, prompt and dependency name is a plain file name.
fn check_file_names(spec: &GeneratorSpec, inputs: &RunInputs<'_>) -> Result<(), RunError> {
    let names = spec
        .files
        .keys()
        .chain(inputs.prompts.keys())
        .chain(inputs.dependencies.keys())
        .chain(inputs.dependencies.values().flat_map(|files| files.keys()));
    for name in names {
        if !is_plain_name(name) {
            return Err(RunError::Io(format!(
                "`{name}` cannot be a file name (no `/`, `.` or `..`)"
            )));
        }
    }
    Ok(())
}

/// The directories a script gets in `$in`, `$out` and `$prompts`.
struct WorkDirs {
    inputs: PathBuf,
    out: PathBuf,
    prompts: PathBuf,
}

/// The run's private temporary directory, with the dependencies' files in `in/`, the
/// prompts' answers in `prompts/` and an empty `out/`.
fn prepare_work_dir(inputs: &RunInputs<'_>) -> Result<(tempfile::TempDir, WorkDirs), RunError> {
    // Mode 0700, removed when `work` drops (tempfile's default mode follows the umask). The
    // name carries our pid, so that a later run can tell a directory a killed clanc left.
    let prefix = format!("{WORK_PREFIX}{}-", std::process::id());
    let work = tempfile::Builder::new()
        .prefix(&prefix)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
        .map_err(io("cannot create a temporary directory"))?;
    let root = work.path();
    let dirs = WorkDirs {
        inputs: root.join("in"),
        out: root.join("out"),
        prompts: root.join("prompts"),
    };
    for dir in [&dirs.inputs, &dirs.out, &dirs.prompts] {
        std::fs::create_dir(dir).map_err(io("cannot prepare the temporary directory"))?;
    }
    for (generator, files) in inputs.dependencies {
        let dir = dirs.inputs.join(generator);
        std::fs::create_dir_all(&dir).map_err(io("cannot write inputs"))?;
        for (name, content) in files {
            write_private(&dir.join(name), content)?;
        }
    }
    for (name, value) in inputs.prompts {
        write_private(&dirs.prompts.join(name), value.as_bytes())?;
    }
    Ok((work, dirs))
}

/// `bash -eu -o pipefail -c <script>` in the work directory `root`, with only the
/// variables `in`, `out`, `prompts`, `PATH` and `HOME`, inside bubblewrap when `sandbox`
/// says so; stdin and stdout closed, stderr piped.
fn script_command(
    sandbox: &Sandbox,
    root: &Path,
    dirs: &WorkDirs,
    path: &OsStr,
    script: &str,
) -> Command {
    let mut command = match sandbox {
        Sandbox::Bubblewrap(bwrap) => {
            let mut c = Command::new(bwrap);
            c.args(["--unshare-all", "--die-with-parent", "--clearenv"])
                .args(["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"])
                .arg("--bind")
                .arg(root)
                .arg(root)
                .args(["--ro-bind-try", "/nix/store", "/nix/store"])
                // Host tools (bash among them) when no runtime inputs are realised.
                .args(["--ro-bind", "/usr", "/usr"])
                .args([
                    "--symlink",
                    "usr/bin",
                    "/bin",
                    "--symlink",
                    "usr/lib",
                    "/lib",
                ])
                .args([
                    "--symlink",
                    "usr/lib64",
                    "/lib64",
                    "--symlink",
                    "usr/sbin",
                    "/sbin",
                ])
                .arg("--setenv")
                .arg("in")
                .arg(&dirs.inputs)
                .arg("--setenv")
                .arg("out")
                .arg(&dirs.out)
                .arg("--setenv")
                .arg("prompts")
                .arg(&dirs.prompts)
                .arg("--setenv")
                .arg("PATH")
                .arg(path)
                .arg("--setenv")
                .arg("HOME")
                .arg(root)
                .arg("--chdir")
                .arg(root)
                .arg("--")
                .arg("bash");
            c
        }
        Sandbox::None => {
            let mut c = Command::new("bash");
            c.env_clear()
                .env("in", &dirs.inputs)
                .env("out", &dirs.out)
                .env("prompts", &dirs.prompts)
                .env("PATH", path)
                .env("HOME", root)
                .current_dir(root);
            c
        }
    };
    command
        .args(["-eu", "-o", "pipefail", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Reads `stderr` (its first MiB) on a thread, so a chatty script cannot block on a full
/// pipe.
fn read_in_background(
    mut stderr: Option<std::process::ChildStderr>,
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(stderr) = stderr.as_mut() {
            let _ = stderr.take(1 << 20).read_to_end(&mut text);
        }
        text
    })
}

/// Waits for the script to exit; kills it when `cancel` is set.
fn wait_for_script(
    running: &mut Running,
    cancel: &AtomicBool,
) -> Result<std::process::ExitStatus, RunError> {
    loop {
        if cancel.load(Ordering::SeqCst) {
            running.kill();
            return Err(RunError::Cancelled);
        }
        match running
            .child
            .try_wait()
            .map_err(io("cannot wait for the script"))?
        {
            Some(status) => {
                running.exited = true;
                return Ok(status);
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// A script's failure, with the last 20 lines it wrote to stderr.
fn script_failed(status: std::process::ExitStatus, stderr: &[u8]) -> RunError {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    RunError::Failed {
        status: status.to_string(),
        stderr_tail: tail,
    }
}

/// The declared files the script wrote to `out`; a missing one is an error.
fn read_outputs(
    spec: &GeneratorSpec,
    out: &Path,
) -> Result<BTreeMap<String, SecretBytes>, RunError> {
    let mut outputs = BTreeMap::new();
    for name in spec.files.keys() {
        let path = out.join(name);
        if !path.is_file() {
            return Err(RunError::MissingFile(name.clone()));
        }
        let content = std::fs::read(&path).map_err(io("cannot read an output"))?;
        outputs.insert(name.clone(), Zeroizing::new(content));
    }
    Ok(outputs)
}

/// Temporary directories of runs: `clanc-vars-<pid>-<random>`.
const WORK_PREFIX: &str = "clanc-vars-";

/// Removes the temporary directories (plaintext inputs and outputs) that a clanc killed with
/// SIGKILL left in `tmp`: ours by owner and name, their process gone. Best effort, silent.
fn remove_orphaned_work_dirs(tmp: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(WORK_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if pid <= 0 || u32::try_from(pid).ok() == Some(std::process::id()) {
            continue;
        }
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        let ours =
            std::fs::symlink_metadata(entry.path()).is_ok_and(|m| m.is_dir() && m.uid() == uid);
        if gone && ours {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A single path component that stays inside the directory it is joined to
/// (`model::vars::names`).
pub fn is_plain_name(name: &str) -> bool {
    crate::model::vars::names::problem(name).is_none()
}

/// The script's process group, killed (and reaped) when dropped unless it has exited: on a
/// cancellation, an error, or a panic unwinding through the run, before the temporary
/// directory (declared earlier, dropped later) is removed.
struct Running {
    child: std::process::Child,
    exited: bool,
}

impl Running {
    /// Starts `command` in its own process group: the whole script (`sleep`s and all) is
    /// killed on cancellation, and a terminal's Ctrl-C reaches clanc, which decides.
    fn spawn(command: &mut Command) -> std::io::Result<Running> {
        std::os::unix::process::CommandExt::process_group(command, 0);
        // And killed if clanc itself is (SIGKILL cannot be caught): bubblewrap does this
        // with `--die-with-parent`, bash is asked to here.
        #[cfg(target_os = "linux")]
        {
            // SAFETY: prctl is async-signal-safe, as a pre_exec closure requires.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(command, || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        Ok(Running {
            child: command.spawn()?,
            exited: false,
        })
    }

    fn kill(&mut self) {
        if self.exited {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signals the process group our child leads (`process_group(0)`).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.exited = true;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, content: &[u8]) -> Result<(), RunError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io("cannot write an input"))?;
    file.write_all(content).map_err(io("cannot write an input"))
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::vars::generator::FileSpec;

    fn spec(files: &[&str], script: &str) -> GeneratorSpec {
        GeneratorSpec {
            name: "test".to_string(),
            share: false,
            files: files
                .iter()
                .map(|f| (f.to_string(), FileSpec::default()))
                .collect(),
            prompts: BTreeMap::new(),
            dependencies: Vec::new(),
            runtime_inputs: Vec::new(),
            script: script.to_string(),
        }
    }

    fn run(
        spec: &GeneratorSpec,
        sandbox: &Sandbox,
    ) -> Result<BTreeMap<String, SecretBytes>, RunError> {
        let mut deps = BTreeMap::new();
        deps.insert(
            "ca".to_string(),
            BTreeMap::from([("key".to_string(), Zeroizing::new(b"CA-KEY".to_vec()))]),
        );
        let prompts = BTreeMap::from([("name".to_string(), Zeroizing::new("alice".to_string()))]);
        let inputs = RunInputs {
            dependencies: &deps,
            prompts: &prompts,
            path: std::env::var_os("PATH").unwrap_or_default(),
        };
        run_generator(spec, &inputs, sandbox, &AtomicBool::new(false))
    }

    fn sandboxes() -> Vec<Sandbox> {
        let mut all = vec![Sandbox::None];
        if let detected @ Sandbox::Bubblewrap(_) = Sandbox::detect() {
            all.push(detected);
        }
        all
    }

    #[test]
    fn inputs_prompts_and_outputs() {
        let script = r#"cat "$in/ca/key" > "$out/copy"; printf 'hi %s' "$(cat "$prompts/name")" > "$out/greeting"; [ "$(stat -c %a "$(dirname "$out")")" = 700 ]"#;
        for sandbox in sandboxes() {
            let out = run(&spec(&["copy", "greeting"], script), &sandbox).unwrap();
            assert_eq!(out["copy"].as_slice(), b"CA-KEY", "{sandbox:?}");
            assert_eq!(out["greeting"].as_slice(), b"hi alice");
        }
    }

    #[test]
    fn failures_and_missing_files_are_errors() {
        for sandbox in sandboxes() {
            let err = run(&spec(&["a"], "echo oops >&2; exit 3"), &sandbox).unwrap_err();
            let RunError::Failed { stderr_tail, .. } = &err else {
                panic!("{err}")
            };
            assert_eq!(stderr_tail, "oops");
            let err = run(&spec(&["a", "b"], "touch $out/a"), &sandbox).unwrap_err();
            assert_eq!(err.to_string(), "did not generate a file for 'b'");
            // an unset variable fails the script (bash -u)
            assert!(run(&spec(&["a"], "echo $nope > $out/a"), &sandbox).is_err());
        }
    }

    #[test]
    fn file_names_cannot_escape_the_directory() {
        let err = run(&spec(&["../../etc/evil"], "true"), &Sandbox::None).unwrap_err();
        assert!(err.to_string().contains("cannot be a file name"));
        assert!(!is_plain_name("..") && !is_plain_name("a/b") && is_plain_name("ssh.id_ed25519"));
    }

    #[test]
    fn the_sandbox_hides_the_host() {
        let sandbox = Sandbox::detect();
        assert!(
            matches!(sandbox, Sandbox::Bubblewrap(_)),
            "bubblewrap is missing or cannot start a sandbox here (scripts/test installs it); \
             this test checks the sandbox and fails without one: leave it out with \
             `--skip the_sandbox_hides_the_host`"
        );
        let out = run(
            &spec(
                &["seen"],
                "ls / > $out/seen; [ ! -e /root ] && [ ! -e /etc/passwd ]",
            ),
            &sandbox,
        );
        assert!(out.is_ok(), "{:?}", out.err());
    }

    /// Whether `pid` is gone (or a zombie nobody reaped yet: dead all the same).
    fn dead(pid: &str) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
        }
    }

    #[test]
    fn a_panic_during_a_run_kills_the_script_group_and_removes_the_directory() {
        let work = tempfile::Builder::new()
            .prefix(WORK_PREFIX)
            .tempdir()
            .unwrap();
        let dir = work.path().to_path_buf();
        let pid_file = dir.join("pid");
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // declared as in `run_generator`: the directory first, the script after it
            let _work = work;
            let mut command = Command::new("bash");
            command.arg("-c").arg(format!(
                "sleep 60 & echo $! > '{}'; wait",
                pid_file.display()
            ));
            let _running = Running::spawn(&mut command).unwrap();
            let started = std::time::Instant::now();
            while !std::fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n')) {
                assert!(started.elapsed() < Duration::from_secs(20), "no script");
                std::thread::sleep(Duration::from_millis(10));
            }
            let pid = std::fs::read_to_string(&pid_file).unwrap();
            std::fs::write(dir.with_extension("sleep-pid"), pid).unwrap();
            panic!("a bug while the script runs");
        }));
        assert!(unwound.is_err());
        assert!(!dir.exists(), "temporary directory left behind");
        let pid_record = dir.with_extension("sleep-pid");
        let pid = std::fs::read_to_string(&pid_record).unwrap();
        std::fs::remove_file(&pid_record).unwrap();
        let started = std::time::Instant::now();
        while !dead(pid.trim()) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the script's background `sleep` survived"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn cancellation_kills_the_script_and_removes_the_directory() {
        let cancel = AtomicBool::new(false);
        let marker_dir = tempfile::tempdir().unwrap();
        let marker = marker_dir.path().join("out-dir");
        let script = format!("echo \"$out\" > '{}'; sleep 30", marker.display());
        let spec = spec(&["a"], &script);
        let empty = BTreeMap::new();
        let prompts = BTreeMap::new();
        let inputs = RunInputs {
            dependencies: &empty,
            prompts: &prompts,
            path: std::env::var_os("PATH").unwrap_or_default(),
        };
        let started = std::time::Instant::now();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                // cancel once the script is surely running
                while !marker.exists() && started.elapsed() < Duration::from_secs(10) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                cancel.store(true, Ordering::SeqCst);
            });
            let err = run_generator(&spec, &inputs, &Sandbox::None, &cancel).unwrap_err();
            assert!(matches!(err, RunError::Cancelled));
        });
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the script was not killed"
        );
        let out_dir = std::fs::read_to_string(&marker).expect("the script ran");
        let work_dir = Path::new(out_dir.trim()).parent().unwrap();
        assert!(!work_dir.exists(), "temporary directory left behind");
    }
}
