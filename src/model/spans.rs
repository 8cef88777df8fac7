//! Every span the model holds, for moving them when an edit changed only where things are in
//! a file (comments, whitespace): the model built before stays right once its spans follow
//! the text. The same walk finds the values copied verbatim from literals
//! ([`Spanned::literal`]), for applying an edit of such a literal to its copies.

use crate::diagnostics::{Diagnostic, Span};

use super::clan::*;

/// What a walk over the model does with what it finds.
pub trait SpanVisitor {
    fn span(&mut self, span: &mut Span);

    /// A value copied from the literal at `literal` (visited as a span before).
    fn literal_copy(&mut self, literal: &Span, value: Copied<'_>) {
        let _ = (literal, value);
    }
}

/// A value of the model that is a copy of a literal.
pub enum Copied<'a> {
    String(&'a mut String),
    Int(&'a mut i64),
    Float(&'a mut f64),
    Bool(&'a mut bool),
}

/// A closure is a visitor of spans alone.
impl<F: FnMut(&mut Span)> SpanVisitor for F {
    fn span(&mut self, span: &mut Span) {
        self(span)
    }
}

/// Calls the visitor on every span below a value, and on every value copied from a literal.
pub trait SpansMut {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor);

    /// The string, number or boolean this value is, when it is one (a copy of a literal
    /// has no other form).
    fn as_copied(&mut self) -> Option<Copied<'_>> {
        None
    }
}

impl SpansMut for Span {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        f.span(self)
    }
}

impl<T: SpansMut> SpansMut for Option<T> {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        if let Some(v) = self {
            v.spans_mut(f)
        }
    }
}

impl<T: SpansMut> SpansMut for Vec<T> {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        self.iter_mut().for_each(|v| v.spans_mut(f))
    }
}

impl<K, T: SpansMut> SpansMut for std::collections::BTreeMap<K, T> {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        self.values_mut().for_each(|v| v.spans_mut(f))
    }
}

impl<T: SpansMut> SpansMut for Box<T> {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        (**self).spans_mut(f)
    }
}

impl<T: SpansMut> SpansMut for Known<T> {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        if let Known::Known(v) = self {
            v.spans_mut(f)
        }
    }

    fn as_copied(&mut self) -> Option<Copied<'_>> {
        match self {
            Known::Known(v) => v.as_copied(),
            Known::Unknown(_) => None,
        }
    }
}

impl<T: SpansMut> SpansMut for Spanned<T> {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Spanned {
            value,
            span,
            key,
            literal,
        } = self;
        value.spans_mut(f);
        span.spans_mut(f);
        key.spans_mut(f);
        if let Some(literal) = literal {
            f.span(literal);
            if let Some(copied) = value.as_copied() {
                f.literal_copy(literal, copied);
            }
        }
    }
}

/// Values without spans inside.
macro_rules! no_spans {
    ($($t:ty),*) => {
        $(impl SpansMut for $t {
            fn spans_mut(&mut self, _: &mut dyn SpanVisitor) {}
        })*
    };
}
no_spans!(bool, MachineClass, ExtraModule);

impl SpansMut for String {
    fn spans_mut(&mut self, _: &mut dyn SpanVisitor) {}

    fn as_copied(&mut self) -> Option<Copied<'_>> {
        Some(Copied::String(self))
    }
}

impl SpansMut for Diagnostic {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        f.span(&mut self.span);
        self.labels.iter_mut().for_each(|l| f.span(&mut l.span));
    }
}

impl SpansMut for Data {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        match self {
            Data::List(items) => items.spans_mut(f),
            Data::Attrs(attrs) => attrs.spans_mut(f),
            Data::Override { content, .. }
            | Data::If { content, .. }
            | Data::Order { content, .. } => content.spans_mut(f),
            Data::Merge(parts) => parts.spans_mut(f),
            Data::Null
            | Data::Bool(_)
            | Data::Int(_)
            | Data::Float(_)
            | Data::String(_)
            | Data::Path(_)
            | Data::Function
            | Data::Unknown(_) => {}
        }
    }

    fn as_copied(&mut self) -> Option<Copied<'_>> {
        match self {
            Data::String(text) => Some(Copied::String(text)),
            Data::Int(i) => Some(Copied::Int(i)),
            Data::Float(f) => Some(Copied::Float(f)),
            Data::Bool(b) => Some(Copied::Bool(b)),
            _ => None,
        }
    }
}

