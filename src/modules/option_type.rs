//! Option types of the module system (`lib.types.*`) as checkable data. Built-in services only
//! come with nixpkgs' description of a type ("list of string", "null or (submodule)"), so this
//! also reads those descriptions back into types. What it cannot read stays `Unchecked`, which
//! accepts every value: no false errors.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OptionType {
    Str,
    /// `types.singleLineStr`.
    SingleLineStr,
    /// `types.lines` and `types.separatedString`: strings concatenated with a separator.
    Separated(String),
    /// `types.strMatching`: the whole string matches this (POSIX extended) pattern.
    StrMatching(String),
    Bool,
    /// `types.int` and the `types.ints.*` ranges (bounds inclusive).
    Int {
        min: Option<i64>,
        max: Option<i64>,
    },
    Float,
    Path {
        absolute: bool,
    },
    Enum(Vec<EnumValue>),
    NullOr(Box<OptionType>),
    ListOf(Box<OptionType>),
    AttrsOf(Box<OptionType>),
    /// `types.either`/`types.oneOf`: any of these.
    Either(Vec<OptionType>),
    /// An attribute set whose own options are not known here.
    Submodule,
    /// `types.attrs`.
    Attrs,
    Package,
    /// raw, anything, unspecified, and every description this cannot read.
    Unchecked(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EnumValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl fmt::Display for EnumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnumValue::Str(s) => write!(f, "\"{s}\""),
            EnumValue::Int(i) => write!(f, "{i}"),
            EnumValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl OptionType {
    /// Reads nixpkgs' description of a type. Parts it cannot read become `Unchecked`, so
    /// "list of raw value" still checks that the value is a list.
    pub fn from_description(text: &str) -> OptionType {
        parse(text.trim())
    }

    /// Whether every value passes (nothing can be checked).
    #[cfg(test)]
    pub fn is_unchecked(&self) -> bool {
        matches!(self, OptionType::Unchecked(_))
    }
}

fn parse(text: &str) -> OptionType {
    let text = strip_group(text);
    let unchecked = || OptionType::Unchecked(text.to_string());
    let alternatives = split_top_level(text, " or ");
    if alternatives.len() > 1 {
        // `null or X` is nullOr; `A or B or C` is either/oneOf; `one of "a", "b" or X` is an
        // enum that is itself one of the alternatives.
        if let Some(rest) = text.strip_prefix("null or ") {
            return OptionType::NullOr(Box::new(parse(rest)));
        }
        return OptionType::Either(alternatives.into_iter().map(parse).collect());
    }
    if let Some(inner) = text.strip_prefix("list of ") {
        return OptionType::ListOf(Box::new(parse(inner)));
    }
    if let Some(inner) = text
        .strip_prefix("attribute set of ")
        .or_else(|| text.strip_prefix("lazy attribute set of "))
    {
        return OptionType::AttrsOf(Box::new(parse(inner)));
    }
    if let Some(values) = text.strip_prefix("one of ") {
        return enum_values(values).map_or_else(unchecked, OptionType::Enum);
    }
    if let Some(pattern) = text.strip_prefix("string matching the pattern ") {
        return OptionType::StrMatching(pattern.to_string());
    }
    if let Some(sep) = text
        .strip_prefix("strings concatenated with ")
        .and_then(|s| s.strip_prefix('"'))
        .and_then(|s| s.strip_suffix('"'))
    {
        return OptionType::Separated(sep.replace("\\n", "\n"));
    }
    if let Some(range) = int_range(text) {
        return range;
    }
    match text {
        "string" | "str" => OptionType::Str,
        "(optionally newline-terminated) single-line string" => OptionType::SingleLineStr,
        "boolean" => OptionType::Bool,
        "signed integer" => OptionType::Int {
            min: None,
            max: None,
        },
        "floating point number" => OptionType::Float,
        "path" => OptionType::Path { absolute: false },
        "absolute path" => OptionType::Path { absolute: true },
        "submodule" => OptionType::Submodule,
        "attribute set" => OptionType::Attrs,
        "package" => OptionType::Package,
        _ => unchecked(),
    }
}

/// `16 bit unsigned integer; between 0 and 65535 (both inclusive)`, `integer between 1 and 9
/// (both inclusive)`, `unsigned integer, meaning >=0`, `positive integer, meaning >0`.
fn int_range(text: &str) -> Option<OptionType> {
    match text {
        "unsigned integer, meaning >=0" => {
            return Some(OptionType::Int {
                min: Some(0),
                max: None,
            });
        }
        "positive integer, meaning >0" => {
            return Some(OptionType::Int {
                min: Some(1),
                max: None,
            });
        }
        _ => {}
    }
    let between = text
        .split_once("between ")?
        .1
        .strip_suffix(" (both inclusive)")?;
    let (min, max) = between.split_once(" and ")?;
    Some(OptionType::Int {
        min: Some(min.parse().ok()?),
        max: Some(max.parse().ok()?),
    })
}

/// `"a", "b", 3` — the values of `types.enum`.
fn enum_values(text: &str) -> Option<Vec<EnumValue>> {
    split_top_level(text, ", ")
        .into_iter()
        .map(|v| {
            if let Some(s) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(EnumValue::Str(s.to_string()))
            } else if let Ok(i) = v.parse() {
                Some(EnumValue::Int(i))
            } else {
                match v {
                    "true" => Some(EnumValue::Bool(true)),
                    "false" => Some(EnumValue::Bool(false)),
                    _ => None,
                }
            }
        })
        .collect()
}

