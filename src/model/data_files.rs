//! The clan's JSON data files as Nix reads them: `inventory.json` (clan-core reads it with
//! `builtins.fromJSON` and makes it a module of the inventory) and `flake.lock` (Nix reads it
//! before it evaluates anything). What Nix refuses is an error at its place: N007 for a file
//! that does not parse (a syntax error, a number out of range, a lock Nix cannot read), C011
//! for an `inventory.json` that is not an object. A key written twice in one object is N008
//! (Nix keeps the last one, silently).

use rnix::{TextRange, TextSize};

use super::json_locate;
use crate::diagnostics::Code;
use crate::diagnostics::{Diagnostic, Span};
use crate::modules::flake_lock::FlakeLock;

/// What reading one data file found.
#[derive(Default)]
pub(super) struct DataFindings {
    pub diagnostics: Vec<Diagnostic>,
    /// Why Nix cannot read the file at all (its N007 is among the diagnostics): what the
    /// evaluation would have given is unknown.
    pub unreadable: Option<String>,
}

/// `inventory.json` (its path relative to the clan is `file`).
pub(super) fn inventory_json(file: &str, text: &str) -> DataFindings {
    let mut found = DataFindings::default();
    let value = match parse(file, text) {
        Ok(value) => value,
        Err(Some(failed)) => {
            let (diagnostic, reason) = *failed;
            found.diagnostics.push(diagnostic);
            found.unreadable = Some(reason);
            return found;
        }
        Err(None) => return found,
    };
    if !value.is_object() {
        let start = text.len() - text.trim_start().len();
        let range = TextRange::new(
            TextSize::from(start as u32),
            TextSize::from(text.trim_end().len().max(start) as u32),
        );
        found.diagnostics.push(
            Diagnostic::error(
                Code::C011,
                format!(
                    "`inventory` must be an attribute set, but inventory.json holds {}",
                    describe(&value)
                ),
                Span::new(file, range),
            )
            .with_help(
                "clan-core reads inventory.json as the inventory's own definitions: a JSON \
                 object such as `{ \"machines\": { } }`",
            ),
        );
    }
    found.diagnostics.extend(duplicates(file, text));
    found
}

/// `flake.lock` (its path relative to the clan is `file`).
pub(super) fn flake_lock(file: &str, text: &str) -> DataFindings {
    let mut found = DataFindings::default();
    let value = match parse(file, text) {
        Ok(value) => value,
        Err(Some(failed)) => {
            let (diagnostic, reason) = *failed;
            found.diagnostics.push(diagnostic);
            found.unreadable = Some(reason);
            return found;
        }
        Err(None) => return found,
    };
    // Nix keeps the last of repeated keys where the typed parse refuses them: read the lock
    // as Nix sees it, and point at the original text only for what fails there too.
    let as_nix_sees_it = serde_json::to_string(&value).unwrap_or_default();
    let problem = match FlakeLock::parse(text) {
        Ok(_) => None,
        Err(_) if FlakeLock::parse(&as_nix_sees_it).is_ok() => None,
        Err(_) if !value.is_object() => Some((
            format!("it holds {}, not a JSON object", describe(&value)),
            TextSize::from((text.len() - text.trim_start().len()) as u32),
        )),
        Err(e) => {
            let message = match e.message.find(" at line ") {
                Some(i) => e.message[..i].to_string(),
                None => e.message.clone(),
            };
            Some((message, offset_of(text, e.line, e.column)))
        }
    };
    if let Some((message, at)) = problem {
        let reason = format!("Nix cannot read this lock file: {message}");
        found.diagnostics.push(
            Diagnostic::error(Code::N007, reason.clone(), Span::new(file, TextRange::empty(at)))
                .with_help("Nix reads flake.lock before it evaluates anything: `nix flake lock` writes a new one"),
        );
        found.unreadable = Some(reason);
        return found;
    }
    found.diagnostics.extend(duplicates(file, text));
    found
}

