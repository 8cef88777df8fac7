//! Magic rollback, and activation that a dropped connection or a killed clanc cannot leave
//! half done. Every activation runs on the target inside a detached *agent* (a transient
//! systemd unit where the target runs systemd, else `setsid`/`nohup`): it remembers what was
//! active, runs the plan's activation commands (profile, then `switch-to-configuration`), and
//!
//! - when activation fails and rollback is on, sets the profile back to the generation it
//!   had and re-activates it (`<previous>/bin/switch-to-configuration <goal>`, the plan's own
//!   command with `{toplevel}` = the previous system);
//! - when it succeeds and rollback is on, waits `--confirm-timeout` seconds for clanc to
//!   confirm over a *new* ssh connection (renaming the `canary` file to `confirmed`), else
//!   renames the canary itself and rolls back. Whichever rename wins decides: confirmation
//!   and timeout cannot both happen.
//!
//! clanc's ssh session only starts the agent and follows its log (`launcher`); if the session
//! dies, the agent goes on. State lives in a fresh root-only directory
//! `/tmp/clanc-activation-<random>` (`mkdir` fails on anything already there), removed once
//! clanc has read the final outcome (or the agent was confirmed); it stays, with the agent's
//! log, when clanc lost track of it. The scripts are POSIX sh; everything passed to them is a
//! positional argument, quoted by `quote` for the login shell and never spliced into script
//! text.

use crate::model::deploy_target::DeployTarget;

use super::command::fill_toplevel;

/// The last line the launcher and the waiter print: `clanc-activation-result: <word>`.
pub const RESULT_PREFIX: &str = "clanc-activation-result: ";

/// Starts the agent detached, then prints its log until the activation has an outcome.
/// `$1` the state directory, `$2` the agent script, the rest the agent's arguments.
const LAUNCHER: &str = r#"set -u
dir=$1; agent=$2; shift 2
umask 077
mkdir "$dir" || exit 3
: > "$dir/log" && : > "$dir/canary" || exit 3
if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then
  systemd-run --quiet --collect --service-type=exec --unit="${dir##*/}" \
    --setenv=PATH="$PATH" -- /bin/sh -c "$agent" clanc-agent "$dir" "$@" || exit 3
elif command -v setsid >/dev/null 2>&1; then
  setsid nohup /bin/sh -c "$agent" clanc-agent "$dir" "$@" </dev/null >/dev/null 2>&1 &
else
  nohup /bin/sh -c "$agent" clanc-agent "$dir" "$@" </dev/null >/dev/null 2>&1 &
fi
shown=0
show() {
  size=$(wc -c < "$dir/log" | tr -d ' ')
  if [ "$size" -gt "$shown" ]; then
    tail -c +"$((shown + 1))" "$dir/log" | head -c "$((size - shown))"
    shown=$size
  fi
}
while :; do
  show
  if [ -e "$dir/result" ]; then result=$(cat "$dir/result"); break; fi
  if [ -e "$dir/activated" ]; then result=activated; break; fi
  sleep 0.2 2>/dev/null || sleep 1
done
show
echo "clanc-activation-result: $result"
if [ -e "$dir/result" ]; then rm -rf "$dir"; fi
case $result in activated|confirmed|unchanged) exit 0 ;; *) exit 1 ;; esac
"#;

/// Runs the activation and the wait for confirmation. `$1` the state directory, `$2` the
/// confirmation timeout in seconds, `$3` 1 to roll back, `$4` the profile the activation sets
/// (empty: it sets none; the previous system is then /run/current-system), `$5` the command
/// re-activating `$1/previous-system`, `$6` the system the last command switches to live
/// (empty: the last command is no live switch), `$7` that command again in a unit of its
/// own (the retry), `$8` the system the activation makes current and `$9` the built system
/// (empty: activate whatever runs), the rest the activation's commands.
///
/// Unchanged (`plan::diff::is_unchanged`): when `/run/current-system` already is `$8` and,
/// if the activation sets a profile, the profile is `$9`, the agent runs nothing and reports
/// `unchanged`.
///
/// The live switch (the last command, with `$6`) goes as clan's `_nixos_activate`: output
/// naming a switch inhibitor (`Pre-switch check`, `switchInhibitors`) ends the activation at
/// once (the new system is the boot default; the user reboots or deploys with `--no-check`;
/// nothing is rolled back: the running system did not change); any other failure is retried
/// once; a retry that fails too still succeeds when `/run/current-system` is the new system.
const AGENT: &str = r#"set -u
dir=$1 timeout=$2 rollback=$3 profile=$4 reactivate=$5 system=$6 retry=$7 new=$8 toplevel=$9
shift 9
exec >>"$dir/log" 2>&1 </dev/null
mark() { echo "$2" > "$dir/$1.tmp" && mv "$dir/$1.tmp" "$dir/$1"; }
finish() {
  mark result "$1"
  if [ "$1" = confirmed ]; then rm -rf "$dir"; fi
  exit 0
}
if [ -n "$new" ]; then
  running=$(readlink -f /run/current-system 2>/dev/null) || running=
  wanted=$(readlink -f "$new" 2>/dev/null) || wanted=
  if [ -n "$running" ] && [ "$running" = "$wanted" ] &&
    { [ -z "$profile" ] || [ "$(readlink -f "$profile" 2>/dev/null)" = "$toplevel" ]; }; then
    echo "clanc: $wanted is the running system already${profile:+, and $profile}: nothing to activate"
    finish unchanged
  fi
