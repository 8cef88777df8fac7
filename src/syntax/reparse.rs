//! Parsing a file's new text from the tree of its previous text. When an edit changed only
//! the text of literal tokens (string contents, numbers) and of comments and whitespace, and
//! no token appeared, vanished or changed kind, the parser would build the same tree with
//! those tokens' texts replaced: the tree is patched instead (the path from each changed
//! token to the root is rebuilt, the rest shared). Typing in a large inventory file is mostly
//! such edits. Anything else is parsed from scratch; either way the result is what [`parse`]
//! gives for the new text.

use rowan::GreenToken;

use super::{Parse, SyntaxKind, SyntaxNode, parse};

/// More changed tokens than this: parse from scratch (patching is for typing, not rewrites).
const MAX_PATCHED_TOKENS: usize = 16;

/// The parse of `new_text`, reusing `old`, the parse of an earlier text of the same file.
pub fn reparse(old: &Parse, new_text: &str) -> Parse {
    patched(old, new_text).unwrap_or_else(|| parse(new_text))
}

/// Tokens whose text may change without changing the tree around them.
fn replaceable(kind: SyntaxKind) -> bool {
    matches!(
        kind,
        SyntaxKind::TOKEN_STRING_CONTENT
            | SyntaxKind::TOKEN_INTEGER
            | SyntaxKind::TOKEN_FLOAT
            | SyntaxKind::TOKEN_COMMENT
            | SyntaxKind::TOKEN_WHITESPACE
    )
}