/// The file as JSON; `Err(Some(..))` its N007 and the reason, `Err(None)` when clanc cannot
/// tell (nesting deeper than its parser goes, which Nix's parser may accept).
fn parse(file: &str, text: &str) -> Result<serde_json::Value, Option<Box<(Diagnostic, String)>>> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => Ok(value),
        Err(e) if e.to_string().contains("recursion limit") => Err(None),
        Err(e) => {
            let at = offset_of(text, e.line(), e.column());
            let reason = e.to_string();
            // serde_json words the place itself: keep only what went wrong.
            let what = match reason.find(" at line ") {
                Some(i) => reason[..i].to_string(),
                None => reason.clone(),
            };
            let diagnostic = Diagnostic::error(
                Code::N007,
                format!("{file} is not valid JSON: {what}"),
                Span::new(file, TextRange::empty(at)),
            )
            .with_help("Nix fails on it, and with it the whole evaluation of the clan");
            let reason = format!("{file} is not valid JSON: {what}");
            Err(Some(Box::new((diagnostic, reason))))
        }
    }
}

/// N008 for each key written twice in one object, at the repeated key.
fn duplicates(file: &str, text: &str) -> Vec<Diagnostic> {
    json_locate::duplicate_keys(text)
        .into_iter()
        .map(|(path, key, first, again)| {
            let place = if path.is_empty() {
                "the top-level object".to_string()
            } else {
                format!("`{}`", path.join("."))
            };
            Diagnostic::warning(
                Code::N008,
                format!("key `{key}` appears twice in {place}: Nix keeps only the last one"),
                Span::new(file, again),
            )
            .with_label(Span::new(file, first), "first written here, and dropped")
        })
        .collect()
}

/// The byte offset of a 1-based line and column (serde_json counts the column in bytes; 0
/// is the line's start), clamped to the text and to a character boundary.
fn offset_of(text: &str, line: usize, column: usize) -> TextSize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    TextSize::from(at as u32)
}

fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".to_string(),
        serde_json::Value::Bool(b) => format!("the Boolean {b}"),
        serde_json::Value::Number(n) => format!("the number {n}"),
        serde_json::Value::String(_) => "a string".to_string(),
        serde_json::Value::Array(_) => "a list".to_string(),
        serde_json::Value::Object(_) => "an object".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(found: &DataFindings) -> Vec<Code> {
        found.diagnostics.iter().map(|d| d.code).collect()
    }

    #[test]
    fn malformed_inventory_json_is_reported_at_its_place() {
        let found = inventory_json(
            "inventory.json",
            "{\n  \"machines\": {\n    \"a\": 1e999999 }\n}",
        );
        assert_eq!(codes(&found), [Code::N007]);
        assert!(found.unreadable.is_some());
        let at = usize::from(found.diagnostics[0].span.range.start());
        assert!((28..=40).contains(&at), "at {at}");

        let found = inventory_json("inventory.json", "garbage{{{");
        assert_eq!(codes(&found), [Code::N007]);
        assert_eq!(found.diagnostics[0].span.range.start(), TextSize::from(0));

        for text in ["[]", "null", " 5 ", "\"x\""] {
            let found = inventory_json("inventory.json", text);
            assert_eq!(codes(&found), [Code::C011], "{text}");
            assert!(found.unreadable.is_none());
        }

        let found = inventory_json(
            "inventory.json",
            r#"{"machines": {"a": {}, "a": {"tags": []}}}"#,
        );
        assert_eq!(codes(&found), [Code::N008]);
        assert!(found.diagnostics[0].message.contains("`machines`"));

        let fine = inventory_json("inventory.json", r#"{"machines": {"a": {}}}"#);
        assert!(fine.diagnostics.is_empty() && fine.unreadable.is_none());
    }

    #[test]
    fn malformed_flake_lock_is_reported() {
        let found = flake_lock("flake.lock", "{ \"nodes\": ");
        assert_eq!(codes(&found), [Code::N007]);
        let found = flake_lock(
            "flake.lock",
            r#"{"nodes": {"root": {}}, "root": "root", "version": 4}"#,
        );
        assert_eq!(codes(&found), [Code::N007]);
        assert!(found.diagnostics[0].message.contains("version 4"));
        let found = flake_lock("flake.lock", "null");
        assert_eq!(codes(&found), [Code::N007]);
        let fine = flake_lock(
            "flake.lock",
            r#"{"nodes": {"root": {}}, "root": "root", "version": 7}"#,
        );
        assert!(fine.diagnostics.is_empty() && fine.unreadable.is_none());
    }
}
