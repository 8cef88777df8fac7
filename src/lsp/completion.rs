//! Completion inside instances, from the syntactic context at the cursor: the attribute path
//! the cursor is in (the attrpaths of the enclosing sets' bindings, then the dotted name being
//! typed), e.g. `clan.inventory.instances.<i>.roles.<r>.machines.<cursor>`. Works on text that
//! does not parse yet (a binding being typed); the names offered come from the last model.

use std::collections::BTreeMap;

use rnix::ast;
use rnix::{SyntaxKind, SyntaxNode, TextSize};
use rowan::ast::AstNode;

use super::features::service_of;
use crate::model::{Clan, Known};
use crate::services::catalog::{Catalog, Service};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Machine,
    Tag,
    Role,
    Setting,
    Field,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub label: String,
    pub insert: String,
    pub detail: Option<String>,
    pub kind: Kind,
}

/// Where the cursor is: the complete attribute names above it, and how the name at the cursor
/// is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub path: Vec<String>,
    pub place: Place,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// An attribute name (a binding's key or the next name of a dotted path).
    Name,
    /// A list element, outside any string.
    ListElement,
    /// Inside a string that is a list element.
    ListString,
}

/// The syntactic context at byte `offset` of `text`, or `None` where nothing is completed
/// (inside a value, a comment, a string that is not a list element).
pub fn context_at(text: &str, offset: usize) -> Option<Context> {
    let offset = offset.min(text.len());
    let root = crate::syntax::parse(text).syntax();
    let at = TextSize::try_from(offset).ok()?;

    // Inside a list, as a string element or between elements.
    if let Some(token) = root.token_at_offset(at).left_biased() {
        let parent = token.parent()?;
        match token.kind() {
            SyntaxKind::TOKEN_STRING_CONTENT
            | SyntaxKind::TOKEN_STRING_START
            | SyntaxKind::TOKEN_STRING_END => {
                // after the closing quote the cursor is outside the string
                if token.kind() == SyntaxKind::TOKEN_STRING_END && token.text_range().end() <= at {
                    return None;
                }
                if token.kind() == SyntaxKind::TOKEN_STRING_START
                    && token.text_range().start() == at
                {
                    return None;
                }
                let string = std::iter::successors(Some(parent), |n| n.parent())
                    .find(|n| n.kind() == SyntaxKind::NODE_STRING)?;
                let list = string.parent()?;
                if list.kind() != SyntaxKind::NODE_LIST {
                    return None;
                }
                return Some(Context {
                    path: enclosing_path(&list, at),
                    place: Place::ListString,
                });
            }
            SyntaxKind::TOKEN_COMMENT => return None,
            SyntaxKind::TOKEN_WHITESPACE | SyntaxKind::TOKEN_L_BRACK
                if parent.kind() == SyntaxKind::NODE_LIST =>
            {
                return Some(Context {
                    path: enclosing_path(&parent, at),
                    place: Place::ListElement,
                });
            }
            _ => {}
        }
    }

    // The dotted name being typed, read back from the cursor.
    let bytes = text.as_bytes();
    let mut start = offset;
    while start > 0 {
        let c = bytes[start - 1];
        if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'\'' | b'.' | b'"') {
            start -= 1;
        } else {
            break;
        }
    }
    let chain = &text[start..offset];
    if chain.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    // A value position (`x = |`) takes no names.
    let before = text[..start].trim_end();
    if before.ends_with('=') || before.ends_with("inherit") {
        return None;
    }
    let mut path = match root
        .token_at_offset(TextSize::try_from(start).ok()?)
        .right_biased()
    {
        Some(token) => enclosing_path(&token.parent()?, TextSize::try_from(start).ok()?),
        None => Vec::new(),
    };
    let mut segments: Vec<&str> = chain.split('.').collect();
    segments.pop(); // the name being typed
    path.extend(segments.iter().map(|s| s.trim_matches('"').to_string()));
    Some(Context {
        path,
        place: Place::Name,
    })
}

/// The attribute path of the bindings whose values enclose `at`, outermost first.
fn enclosing_path(node: &SyntaxNode, at: TextSize) -> Vec<String> {
    let mut path: Vec<String> = Vec::new();
    for ancestor in node.ancestors() {
        let Some(binding) = ast::AttrpathValue::cast(ancestor) else {
            continue;
        };
        let Some(value) = binding.value() else {
            continue;
        };
        if value.syntax().text_range().start() > at {
            continue; // the cursor is in this binding's name
        }
        let Some(attrpath) = binding.attrpath() else {
            continue;
        };
        let names: Vec<String> = attrpath.attrs().map(|a| attr_name(&a)).collect();
        path.splice(0..0, names);
    }
    path
}

fn attr_name(attr: &ast::Attr) -> String {
    match attr {
        ast::Attr::Ident(id) => id.syntax().text().to_string(),
        ast::Attr::Str(s) => {
            let text = s.syntax().text().to_string();
            if text.contains("${") {
                "${…}".to_string()
            } else {
                text.trim_matches('"').to_string()
            }
        }
        ast::Attr::Dynamic(_) => "${…}".to_string(),
    }
}

/// What to offer at byte `offset` of `text`, with the names of `clan`.
pub fn complete(clan: &Clan, text: &str, offset: usize) -> Vec<Item> {
    let Some(context) = context_at(text, offset) else {
        return Vec::new();
    };
    let items = items_for(clan, &context.path);
    items
        .into_iter()
        .map(|mut item| {
            item.insert = match context.place {
                Place::Name => quote_if_needed(&item.label),
                Place::ListElement => format!("\"{}\"", item.label),
                Place::ListString => item.label.clone(),
            };
            item
        })
        .filter(|item| context.place == Place::Name || item.kind == Kind::Tag)
        .collect()
}

