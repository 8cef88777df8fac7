//! Whether a service reads the members of its roles: read from its code (the flake's own
//! services, clan-core's from its source in the Nix store).

use std::collections::{BTreeMap, HashSet};

use rnix::TextRange;

use super::trace::Tracer;
use crate::model::footprint::{RolesRead, line_of};
use crate::model::{Clan, Instance, Known};

impl Tracer<'_, '_> {
    /// Whether an instance's service reads the members of its roles.
    pub(super) fn roles_read(
        &mut self,
        clan: &Clan,
        instance: &Instance,
        service_files: &BTreeMap<String, Vec<String>>,
    ) -> RolesRead {
        let Known::Known(module) = &instance.module_name.value else {
            return RolesRead::Maybe("its service's name is unknown".into());
        };
        let input = instance.module_input.as_ref().map(|i| &i.value);
        let clan_core = match input {
            None => true,
            Some(Known::Known(i)) if i == "self" => false,
            Some(Known::Known(i)) if clan.service_sources.clan_core_inputs.contains(i) => true,
            Some(Known::Known(i)) => {
                return RolesRead::Maybe(format!(
                    "its service comes from input `{i}`, which clanc does not read"
                ));
            }
            Some(Known::Unknown(why)) => {
                return RolesRead::Maybe(format!("its service's input is unknown ({why})"));
            }
        };
        if !clan_core {
            let Some(files) = service_files.get(module) else {
                return RolesRead::Maybe(format!("clanc could not read service `{module}`"));
            };
            let files = files.clone();
            let root = self.root.clone();
            return self.scan_service(&files, &root);
        }
        let Some(dir) = clan.service_sources.clan_core_dir.clone() else {
            return RolesRead::Maybe(format!(
                "clan-core's source is not on this machine, so clanc cannot read service `{module}`"
            ));
        };
        let service_dir = format!("{dir}/clanServices/{module}");
        let mut files = Vec::new();
        self.nix_files(&service_dir, 0, &mut files);
        if files.is_empty() {
            return RolesRead::Maybe(format!(
                "clan-core has no service `{module}` clanc can read"
            ));
        }
        self.scan_service(&files, &dir)
    }

    /// The `.nix` files below a directory (a few levels deep).
    fn nix_files(&self, dir: &str, depth: usize, out: &mut Vec<String>) {
        use crate::eval::Files;
        if depth > 4 || out.len() > 200 {
            return;
        }
        let Ok(entries) = self.files.read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = format!("{dir}/{}", entry.name);
            match entry.kind {
                crate::db::EntryKind::Directory => self.nix_files(&path, depth + 1, out),
                _ if entry.name.ends_with(".nix") => out.push(path),
                _ => {}
            }
        }
    }

    /// Whether a service's files read the roles' members (paths shown relative to `base`).
    fn scan_service(&mut self, files: &[String], base: &str) -> RolesRead {
        if files.is_empty() {
            return RolesRead::Maybe("clanc found no code of its service".into());
        }
        let mut maybe = None;
        for path in files {
            let Some(index) = self.index(path) else {
                continue;
            };
            let Some(text) = self.text(path) else {
                continue;
            };
            let shown = path
                .strip_prefix(base.trim_end_matches('/'))
                .map_or(path.as_str(), |p| p.trim_start_matches('/'));
            for (attr, range) in index.attribute_values(&["perInstance", "perMachine"]) {
                let line = line_of(&text, usize::from(range.start()));
                if !index.is_function(range) {
                    maybe.get_or_insert(format!(
                        "its `{attr}` at {shown}:{line} is not written as a function"
                    ));
                    continue;
                }
                let functions: HashSet<TextRange> = [range].into();
                let Some(reach) = index.reach(Some(range), &HashSet::new(), &functions) else {
                    continue;
                };
                for used in reach.arguments.iter().filter(|a| a.function == range) {
                    let name = match (used.whole, used.select.as_deref()) {
                        (true, Some([first, ..])) => first.to_string(),
                        (true, _) => {
                            maybe.get_or_insert(format!(
                                "its `{attr}` at {shown}:{line} takes its arguments as a whole"
                            ));
                            continue;
                        }
                        (false, _) => used.name.to_string(),
                    };
                    if matches!(name.as_str(), "roles" | "instances" | "exports") {
                        let at = line_of(&text, usize::from(used.range.start()));
                        return RolesRead::Yes(format!("`{name}` at {shown}:{at}"));
                    }
                }
            }
        }
        match maybe {
            Some(why) => RolesRead::Maybe(why),
            None => RolesRead::No,
        }
    }
}
