//! clan-core's built-in services as data: each service's roles, each role's options (path,
//! type, default, required), constraints and supported classes. Generated from clan-core by
//! evaluation (`clan-core-services.json`, beside this file) at the commit in `CLAN_CORE_COMMIT`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::modules::option_type::OptionType;

use super::history::ServiceHistory;

const CATALOG_JSON: &str = include_str!("clan-core-services.json");

#[derive(Debug, Deserialize)]
struct RawCatalog {
    services: BTreeMap<String, RawService>,
    source: Source,
}

#[derive(Debug, Deserialize)]
struct Source {
    commit: String,
}

#[derive(Debug, Deserialize)]
struct RawService {
    classes: Vec<String>,
    manifest: RawManifest,
    roles: BTreeMap<String, RawRole>,
}

#[derive(Debug, Deserialize)]
struct RawManifest {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    constraints: RawConstraints,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConstraints {
    max_instances: Option<u32>,
    #[serde(default)]
    roles: BTreeMap<String, RoleConstraint>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleConstraint {
    pub min_machines: Option<u32>,
    pub max_machines: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RawRole {
    #[serde(default)]
    description: Option<String>,
    options: Vec<RawOption>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOption {
    path: String,
    #[serde(rename = "type")]
    type_description: String,
    default: Option<String>,
    required: bool,
    read_only: bool,
}

/// A built-in service (`module.input` null or "clan-core", `module.name` = the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    /// `manifest.name`, e.g. "clan-core/zerotier".
    pub manifest_name: String,
    pub description: Option<String>,
    pub categories: Vec<String>,
    /// The machine classes the service has modules for ("nixos", "darwin").
    pub classes: Vec<String>,
    pub max_instances: Option<u32>,
    pub roles: BTreeMap<String, Role>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub description: Option<String>,
    pub constraint: RoleConstraint,
    pub options: Vec<OptionDecl>,
}

/// One option of a role's interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionDecl {
    /// Dotted path below `settings`, e.g. "rsaHostKey.enable".
    pub path: String,
    pub option_type: OptionType,
    /// nixpkgs' description of the type, as clan-core prints it in errors.
    pub type_description: String,
    /// The default, as Nix source text; `None` when the option has none.
    pub default: Option<String>,
    pub required: bool,
    pub read_only: bool,
}

impl Service {
    pub fn supports_class(&self, class: &str) -> bool {
        self.classes.iter().any(|c| c == class)
    }
}

impl Role {
    pub fn option(&self, path: &str) -> Option<&OptionDecl> {
        self.options.iter().find(|o| o.path == path)
    }
}

/// The built-in services of one clan-core revision.
#[derive(Debug, PartialEq, Eq)]
pub struct Catalog {
    pub clan_core_commit: String,
    pub services: BTreeMap<String, Service>,
    /// Which pinned clan-cores the catalog describes, service by service.
    pub history: ServiceHistory,
}

impl Catalog {
    /// The embedded catalog, read once.
    pub fn builtin() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            // The embedded file is part of the build and checked by the tests below.
            Catalog::from_json(CATALOG_JSON).unwrap_or_else(|e| panic!("embedded catalog: {e}"))
        })
    }

    pub fn from_json(text: &str) -> Result<Catalog, serde_json::Error> {
        let raw: RawCatalog = serde_json::from_str(text)?;
        let services = raw
            .services
            .into_iter()
            .map(|(name, service)| {
                let constraints = &service.manifest.constraints;
                let roles = service
                    .roles
                    .into_iter()
                    .map(|(role_name, role)| {
                        let constraint = constraints
                            .roles
                            .get(&role_name)
                            .copied()
                            .unwrap_or_default();
                        let options = role
                            .options
                            .into_iter()
                            .map(|o| OptionDecl {
                                option_type: OptionType::from_description(&o.type_description),
                                path: o.path,
                                type_description: o.type_description,
                                default: o.default,
                                required: o.required,
                                read_only: o.read_only,
                            })
                            .collect();
                        (
                            role_name,
                            Role {
                                description: role.description,
                                constraint,
                                options,
                            },
                        )
                    })
                    .collect();
                let service = Service {
                    name: name.clone(),
                    manifest_name: service.manifest.name,
                    description: service.manifest.description,
                    categories: service.manifest.categories,
                    classes: service.classes,
                    max_instances: service.manifest.constraints.max_instances,
                    roles,
                };
                (name, service)
            })
            .collect();
        Ok(Catalog {
            clan_core_commit: raw.source.commit,
            services,
            history: ServiceHistory::builtin().clone(),
        })
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_describes_clan_core_d7c35d9() {
        let catalog = Catalog::builtin();
        assert!(catalog.clan_core_commit.starts_with("d7c35d9127af"));
        assert_eq!(catalog.services.len(), 30);
        let zerotier = catalog.service("zerotier").unwrap();
        assert_eq!(zerotier.manifest_name, "clan-core/zerotier");
        assert_eq!(
            zerotier.roles.keys().collect::<Vec<_>>(),
            ["controller", "moon", "peer"]
        );
        assert_eq!(
            zerotier.roles["controller"].constraint.max_machines,
            Some(1)
        );
        assert!(zerotier.supports_class("nixos") && !zerotier.supports_class("darwin"));
        let wireguard = catalog.service("wireguard").unwrap();
        assert!(wireguard.supports_class("darwin"));
    }

    #[test]
    fn every_option_type_of_the_catalog_is_read_or_knowingly_unchecked() {
        // The descriptions clanc cannot check on purpose: they accept any value in Nix too, or
        // need a nested module the catalog does not describe.
        let unchecked = ["unspecified value", "raw value"];
        for service in Catalog::builtin().services.values() {
            for (role_name, role) in &service.roles {
                for option in &role.options {
                    let mut stack = vec![&option.option_type];
                    while let Some(t) = stack.pop() {
                        match t {
                            OptionType::Unchecked(text) => assert!(
                                unchecked.contains(&text.as_str()),
                                "{}/{role_name}.{}: cannot read `{text}`",
                                service.name,
                                option.path
                            ),
                            OptionType::NullOr(inner)
                            | OptionType::ListOf(inner)
                            | OptionType::AttrsOf(inner) => stack.push(inner),
                            OptionType::Either(all) => stack.extend(all),
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn required_options_have_no_default() {
        for service in Catalog::builtin().services.values() {
            for role in service.roles.values() {
                for option in role.options.iter().filter(|o| o.required) {
                    assert_eq!(option.default, None, "{} {}", service.name, option.path);
                }
            }
        }
    }
}