fi
previous_link=
previous=
if [ -n "$profile" ]; then
  previous_link=$(readlink "$profile" 2>/dev/null) || previous_link=
  if [ -n "$previous_link" ]; then previous=$(readlink -f "$profile") || previous=; fi
else
  previous=$(readlink -f /run/current-system 2>/dev/null) || previous=
fi
if [ -n "$previous" ]; then ln -s "$previous" "$dir/previous-system"; fi
roll_back() {
  echo "clanc: $1: rolling back"
  if [ -z "$previous" ]; then
    echo "clanc: cannot roll back: no system was active before this activation"
    finish nothing-to-roll-back
  fi
  if [ -n "$profile" ] && [ "$(readlink "$profile" 2>/dev/null)" != "$previous_link" ]; then
    generation=$(printf '%s\n' "$previous_link" | sed -n 's/^.*-\([0-9][0-9]*\)-link$/\1/p')
    if [ -n "$generation" ]; then
      echo "\$ nix-env -p $profile --switch-generation $generation"
      nix-env -p "$profile" --switch-generation "$generation" || finish rollback-failed
    else
      echo "\$ nix-env -p $profile --rollback"
      nix-env -p "$profile" --rollback || finish rollback-failed
    fi
  fi
  echo "\$ $reactivate"
  /bin/sh -c "$reactivate" || finish rollback-failed
  echo "clanc: rolled back to $previous"
  finish rolled-back
}
live_switch() {
  start=$(wc -c < "$dir/log" | tr -d ' ')
  /bin/sh -c "$1" && return 0
  code=$?
  if tail -c +"$((start + 1))" "$dir/log" | grep -q -e 'Pre-switch check' -e switchInhibitors; then
    echo "clanc: the live switch was blocked by switch inhibitors (critical system components changed)"
    finish inhibited
  fi
  echo "clanc: the switch returned $code: retrying once"
  echo "\$ $retry"
  /bin/sh -c "$retry" && return 0
  code=$?
  current=$(readlink -f /run/current-system 2>/dev/null) || current=
  wanted=$(readlink -f "$system" 2>/dev/null) || wanted=$system
  if [ -n "$current" ] && [ "$current" = "$wanted" ]; then
    echo "clanc: the switch returned $code, but /run/current-system is the new system"
    return 0
  fi
  return "$code"
}
status=0
left=$#
for line in "$@"; do
  left=$((left - 1))
  echo "\$ $line"
  if [ "$left" -eq 0 ] && [ -n "$system" ]; then
    live_switch "$line" || { status=$?; break; }
  else
    /bin/sh -c "$line" || { status=$?; break; }
  fi
done
if [ "$status" -ne 0 ]; then
  echo "clanc: activation failed (exit $status)"
  if [ "$rollback" = 1 ]; then roll_back "activation failed"; fi
  finish failed
fi
if [ "$rollback" != 1 ]; then finish activated; fi
mark activated yes
deadline=$(( $(date +%s) + timeout ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -e "$dir/confirmed" ]; then finish confirmed; fi
  sleep 0.2 2>/dev/null || sleep 1
done
if mv "$dir/canary" "$dir/expired" 2>/dev/null; then
  roll_back "no confirmation within ${timeout}s"
fi
finish confirmed
"#;

/// Waits for the agent's final result (after a failed confirmation) and prints what the
/// rollback did. `$1` the state directory; a directory that is gone was confirmed.
const WAITER: &str = r#"dir=$1
while :; do
  if [ ! -d "$dir" ]; then echo "clanc-activation-result: confirmed"; exit 0; fi
  if [ -e "$dir/result" ]; then break; fi
  sleep 0.2 2>/dev/null || sleep 1
done
sed -n '/^clanc: .*rolling back$/,$p' "$dir/log"
echo "clanc-activation-result: $(cat "$dir/result")"
rm -rf "$dir"
"#;

/// What the agent reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentResult {
    /// Active; with rollback, waiting for confirmation.
    Activated,
    Confirmed,
    RolledBack,
    RollbackFailed,
    /// Failed, and no system was active before (a first deploy).
    NothingToRollBack,
    /// The live switch was refused by switch inhibitors; the new system boots next.
    Inhibited,
    Failed,
    /// The target runs the system already: nothing was activated.
    Unchanged,
}

