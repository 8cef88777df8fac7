//! Option types as the module system merges them. A type is the attribute set `lib.types.*`
//! builds (`{ _type = "option-type"; name; description; check; nestedTypes; ... }`, see
//! `known/lib.nix`); this reads it into how definitions merge, as nixpkgs' types do. The
//! type's own `check` function is kept (strict evaluations check definitions with it, as
//! NixOS does); checking a single value by the description reuses `OptionType`.

use crate::eval::{EvalResult, Evaluator, Thunk, Value};

use super::option_type::{EnumValue, OptionType};

/// An option type: how its definitions merge, its description, and its `check` function.
#[derive(Clone, Debug)]
pub struct TypeInfo {
    pub kind: TypeKind,
    /// nixpkgs' description of the type ("16 bit unsigned integer; ..."): see
    /// [`TypeInfo::describe`].
    description: Description,
    /// The type's `check` function, when it has one.
    pub check: Option<Thunk>,
}

/// A type's description. nixpkgs builds a composite type's from its nested types' (`attribute
/// set of (submodule)`), and reads it only for documentation and messages; so does clanc: only
/// the types whose merging or check depends on it (leaf types, lists) read it at once. A
/// machine's modules declare their options again for every machine, so this is most of what
/// reading their types costs.
#[derive(Clone, Debug)]
enum Description {
    Read(String),
    /// The type's `description` attribute, unforced; `name` when it is not a string.
    Unread {
        value: Thunk,
        name: String,
    },
}

impl Description {
    /// The description when it was read (else empty).
    fn read(&self) -> &str {
        match self {
            Description::Read(text) => text,
            Description::Unread { .. } => "",
        }
    }
}

/// How definitions of an option of a type merge.
#[derive(Clone, Debug)]
pub enum TypeKind {
    /// `submodule`/`submoduleWith`: the definitions are modules, evaluated with the type's.
    Submodule {
        modules: Vec<Thunk>,
        special_args: Option<Thunk>,
        shorthand_only_config: bool,
    },
    /// `attrsOf`/`lazyAttrsOf`: merged key by key with the element type; `attrsOf` drops a
    /// key whose definitions all vanish (`mkIf false`), `lazyAttrsOf` keeps it.
    AttrsOf { elem: Box<TypeInfo>, lazy: bool },
    /// `listOf`/`nonEmptyListOf`: the definitions' lists concatenated, each element merged
    /// with the element type.
    ListOf {
        elem: Box<TypeInfo>,
        non_empty: bool,
    },
    /// `nullOr`: all null, or none null (merged with the element type).
    NullOr(Box<TypeInfo>),
    /// `either`/`oneOf`: merged as the first type that accepts every definition.
    Either(Box<TypeInfo>, Box<TypeInfo>),
    /// `coercedTo`: definitions the first type accepts go through the function, then merge
    /// as the final type.
    CoercedTo {
        from: Box<TypeInfo>,
        coerce: Thunk,
        to: Box<TypeInfo>,
    },
    /// `functionTo`: a function whose result merges the definitions' results.
    FunctionTo(Box<TypeInfo>),
    /// `deferredModule`: the definitions become the imports of one module.
    DeferredModule { static_modules: Vec<Thunk> },
    /// `raw`, `uniq`/`unique`, `package`, `optionType`: exactly one definition (merged with
    /// the inner type of `unique`).
    One { inner: Option<Box<TypeInfo>> },
    /// `anything`: sets merge key by key, functions by their results, everything else must
    /// be equal.
    Anything,
    /// `unspecified` (and an option without a type): nixpkgs' `mergeDefaultOption`.
    Unspecified,
    /// `attrs`: the definitions' sets updated one by the next (`//`).
    Attrs,
    /// `boolByOr`: the definitions or-ed.
    BoolByOr,
    /// `lines`, `commas`, `separatedString`: strings joined with the separator.
    Separated(String),
    /// A type with its own `merge` function (`mkOptionType { merge = ...; }`).
    Custom { merge: Thunk },
    /// Everything else (`str`, `int`, `bool`, `enum`, `path`, ...): equal definitions only.
    Leaf { check: OptionType },
}

