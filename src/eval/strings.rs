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
    let chars: Vec<char> = raw.chars().collect();
    let n = chars.len();
    let mut i = 0;
    let escape = |out: &mut Vec<IndToken>, s: &str| {
        out.push(IndToken::Text {
            text: s.to_string(),
            indentation: false,
        })
    };
    while i < n {
        let at = |k: usize| chars.get(i + k).copied();
        if at(0) == Some('\'') && at(1) == Some('\'') {
            match at(2) {
                Some('$') => {
                    escape(out, "$");
                    i += 3;
                }
                Some('\'') => {
                    escape(out, "''");
                    i += 3;
                }
                Some('\\') => {
                    match at(3) {
                        Some('n') => escape(out, "\n"),
                        Some('r') => escape(out, "\r"),
                        Some('t') => escape(out, "\t"),
                        Some(c) => escape(out, &c.to_string()),
                        None => {}
                    }
                    i += 4;
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
        let mut run = String::new();
        while i < n {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match c {
                '$' => match next {
                    Some(d) if d != '{' && d != '\'' => {
                        run.push(c);
                        run.push(d);
                        i += 2;
                    }
                    _ => break,
                },
                '\'' => match next {
                    Some(d) if d != '\'' && d != '$' => {
                        run.push(c);
                        run.push(d);
                        i += 2;
                    }
                    _ => break,
                },
                c => {
                    run.push(c);
                    i += 1;
                }
            }
        }
        if i > start {
            out.push(IndToken::Text {
                text: run,
                indentation: true,
            });
        } else {
            escape(out, &chars[i].to_string());
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
                for c in text.chars() {
                    if at_line_start {
                        if c == ' ' {
                            cur_indent += 1;
                        } else if c == '\n' {
                            cur_indent = 0;
                        } else {
                            at_line_start = false;
                            min_indent = min_indent.min(cur_indent);
                        }
                    } else if c == '\n' {
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
                let mut s = String::with_capacity(text.len());
                for c in text.chars() {
                    if at_line_start {
                        if c == ' ' {
                            if dropped >= min_indent {
                                s.push(c);
                            }
                            dropped += 1;
                        } else if c == '\n' {
                            dropped = 0;
                            s.push(c);
                        } else {
                            at_line_start = false;
                            dropped = 0;
                            s.push(c);
                        }
                    } else {
                        s.push(c);
                        if c == '\n' {
                            at_line_start = true;
                        }
                    }
                }
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