/// The agent's result in the launcher's or waiter's output (its last result line).
pub fn parse_result(lines: &[String]) -> Option<AgentResult> {
    let word = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix(RESULT_PREFIX))?;
    Some(match word.trim() {
        "activated" => AgentResult::Activated,
        "confirmed" => AgentResult::Confirmed,
        "rolled-back" => AgentResult::RolledBack,
        "rollback-failed" => AgentResult::RollbackFailed,
        "nothing-to-roll-back" => AgentResult::NothingToRollBack,
        "inhibited" => AgentResult::Inhibited,
        "failed" => AgentResult::Failed,
        "unchanged" => AgentResult::Unchanged,
        _ => return None,
    })
}

/// An activation the agent runs: where its state is and how it is confirmed.
#[derive(Clone, Debug)]
pub struct Activation {
    pub dir: String,
    pub target: DeployTarget,
    /// `sudo -n` for the launcher, the confirmation and the waiter (a non-root login).
    pub privileged: bool,
    /// The agent waits for a confirmation (rollback on).
    pub awaits_confirmation: bool,
    pub timeout_secs: u64,
}

impl Activation {
    pub fn new(target: &DeployTarget, rollback: bool, timeout_secs: u64) -> Activation {
        Activation {
            dir: format!("/tmp/clanc-activation-{:016x}", rand::random::<u64>()),
            target: target.clone(),
            privileged: target.user_or_root() != "root",
            awaits_confirmation: rollback,
            timeout_secs,
        }
    }

    fn privileged(&self, argv: Vec<String>) -> Vec<String> {
        if self.privileged {
            let mut out = vec!["sudo".to_string(), "-n".to_string()];
            out.extend(argv);
            out
        } else {
            argv
        }
    }

    /// The argv the target runs (over the master session): the launcher starting the agent
    /// with the activation's remote `lines`, `profile` (`nix-env -p` of the commands), the
    /// `reactivate` line, the system the last line switches to live (see
    /// [`live_switch_system`]) and `unchanged_if`: (the system the activation makes current,
    /// the built system), which the agent compares with what runs.
    pub fn launcher_argv(
        &self,
        profile: Option<&str>,
        reactivate: &str,
        live_switch: Option<(&str, &str)>,
        unchanged_if: Option<(&str, &str)>,
        lines: &[String],
    ) -> Vec<String> {
        let (system, retry) = live_switch.unwrap_or_default();
        let (new, toplevel) = unchanged_if.unwrap_or_default();
        let mut argv: Vec<String> = vec![
            "/bin/sh".into(),
            "-c".into(),
            LAUNCHER.into(),
            "clanc-activation".into(),
            self.dir.clone(),
            AGENT.into(),
            self.timeout_secs.to_string(),
            if self.awaits_confirmation { "1" } else { "0" }.into(),
            profile.unwrap_or_default().to_string(),
            reactivate.to_string(),
            system.to_string(),
            retry.to_string(),
            new.to_string(),
            toplevel.to_string(),
        ];
        argv.extend(lines.iter().cloned());
        self.privileged(argv)
    }

    /// The remote argv of the confirmation (run over a new connection).
    pub fn confirm_argv(&self) -> Vec<String> {
        self.privileged(vec![
            "mv".into(),
            format!("{}/canary", self.dir),
            format!("{}/confirmed", self.dir),
        ])
    }

    /// The remote argv waiting for the agent's final result.
    pub fn waiter_argv(&self) -> Vec<String> {
        self.privileged(vec![
            "/bin/sh".into(),
            "-c".into(),
            WAITER.into(),
            "clanc-await".into(),
            self.dir.clone(),
        ])
    }

    /// Where the agent links the system that was active before.
    pub fn previous_system(&self) -> String {
        format!("{}/previous-system", self.dir)
    }
}

/// The profile an activation sets: `nix-env -p <profile> --set ...` among its commands.
pub fn profile_of(commands: &[Vec<String>]) -> Option<String> {
    commands.iter().find_map(|argv| {
        let env = argv.iter().position(|w| w == "nix-env")?;
        let rest = &argv[env + 1..];
        if !rest.iter().any(|w| w == "--set") {
            return None;
        }
        let p = rest.iter().position(|w| w == "-p" || w == "--profile")?;
        rest.get(p + 1).cloned()
    })
}

