//! Machine selectors (`grammar/selector.ebnf`): `web-*,@gpu,!galena` picks machines by
//! name, glob and tag. Positive terms add what they match, negated terms remove it, left to
//! right; a selector of only negated terms starts from every machine.

use std::collections::BTreeSet;
use std::fmt;

use nom::bytes::complete::{tag, take_while1};
use nom::combinator::{all_consuming, opt};
use nom::{IResult, Parser};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineSelector {
    pub terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub negated: bool,
    pub matcher: Matcher,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matcher {
    Tag(String),
    /// A name, possibly with `*` and `?` wildcards.
    Pattern(String),
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        match &self.matcher {
            Matcher::Tag(t) => write!(f, "@{t}"),
            Matcher::Pattern(p) => f.write_str(p),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectorError {
    pub message: String,
    pub offset: usize,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SelectorError {}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

fn term(input: &str) -> IResult<&str, Term> {
    let (rest, negated) = opt(tag("!")).parse(input)?;
    let (rest, at) = opt(tag("@")).parse(rest)?;
    let (rest, text) = if at.is_some() {
        take_while1(name_char).parse(rest)?
    } else {
        take_while1(|c| name_char(c) || c == '*' || c == '?').parse(rest)?
    };
    let matcher = if at.is_some() {
        Matcher::Tag(text.to_string())
    } else {
        Matcher::Pattern(text.to_string())
    };
    Ok((
        rest,
        Term {
            negated: negated.is_some(),
            matcher,
        },
    ))
}

pub fn parse_selector(text: &str) -> Result<MachineSelector, SelectorError> {
    let mut terms = Vec::new();
    let mut offset = 0;
    for part in text.split(',') {
        let parsed = all_consuming(term).parse(part).map_err(|e| {
            let rest = super::unparsed_rest(&e);
            let found = match rest.chars().next() {
                Some(c) => format!("`{c}`"),
                None if part.is_empty() => "an empty term".to_string(),
                None => "the end of the term".to_string(),
            };
            SelectorError {
                message: format!(
                    "unexpected {found} in machine selector; expected names, globs (`web-*`) \
                     or tags (`@gpu`), separated by commas"
                ),
                offset: offset + part.len() - rest.len(),
            }
        })?;
        terms.push(parsed.1);
        offset += part.len() + 1;
    }
    Ok(MachineSelector { terms })
}

/// A machine as selectors see it.
pub struct Candidate<'a> {
    pub name: &'a str,
    pub tags: &'a [String],
}

/// What a selector picked, and the terms that matched no machine (worth a warning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub machines: BTreeSet<String>,
    pub unmatched: Vec<Term>,
}

impl MachineSelector {
    pub fn select(&self, machines: &[Candidate<'_>]) -> Selection {
        let mut picked: BTreeSet<String> = if self.terms.iter().all(|t| t.negated) {
            machines.iter().map(|m| m.name.to_string()).collect()
        } else {
            BTreeSet::new()
        };
        let mut unmatched = Vec::new();
        for term in &self.terms {
            let matching: Vec<&str> = machines
                .iter()
                .filter(|m| term.matcher.matches(m))
                .map(|m| m.name)
                .collect();
            if matching.is_empty() {
                unmatched.push(term.clone());
            }
            for name in matching {
                if term.negated {
                    picked.remove(name);
                } else {
                    picked.insert(name.to_string());
                }
            }
        }
        Selection {
            machines: picked,
            unmatched,
        }
    }
}

impl Matcher {
    fn matches(&self, machine: &Candidate<'_>) -> bool {
        match self {
            Matcher::Tag(tag) => machine.tags.iter().any(|t| t == tag),
            Matcher::Pattern(pattern) => glob_match(pattern.as_bytes(), machine.name.as_bytes()),
        }
    }
}

/// `*` any run, `?` one character (names are ASCII by the grammar). Iterative, no backtracking
/// blow-up: the classic two-pointer match with one saved star.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == name[n]) {
            p += 1;
            n += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet() -> Vec<(String, Vec<String>)> {
        let m = |name: &str, tags: &[&str]| {
            (
                name.to_string(),
                tags.iter().map(|t| t.to_string()).collect(),
            )
        };
        vec![
            m("cinnabar", &["nixos", "peer", "server"]),
            m("electrum", &["nixos", "peer", "server"]),
            m("galena", &["nixos", "gpu"]),
            m("stibnite", &["darwin", "peer"]),
            m("web-1", &["nixos"]),
            m("web-2", &["nixos"]),
        ]
    }

    fn pick(selector: &str) -> Vec<String> {
        let fleet = fleet();
        let candidates: Vec<Candidate> = fleet
            .iter()
            .map(|(name, tags)| Candidate { name, tags })
            .collect();
        let selection = parse_selector(selector).unwrap().select(&candidates);
        selection.machines.into_iter().collect()
    }

    #[test]
    fn names_globs_tags_and_negation() {
        assert_eq!(pick("cinnabar"), ["cinnabar"]);
        assert_eq!(pick("web-*"), ["web-1", "web-2"]);
        assert_eq!(pick("web-?,galena"), ["galena", "web-1", "web-2"]);
        assert_eq!(pick("@peer,!stibnite"), ["cinnabar", "electrum"]);
        assert_eq!(pick("!@nixos"), ["stibnite"]);
        assert_eq!(pick("*,!*a*"), ["electrum", "stibnite", "web-1", "web-2"]);
    }

    #[test]
    fn terms_that_match_nothing_are_reported() {
        let fleet = fleet();
        let candidates: Vec<Candidate> = fleet
            .iter()
            .map(|(name, tags)| Candidate { name, tags })
            .collect();
        let selection = parse_selector("cinabar,@gpu").unwrap().select(&candidates);
        assert_eq!(selection.unmatched.len(), 1);
        assert_eq!(selection.unmatched[0].to_string(), "cinabar");
    }

    #[test]
    fn bad_selectors_say_where() {
        let e = parse_selector("a,,b").unwrap_err();
        assert_eq!(e.offset, 2);
        let e = parse_selector("a;b").unwrap_err();
        assert_eq!(e.offset, 1);
        assert!(e.message.contains("`;`"));
        assert!(parse_selector("").is_err());
        assert!(parse_selector("@").is_err());
    }

    #[test]
    fn glob_matching_has_no_exponential_case() {
        let name = "a".repeat(200);
        let pattern = "*a".repeat(50) + "b";
        assert!(!glob_match(pattern.as_bytes(), name.as_bytes()));
        assert!(glob_match(b"a*b*c", b"aXXbYYc"));
        assert!(!glob_match(b"a*b", b"ab_"));
        assert!(glob_match(b"*", b""));
    }
}