/// The names of nixpkgs' types whose definitions must all be equal (`mergeEqualOption`).
fn is_leaf_name(name: &str) -> bool {
    matches!(
        name,
        "bool"
            | "int"
            | "intBetween"
            | "unsignedInt"
            | "positiveInt"
            | "float"
            | "numberBetween"
            | "numberNonnegative"
            | "numberPositive"
            | "str"
            | "nonEmptyStr"
            | "singleLineStr"
            | "path"
            | "enum"
    ) || name.starts_with("unsignedInt")
        || name.starts_with("signedInt")
        || name.starts_with("strMatching ")
        || name.starts_with("passwdEntry ")
}

impl TypeInfo {
    /// The type of an option declared without one.
    pub fn unspecified() -> TypeInfo {
        TypeInfo {
            kind: TypeKind::Unspecified,
            description: Description::Read("unspecified value".into()),
            check: None,
        }
    }

    /// A type that accepts anything and merges as `anything` (for keys no option declares).
    pub fn anything() -> TypeInfo {
        TypeInfo {
            kind: TypeKind::Anything,
            description: Description::Read("anything".into()),
            check: None,
        }
    }

    /// Reads a `lib.types.*` value (forcing only its descriptive attributes).
    pub fn read(ev: &mut Evaluator<'_>, ty: &Value) -> EvalResult<TypeInfo> {
        let Value::Attrs(attrs) = ty else {
            return Ok(TypeInfo::unspecified());
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
        let read_now = is_leaf_name(&name) || matches!(name.as_str(), "listOf" | "nonEmptyListOf");
        let description = match attrs.get("description") {
            Some(value) if !read_now => Description::Unread {
                value: value.clone(),
                name: name.clone(),
            },
            _ => Description::Read(text(ev, "description")?.unwrap_or_else(|| name.clone())),
        };
        let check = attrs.get("check").cloned();
        let nested = |ev: &mut Evaluator<'_>, which: &str| -> EvalResult<TypeInfo> {
            let Some(n) = attrs.get("nestedTypes") else {
                return Ok(TypeInfo::unspecified());
            };
            let n = ev.force(&n.clone(), None)?;
            let Value::Attrs(n) = n else {
                return Ok(TypeInfo::unspecified());
            };
            match n.get(which) {
                Some(t) => {
                    let t = ev.force(&t.clone(), None)?;
                    TypeInfo::read(ev, &t)
                }
                None => Ok(TypeInfo::unspecified()),
            }
        };
        let list = |ev: &mut Evaluator<'_>, name: &str| -> EvalResult<Vec<Thunk>> {
            match attrs.get(name) {
                Some(m) => match ev.force(&m.clone(), None)? {
                    Value::List(items) => Ok(items.to_vec()),
                    _ => Ok(Vec::new()),
                },
                None => Ok(Vec::new()),
            }
        };
        let kind = match name.as_str() {
            "submodule" => {
                let shorthand_only_config = match attrs.get("shorthandOnlyDefinesConfig") {
                    Some(t) => matches!(ev.force(&t.clone(), None)?, Value::Bool(true)),
                    None => false,
                };
                TypeKind::Submodule {
                    modules: list(ev, "modules")?,
                    special_args: attrs.get("specialArgs").cloned(),
                    shorthand_only_config,
                }
            }
            "attrsOf" | "lazyAttrsOf" | "loaOf" => TypeKind::AttrsOf {
                elem: Box::new(nested(ev, "elemType")?),
                lazy: name == "lazyAttrsOf",
            },
            "listOf" | "nonEmptyListOf" => TypeKind::ListOf {
                elem: Box::new(nested(ev, "elemType")?),
                non_empty: name == "nonEmptyListOf" || description.read().starts_with("non-empty "),
            },
            "nullOr" => TypeKind::NullOr(Box::new(nested(ev, "elemType")?)),
            "either" => TypeKind::Either(
                Box::new(nested(ev, "left")?),
                Box::new(nested(ev, "right")?),
            ),
            "coercedTo" => match attrs.get("coerce") {
                Some(coerce) => TypeKind::CoercedTo {
                    from: Box::new(nested(ev, "coercedType")?),
                    coerce: coerce.clone(),
                    to: Box::new(nested(ev, "finalType")?),
                },
                None => return nested(ev, "finalType"),
            },
            "functionTo" => TypeKind::FunctionTo(Box::new(nested(ev, "elemType")?)),
            "deferredModule" => TypeKind::DeferredModule {
                static_modules: list(ev, "staticModules")?,
            },
            "unique" | "uniq" => TypeKind::One {
                inner: Some(Box::new(nested(ev, "elemType")?)),
            },
            "raw" | "package" | "optionType" | "pkgs" | "shellPackage" => {
                TypeKind::One { inner: None }
            }
            "anything" => TypeKind::Anything,
            "unspecified" | "" => TypeKind::Unspecified,
            "attrs" => TypeKind::Attrs,
            "boolByOr" => TypeKind::BoolByOr,
            "separatedString" | "lines" | "commas" | "envVar" | "string" => {
                let sep = match attrs.get("payload") {
                    Some(t) => match ev.force(&t.clone(), None)? {
                        Value::String(s) => s.text().to_string(),
                        _ => String::new(),
                    },
                    None => String::new(),
                };
                TypeKind::Separated(sep)
            }
            _ => match attrs.get("merge") {
                Some(merge) => TypeKind::Custom {
                    merge: merge.clone(),
                },
                None if is_leaf_name(&name) => TypeKind::Leaf {
                    check: OptionType::from_description(description.read()),
                },
                // nixpkgs' `mkOptionType` merges with `mergeDefaultOption` unless told.
                None => TypeKind::Unspecified,
            },
        };
        Ok(TypeInfo {
            kind,
            description,
            check,
        })
    }

    /// nixpkgs' description of the type, for messages and interfaces: the type's
    /// `description` (forced now if it was not read), or its name when that is not a string.
    pub fn describe(&self, ev: &mut Evaluator<'_>) -> String {
        match &self.description {
            Description::Read(text) => text.clone(),
            Description::Unread { value, name } => match ev.force(value, None) {
                Ok(Value::String(s)) => s.text().to_string(),
                _ => name.clone(),
            },
        }
    }

    /// This type, merging as `kind`.
    pub fn with_kind(&self, kind: TypeKind) -> TypeInfo {
        TypeInfo {
            kind,
            description: self.description.clone(),
            check: self.check.clone(),
        }
    }

    /// The value an option of this type has without definitions (nixpkgs' `emptyValue`),
    /// when it has one: `{ }`, `[ ]` or `null`. (A submodule's is its evaluation without
    /// definitions: the caller makes it.)
    pub fn empty_value(&self) -> Option<Value> {
        match &self.kind {
            TypeKind::AttrsOf { .. } | TypeKind::Attrs => {
                Some(Value::attrs(crate::eval::Attrs::default()))
            }
            TypeKind::ListOf {
                non_empty: false, ..
            } => Some(Value::list(Vec::new())),
            TypeKind::NullOr(_) => Some(Value::Null),
            TypeKind::One { inner: Some(inner) } => inner.empty_value(),
            TypeKind::CoercedTo { to, .. } => to.empty_value(),
            _ => None,
        }
    }

    /// Whether a (forced) value can be a definition of this type, looking only at its
    /// outermost shape; `None` when the value is unknown.
    pub fn shallow_accepts(&self, value: &Value) -> Option<bool> {
        if matches!(value, Value::Unknown(_)) {
            return None;
        }
        Some(match &self.kind {
            // A set, a function, or a path (an absolute path string too).
            TypeKind::Submodule { .. } | TypeKind::DeferredModule { .. } => match value {
                Value::Attrs(_) | Value::Lambda(_) | Value::Path(_) | Value::PrimOp(_) => true,
                Value::String(s) => s.text().starts_with('/'),
                _ => false,
            },
            TypeKind::AttrsOf { .. } | TypeKind::Attrs => matches!(value, Value::Attrs(_)),
            TypeKind::ListOf { .. } => matches!(value, Value::List(_)),
            TypeKind::NullOr(e) => {
                matches!(value, Value::Null) || e.shallow_accepts(value).unwrap_or(true)
            }
            TypeKind::Either(a, b) => {
                a.shallow_accepts(value).unwrap_or(true) || b.shallow_accepts(value).unwrap_or(true)
            }
            TypeKind::Separated(_) => matches!(value, Value::String(_)),
            TypeKind::BoolByOr => matches!(value, Value::Bool(_)),
            TypeKind::Leaf { check } => leaf_accepts(check, value),
            TypeKind::CoercedTo { .. }
            | TypeKind::FunctionTo(_)
            | TypeKind::Custom { .. }
            | TypeKind::One { .. }
            | TypeKind::Anything
            | TypeKind::Unspecified => true,
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
