//! The typed clan, as clan-core would see it after evaluating the flake: meta, machines, tags,
//! service instances with their roles, the flake's own services, and per machine what its
//! modules declare. Every definition keeps the span where the user wrote it; everything clanc
//! could not know is `Known::Unknown` with the reason, so checks downstream stay silent.
//!
//! This is plain data: the front end (`model::build`) fills it in, the checker, the planner
//! and the vars commands read it.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, Span};
use crate::services::catalog::Service;

/// A fact, or the reason clanc could not know it.
#[derive(Clone, Debug, PartialEq)]
pub enum Known<T> {
    Known(T),
    Unknown(String),
}

impl<T> Default for Known<T> {
    fn default() -> Known<T> {
        Known::Unknown("not evaluated".to_string())
    }
}

impl<T> Known<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Known::Known(v) => Some(v),
            Known::Unknown(_) => None,
        }
    }
}

/// A value with the span of the text that defined it (`None` for values that come from a
/// default or from code with no source the user wrote).
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Option<Span>,
    /// For the value of an attribute: the span of the attribute's name (a diagnostic about
    /// the key, like an unknown setting, points there).
    pub key: Option<Span>,
    /// When the value is a string copied verbatim from a string literal that the evaluation
    /// never read otherwise: that literal (quotes included). An edit of only that literal
    /// then changes only this copy, which can be patched instead of building the model again.
    pub literal: Option<Span>,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Option<Span>) -> Spanned<T> {
        Spanned {
            value,
            span,
            key: None,
            literal: None,
        }
    }

    pub fn with_key(mut self, key: Option<Span>) -> Spanned<T> {
        self.key = key;
        self
    }
}

