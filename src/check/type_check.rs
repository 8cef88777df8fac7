//! Whether a settings value has an option's type (`lib.types.*` as `OptionType`), the way the
//! module system's `check` functions decide it. Everything that is not known for sure passes:
//! unknown values, functions, `mkIf` with an unknown condition, and `Unchecked` types.

use std::sync::{Mutex, OnceLock};

use crate::diagnostics::Span;
use crate::model::{Data, Known, Spanned};
use crate::modules::option_type::OptionType;

/// A value that does not have its type: what was expected, what was found, and where the
/// offending part is (an element of a list or attribute set, when it has a span).
#[derive(Clone, Debug, PartialEq)]
pub struct TypeMismatch {
    pub expected: String,
    pub found: String,
    pub span: Option<Span>,
}

/// Checks `data` against `option_type`.
pub fn type_check(option_type: &OptionType, data: &Data) -> Result<(), TypeMismatch> {
    check(option_type, data, None)
}

fn mismatch(option_type: &OptionType, data: &Data, span: Option<&Span>) -> TypeMismatch {
    TypeMismatch {
        expected: describe(option_type),
        found: describe_value(data),
        span: span.cloned(),
    }
}

fn check_spanned(option_type: &OptionType, data: &Spanned<Data>) -> Result<(), TypeMismatch> {
    check(option_type, &data.value, data.span.as_ref())
}

fn check(option_type: &OptionType, data: &Data, span: Option<&Span>) -> Result<(), TypeMismatch> {
    // Wrappers and unknowns first: they are the same for every type.
    match data {
        Data::Unknown(_) | Data::Function => return Ok(()),
        Data::Override { content, .. } | Data::Order { content, .. } => {
            return check_spanned(option_type, content);
        }
        Data::If { condition, content } => {
            return match condition {
                Known::Known(true) => check_spanned(option_type, content),
                // A false condition defines nothing; an unknown one may: not an error.
                Known::Known(false) | Known::Unknown(_) => Ok(()),
            };
        }
        Data::Merge(items) => {
            return items
                .iter()
                .try_for_each(|item| check_spanned(option_type, item));
        }
        _ => {}
    }
    let ok = match option_type {
        OptionType::Unchecked(_) => true,
        OptionType::Str | OptionType::Separated(_) => matches!(data, Data::String(_)),
        OptionType::SingleLineStr => match data {
            Data::String(s) => !s.strip_suffix('\n').unwrap_or(s).contains('\n'),
            _ => false,
        },
        OptionType::StrMatching(pattern) => match data {
            Data::String(s) => matches_whole(pattern, s),
            _ => false,
        },
        OptionType::Bool => matches!(data, Data::Bool(_)),
        OptionType::Int { min, max } => match data {
            Data::Int(i) => min.is_none_or(|m| *i >= m) && max.is_none_or(|m| *i <= m),
            _ => false,
        },
        // `types.float` rejects integers too.
        OptionType::Float => matches!(data, Data::Float(_)),
        // `types.path` and `types.pathWith`: a path, or a string that starts with `/`.
        OptionType::Path { .. } => match data {
            Data::Path(_) => true,
            Data::String(s) => s.starts_with('/'),
            _ => false,
        },
        OptionType::Enum(values) => values.iter().any(|v| match (v, data) {
            (crate::modules::option_type::EnumValue::Str(a), Data::String(b)) => a == b,
            (crate::modules::option_type::EnumValue::Int(a), Data::Int(b)) => a == b,
            (crate::modules::option_type::EnumValue::Bool(a), Data::Bool(b)) => a == b,
            _ => false,
        }),
        OptionType::NullOr(inner) => {
            return match data {
                Data::Null => Ok(()),
                _ => check(inner, data, span).map_err(|e| widen(e, option_type, data, span)),
            };
        }
        OptionType::ListOf(inner) => {
            return match data {
                Data::List(items) => items.iter().try_for_each(|i| check_spanned(inner, i)),
                _ => Err(mismatch(option_type, data, span)),
            };
        }
        OptionType::AttrsOf(inner) => {
            return match data {
                Data::Attrs(entries) => entries.values().try_for_each(|v| check_spanned(inner, v)),
                _ => Err(mismatch(option_type, data, span)),
            };
        }
        OptionType::Either(alternatives) => alternatives
            .iter()
            .any(|alternative| check(alternative, data, span).is_ok()),
        // A submodule takes a module: an attribute set, a function or a file.
        OptionType::Submodule => matches!(data, Data::Attrs(_) | Data::Path(_)),
        OptionType::Attrs => matches!(data, Data::Attrs(_)),
        // A derivation (an attribute set) or a store path string; never a number, a boolean,
        // null or a list.
        OptionType::Package => matches!(data, Data::Attrs(_) | Data::String(_) | Data::Path(_)),
    };
    if ok {
        Ok(())
    } else {
        Err(mismatch(option_type, data, span))
    }
}

