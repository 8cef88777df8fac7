//! An upper bound of the two costs [`super::too_costly`] measures, from the bytes of a text
//! alone. The exact measure runs rnix's tokenizer over the whole text, as the parse then does
//! again (about a fifth of a cold check's parsing); this bound is one pass over the bytes, so
//! a text it finds well within the budget is not tokenized twice.
//!
//! The bound must never be lower than the exact measure: a text it lets through unmeasured
//! goes to rnix as it is. So it follows the tokenizer's contexts where they decide what a
//! byte is (code, a `"` or `''` string, an interpolation, a comment) and counts more than the
//! tokenizer would: every byte of code that is not whitespace as a token, every byte of a
//! string as a part of it, and `;` as the only byte that ends an expression. Where a byte
//! could mean two things depending on the token around it (`''` or `/*` right after a name,
//! a path or a URI; `~` not followed by `/`; a text ending inside a string or a comment) it
//! gives no bound, and the exact measure decides.

/// What a byte is in code, for the scan.
const PLAIN: u8 = 0;
const SPACE: u8 = 1;
const SPECIAL: u8 = 2;

/// Bytes of code by class: whitespace, the bytes that open or close a context, a level or an
/// expression, and the rest (parts of tokens).
const CODE_CLASS: [u8; 256] = {
    let mut class = [PLAIN; 256];
    let mut b = 0;
    while b < 256 {
        class[b] = match b as u8 {
            b' ' | b'\t' | b'\n' | b'\r' => SPACE,
            b'#' | b'/' | b'\'' | b'"' | b'~' | b';' | b'(' | b')' | b'[' | b']' | b'{' | b'}' => {
                SPECIAL
            }
            _ => PLAIN,
        };
        b += 1;
    }
    class
};

/// The characters rnix's tokenizer scans ahead over ([`super::PathLookahead`]).
const PATH_CHAR: [bool; 256] = {
    let mut path = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        path[b] = c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'.' | b'+' | b'-' | b'<');
        b += 1;
    }
    path
};

/// Where the bytes are, as rnix's tokenizer would see them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Code,
    /// A `"` string.
    Plain,
    /// A `''` string.
    Indented,
}

/// Whether the bound finds `text` within `budget` for both costs and within `max_nesting`
/// brackets (false: over, or uncertain).
pub(super) fn within(text: &str, budget: u64, max_nesting: usize) -> bool {
    let bytes = text.as_bytes();
    // Far beyond any file clanc reads: the sums below stay far from overflowing.
    if bytes.len() > u32::MAX as usize {
        return false;
    }
    let mut scan = Scan {
        bytes,
        at: 0,
        max_nesting,
        below: Vec::new(),
        flat: false,
        chain: 0,
        depth: 0,
        tree: 0,
        brackets: 0,
        braces: Vec::new(),
    };
    lookahead(bytes) <= budget && scan.run() && scan.tree <= budget
}

/// rnix's lookahead over runs of path characters, bounded by `L(L+1)/2` for a run of `L`
/// (each token starting in the run scans to its end).
fn lookahead(bytes: &[u8]) -> u64 {
    let (mut cost, mut run) = (0u64, 0u64);
    for &b in bytes {
        run = if PATH_CHAR[b as usize] { run + 1 } else { 0 };
        cost += run;
    }
    cost
}

/// [`super::too_costly`]'s estimate of the tree's depth, counted over bytes.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
    max_nesting: usize,
    /// The levels below the current one: whether flat, and their chains.
    below: Vec<(bool, u64)>,
    /// The current level: a list's brackets or a string (their parts do not chain).
    flat: bool,
    chain: u64,
    depth: u64,
    tree: u64,
    brackets: usize,
    /// For each open `{` or `${`: the context its `}` returns to.
    braces: Vec<Context>,
}