/// A Nix value as plain data (settings, generator fields), with module-system wrappers kept
/// (`mkIf`, `mkOverride`, `mkMerge`) so a checker can merge definitions with priorities.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    /// A path, relative to the clan directory when inside it.
    Path(String),
    List(Vec<Spanned<Data>>),
    Attrs(BTreeMap<String, Spanned<Data>>),
    /// A function (a module function, a lambda setting): not inspected.
    Function,
    /// `mkOverride priority content` (mkDefault = 1000, mkForce = 50, plain = 100).
    Override {
        priority: i64,
        content: Box<Spanned<Data>>,
    },
    /// `mkIf condition content`; an unknown condition is `Known::Unknown`.
    If {
        condition: Known<bool>,
        content: Box<Spanned<Data>>,
    },
    /// `mkMerge [ ... ]`.
    Merge(Vec<Spanned<Data>>),
    /// `mkOrder priority content` (mkBefore, mkAfter).
    Order {
        priority: i64,
        content: Box<Spanned<Data>>,
    },
    Unknown(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MachineClass {
    Nixos,
    Darwin,
}

impl MachineClass {
    pub fn parse(text: &str) -> Option<MachineClass> {
        match text {
            "nixos" => Some(MachineClass::Nixos),
            "darwin" => Some(MachineClass::Darwin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MachineClass::Nixos => "nixos",
            MachineClass::Darwin => "darwin",
        }
    }
}

/// The whole clan.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Clan {
    pub meta: Meta,
    pub machines: BTreeMap<String, Machine>,
    /// Every tag a role may name, with its members: the machines' own tags, the entries of
    /// `inventory.tags` (attrset or function form), and the computed `all`, `nixos`, `darwin`.
    pub tags: BTreeMap<String, Tag>,
    pub instances: BTreeMap<String, Instance>,
    /// The span of the `inventory.services` key when the removed option is used.
    pub legacy_services: Option<Span>,
    /// Whether that definition is known to be an empty set (`inventory.services = { };`).
    pub legacy_services_empty: bool,
    /// The flake's own services (`clan.modules.<name>`), reached by `module.input = "self"`.
    pub flake_services: BTreeMap<String, FlakeService>,
    /// The flake's input names (`module.input` must name one, or "self"); unknown when
    /// `flake.nix` could not be read.
    pub inputs: Known<Vec<String>>,
    /// The clan-core revision `flake.lock` pins, when it pins one.
    pub clan_core_rev: Option<String>,
    /// When that revision was committed (`lastModified`, seconds since the epoch): which
    /// clan-core the flake evaluates with, for facts that changed between versions.
    pub clan_core_last_modified: Option<i64>,
    /// Where the services' code comes from (`model/service_membership.rs`).
    pub service_sources: super::service_membership::ServiceSources,
    /// `vars.settings.secretStore` when the clan sets it (clan-core's default is "sops", the
    /// `vars/` tree clanc reads; another store keeps secrets elsewhere).
    pub secret_store: Option<Known<String>>,
    /// Diagnostics found while building the model: syntax and evaluation errors in code the
    /// model needs (N001-N005), inventory values of the wrong type (C011), conflicting
    /// definitions (C012).
    pub diagnostics: Vec<Diagnostic>,
    /// What could not be evaluated, and why (for `--explain-unknown`).
    pub unknowns: Vec<UnknownNote>,
}

impl Clan {
    /// Whether the clan as a whole is unknown (the flake evaluates no clan clanc can see, or
    /// a module of it could not be read): nothing may be concluded from what the model lacks.
    /// Whether secret vars live in the `vars/` tree as sops files (clan-core's default
    /// store), so that their presence there can be checked.
    pub fn secrets_in_vars_tree(&self) -> bool {
        match &self.secret_store {
            None => true,
            Some(store) => *store == Known::Known("sops".to_string()),
        }
    }

    pub fn is_unknown(&self) -> bool {
        self.unknown_reason().is_some()
    }

    /// Why the clan as a whole is unknown.
    pub fn unknown_reason(&self) -> Option<&str> {
        (self.unknowns.iter())
            .find(|note| note.subject == "clan")
            .map(|note| note.reason.as_str())
    }

    /// Why the set of machine names may be incomplete: a machine source whose names the model
    /// could not list (what is unknown inside a named machine does not count).
    pub fn machine_names_unknown(&self) -> Option<&str> {
        (self.unknowns.iter())
            .find(|note| {
                [
                    "machines",
                    "inventory.machines",
                    "clan.machines",
                    "inventory",
                ]
                .contains(&note.subject.as_str())
            })
            .map(|note| note.reason.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    pub name: Option<Spanned<Known<String>>>,
    pub domain: Option<Spanned<Known<String>>>,
    pub description: Option<Spanned<Known<String>>>,
}

/// Where a machine comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MachineSource {
    /// `inventory.machines.<m>` in Nix.
    Inventory,
    /// `clan.machines.<m>`.
    ClanMachines,
    /// A `machines/<m>/` folder.
    Folder,
    /// `inventory.json`.
    InventoryJson,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    pub name: String,
    /// The first place that defines the machine (the inventory key, the `clan.machines` key,
    /// the folder's `configuration.nix`, or the `inventory.json` key).
    pub span: Option<Span>,
    pub sources: Vec<MachineSource>,
    /// "nixos" unless set; a value that is neither is reported by the model (C011) and read
    /// as unknown here.
    pub class: Spanned<Known<MachineClass>>,
    /// The machine's own tags (unique, in definition order); computed tags are in `Clan::tags`.
    pub tags: Vec<Spanned<String>>,
    /// Why some of the machine's own tags are unknown (an element or a definition that is
    /// unknown or could not be evaluated): [`Machine::tags`] then holds only the others, and
    /// any tag but `all` may have this machine as a member.
    pub tags_unknown: Option<String>,
    pub description: Option<Spanned<Known<String>>>,
    pub target_host: Option<Spanned<Known<String>>>,
    pub build_host: Option<Spanned<Known<String>>>,
    /// `nixpkgs.hostPlatform` from the machine's modules.
    pub host_platform: Option<Spanned<Known<String>>>,
    /// What the machine's modules import (transitively), in order.
    pub imports: Vec<ModuleImport>,
    /// `clan.core.vars.generators.<g>`: declared by the machine's own modules, and by its
    /// services' and clan-core's modules where clanc could read them
    /// (`model/service_generators.rs`).
    pub generators: BTreeMap<String, Generator>,
    /// The instances whose services' modules the generators were read with (sorted).
    pub distributed: Vec<String>,
    /// Why evaluating the machine with its services' and clan-core's modules failed (the
    /// generators are then the machine's own only): see [`Clan::generators_partial`].
    pub services_failed: Option<String>,
    /// Legacy sops-nix secrets (`sops.secrets.<name>`) of the machine's modules, by name.
    pub sops_secrets: Vec<SopsSecret>,
    /// Why sops-nix on the machine may decrypt with another key than the clan's machine key
    /// (`sops.age.keyFile` set elsewhere, `sops.age.sshKeyPaths`, gnupg), when it may.
    pub sops_key_elsewhere: Option<String>,
}

impl Machine {
    /// A machine known by its name and class: its tags, hosts and what its modules give it
    /// (imports, platform, generators, sops secrets) are filled in as they are read.
    pub fn new(name: String, span: Option<Span>, class: Spanned<Known<MachineClass>>) -> Machine {
        Machine {
            name,
            span,
            sources: Vec::new(),
            class,
            tags: Vec::new(),
            tags_unknown: None,
            description: None,
            target_host: None,
            build_host: None,
            host_platform: None,
            imports: Vec::new(),
            generators: BTreeMap::new(),
            distributed: Vec::new(),
            services_failed: None,
            sops_secrets: Vec::new(),
            sops_key_elsewhere: None,
        }
    }
}

/// A legacy sops-nix secret: `sops.secrets."<name>" = { sopsFile = ...; key = ...; }`.
#[derive(Clone, Debug, PartialEq)]
pub struct SopsSecret {
    pub name: String,
    /// The `sops.secrets.<name>` key.
    pub span: Option<Span>,
    /// The sops file, relative to the clan directory when inside it (else absolute); unknown
    /// when it cannot be evaluated or lies outside the clan; `None` when neither `sopsFile`
    /// nor `sops.defaultSopsFile` is set.
    pub sops_file: Option<Spanned<Known<String>>>,
    /// The key inside the file (default: the secret's name); `/` separates nested keys.
    pub key: Spanned<Known<String>>,
    /// "yaml" (the default), "json", "binary", "dotenv" or "ini".
    pub format: Known<String>,
    /// The home-manager user whose sops-nix decrypts the secret
    /// (`home-manager.users.<user>.sops.secrets`), with the user's own key on the machine
    /// (`sops.age.keyFile`, ssh or gnupg keys there, never a key the clan's files hold);
    /// `None` for the machine's own sops-nix.
    pub home_user: Option<String>,
}

/// One element of a machine module's `imports`.
#[derive(Clone, Debug, PartialEq)]
pub struct ModuleImport {
    /// The reference in the user's text (the list element).
    pub span: Option<Span>,
    pub target: ImportTarget,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ImportTarget {
    /// A file of the clan (relative path).
    File(String),
    /// `config.flake.modules.<class>.<name>`; `defined` is false when nothing defines it.
    Deferred {
        class: String,
        name: String,
        defined: bool,
    },
    /// An input's module or a value clanc cannot see into.
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    pub name: String,
    /// Sorted machine names: those [`Tag::listed`] and those carrying the tag
    /// ([`Clan::resolve_tags`]).
    pub members: Known<Vec<String>>,
    /// The machines `inventory.tags` lists (the computed tags' members for `all`, `nixos`,
    /// `darwin`); `None` for a tag only machines carry.
    pub listed: Option<Known<Vec<String>>>,
    /// Where the tag is defined in `inventory.tags` (none for machine tags and computed ones).
    pub span: Option<Span>,
    /// `all`, `nixos` and `darwin`.
    pub computed: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub name: String,
    /// The `instances.<i>` key.
    pub span: Option<Span>,
    /// `module.name`; defaults to the instance name (then the span is the instance key).
    pub module_name: Spanned<Known<String>>,
    pub module_name_defaulted: bool,
    /// `module.input`: `None` is clan-core; `Some("self")` is this flake's `clan.modules`.
    pub module_input: Option<Spanned<Known<String>>>,
    pub roles: BTreeMap<String, Role>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    pub name: String,
    /// The `roles.<r>` key.
    pub span: Option<Span>,
    pub machines: BTreeMap<String, RoleMachine>,
    /// Tag names (attrset or list form), in definition order, each once.
    pub tags: Vec<Spanned<String>>,
    /// Why some of the role's tags are unknown ([`Role::tags`] then holds only the others,
    /// and [`Role::resolved`] is unknown).
    pub tags_unknown: Option<String>,
    /// Why the role's `machines` may name more than [`Role::machines`] holds (a definition
    /// clanc could not evaluate, such as a set computed from an unmodelled argument);
    /// [`Role::resolved`] is unknown then.
    pub machines_unknown: Option<String>,
    /// The role's `settings` (one definition; more is C012, reported by the model).
    pub settings: Option<Spanned<Data>>,
    pub extra_modules: Vec<Spanned<ExtraModule>>,
    /// What clan-core resolves the role to: every machine named (defined or not) plus the
    /// members of its tags; sorted, unique. Unknown when a tag's members are unknown.
    /// Computed from the rest of the model ([`Clan::resolve_tags`]).
    pub resolved: Known<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RoleMachine {
    pub name: String,
    /// The `machines.<m>` key.
    pub span: Option<Span>,
    pub settings: Option<Spanned<Data>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExtraModule {
    /// A path or a string naming a file relative to the clan directory.
    File(String),
    /// A module written inline (attrset or function).
    Inline,
    Unknown(String),
}

/// A service this flake defines (`clan.modules.<name>`).
#[derive(Clone, Debug, PartialEq)]
pub struct FlakeService {
    /// The key in `clan.modules`.
    pub name: String,
    pub span: Option<Span>,
    /// The service as the checker sees built-in ones; unknown when it could not be evaluated.
    pub service: Known<Service>,
    /// Where each role is declared (`roles.<r>`), for messages.
    pub role_spans: BTreeMap<String, Span>,
}

/// A vars generator (`clan.core.vars.generators.<g>`).
#[derive(Clone, Debug, PartialEq)]
pub struct Generator {
    pub name: String,
    /// The `generators.<g>` key.
    pub span: Option<Span>,
    pub share: Known<bool>,
    pub files: BTreeMap<String, VarFile>,
    pub prompts: BTreeMap<String, Prompt>,
    pub dependencies: Known<Vec<Spanned<String>>>,
    /// The script text when it is known (it usually interpolates packages: unknown).
    pub script: Spanned<Known<String>>,
    /// Store paths of `runtimeInputs` (usually unknown).
    pub runtime_inputs: Known<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VarFile {
    pub name: String,
    pub span: Option<Span>,
    pub secret: Known<bool>,
    pub deploy: Known<bool>,
    /// Set values keep their span; defaults have none.
    pub owner: Spanned<Known<String>>,
    pub group: Spanned<Known<String>>,
    pub mode: Spanned<Known<String>>,
    pub needed_for: Spanned<Known<String>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    pub name: String,
    pub span: Option<Span>,
    /// The prompt's name unless set (then without a span).
    pub description: Spanned<Known<String>>,
    /// "line" unless set.
    pub kind: Spanned<Known<String>>,
    pub persist: Known<bool>,
}

/// Something the model could not evaluate.
#[derive(Clone, Debug, PartialEq)]
pub struct UnknownNote {
    /// What it is about ("instances.matrix.roles.default.settings.package").
    pub subject: String,
    pub reason: String,
    pub span: Option<Span>,
}