/// `null or X`: a mismatch of the whole value reports the whole type; one inside a list or
/// attribute set keeps the element's.
fn widen(
    e: TypeMismatch,
    option_type: &OptionType,
    data: &Data,
    span: Option<&Span>,
) -> TypeMismatch {
    if e.span.as_ref() == span {
        mismatch(option_type, data, span)
    } else {
        e
    }
}

/// Whether the whole string matches a `types.strMatching` pattern (POSIX extended, which the
/// `regex` crate reads the same for the patterns options use). A pattern it cannot read
/// matches everything: no false errors.
fn matches_whole(pattern: &str, text: &str) -> bool {
    static CACHE: OnceLock<Mutex<std::collections::HashMap<String, Option<regex::Regex>>>> =
        OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let compiled = cache
        .entry(pattern.to_string())
        .or_insert_with(|| regex::Regex::new(&format!("^(?:{pattern})$")).ok());
    compiled.as_ref().is_none_or(|re| re.is_match(text))
}

/// nixpkgs' description of a type, as the module system prints it.
pub fn describe(option_type: &OptionType) -> String {
    let group = |t: &OptionType| {
        let text = describe(t);
        if matches!(
            t,
            OptionType::NullOr(_)
                | OptionType::ListOf(_)
                | OptionType::AttrsOf(_)
                | OptionType::Either(_)
                | OptionType::Submodule
        ) {
            format!("({text})")
        } else {
            text
        }
    };
    match option_type {
        OptionType::Str => "string".to_string(),
        OptionType::SingleLineStr => "(optionally newline-terminated) single-line string".into(),
        OptionType::Separated(sep) => {
            format!("strings concatenated with \"{}\"", sep.replace('\n', "\\n"))
        }
        OptionType::StrMatching(p) => format!("string matching the pattern {p}"),
        OptionType::Bool => "boolean".to_string(),
        OptionType::Int { min, max } => match (min, max) {
            (None, None) => "signed integer".to_string(),
            (Some(0), Some(65535)) => {
                "16 bit unsigned integer; between 0 and 65535 (both inclusive)".to_string()
            }
            (Some(0), None) => "unsigned integer, meaning >=0".to_string(),
            (Some(1), None) => "positive integer, meaning >0".to_string(),
            (Some(a), Some(b)) => format!("integer between {a} and {b} (both inclusive)"),
            (None, Some(b)) => format!("integer at most {b}"),
            (Some(a), None) => format!("integer at least {a}"),
        },
        OptionType::Float => "floating point number".to_string(),
        OptionType::Path { absolute: true } => "absolute path".to_string(),
        OptionType::Path { absolute: false } => "path".to_string(),
        OptionType::Enum(values) => {
            let values: Vec<String> = values.iter().map(ToString::to_string).collect();
            format!("one of {}", values.join(", "))
        }
        OptionType::NullOr(inner) => format!("null or {}", group(inner)),
        OptionType::ListOf(inner) => format!("list of {}", group(inner)),
        OptionType::AttrsOf(inner) => format!("attribute set of {}", group(inner)),
        OptionType::Either(all) => all.iter().map(group).collect::<Vec<_>>().join(" or "),
        OptionType::Submodule => "submodule".to_string(),
        OptionType::Attrs => "attribute set".to_string(),
        OptionType::Package => "package".to_string(),
        OptionType::Unchecked(text) => text.clone(),
    }
}

