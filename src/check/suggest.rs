//! "did you mean `x`?": the closest known name by edit distance, for machines, roles, settings,
//! modules, tags and generators.

/// Levenshtein distance in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The candidate closest to `name`, when it is close enough to be a likely typo: at most a third
/// of the name's length (at least 1, at most 3 edits), or the same name in another case. Ties go
/// to the candidate that comes first.
pub fn closest<'a, I, S>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    let limit = (name.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let candidate = candidate.as_ref();
        if candidate == name {
            continue;
        }
        let distance = if candidate.eq_ignore_ascii_case(name) {
            0
        } else {
            // A prefix of three characters or more (`clan` for `clan-core`) is as good as
            // the farthest typo allowed.
            let prefix = name.len().min(candidate.len()) >= 3
                && (candidate.starts_with(name) || name.starts_with(candidate));
            let distance = edit_distance(name, candidate);
            if prefix {
                distance.min(limit)
            } else {
                distance
            }
        };
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// " did you mean `x`?" or "" (to append to a help text).
pub fn did_you_mean<'a, I, S>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// `a`, `b`, `c` — a list of names for messages (`(none)` when empty).
pub fn list_names<'a, I, S>(names: I) -> String
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    let items: Vec<String> = names
        .into_iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect();
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("cinabar", "cinnabar"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn close_names_are_suggested_far_ones_are_not() {
        let machines = ["cinnabar", "basalt", "rowan"];
        assert_eq!(closest("cinabar", &machines), Some("cinnabar"));
        assert_eq!(closest("rowen", &machines), Some("rowan"));
        assert_eq!(closest("zzzzzz", &machines), None);
        assert_eq!(
            closest("clan", &["nixpkgs", "clan-core"]),
            Some("clan-core")
        );
        assert_eq!(closest("ab", &["abcdef"]), None);
        assert_eq!(closest("Basalt", &machines), Some("basalt"));
        // an exact match is not a suggestion
        assert_eq!(closest("rowan", &machines), None);
        assert_eq!(
            closest("borg-backup", &["borgbackup", "sshd"]),
            Some("borgbackup")
        );
        assert_eq!(
            did_you_mean("servers", &["client", "server"]).as_deref(),
            Some("did you mean `server`?")
        );
        assert_eq!(list_names(&["a", "b"]), "`a`, `b`");
        let none: [&str; 0] = [];
        assert_eq!(list_names(&none), "(none)");
    }
}