impl Scan<'_> {
    /// Runs to the end of the text: false where the bound gives up.
    fn run(&mut self) -> bool {
        let mut context = Context::Code;
        while self.at < self.bytes.len() {
            let next = match context {
                Context::Code => self.code(),
                Context::Plain => self.plain(),
                Context::Indented => self.indented(),
            };
            match next {
                Some(next) => context = next,
                None => return false,
            }
        }
        // A text ending inside a string: the tokenizer's error recovery decides.
        context == Context::Code
    }

    fn byte(&self, k: usize) -> Option<u8> {
        self.bytes.get(self.at + k).copied()
    }

    /// A token at the current level (a byte of one, counted as one).
    fn token(&mut self) {
        self.tokens(1);
    }

    /// `n` tokens at the current level: each adds the depth after its own (which grows by
    /// one in a level that chains).
    fn tokens(&mut self, n: u64) {
        let chained = if self.flat { 0 } else { n };
        let added = n
            .saturating_mul(self.depth)
            .saturating_add(chained.saturating_mul(n.saturating_add(1)) / 2);
        self.tree = self.tree.saturating_add(added);
        self.chain += chained;
        self.depth += chained;
    }

    fn open(&mut self, flat: bool, bracket: bool) -> Option<()> {
        if bracket {
            self.brackets += 1;
            if self.brackets > self.max_nesting {
                return None;
            }
        }
        self.below.push((self.flat, self.chain));
        (self.flat, self.chain) = (flat, 0);
        Some(())
    }

    fn close(&mut self, bracket: bool) {
        if bracket {
            self.brackets = self.brackets.saturating_sub(1);
        }
        if let Some((flat, chain)) = self.below.pop() {
            self.depth -= self.chain;
            (self.flat, self.chain) = (flat, chain);
        }
    }

    /// Code up to the next context change: the context after it.
    fn code(&mut self) -> Option<Context> {
        let bytes = self.bytes;
        loop {
            // Parts of tokens and whitespace up to the next special byte, counted at once.
            let mut parts = 0;
            let mut at = self.at;
            while let Some(&b) = bytes.get(at) {
                match CODE_CLASS[b as usize] {
                    PLAIN => parts += 1,
                    SPACE => {}
                    _ => break,
                }
                at += 1;
            }
            self.at = at;
            self.tokens(parts);
            let Some(&b) = bytes.get(at) else {
                return Some(Context::Code);
            };
            if let Some(context) = self.code_special(b)? {
                return Some(context);
            }
        }
    }

    /// A special byte of code (see `CODE_CLASS`), taken with what belongs to it: a new
    /// context, `None` inside to stay in code, `None` outside to give up.
    fn code_special(&mut self, b: u8) -> Option<Option<Context>> {
        let next = self.byte(1);
        // Only after these is `''` a string and `/*` a comment for certain: a name, a path
        // or a URI (whose characters include `'`, `*`, `=`, `:` and `,`) may go on through
        // them.
        let token_starts = self.at == 0
            || matches!(self.bytes[self.at - 1], b'(' | b'[' | b'{' | b';')
            || self.bytes[self.at - 1].is_ascii_whitespace();
        match (b, next) {
            (b'#', _) => {
                let rest = &self.bytes[self.at..];
                self.at += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                Some(None)
            }
            (b'/', Some(b'*')) => {
                if !token_starts {
                    return None;
                }
                let rest = &self.bytes[self.at + 2..];
                self.at += rest.windows(2).position(|w| w == b"*/")? + 4;
                Some(None)
            }
            (b'\'', Some(b'\'')) => {
                if !token_starts {
                    return None;
                }
                self.token();
                self.open(true, false)?;
                self.at += 2;
                Some(Some(Context::Indented))
            }
            (b'"', _) => {
                self.token();
                self.open(true, false)?;
                self.at += 1;
                Some(Some(Context::Plain))
            }
            // `~x`: the tokenizer takes the byte after `~` into an error token.
            (b'~', next) if next != Some(b'/') => None,
            (b';', _) => {
                self.depth -= self.chain;
                self.chain = 0;
                self.at += 1;
                Some(None)
            }
            (b')' | b']', _) => {
                self.close(true);
                self.at += 1;
                Some(None)
            }
            (b'}', _) => {
                self.close(true);
                self.at += 1;
                match self.braces.pop() {
                    Some(Context::Code) | None => Some(None),
                    Some(string) => Some(Some(string)),
                }
            }
            (b'(' | b'[' | b'{', _) => {
                self.token();
                self.open(b == b'[', true)?;
                if b == b'{' {
                    self.braces.push(Context::Code);
                }
                self.at += 1;
                Some(None)
            }
            // `~/`, `/` not starting a comment, a single `'`: parts of tokens.
            _ => {
                self.token();
                self.at += 1;
                Some(None)
            }
        }
    }

    /// A `"` string up to its end or an interpolation: the context after it.
    fn plain(&mut self) -> Option<Context> {
        loop {
            let rest = &self.bytes[self.at..];
            let run = (rest.iter()).position(|&b| matches!(b, b'"' | b'\\' | b'$'));
            let run = run.unwrap_or(rest.len());
            self.tokens(run as u64);
            self.at += run;
            let Some(b) = self.byte(0) else {
                return Some(Context::Plain);
            };
            match (b, self.byte(1)) {
                (b'"', _) => {
                    self.close(false);
                    self.at += 1;
                    return Some(Context::Code);
                }
                (b'$', Some(b'{')) => return self.interpolation(Context::Plain),
                (b'\\', Some(_)) | (b'$', Some(b'$')) => self.at += 2,
                _ => self.at += 1,
            }
            self.token();
        }
    }

    /// A `''` string up to its end or an interpolation: the context after it.
    fn indented(&mut self) -> Option<Context> {
        loop {
            let rest = &self.bytes[self.at..];
            let run = (rest.iter()).position(|&b| matches!(b, b'\'' | b'$'));
            let run = run.unwrap_or(rest.len());
            self.tokens(run as u64);
            self.at += run;
            let Some(b) = self.byte(0) else {
                return Some(Context::Indented);
            };
            match (b, self.byte(1), self.byte(2)) {
                (b'\'', Some(b'\''), Some(b'\'' | b'$')) => self.at += 3,
                // `''\` escapes the character after it (a byte of it: the rest of a longer
                // one is string all the same).
                (b'\'', Some(b'\''), Some(b'\\')) => {
                    self.byte(3)?;
                    self.at += 4;
                }
                (b'\'', Some(b'\''), _) => {
                    self.close(false);
                    self.at += 2;
                    return Some(Context::Code);
                }
                (b'$', Some(b'{'), _) => return self.interpolation(Context::Indented),
                (b'$', Some(b'$'), _) => self.at += 2,
                _ => self.at += 1,
            }
            self.token();
        }
    }

    /// `${` in a string: code until its `}`, which returns to `back`.
    fn interpolation(&mut self, back: Context) -> Option<Context> {
        self.token();
        self.open(false, true)?;
        self.braces.push(back);
        self.at += 2;
        Some(Context::Code)
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::syntax::{MAX_NESTING, cost_budget, measure_cost};

    /// Pieces of Nix, and the pieces whose meaning depends on the token around them.
    const PIECES: &[&str] = &[
        " ",
        "\n",
        "\t",
        "a",
        "b1",
        "x'",
        "-",
        "+",
        "!",
        "?",
        ".",
        "/",
        "//",
        "*",
        "<",
        ">",
        "=",
        "==",
        ":",
        ",",
        ";",
        "@",
        "~",
        "~/",
        "$",
        "${",
        "$$",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\\",
        "\\\"",
        "''",
        "'''",
        "''$",
        "''\\",
        "'",
        "#",
        "# c\n",
        "/*",
        "*/",
        "/* c */",
        "./p",
        "/abs",
        "<nixpkgs>",
        "<a",
        "http://h/*x",
        "u:x''",
        "let ",
        " in ",
        "if ",
        "1",
        "2.5",
        "é",
        "\u{a0}",
    ];

    fn random_text(rng: &mut StdRng) -> String {
        let n = rng.gen_range(0..48);
        (0..n)
            .map(|_| PIECES[rng.gen_range(0..PIECES.len())])
            .collect()
    }

    /// Wherever the bound vouches for a text, the measure on rnix's tokens finds it within
    /// the same budget and nesting, for budgets small enough that the two are close.
    #[test]
    fn the_bound_is_never_below_the_measure() {
        let mut rng = StdRng::seed_from_u64(22);
        let mut vouched = 0;
        for _ in 0..30_000 {
            let text = random_text(&mut rng);
            for budget in [0, 2, 8, 30, 120, 500, cost_budget(&text)] {
                for nesting in [0, 1, 2, 4, MAX_NESTING] {
                    if within(&text, budget, nesting) {
                        vouched += 1;
                        assert_eq!(
                            measure_cost(&text, budget, nesting),
                            None,
                            "{text:?} with budget {budget}, nesting {nesting}"
                        );
                    }
                }
            }
        }
        // Not vacuous: most of the small budgets are crossed, many are not.
        assert!(vouched > 100_000, "{vouched}");
    }

    /// The same over the repository's own Nix (fixtures, golden inputs, clanc's modules),
    /// with budgets from tight to the real one.
    #[test]
    fn the_bound_holds_on_the_repositorys_nix_files() {
        let mut dirs = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))];
        let (mut files, mut vouched) = (0, 0);
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name();
                if path.is_dir() && name != "target" && name != ".git" {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "nix")
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    files += 1;
                    let real = cost_budget(&text);
                    for budget in [text.len() as u64, 4 * text.len() as u64, real] {
                        if within(&text, budget, MAX_NESTING) {
                            vouched += 1;
                            let measured = measure_cost(&text, budget, MAX_NESTING);
                            assert_eq!(measured, None, "{} at {budget}", path.display());
                        }
                    }
                }
            }
        }
        assert!(
            files > 100 && vouched > files,
            "{files} files, {vouched} vouched"
        );
    }

    #[test]
    fn ordinary_code_is_vouched_for_and_quadratic_text_is_not() {
        let module = r#"{ config, lib, pkgs, ... }:
let
  cfg = config.services.thing; # comment
in
{
  /* a block comment */
  options.services.thing.enable = lib.mkEnableOption "thing ${cfg.name}";
  config = lib.mkIf cfg.enable {
    environment.etc."thing.conf".text = ''
      name = ${cfg.name}
      quoted = '''x''' and ''${not interpolated}
    '';
    networking.firewall.allowedTCPPorts = [ 80 443 ];
    users.users.admin.openssh.authorizedKeys.keys = [ "ssh-ed25519 AAAA" ];
  };
}
"#;
        let big = module.repeat(200);
        for text in [module, big.as_str()] {
            assert!(within(text, cost_budget(text), MAX_NESTING), "{text}");
        }
        for hostile in ["!".repeat(100_000), "-".repeat(100_000), "[".repeat(6_000)] {
            assert!(!within(&hostile, cost_budget(&hostile), MAX_NESTING));
        }
        // Uncertain: the exact measure decides.
        for unsure in ["a''b", "x=''s''", "./a/*b", "~x", "\"open", "/* open"] {
            assert!(!within(unsure, u64::MAX, MAX_NESTING), "{unsure}");
        }
    }
}
