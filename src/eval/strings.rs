//! String literal rules: escapes in `"..."` strings, and Nix's lexing and indentation
//! stripping of `''...''` strings (escapes and interpolations end a line's indentation;
//! whitespace-only final lines are ignored and dropped; `''$`, `'''` and `''\x` escapes).

use super::lower::{RawPart, RawPiece};

/// Processes the escapes of a `"..."` string piece: `\n`, `\r`, `\t`, `\x` -> `x`. A raw
/// carriage return (alone or before a newline) becomes a newline, as in Nix's lexer.
pub fn unescape_plain(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            },
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            c => out.push(c),
        }
    }
    out
}

/// A token of an indented string as Nix's lexer makes it. `indentation` is false for
/// escapes and lone `$`/`'`, which end a line's leading whitespace.
enum IndToken {
    Text { text: String, indentation: bool },
    Interpol(rnix::ast::Interpol),
}

fn lex_indented(raw: &str, out: &mut Vec<IndToken>) {
    // Every byte the lexer looks at is ASCII, so runs of text end on character boundaries.
    let bytes = raw.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    let escape = |out: &mut Vec<IndToken>, s: &str| {
        out.push(IndToken::Text {
            text: s.to_string(),
            indentation: false,
        })
    };
    while i < n {
        let at = |k: usize| bytes.get(i + k).copied();
        if at(0) == Some(b'\'') && at(1) == Some(b'\'') {
            match at(2) {
                Some(b'$') => {
                    escape(out, "$");
                    i += 3;
                }
                Some(b'\'') => {
                    escape(out, "''");
                    i += 3;
                }
                Some(b'\\') => {
                    let escaped = raw.get(i + 3..).and_then(|rest| rest.chars().next());
                    match escaped {
                        Some('n') => escape(out, "\n"),
                        Some('r') => escape(out, "\r"),
                        Some('t') => escape(out, "\t"),
                        Some(c) => escape(out, c.encode_utf8(&mut [0; 4])),
                        None => {}
                    }
                    i += 3 + escaped.map_or(1, char::len_utf8);
                }
                _ => {
                    // Cannot happen inside string content; keep the text.
                    escape(out, "''");
                    i += 2;
                }
            }
            continue;
        }
        let start = i;
        while i < n {
            let next = bytes.get(i + 1).copied();
            match bytes[i] {
                b'$' => match next {
                    Some(d) if d != b'{' && d != b'\'' => i += 2,
                    _ => break,
                },
                b'\'' => match next {
                    Some(d) if d != b'\'' && d != b'$' => i += 2,
                    _ => break,
                },
                _ => i += 1,
            }
        }
        // A run ends at an ASCII byte or at the end: on a character boundary (`$x` and `'x`
        // step over a byte of `x`, and the rest of a longer `x` continues the run).
        if i > start {
            out.push(IndToken::Text {
                text: String::from_utf8_lossy(&bytes[start..i]).into_owned(),
                indentation: true,
            });
        } else {
            // A lone `$` or `'`.
            escape(out, &String::from_utf8_lossy(&bytes[i..i + 1]));
            i += 1;
        }
    }
}

/// Lexes and strips an indented string the way Nix 2.8's parser does.
pub fn strip_indented(pieces: Vec<RawPiece>) -> Vec<RawPart> {
    let mut tokens = Vec::new();
    for (index, piece) in pieces.into_iter().enumerate() {
        match piece {
            RawPiece::Text(mut text) => {
                if index == 0 {
                    // The opening `''` swallows spaces up to and including a first newline.
                    let spaces = text.bytes().take_while(|&b| b == b' ').count();
                    if text.as_bytes().get(spaces) == Some(&b'\n') {
                        text = text[spaces + 1..].to_string();
                    }
                }
                lex_indented(&text, &mut tokens);
            }
            RawPiece::Interpol(i) => tokens.push(IndToken::Interpol(i)),
        }
    }

    // The minimum indentation of lines that have something besides spaces.
    let mut at_line_start = true;
    let mut min_indent = usize::MAX;
    let mut cur_indent = 0;
    for token in &tokens {
        match token {
            IndToken::Text {
                text,
                indentation: true,
            } => {
                // Only spaces and newlines matter: bytes will do.
                for &c in text.as_bytes() {
                    if at_line_start {
                        if c == b' ' {
                            cur_indent += 1;
                        } else if c == b'\n' {
                            cur_indent = 0;
                        } else {
                            at_line_start = false;
                            min_indent = min_indent.min(cur_indent);
                        }
                    } else if c == b'\n' {
                        at_line_start = true;
                        cur_indent = 0;
                    }
                }
            }
            _ => {
                if at_line_start {
                    at_line_start = false;
                    min_indent = min_indent.min(cur_indent);
                }
            }
        }
    }

    let mut out = Vec::new();
    let mut at_line_start = true;
    let mut dropped = 0;
    let count = tokens.len();
    for (index, token) in tokens.into_iter().enumerate() {
        match token {
            IndToken::Interpol(i) => {
                at_line_start = false;
                dropped = 0;
                out.push(RawPart::Interpol(i));
            }
            IndToken::Text { text, .. } => {
                // Only spaces are dropped: what is kept is whole characters.
                let mut kept: Vec<u8> = Vec::with_capacity(text.len());
                for &c in text.as_bytes() {
                    if at_line_start {
                        if c == b' ' {
                            if dropped >= min_indent {
                                kept.push(c);
                            }
                            dropped += 1;
                        } else if c == b'\n' {
                            dropped = 0;
                            kept.push(c);
                        } else {
                            at_line_start = false;
                            dropped = 0;
                            kept.push(c);
                        }
                    } else {
                        kept.push(c);
                        if c == b'\n' {
                            at_line_start = true;
                        }
                    }
                }
                let mut s = String::from_utf8(kept)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                if index + 1 == count {
                    // Drop a final line of only spaces.
                    if let Some(p) = s.rfind('\n')
                        && s[p + 1..].bytes().all(|b| b == b' ')
                    {
                        s.truncate(p + 1);
                    }
                }
                out.push(RawPart::Text(s));
            }
        }
    }
    out
}
