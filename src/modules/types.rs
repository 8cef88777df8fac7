//! Option types as the module system merges them. A type is the attribute set `lib.types.*`
//! builds (`{ _type = "option-type"; name; description; nestedTypes; payload; ... }`, see
//! `known/lib.nix`); this reads it into how definitions merge. Checking a single value
//! against a leaf type reuses `OptionType`, read from nixpkgs' description text.

use crate::eval::{EvalResult, Evaluator, Thunk, Value};

use super::option_type::{EnumValue, OptionType};

/// How definitions of an option of this type merge.
#[derive(Clone, Debug)]
pub enum TypeInfo {
    /// `submodule`/`submoduleWith`: the definitions are modules, evaluated with the type's.
    Submodule {
        modules: Vec<Thunk>,
        special_args: Option<Thunk>,
        shorthand_only_config: bool,
    },
    /// `attrsOf`/`lazyAttrsOf`: merged key by key with the element type.
    AttrsOf {
        elem: Box<TypeInfo>,
        lazy: bool,
    },
    /// `listOf`: the definitions' lists concatenated.
    ListOf(Box<TypeInfo>),
    NullOr(Box<TypeInfo>),
    Either(Box<TypeInfo>, Box<TypeInfo>),
    /// `deferredModule`: the definitions become the imports of one module.
    DeferredModule,
    /// `raw`, `uniq`, `unique`, `functionTo`, `package`: exactly one definition.
    One {
        description: String,
    },
    /// `anything`, `attrs`, `unspecified`, and types this does not know: attribute sets
    /// merge key by key, anything else must be equal.
    Anything,
    /// `lines`, `commas`, `separatedString`: strings joined with the separator.
    Separated(String),
    /// Everything else: one value, checked against the type; equal definitions are fine.
    Leaf {
        check: OptionType,
        description: String,
    },
}

impl TypeInfo {
    /// Reads a `lib.types.*` value (forcing only its descriptive attributes).
    pub fn read(ev: &mut Evaluator<'_>, ty: &Value) -> EvalResult<TypeInfo> {
        let Value::Attrs(attrs) = ty else {
            return Ok(TypeInfo::Anything);
        };
        let text = |ev: &mut Evaluator<'_>, name: &str| -> EvalResult<Option<String>> {
            match attrs.get(name) {
                Some(t) => match ev.force(&t.clone(), None)? {
                    Value::String(s) => Ok(Some(s.text().to_string())),
                    _ => Ok(None),
                },
                None => Ok(None),
            }
        };
        let name = text(ev, "name")?.unwrap_or_default();
        let description = text(ev, "description")?.unwrap_or_default();
        let nested = |ev: &mut Evaluator<'_>, which: &str| -> EvalResult<TypeInfo> {
            let Some(n) = attrs.get("nestedTypes") else {
                return Ok(TypeInfo::Anything);
            };
            let n = ev.force(&n.clone(), None)?;
            let Value::Attrs(n) = n else {
                return Ok(TypeInfo::Anything);
            };
            match n.get(which) {
                Some(t) => {
                    let t = ev.force(&t.clone(), None)?;
                    TypeInfo::read(ev, &t)
                }
                None => Ok(TypeInfo::Anything),
            }
        };
        Ok(match name.as_str() {
            "submodule" => {
                let modules = match attrs.get("modules") {
                    Some(m) => match ev.force(&m.clone(), None)? {
                        Value::List(items) => items.to_vec(),
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                };
                let shorthand_only_config = match attrs.get("shorthandOnlyDefinesConfig") {
                    Some(t) => matches!(ev.force(&t.clone(), None)?, Value::Bool(true)),
                    None => false,
                };
                TypeInfo::Submodule {
                    modules,
                    special_args: attrs.get("specialArgs").cloned(),
                    shorthand_only_config,
                }
            }
            "attrsOf" | "lazyAttrsOf" => TypeInfo::AttrsOf {
                elem: Box::new(nested(ev, "elemType")?),
                lazy: name == "lazyAttrsOf",
            },
            "listOf" | "nonEmptyListOf" => TypeInfo::ListOf(Box::new(nested(ev, "elemType")?)),
            "nullOr" => TypeInfo::NullOr(Box::new(nested(ev, "elemType")?)),
            "either" => TypeInfo::Either(
                Box::new(nested(ev, "left")?),
                Box::new(nested(ev, "right")?),
            ),
            "coercedTo" => nested(ev, "finalType")?,
            "deferredModule" => TypeInfo::DeferredModule,
            "raw" | "uniq" | "unique" | "functionTo" | "package" | "optionType" => {
                TypeInfo::One { description }
            }
            "anything" | "attrs" | "unspecified" | "" => TypeInfo::Anything,
            "separatedString" | "lines" | "commas" | "envVar" => {
                let sep = match attrs.get("payload") {
                    Some(t) => match ev.force(&t.clone(), None)? {
                        Value::String(s) => s.text().to_string(),
                        _ => String::new(),
                    },
                    None => String::new(),
                };
                TypeInfo::Separated(sep)
            }
            _ => {
                let check = OptionType::from_description(&description);
                if check.is_unchecked() {
                    TypeInfo::Anything
                } else {
                    TypeInfo::Leaf { check, description }
                }
            }
        })
    }

    /// nixpkgs' description of the type, for messages.
    pub fn describe(&self) -> String {
        match self {
            TypeInfo::Submodule { .. } => "submodule".into(),
            TypeInfo::AttrsOf { elem, lazy } => format!(
                "{}attribute set of {}",
                if *lazy { "lazy " } else { "" },
                elem.describe_nested()
            ),
            TypeInfo::ListOf(e) => format!("list of {}", e.describe_nested()),
            TypeInfo::NullOr(e) => format!("null or {}", e.describe_nested()),
            TypeInfo::Either(a, b) => format!("{} or {}", a.describe(), b.describe()),
            TypeInfo::DeferredModule => "module".into(),
            TypeInfo::One { description } | TypeInfo::Leaf { description, .. } => {
                description.clone()
            }
            TypeInfo::Anything => "anything".into(),
            TypeInfo::Separated(sep) => format!("strings concatenated with {sep:?}"),
        }
    }

    fn describe_nested(&self) -> String {
        match self {
            TypeInfo::Submodule { .. } => "(submodule)".into(),
            TypeInfo::AttrsOf { .. } | TypeInfo::ListOf(_) | TypeInfo::NullOr(_) => {
                format!("({})", self.describe())
            }
            _ => self.describe(),
        }
    }

    /// Whether a (forced) value can be a definition of this type, looking only at its
    /// outermost shape; `None` when the value is unknown.
    pub fn shallow_accepts(&self, value: &Value) -> Option<bool> {
        if matches!(value, Value::Unknown(_)) {
            return None;
        }
        Some(match self {
            TypeInfo::Submodule { .. } | TypeInfo::DeferredModule => matches!(
                value,
                Value::Attrs(_) | Value::Lambda(_) | Value::Path(_) | Value::PrimOp(_)
            ),
            TypeInfo::AttrsOf { .. } => matches!(value, Value::Attrs(_)),
            TypeInfo::ListOf(_) => matches!(value, Value::List(_)),
            TypeInfo::NullOr(e) => {
                matches!(value, Value::Null) || e.shallow_accepts(value).unwrap_or(true)
            }
            TypeInfo::Either(a, b) => {
                a.shallow_accepts(value).unwrap_or(true) || b.shallow_accepts(value).unwrap_or(true)
            }
            TypeInfo::Separated(_) => matches!(value, Value::String(_)),
            TypeInfo::Leaf { check, .. } => leaf_accepts(check, value),
            TypeInfo::One { .. } | TypeInfo::Anything => true,
        })
    }
}

