//! Quoting an argv as one line for a POSIX shell: the one quoter of clanc. The executor
//! sends remote commands through it (ssh joins its arguments with spaces and the target's
//! shell parses the result, so every word must come back exactly as it was) and logs local
//! ones with it; the plan shows every command with it, so what `clanc plan` prints is the
//! line `clanc apply` runs. It lives outside both layers so that `plan` need not import
//! `exec`. Words made only of characters no POSIX shell (sh, dash, bash, zsh) treats
//! specially stay bare; everything else is single-quoted, a `'` written as `'\''`. `{`, `}`,
//! `,` (bash brace expansion), `=` (assignments, zsh's `=cmd`), `~`, globs and whitespace
//! are always quoted.

/// One word as a shell reads it back unchanged.
pub fn quote_word(word: &str) -> String {
    let bare = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@+%".contains(c));
    if bare {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// An argv as one line for a shell (its words quoted by [`quote_word`]).
pub fn command_line(argv: &[String]) -> String {
    argv.iter()
        .map(|w| quote_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    const HOSTILE: [&str; 14] = [
        "web 1",
        "a;touch /tmp/clanc-pwned-quote",
        "$(touch /tmp/clanc-pwned-quote)",
        "`touch /tmp/clanc-pwned-quote`",
        "it's",
        "\"double\"",
        "'single'",
        "{a,b}",
        "~root",
        "*",
        "x=y",
        "a\nb",
        "",
        "back\\slash",
    ];

    /// Runs the quoted line in a real shell and returns the words it received.
    fn round_trip(shell: &str, words: &[&str]) -> Vec<String> {
        let mut argv = vec!["printf".to_string(), "%s\\0".to_string()];
        argv.extend(words.iter().map(|w| w.to_string()));
        let out = Command::new(shell)
            .arg("-c")
            .arg(command_line(&argv))
            .current_dir(std::env::temp_dir())
            .output()
            .expect("the shell runs");
        assert!(out.status.success(), "{shell}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut got: Vec<String> = text.split('\0').map(str::to_string).collect();
        got.pop(); // after the last NUL
        got
    }

    #[test]
    fn hostile_words_reach_the_command_unchanged() {
        let _ = std::fs::remove_file("/tmp/clanc-pwned-quote");
        for shell in ["/bin/sh", "/bin/bash"] {
            assert!(
                std::path::Path::new(shell).exists(),
                "{shell} is missing: the quoting is checked against both shells"
            );
            assert_eq!(round_trip(shell, &HOSTILE), HOSTILE, "{shell}");
        }
        assert!(
            !std::path::Path::new("/tmp/clanc-pwned-quote").exists(),
            "a quoted word ran a command"
        );
    }

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(
            command_line(&[
                "nix-env".into(),
                "-p".into(),
                "/nix/var/nix/profiles/system".into()
            ]),
            "nix-env -p /nix/var/nix/profiles/system"
        );
        assert_eq!(quote_word("it's"), "'it'\\''s'");
        assert_eq!(quote_word("{a,b}"), "'{a,b}'");
        assert_eq!(quote_word("--unit=x"), "'--unit=x'");
        assert_eq!(quote_word(""), "''");
    }
}