fn quote_if_needed(name: &str) -> String {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\''));
    if plain {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

fn items_for(clan: &Clan, path: &[String]) -> Vec<Item> {
    let Some(k) = path.iter().rposition(|s| s == "roles").filter(|k| *k >= 1) else {
        // a machine's own tags: `inventory.machines.<m>.tags`
        let n = path.len();
        if n >= 3 && path[n - 1] == "tags" && path[n - 3] == "machines" {
            return tags(clan);
        }
        return Vec::new();
    };
    let instance_name = &path[k - 1];
    let service = match clan.instances.get(instance_name) {
        Some(instance) => service_of(clan, instance),
        // an instance the model does not have yet: its module name defaults to its name
        None => Catalog::builtin().service(instance_name),
    };
    let rest: Vec<&str> = path[k + 1..].iter().map(String::as_str).collect();
    match rest.as_slice() {
        [] => service.map(roles).unwrap_or_default(),
        [_] => fields(&["machines", "tags", "settings", "extraModules"]),
        [_, "machines"] => machines(clan),
        [_, "tags"] => tags(clan),
        [_, "machines", _] => fields(&["settings"]),
        [role, "settings", below @ ..] | [role, "machines", _, "settings", below @ ..] => service
            .map(|s| settings(s, role, below))
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn fields(names: &[&str]) -> Vec<Item> {
    names
        .iter()
        .map(|n| Item {
            label: n.to_string(),
            insert: String::new(),
            detail: None,
            kind: Kind::Field,
        })
        .collect()
}

fn machines(clan: &Clan) -> Vec<Item> {
    clan.machines
        .values()
        .map(|m| {
            let class = match &m.class.value {
                Known::Known(c) => c.as_str(),
                Known::Unknown(_) => "?",
            };
            let tags: Vec<&str> = m.tags.iter().map(|t| t.value.as_str()).collect();
            let detail = if tags.is_empty() {
                class.to_string()
            } else {
                format!("{class}; tags: {}", tags.join(", "))
            };
            Item {
                label: m.name.clone(),
                insert: String::new(),
                detail: Some(detail),
                kind: Kind::Machine,
            }
        })
        .collect()
}

fn tags(clan: &Clan) -> Vec<Item> {
    clan.tags
        .values()
        .map(|t| Item {
            label: t.name.clone(),
            insert: String::new(),
            detail: Some(match &t.members {
                Known::Known(m) => m.join(", "),
                Known::Unknown(_) => "members unknown".to_string(),
            }),
            kind: Kind::Tag,
        })
        .collect()
}

fn roles(service: &Service) -> Vec<Item> {
    service
        .roles
        .iter()
        .map(|(name, role)| Item {
            label: name.clone(),
            insert: String::new(),
            detail: role.description.clone(),
            kind: Kind::Role,
        })
        .collect()
}

/// The next names below `settings.<below>` of a role's interface.
fn settings(service: &Service, role: &str, below: &[&str]) -> Vec<Item> {
    let Some(role) = service.roles.get(role) else {
        return Vec::new();
    };
    let prefix: String = below.iter().map(|s| format!("{s}.")).collect();
    let mut next: BTreeMap<String, Option<String>> = BTreeMap::new();
    for option in &role.options {
        let Some(rest) = option.path.strip_prefix(&prefix) else {
            continue;
        };
        match rest.split_once('.') {
            None => {
                let mut detail = option.type_description.clone();
                if let Some(default) = &option.default {
                    detail.push_str(&format!(" = {default}"));
                } else if option.required {
                    detail.push_str(" (required)");
                }
                next.insert(rest.to_string(), Some(detail));
            }
            Some((first, _)) => {
                next.entry(first.to_string())
                    .or_insert_with(|| Some("options below".to_string()));
            }
        }
    }
    next.into_iter()
        .map(|(label, detail)| Item {
            label,
            insert: String::new(),
            detail,
            kind: Kind::Setting,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(text_with_cursor: &str) -> Option<Context> {
        let offset = text_with_cursor.find('|').unwrap();
        let text = text_with_cursor.replacen('|', "", 1);
        context_at(&text, offset)
    }

    fn path(text_with_cursor: &str) -> Vec<String> {
        context(text_with_cursor).unwrap().path
    }

    #[test]
    fn paths_from_enclosing_bindings_and_the_name_being_typed() {
        assert_eq!(
            path("{ clan.inventory.instances.site = { roles.server.machines.| }; }"),
            [
                "clan",
                "inventory",
                "instances",
                "site",
                "roles",
                "server",
                "machines"
            ]
        );
        assert_eq!(
            path("{ instances.site.roles.server.machines = { pr| }; }"),
            ["instances", "site", "roles", "server", "machines"]
        );
        // a binding typed above another: only the names before the cursor count
        assert_eq!(
            path(
                "{ instances.site = {\n  roles.server.settings.|\n  roles.client.machines.a = { };\n}; }"
            ),
            ["instances", "site", "roles", "server", "settings"]
        );
        assert_eq!(
            path("{ instances.\"my-site\".roles.| }"),
            ["instances", "my-site", "roles"]
        );
    }

    #[test]
    fn list_elements_and_values() {
        let c = context("{ a.roles.r.tags = [ \"we|\" ]; }").unwrap();
        assert_eq!(c.place, Place::ListString);
        assert_eq!(c.path, ["a", "roles", "r", "tags"]);
        let c = context("{ a.roles.r.tags = [ | ]; }").unwrap();
        assert_eq!(c.place, Place::ListElement);
        assert_eq!(context("{ a.roles.r.settings.x = \"|\"; }"), None);
        assert_eq!(context("{ a.roles.r.settings.x = |; }"), None);
        assert_eq!(context("{ a = 1; # roles.|\n }"), None);
    }
}
