//! `check_clan`: every C, M, V and S diagnostic for a built model, from the rule families
//! (`roles`, `settings`, `machines`, `vars`, `sops_nix`). Pure: the vars tree on disk comes in as a
//! `VarsListing` the caller built.

use std::collections::HashSet;

use crate::diagnostics::{Diagnostic, Span};
use crate::model::Clan;
use crate::services::catalog::Catalog;

use super::vars::VarsListing;
use super::{machines, roles, settings, sops_nix, vars};
use crate::diagnostics::Code;

/// Every checker diagnostic for `clan`, deduplicated (a module imported by several machines,
/// or role settings shared by every machine of the role, would otherwise repeat the same
/// diagnostic at the same place), in a stable order. The model's own diagnostics
/// (`clan.diagnostics`) are not repeated here.
pub fn check_clan(clan: &Clan, catalog: &Catalog, vars_listing: &VarsListing) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if clan.is_unknown() {
        // an empty model: every machine, vars directory and secret would look unused
        return out;
    }
    let services = roles::check(clan, catalog, &mut out);
    settings::check(clan, &services, &mut out);
    machines::check(clan, &mut out);
    vars::check(clan, &services, vars_listing, &mut out);
    sops_nix::check(clan, &vars_listing.sops, &mut out);
    catalog_revision(clan, catalog, &mut out);
    dedup(out)
}

/// C014 (info), once: flake.lock pins another clan-core than the one the service catalog
/// describes, so a diagnostic about a built-in service may be a version difference.
fn catalog_revision(clan: &Clan, catalog: &Catalog, out: &mut Vec<Diagnostic>) {
    let Some(pinned) = &clan.clan_core_rev else {
        return;
    };
    if catalog.clan_core_commit.starts_with(pinned.as_str())
        || pinned.starts_with(&catalog.clan_core_commit)
    {
        return;
    }
    let short = |rev: &str| rev.chars().take(12).collect::<String>();
    out.push(
        Diagnostic::new(
            Code::C014,
            crate::diagnostics::Severity::Info,
            format!(
                "the service catalog describes clan-core {}, but flake.lock pins {}: a diagnostic about a built-in service may be a difference between the two versions",
                short(&catalog.clan_core_commit),
                short(pinned)
            ),
            Span::new("flake.lock", Default::default()),
        )
        .with_help("update clanc, or check the service's options in the pinned clan-core"),
    );
}

fn dedup(diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = HashSet::new();
    let mut kept: Vec<Diagnostic> = diagnostics
        .into_iter()
        .filter(|d| seen.insert((d.code, d.span.clone(), d.message.clone())))
        .collect();
    kept.sort_by(|a, b| {
        (&a.span.file, a.span.range.start(), a.code, &a.message).cmp(&(
            &b.span.file,
            b.span.range.start(),
            b.code,
            &b.message,
        ))
    });
    kept
}

/// The first span that is there: the primary place, then the enclosing ones. Checks skip a
/// diagnostic when this is `None` rather than invent a location.
pub(super) fn first_span(spans: &[Option<&Span>]) -> Option<Span> {
    spans.iter().flatten().next().map(|s| (*s).clone())
}

/// Whether the model says something below `prefix` could not be evaluated (its
/// `UnknownNote` subjects are dotted paths such as `inventory.machines` or
/// `instances.matrix.roles.default.settings.package`).
pub(super) fn unknown_below(clan: &Clan, prefixes: &[&str]) -> bool {
    clan.unknowns.iter().any(|note| {
        prefixes.iter().any(|p| {
            note.subject == *p
                || note
                    .subject
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    })
}

/// Whether the set of machine names is complete ([`Clan::machine_names_unknown`]).
pub(super) fn machines_complete(clan: &Clan) -> bool {
    clan.machine_names_unknown().is_none()
}

#[cfg(test)]
mod tests;