/// Whether a forced value has a leaf type (elements of lists and sets are not forced:
/// their own definitions are checked where they merge).
pub fn leaf_accepts(ty: &OptionType, value: &Value) -> bool {
    match (ty, value) {
        (_, Value::Unknown(_)) => true,
        (OptionType::Str | OptionType::StrMatching(_) | OptionType::SingleLineStr, v) => {
            let Value::String(s) = v else { return false };
            match ty {
                OptionType::StrMatching(pattern) => regex_full_match(pattern, s.text()),
                OptionType::SingleLineStr => !s.text().trim_end_matches('\n').contains('\n'),
                _ => true,
            }
        }
        (OptionType::Separated(_), v) => matches!(v, Value::String(_)),
        (OptionType::Bool, v) => matches!(v, Value::Bool(_)),
        (OptionType::Int { min, max }, Value::Int(i)) => {
            min.is_none_or(|m| *i >= m) && max.is_none_or(|m| *i <= m)
        }
        (OptionType::Int { .. }, _) => false,
        (OptionType::Float, v) => matches!(v, Value::Float(_)),
        (OptionType::Path { absolute }, v) => match v {
            Value::Path(_) => true,
            Value::String(s) => !*absolute || s.text().starts_with('/'),
            _ => false,
        },
        (OptionType::Enum(values), v) => values.iter().any(|e| match (e, v) {
            (EnumValue::Str(a), Value::String(b)) => *a == b.text(),
            (EnumValue::Int(a), Value::Int(b)) => a == b,
            (EnumValue::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        }),
        (OptionType::NullOr(inner), v) => matches!(v, Value::Null) || leaf_accepts(inner, v),
        (OptionType::ListOf(_), v) => matches!(v, Value::List(_)),
        (OptionType::AttrsOf(_) | OptionType::Attrs | OptionType::Submodule, v) => {
            matches!(v, Value::Attrs(_))
        }
        (OptionType::Either(options), v) => options.iter().any(|t| leaf_accepts(t, v)),
        (OptionType::Package, _) | (OptionType::Unchecked(_), _) => true,
    }
}

/// `types.strMatching`: the whole string matches (patterns that do not compile accept).
fn regex_full_match(pattern: &str, text: &str) -> bool {
    match regex::Regex::new(&format!("^(?:{pattern})$")) {
        Ok(re) => re.is_match(text),
        Err(_) => true,
    }
}

/// A value's type in the words of messages ("a string", "an integer").
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {:?}", s.text()),
        Value::Int(i) => format!("the integer {i}"),
        Value::Bool(b) => format!("the Boolean {b}"),
        other => other.describe().to_string(),
    }
}
