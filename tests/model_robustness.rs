//! Mangled clans never crash clanc: the clean fixture clans with one file damaged at a time
//! (a line deleted, a line repeated, a value replaced by one of another type, the file cut in
//! half) must give a report and exit 0 or 1 — never a panic (101), a hang, or garbage
//! instead of JSON. Deterministic: the damage is chosen by a fixed pseudo-random sequence.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % bound.max(1)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_dir(&path, &target);
        } else if kind.is_symlink() {
            let link = std::fs::read_link(&path).expect("readlink");
            std::os::unix::fs::symlink(link, &target).expect("symlink");
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            nix_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "nix") {
            out.push(path);
        }
    }
}

fn mangle(text: &str, how: usize, rng: &mut Lcg) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let at = rng.next(lines.len());
    match how {
        0 => {
            let mut l = lines.clone();
            if !l.is_empty() {
                l.remove(at);
            }
            l.join("\n")
        }
        1 => {
            let mut l = lines.clone();
            if let Some(line) = l.get(at).copied() {
                l.insert(at, line);
            }
            l.join("\n")
        }
        2 => text
            .replacen("\"", "42 /* was a string */ + \"", 1 + rng.next(3))
            .replacen("true", "\"true\"", 1),
        _ => text.chars().take(text.chars().count() / 2).collect(),
    }
}

fn run(dir: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clanc"))
        .args(["check", "--no-cache", "--format", "json"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("clanc runs");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut out = String::new();
            if let Some(mut stdout) = child.stdout.take() {
                use std::io::Read;
                let _ = stdout.read_to_string(&mut out);
            }
            return (status.code(), out);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return (None, "timed out after 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn mangled_clans_get_a_report_never_a_crash() {
    let repo = common::repo();
    let mut clans = vec![repo.join("fixtures/seed-fleet")];
    let mut shapes: Vec<_> = std::fs::read_dir(repo.join("fixtures/shapes"))
        .expect("shapes")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    shapes.sort();
    clans.extend(shapes);
    let mut rng = Lcg(0x5eed);
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut reported_errors = 0;
    for clan in &clans {
        let mut files = Vec::new();
        nix_files(clan, &mut files);
        for _ in 0..3 {
            let file = &files[rng.next(files.len())];
            let how = rng.next(4);
            let work = tempfile::tempdir().expect("tempdir");
            copy_dir(clan, work.path());
            let rel = file.strip_prefix(clan).expect("inside");
            let text = std::fs::read_to_string(file).expect("read");
            std::fs::write(work.path().join(rel), mangle(&text, how, &mut rng)).expect("write");
            let (code, out) = run(work.path());
            runs += 1;
            if code == Some(1) {
                reported_errors += 1;
            }
            let json_ok = serde_json::from_str::<serde_json::Value>(&out).is_ok();
            if !matches!(code, Some(0 | 1)) || !json_ok {
                failures.push(format!(
                    "{} with {} mangled (way {how}): exit {code:?}, output {}",
                    clan.display(),
                    rel.display(),
                    out.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(runs >= 30, "only {runs} runs");
    // The damage must actually hurt: most mangled clans have something to report.
    assert!(
        reported_errors * 2 >= runs,
        "only {reported_errors} of {runs} runs reported errors"
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
