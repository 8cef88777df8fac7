//! Names read from definitions (tags, dependencies), in definition order, each once.
//!
//! The model keeps a name as a copy of its literal ([`Spanned::literal`]) when it can apply an
//! edit of that literal without evaluating again; the names are then made unique again
//! afterwards ([`super::Clan::resolve_tags`]). Finding two names equal is what such an edit
//! cannot undo (the model holds only the first), so that comparison reads both literals;
//! finding them different reads neither.

use crate::diagnostics::Span;
use crate::eval::NixString;

use super::clan::Spanned;

#[derive(Default)]
pub(super) struct UniqueNames {
    pub list: Vec<Spanned<String>>,
    /// Why some names are unknown (the first reason): an element or a definition that is
    /// unknown or could not be evaluated; `list` holds the others.
    pub unknown: Option<String>,
    /// The string each name of `list` was copied from, for names kept as copies.
    copied_from: Vec<Option<NixString>>,
}

impl UniqueNames {
    /// Adds `copy`, the text of `s` copied out with the span of its literal, unless an equal
    /// name is there.
    pub fn add_copy(&mut self, s: &NixString, copy: (String, Option<Span>), span: Option<Span>) {
        let (text, literal) = copy;
        if self.was_there(&text) {
            s.text();
            return;
        }
        self.list.push(Spanned {
            literal,
            ..Spanned::new(text, span)
        });
        self.copied_from.push(Some(s.clone()));
    }

    /// Adds the text of `s` (read) unless an equal name is there.
    pub fn add_read(&mut self, s: &NixString, span: Option<Span>) {
        self.add_name(s.text(), span)
    }

    /// Adds `text` (an attribute name, a string read) unless an equal name is there.
    pub fn add_name(&mut self, text: &str, span: Option<Span>) {
        if self.was_there(text) {
            return;
        }
        self.list.push(Spanned::new(text.to_string(), span));
        self.copied_from.push(None);
    }

    /// Notes that some names are unknown, for `reason` (the first reason stays).
    pub fn add_unknown(&mut self, reason: &str) {
        self.unknown.get_or_insert_with(|| reason.to_string());
    }

    /// Whether a name equal to `text` is there; the copy it is then becomes read.
    fn was_there(&self, text: &str) -> bool {
        match self.list.iter().position(|name| name.value == text) {
            Some(i) => {
                if let Some(first) = &self.copied_from[i] {
                    first.text();
                }
                true
            }
            None => false,
        }
    }
}