/// What a value is, for "found ..." ("the string \"51820\"", "the integer 70022").
pub fn describe_value(data: &Data) -> String {
    match data {
        Data::Null => "null".to_string(),
        Data::Bool(b) => format!("the boolean {b}"),
        Data::Int(i) => format!("the integer {i}"),
        Data::Float(f) => format!("the float {f}"),
        Data::String(s) => {
            let shown: String = s.chars().take(60).collect();
            let more = if shown.len() < s.len() { "..." } else { "" };
            format!("the string {:?}{more}", shown)
        }
        Data::Path(p) => format!("the path {p}"),
        Data::List(items) => format!("a list of {} element(s)", items.len()),
        Data::Attrs(_) => "an attribute set".to_string(),
        Data::Function => "a function".to_string(),
        Data::Override { content, .. } | Data::Order { content, .. } => {
            describe_value(&content.value)
        }
        Data::If { content, .. } => describe_value(&content.value),
        Data::Merge(_) => "a `mkMerge` of definitions".to_string(),
        Data::Unknown(_) => "an unknown value".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::option_type::EnumValue;
    use std::collections::BTreeMap;

    fn t(text: &str) -> OptionType {
        OptionType::from_description(text)
    }

    fn s(text: &str) -> Data {
        Data::String(text.to_string())
    }

    fn sp(data: Data) -> Spanned<Data> {
        Spanned::new(data, None)
    }

    const PORT: &str = "16 bit unsigned integer; between 0 and 65535 (both inclusive)";

    #[test]
    fn scalars() {
        assert!(type_check(&t(PORT), &Data::Int(22)).is_ok());
        let e = type_check(&t(PORT), &Data::Int(70022)).unwrap_err();
        assert_eq!(e.expected, PORT);
        assert_eq!(e.found, "the integer 70022");
        let e = type_check(&t("signed integer"), &s("51820")).unwrap_err();
        assert_eq!(
            (e.expected.as_str(), e.found.as_str()),
            ("signed integer", "the string \"51820\"")
        );
        assert!(type_check(&t("positive integer, meaning >0"), &Data::Int(0)).is_err());
        assert!(type_check(&t("unsigned integer, meaning >=0"), &Data::Int(0)).is_ok());
        assert!(type_check(&t("string"), &s("x")).is_ok());
        assert!(type_check(&t("string"), &Data::Path("a".into())).is_err());
        assert!(type_check(&t("string"), &Data::Int(1)).is_err());
        assert!(type_check(&t("boolean"), &Data::Bool(true)).is_ok());
        assert!(type_check(&t("boolean"), &s("true")).is_err());
        assert!(type_check(&t("floating point number"), &Data::Int(1)).is_err());
        assert!(type_check(&t("floating point number"), &Data::Float(1.5)).is_ok());
        assert!(type_check(&OptionType::SingleLineStr, &s("a\n")).is_ok());
        assert!(type_check(&OptionType::SingleLineStr, &s("a\nb")).is_err());
        assert!(type_check(&t("strings concatenated with \"\\n\""), &s("a\nb")).is_ok());
    }

    #[test]
    fn paths_enums_patterns() {
        let path = OptionType::Path { absolute: false };
        assert!(type_check(&path, &Data::Path("keys/a.pub".into())).is_ok());
        assert!(type_check(&path, &s("/etc/x")).is_ok());
        assert!(type_check(&path, &s("etc/x")).is_err());
        let level = OptionType::Enum(vec![
            EnumValue::Str("info".into()),
            EnumValue::Str("debug".into()),
        ]);
        assert!(type_check(&level, &s("info")).is_ok());
        let e = type_check(&level, &s("verbose")).unwrap_err();
        assert_eq!(e.expected, "one of \"info\", \"debug\"");
        let name = t("string matching the pattern ^[a-zA-Z0-9._-]+$");
        assert!(type_check(&name, &s("ok.name")).is_ok());
        assert!(type_check(&name, &s("not ok")).is_err());
        // a pattern the regex crate cannot read accepts everything
        assert!(type_check(&OptionType::StrMatching("(".into()), &s("x")).is_ok());
    }

    #[test]
    fn containers_point_at_the_element() {
        let span = Span::new("f.nix", rnix::TextRange::new(3.into(), 5.into()));
        let list = Data::List(vec![
            sp(s("a")),
            Spanned::new(Data::Int(3), Some(span.clone())),
        ]);
        let e = type_check(&t("list of string"), &list).unwrap_err();
        assert_eq!(e.span, Some(span));
        assert_eq!(e.expected, "string");
        assert!(type_check(&t("list of string"), &s("a")).is_err());
        let attrs = Data::Attrs(BTreeMap::from([("k".to_string(), sp(s("v")))]));
        assert!(type_check(&t("attribute set of string"), &attrs).is_ok());
        assert!(type_check(&t("attribute set of signed integer"), &attrs).is_err());
        assert!(type_check(&t("null or string"), &Data::Null).is_ok());
        let e = type_check(&t("null or string"), &Data::Int(1)).unwrap_err();
        assert_eq!(e.expected, "null or string");
        let either = t("one of \"all\", \"nixos\" or list of string");
        assert!(type_check(&either, &s("all")).is_ok());
        assert!(type_check(&either, &Data::List(vec![sp(s("x"))])).is_ok());
        assert!(type_check(&either, &s("some")).is_err());
        assert!(type_check(&OptionType::Submodule, &attrs).is_ok());
        assert!(type_check(&OptionType::Submodule, &Data::Int(1)).is_err());
        assert!(type_check(&OptionType::Package, &Data::Bool(true)).is_err());
        assert!(type_check(&OptionType::Attrs, &Data::List(vec![])).is_err());
    }

    #[test]
    fn unknowns_and_wrappers() {
        let int = t("signed integer");
        assert!(type_check(&int, &Data::Unknown("input".into())).is_ok());
        assert!(type_check(&int, &Data::Function).is_ok());
        assert!(type_check(&OptionType::Unchecked("raw value".into()), &s("x")).is_ok());
        let forced = Data::Override {
            priority: 50,
            content: Box::new(sp(s("x"))),
        };
        assert!(type_check(&int, &forced).is_err());
        let maybe = Data::If {
            condition: Known::Unknown("depends on config".into()),
            content: Box::new(sp(s("x"))),
        };
        assert!(type_check(&int, &maybe).is_ok());
        let off = Data::If {
            condition: Known::Known(false),
            content: Box::new(sp(s("x"))),
        };
        assert!(type_check(&int, &off).is_ok());
        let on = Data::If {
            condition: Known::Known(true),
            content: Box::new(sp(s("x"))),
        };
        assert!(type_check(&int, &on).is_err());
        let merged = Data::Merge(vec![sp(Data::Int(1)), sp(s("x"))]);
        assert!(type_check(&int, &merged).is_err());
    }
}