/// `(X)` -> `X` when the parentheses enclose the whole text.
fn strip_group(text: &str) -> &str {
    match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) if balanced(inner) => inner,
        _ => text,
    }
}

fn balanced(text: &str) -> bool {
    let mut depth = 0i32;
    let mut in_string = false;
    for c in text.chars() {
        match c {
            '"' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Splits at `sep` outside parentheses and quotes.
fn split_top_level<'a>(text: &'a str, sep: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let (mut depth, mut in_string, mut start) = (0i32, false, 0);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'(' if !in_string => depth += 1,
            b')' if !in_string => depth -= 1,
            _ if !in_string && depth == 0 && text[i..].starts_with(sep) => {
                parts.push(&text[start..i]);
                i += sep.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::OptionType::*;
    use super::*;

    fn t(text: &str) -> OptionType {
        OptionType::from_description(text)
    }

    #[test]
    fn descriptions_become_types() {
        assert_eq!(t("string"), Str);
        assert_eq!(t("list of string"), ListOf(Box::new(Str)));
        assert_eq!(
            t("attribute set of (submodule)"),
            AttrsOf(Box::new(Submodule))
        );
        assert_eq!(t("null or (submodule)"), NullOr(Box::new(Submodule)));
        assert_eq!(
            t("16 bit unsigned integer; between 0 and 65535 (both inclusive)"),
            Int {
                min: Some(0),
                max: Some(65535)
            }
        );
        assert_eq!(
            t("attribute set of (string or signed integer or boolean)"),
            AttrsOf(Box::new(Either(vec![
                Str,
                Int {
                    min: None,
                    max: None
                },
                Bool
            ])))
        );
        assert_eq!(
            t("one of \"fatal\", \"error\""),
            Enum(vec![
                EnumValue::Str("fatal".into()),
                EnumValue::Str("error".into())
            ])
        );
        assert_eq!(
            t("one of \"all\", \"nixos\" or list of string"),
            Either(vec![
                Enum(vec![
                    EnumValue::Str("all".into()),
                    EnumValue::Str("nixos".into())
                ]),
                ListOf(Box::new(Str))
            ])
        );
        assert_eq!(
            t("null or strings concatenated with \"\\n\""),
            NullOr(Box::new(Separated("\n".into())))
        );
        assert_eq!(
            t("string matching the pattern ^[a-zA-Z0-9._-]+$"),
            StrMatching("^[a-zA-Z0-9._-]+$".into())
        );
        assert_eq!(
            t("list of (optionally newline-terminated) single-line string"),
            ListOf(Box::new(SingleLineStr))
        );
    }

    #[test]
    fn what_cannot_be_read_is_unchecked() {
        assert!(t("unspecified value").is_unchecked());
        assert_eq!(
            t("list of raw value"),
            ListOf(Box::new(Unchecked("raw value".into())))
        );
        assert!(t("function that evaluates to a(n) string").is_unchecked());
        assert!(t("one of frobnicated values").is_unchecked());
    }
}