/// The system a command switches to live: `<system>` of `<system>/bin/switch-to-configuration
/// switch` (the agent retries that command once and checks `/run/current-system`).
pub fn live_switch_system(argv: &[String]) -> Option<String> {
    let [.., program, action] = argv else {
        return None;
    };
    if action != "switch" {
        return None;
    }
    program
        .strip_suffix("/bin/switch-to-configuration")
        .map(str::to_string)
}

/// The live switch again, in a systemd unit of its own (`<unit>-retry`: the first may not be
/// collected yet).
pub fn retry(last: &[String]) -> Vec<String> {
    renamed_unit(last.to_vec(), "retry")
}

fn renamed_unit(mut argv: Vec<String>, suffix: &str) -> Vec<String> {
    for word in &mut argv {
        if let Some(unit) = word.strip_prefix("--unit=") {
            *word = format!("--unit={unit}-{suffix}");
        }
    }
    argv
}

/// The plan's activation command (its last) made to re-activate `previous`: `{toplevel}` is
/// the previous system, and a systemd unit gets its own name (`<unit>-rollback`).
pub fn reactivation(last: &[String], previous: &str) -> Result<Vec<String>, String> {
    Ok(renamed_unit(
        fill_toplevel(last, Some(previous))?,
        "rollback",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::deploy_target::parse_deploy_target;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn profile_and_reactivation_come_from_the_plans_commands() {
        let commands = vec![
            words("sudo -n nix-env -p /p/system --set {toplevel}"),
            words(
                "sudo -n systemd-run --unit=clanc-switch-m-1 -- {toplevel}/bin/switch-to-configuration switch",
            ),
        ];
        assert_eq!(profile_of(&commands).as_deref(), Some("/p/system"));
        assert_eq!(profile_of(&commands[1..]), None);
        assert_eq!(
            reactivation(&commands[1], "/tmp/d/previous-system").unwrap(),
            words(
                "sudo -n systemd-run --unit=clanc-switch-m-1-rollback -- /tmp/d/previous-system/bin/switch-to-configuration switch"
            )
        );
    }

    #[test]
    fn results_and_privilege() {
        let lines = vec!["x".to_string(), format!("{RESULT_PREFIX}rolled-back")];
        assert_eq!(parse_result(&lines), Some(AgentResult::RolledBack));
        assert_eq!(parse_result(&lines[..1]), None);
        let admin = Activation::new(&parse_deploy_target("admin@h").unwrap(), true, 30);
        assert!(admin.dir.starts_with("/tmp/clanc-activation-") && admin.dir.len() == 38);
        assert_eq!(&admin.confirm_argv()[..3], ["sudo", "-n", "mv"]);
        let root = Activation::new(&parse_deploy_target("root@h").unwrap(), false, 30);
        assert_eq!(root.confirm_argv()[0], "mv");
        assert_ne!(admin.dir, root.dir);
        let argv = root.launcher_argv(None, "re", None, None, &["a".into(), "b".into()]);
        assert_eq!(argv[6..], ["30", "0", "", "re", "", "", "", "", "a", "b"]);
        let argv = root.launcher_argv(Some("/p"), "re", None, Some(("/s/n", "/s/t")), &[]);
        assert_eq!(argv[6..], ["30", "0", "/p", "re", "", "", "/s/n", "/s/t"]);
        assert_eq!(
            parse_result(&[format!("{RESULT_PREFIX}unchanged")]),
            Some(AgentResult::Unchanged)
        );
        assert_eq!(
            parse_result(&[format!("{RESULT_PREFIX}inhibited")]),
            Some(AgentResult::Inhibited)
        );
    }

    #[test]
    fn only_a_live_switch_is_retried() {
        assert_eq!(
            live_switch_system(&words(
                "sudo -n systemd-run -- /nix/store/a-s/bin/switch-to-configuration switch"
            ))
            .as_deref(),
            Some("/nix/store/a-s")
        );
        assert_eq!(
            live_switch_system(&words(
                "systemd-run -- /s/specialisation/x/bin/switch-to-configuration switch"
            ))
            .as_deref(),
            Some("/s/specialisation/x")
        );
        assert_eq!(
            live_switch_system(&words("systemd-run -- /s/bin/switch-to-configuration boot")),
            None
        );
        assert_eq!(live_switch_system(&words("sudo -n /s/activate")), None);
    }
}
