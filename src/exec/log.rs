//! Where a run's output goes (`.clanc/logs/<run-id>/<machine>.log`, shared steps in
//! `shared.log`) and the UTC clock of its progress lines.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// (year, month, day, hour, minute, second) in UTC.
fn utc_now() -> (i64, u32, u32, u32, u32, u32) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rest = rest as u32;
    (year, month, day, rest / 3600, rest / 60 % 60, rest % 60)
}

/// `HH:MM:SS` (UTC) for progress lines.
pub fn clock() -> String {
    let (_, _, _, h, m, s) = utc_now();
    format!("{h:02}:{m:02}:{s:02}")
}

/// A run id unique on this machine: `YYYYMMDD-HHMMSS-<pid>` (UTC).
pub fn run_id() -> String {
    let (y, mo, d, h, m, s) = utc_now();
    format!(
        "{y:04}{mo:02}{d:02}-{h:02}{m:02}{s:02}-{}",
        std::process::id()
    )
}

/// The log directory of a run under the clan.
pub fn run_dir(clan: &Path, run_id: &str) -> PathBuf {
    clan.join(".clanc").join("logs").join(run_id)
}

/// The log file of a machine (`None`: shared steps).
pub fn machine_log(dir: &Path, machine: Option<&str>) -> PathBuf {
    match machine {
        Some(name) => dir.join(format!("{}.log", name.replace(['/', '\\'], "_"))),
        None => dir.join("shared.log"),
    }
}

/// The last `n` lines of a log (empty when it cannot be read).
pub fn tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_and_tails() {
        let id = run_id();
        assert_eq!(id.len(), 16 + std::process::id().to_string().len());
        assert!(id.starts_with("20"), "{id}");
        assert_eq!(clock().len(), 8);
        let dir = tempfile::tempdir().unwrap();
        let log = machine_log(dir.path(), Some("a/b"));
        assert!(log.ends_with("a_b.log"));
        let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&log, text).unwrap();
        let last = tail(&log, 20);
        assert_eq!((last.len(), last[0].as_str()), (20, "line 11"));
    }
}