fn patched(old: &Parse, new_text: &str) -> Option<Parse> {
    // Errors have positions and rnix's recovery depends on more than token kinds.
    if !old.errors.is_empty() {
        return None;
    }
    let root = old.syntax();
    let mut old_tokens = root
        .descendants_with_tokens()
        .filter_map(|e| e.into_token());
    let mut changes = Vec::new();
    // The old text passed `parse`'s cost check and the tree keeps its shape, but longer
    // literals can lengthen runs rnix's tokenizer scans ahead over: counted as `parse` does,
    // and past its budget the new text goes to `parse`, which refuses it.
    let mut lookahead = super::PathLookahead::new(new_text);
    let mut offset = 0;
    for (kind, text) in rnix::tokenize(new_text) {
        if !lookahead.token_at(offset) {
            return None;
        }
        offset += text.len();
        let token = old_tokens.next()?;
        if token.kind() != kind {
            return None;
        }
        if token.text() != text {
            if !replaceable(kind) || changes.len() == MAX_PATCHED_TOKENS {
                return None;
            }
            changes.push((token, text));
        }
    }
    if old_tokens.next().is_some() {
        return None;
    }
    // From the last change to the first: a token before the ones replaced so far is still
    // where it was in the old text.
    let mut green = old.green.clone();
    for (token, text) in changes.into_iter().rev() {
        let start = token.text_range().start();
        let current = SyntaxNode::new_root(green)
            .token_at_offset(start)
            .find(|t| t.text_range().start() == start && t.kind() == token.kind())?;
        let kind = rowan::SyntaxKind(token.kind() as u16);
        green = current.replace_with(GreenToken::new(kind, text));
    }
    // The same tree shape and identifiers: the duplicate-formals check finds nothing new.
    Some(Parse {
        green,
        errors: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every edit: the reparse equals a parse from scratch. Whether it patched.
    fn same_as_parse(old_text: &str, new_text: &str) -> bool {
        same_as_parse_of(&parse(old_text), new_text)
    }

    fn same_as_parse_of(old: &Parse, new_text: &str) -> bool {
        let patched = patched(old, new_text);
        let fresh = parse(new_text);
        assert_eq!(reparse(old, new_text), fresh, "-> {new_text:?}");
        patched.is_some()
    }

    #[test]
    fn literal_and_trivia_edits_patch_the_tree() {
        let old =
            "# hosts\n{\n  a = \"x\";\n  b = 1;\n  c = ''\n    y ${z}\n  '';\n  d = 1.5;\n}\n";
        for new in [
            "# the hosts\n{\n  a = \"x\";\n  b = 1;\n  c = ''\n    y ${z}\n  '';\n  d = 1.5;\n}\n",
            "# hosts\n{\n  a = \"root@x.example.org\";\n  b = 1;\n  c = ''\n    y ${z}\n  '';\n  d = 1.5;\n}\n",
            "# hosts\n{\n  a = \"x\";\n  b = 123456789012345678901234567890;\n  c = ''\n    y ${z}\n  '';\n  d = 1.5;\n}\n",
            "# hosts\n{\n    a = \"x\";\n  b = 1;\n  c = ''\n    yy ${z} w\n  '';\n  d = 2.25;\n}\n",
            "# hosts\n{\n  a = \"\\\"x\\n\";\n  b = 1;\n  c = ''\n    y ${z}\n  '';\n  d = 1.5;\n}\n",
        ] {
            assert!(same_as_parse(old, new), "patched: {new:?}");
        }
    }

    #[test]
    fn other_edits_parse_from_scratch() {
        let old = "{\n  a = \"x\";\n  b = 1;\n}\n";
        for new in [
            // a name, a new token, a vanished token, a string that became empty, kinds changed
            "{\n  aa = \"x\";\n  b = 1;\n}\n",
            "{\n  a = \"x\";\n  b = 1; # one\n}\n",
            "{\n  a = \"x\";\n  b = 1;}\n",
            "{\n  a = \"\";\n  b = 1;\n}\n",
            "{\n  a = \"x\";\n  b = 1.0;\n}\n",
            "{\n  a = \"${x}\";\n  b = 1;\n}\n",
            // errors: the new text's are found
            "{\n  a = \"x\"\n  b = 1;\n}\n",
        ] {
            assert!(!same_as_parse(old, new), "not patched: {new:?}");
        }
        // an old text with errors is never patched
        assert!(!same_as_parse("{ a = 1 }", "{ a = 2 }"));
    }

    /// A literal edit that makes rnix's tokenizer scan ahead quadratically (a number grown to
    /// a megabyte inside a long run of `1-1-1…`) is not patched but refused as `parse` refuses
    /// it, at once, and not after the tokenizer's quadratic work.
    #[test]
    fn a_literal_edit_past_the_parse_budget_is_refused_as_parse_refuses_it() {
        let old = format!("[ ({}1) ]", "1-".repeat(1000));
        assert!(parse(&old).errors.is_empty());
        let new = format!("[ ({}{}) ]", "1-".repeat(1000), "1".repeat(1 << 20));
        let started = std::time::Instant::now();
        assert!(!same_as_parse(&old, &new));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let refused = reparse(&parse(&old), &new);
        assert_eq!(refused.errors.len(), 1, "{:?}", refused.errors);
        assert!(
            refused.errors[0].message.contains("run together"),
            "{:?}",
            refused.errors
        );
    }

    #[test]
    fn every_literal_of_the_fixtures_edited_alone_patches_to_the_same_tree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files = Vec::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("fixtures readable")
                .flatten()
            {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "nix") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 20, "{} fixture files", files.len());
        let mut patched_count = 0;
        for path in files {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let old = parse(&text);
            let mut offset = 0;
            for (kind, token) in rnix::tokenize(&text) {
                let start = offset;
                offset += token.len();
                let edit = match kind {
                    SyntaxKind::TOKEN_STRING_CONTENT => format!("{token}x"),
                    SyntaxKind::TOKEN_INTEGER => format!("{token}7"),
                    SyntaxKind::TOKEN_COMMENT if token.starts_with('#') => format!("{token} z"),
                    _ => continue,
                };
                let new = format!("{}{edit}{}", &text[..start], &text[offset..]);
                if same_as_parse_of(&old, &new) {
                    patched_count += 1;
                }
            }
        }
        assert!(patched_count > 100, "{patched_count} edits patched");
    }
}
