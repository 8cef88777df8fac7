//! A vars generator as declared in a machine's modules (`clan.core.vars.generators.<g>`):
//! the files it must produce, the prompts it asks, what it depends on and its script. The model
//! fills these in from evaluation; the runner and the checks read them.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratorSpec {
    pub name: String,
    /// One value for every machine, stored under `vars/shared/`.
    pub share: bool,
    pub files: BTreeMap<String, FileSpec>,
    pub prompts: BTreeMap<String, PromptSpec>,
    /// Names of generators whose files this one reads from `$in/<generator>/<file>`.
    pub dependencies: Vec<String>,
    /// Store paths whose `bin/` go on `PATH` (known only when the model could realise them).
    pub runtime_inputs: Vec<String>,
    pub script: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSpec {
    pub secret: bool,
    pub deploy: bool,
    pub owner: String,
    pub group: String,
    pub mode: String,
    pub needed_for: NeededFor,
}

impl Default for FileSpec {
    /// clan-core's defaults: a deployed secret owned by root, mode 0400, for services.
    fn default() -> FileSpec {
        FileSpec {
            secret: true,
            deploy: true,
            owner: "root".to_string(),
            group: "root".to_string(),
            mode: "0400".to_string(),
            needed_for: NeededFor::Services,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NeededFor {
    Partitioning,
    Activation,
    Users,
    Services,
}

impl NeededFor {
    pub fn parse(text: &str) -> Option<NeededFor> {
        Some(match text {
            "partitioning" => NeededFor::Partitioning,
            "activation" => NeededFor::Activation,
            "users" => NeededFor::Users,
            "services" => NeededFor::Services,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptSpec {
    pub description: String,
    pub kind: PromptKind,
    pub persist: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PromptKind {
    Hidden,
    Line,
    Multiline,
    MultilineHidden,
}

impl PromptKind {
    pub fn parse(text: &str) -> Option<PromptKind> {
        Some(match text {
            "hidden" => PromptKind::Hidden,
            "line" => PromptKind::Line,
            "multiline" => PromptKind::Multiline,
            "multiline-hidden" => PromptKind::MultilineHidden,
            _ => return None,
        })
    }

    /// Whether the typed answer must not be echoed.
    pub fn is_hidden(self) -> bool {
        matches!(self, PromptKind::Hidden | PromptKind::MultilineHidden)
    }
}