impl SpansMut for Clan {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Clan {
            meta,
            machines,
            tags,
            instances,
            legacy_services,
            legacy_services_empty: _,
            flake_services,
            inputs: _,
            clan_core_rev: _,
            clan_core_last_modified: _,
            secret_store: _,
            service_sources: _,
            diagnostics,
            unknowns,
        } = self;
        let Meta {
            name,
            domain,
            description,
        } = meta;
        name.spans_mut(f);
        domain.spans_mut(f);
        description.spans_mut(f);
        machines.spans_mut(f);
        tags.spans_mut(f);
        instances.spans_mut(f);
        legacy_services.spans_mut(f);
        flake_services.spans_mut(f);
        diagnostics.spans_mut(f);
        unknowns.spans_mut(f);
    }
}

impl SpansMut for Machine {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Machine {
            name: _,
            span,
            sources: _,
            class,
            tags,
            tags_unknown: _,
            description,
            target_host,
            build_host,
            host_platform,
            imports,
            generators,
            distributed: _,
            services_failed: _,
            sops_secrets,
            sops_key_elsewhere: _,
        } = self;
        span.spans_mut(f);
        class.spans_mut(f);
        tags.spans_mut(f);
        description.spans_mut(f);
        target_host.spans_mut(f);
        build_host.spans_mut(f);
        host_platform.spans_mut(f);
        imports.spans_mut(f);
        generators.spans_mut(f);
        sops_secrets.spans_mut(f);
    }
}

impl SpansMut for SopsSecret {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let SopsSecret {
            name: _,
            span,
            sops_file,
            key,
            format: _,
            home_user: _,
        } = self;
        span.spans_mut(f);
        sops_file.spans_mut(f);
        key.spans_mut(f);
    }
}

impl SpansMut for ModuleImport {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let ModuleImport { span, target: _ } = self;
        span.spans_mut(f);
    }
}

impl SpansMut for Tag {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Tag {
            name: _,
            members: _,
            listed: _,
            span,
            computed: _,
        } = self;
        span.spans_mut(f);
    }
}

impl SpansMut for Instance {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Instance {
            name: _,
            span,
            module_name,
            module_name_defaulted: _,
            module_input,
            roles,
        } = self;
        span.spans_mut(f);
        module_name.spans_mut(f);
        module_input.spans_mut(f);
        roles.spans_mut(f);
    }
}

impl SpansMut for Role {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Role {
            name: _,
            span,
            machines,
            tags,
            tags_unknown: _,
            machines_unknown: _,
            settings,
            extra_modules,
            resolved: _,
        } = self;
        span.spans_mut(f);
        machines.spans_mut(f);
        tags.spans_mut(f);
        settings.spans_mut(f);
        extra_modules.spans_mut(f);
    }
}

impl SpansMut for RoleMachine {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let RoleMachine {
            name: _,
            span,
            settings,
        } = self;
        span.spans_mut(f);
        settings.spans_mut(f);
    }
}

impl SpansMut for FlakeService {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        // `service` is the catalog's description of a service: no spans.
        let FlakeService {
            name: _,
            span,
            service: _,
            role_spans,
        } = self;
        span.spans_mut(f);
        role_spans.spans_mut(f);
    }
}

impl SpansMut for Generator {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Generator {
            name: _,
            span,
            share: _,
            files,
            prompts,
            dependencies,
            script,
            runtime_inputs: _,
        } = self;
        span.spans_mut(f);
        files.spans_mut(f);
        prompts.spans_mut(f);
        dependencies.spans_mut(f);
        script.spans_mut(f);
    }
}

impl SpansMut for VarFile {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let VarFile {
            name: _,
            span,
            secret: _,
            deploy: _,
            owner,
            group,
            mode,
            needed_for,
        } = self;
        span.spans_mut(f);
        owner.spans_mut(f);
        group.spans_mut(f);
        mode.spans_mut(f);
        needed_for.spans_mut(f);
    }
}

impl SpansMut for Prompt {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let Prompt {
            name: _,
            span,
            description,
            kind,
            persist: _,
        } = self;
        span.spans_mut(f);
        description.spans_mut(f);
        kind.spans_mut(f);
    }
}

impl SpansMut for UnknownNote {
    fn spans_mut(&mut self, f: &mut dyn SpanVisitor) {
        let UnknownNote {
            subject: _,
            reason: _,
            span,
        } = self;
        span.spans_mut(f);
    }
}
