//! Reading the clan's inventory from its option tree: meta, machines (from every source clan-core
//! reads), tags, instances and roles, and the data files beside them.

use super::*;

impl Reader<'_, '_> {
    pub(super) fn read_clan(&mut self, flake: &FlakeEvaluation, evaluation: &Rc<Evaluation>) {
        self.root_path = evaluation.root.path.clone();
        let root = Some(evaluation.root.clone());
        let inventory = self.child(&root, "inventory");
        self.read_meta(&root, &inventory);
        if let Some(node) = self.path(&root, &["vars", "settings", "secretStore"])
            && node.is_defined()
        {
            self.clan.secret_store = self
                .string_at(Some(node), "vars.settings.secretStore")
                .map(|s| s.value);
        }
        self.read_machines(&root, &inventory);
        self.read_tags(&inventory);
        self.read_instances(&inventory);
        // A file the inventory's values come from does not parse (`machines.x = import
        // ./x.nix;`): the machine, instance or tag it holds is missing or incomplete.
        if let Some(error) = self.ev.first_unreadable_import() {
            let failure = ModuleFailure::of(error);
            self.clan_unknown(&failure);
            return;
        }
        // Names were made unique as they were read (finding two equal read both).
        let _ = self.clan.resolve_tags();
        if let Some(services) = self.child(&inventory, "services") {
            let defs = self.user_defs(&services);
            if let Some(def) = defs.first() {
                self.clan.legacy_services = self.def_span(def);
                let value = services.value_thunk();
                self.clan.legacy_services_empty =
                    matches!(self.ev.force(&value, None), Ok(Value::Attrs(a)) if a.is_empty());
            }
        }
        let modules = self.child(&root, "modules");
        for (name, node) in self.keys(&modules) {
            let span = self.first_span(&node);
            let reported = flake.ctx.diagnostics.borrow().len();
            let service = read_flake_service(self.ev, &flake.ctx, &node, &name);
            // clan-core imports a service of `clan.modules` for the instances that use it:
            // what reading one no instance certainly uses fails of (`./absent.nix`, a type
            // error) is no certain error, only why the service is unknown.
            let failed = flake.ctx.diagnostics.borrow().len() > reported;
            if failed && !self.uses_flake_service(&inventory, &name) {
                let dropped: Vec<_> = flake
                    .ctx
                    .diagnostics
                    .borrow_mut()
                    .drain(reported..)
                    .collect();
                if let Some(first) = dropped.first() {
                    self.note(
                        &format!("clan.modules.{name}"),
                        format!(
                            "no instance uses it, and reading it failed: {}",
                            first.message
                        ),
                        span.clone(),
                    );
                }
            }
            self.footprint_service(&name, service.evaluation.clone());
            let role_spans = service
                .role_positions
                .iter()
                .filter_map(|(r, p)| self.span(Some(*p)).map(|s| (r.clone(), s)))
                .collect();
            self.clan.flake_services.insert(
                name.clone(),
                FlakeService {
                    name,
                    span,
                    service: match service.service {
                        Ok(s) => Known::Known(s),
                        Err(reason) => Known::Unknown(reason),
                    },
                    role_spans,
                },
            );
        }
        self.footprint_definitions(&root, &inventory);
        self.read_machine_modules(flake, &root, &evaluation.config);
    }

    /// Whether an instance certainly takes its module from this flake's
    /// `clan.modules.<service>`: its `module.input` is "self" and its module name (the
    /// instance's name by default) is the service's, both known. This reads the names (an
    /// edit of one builds the model again rather than patching the copy), so it is asked
    /// only about a service whose reading failed.
    pub(super) fn uses_flake_service(
        &mut self,
        inventory: &Option<Rc<Node>>,
        service: &str,
    ) -> bool {
        let instances = self.child(inventory, "instances");
        for (name, node) in self.keys(&instances) {
            let n = Some(node);
            let input_node = self.path(&n, &["module", "input"]);
            let input = self.string_at(input_node, &format!("instances.{name}.module.input"));
            if !matches!(input.map(|s| s.value), Some(Known::Known(i)) if i == "self") {
                continue;
            }
            let name_node = self.path(&n, &["module", "name"]);
            let module = self
                .string_at(name_node, &format!("instances.{name}.module.name"))
                .map_or(Known::Known(name), |s| s.value);
            if module == Known::Known(service.to_string()) {
                return true;
            }
        }
        false
    }

    pub(super) fn read_meta(&mut self, root: &Option<Rc<Node>>, inventory: &Option<Rc<Node>>) {
        let meta = self.child(root, "meta");
        let inv_meta = self.child(inventory, "meta");
        let pick = |r: &mut Self, key: &str| -> Option<Spanned<Known<String>>> {
            let a = r.child(&meta, key);
            let user_defined = a.as_ref().is_some_and(|n| !r.user_defs(n).is_empty());
            let node = if user_defined {
                a
            } else {
                r.child(&inv_meta, key).or(a)
            };
            r.copied_string_at(node, &format!("meta.{key}"))
        };
        self.clan.meta.name = pick(self, "name");
        self.clan.meta.domain = pick(self, "domain");
        self.clan.meta.description = pick(self, "description");
    }

    pub(super) fn read_machines(&mut self, root: &Option<Rc<Node>>, inventory: &Option<Rc<Node>>) {
        let inv_machines = self.child(inventory, "machines");
        // A failed (reported) definition of `inventory` or `inventory.machines` may have held
        // any machine.
        let inventory_failed =
            (self.open_reason(&inv_machines)).or_else(|| self.open_reason(inventory));
        let machines = self.keys(&inv_machines);
        self.ev.allow_for_machines(machines.len());
        for (name, node) in machines {
            self.ev.begin_machine();
            let machine = self.read_inventory_machine(&name, &node, &inventory_failed);
            self.clan.machines.insert(name, machine);
        }
        // `clan.machines.<m>` names a machine too.
        let before = self.clan.machines.len();
        self.add_clan_machines(root, &inventory_failed);
        (self.ev).allow_for_machines(self.clan.machines.len().saturating_sub(before));
    }

    /// The machine `inventory.machines.<name>` defines (`inventory_failed`: why any machine
    /// may be missing settings).
    fn read_inventory_machine(
        &mut self,
        name: &str,
        node: &Rc<Node>,
        inventory_failed: &Option<String>,
    ) -> Machine {
        let defs = self.user_defs(node);
        let (sources, span) = self.machine_sources(name, &defs);
        let n = Some(node.clone());
        // A definition of the machine that failed (reported) may have set any option; so
        // may a failed definition of `inventory.machines` for a machine the user's
        // inventory does not define (one of `clan.machines`, which clan-core adds).
        let failed = self
            .open_reason(&n)
            .or_else(|| defs.is_empty().then(|| inventory_failed.clone()).flatten());
        let class = self.machine_class(&n, &failed);
        let tags = {
            let node = self.child(&n, "tags");
            let mut tags = self.list_of_strings(node.clone(), true);
            if let Some(reason) = &failed {
                tags.add_unknown(reason);
            }
            if let Some(reason) = &tags.unknown {
                let span = node.and_then(|n| self.first_span(&n));
                self.note(&format!("machines.{name}.tags"), reason.clone(), span);
            }
            tags
        };
        let description = {
            let node = self.child(&n, "description");
            self.copied_string_at(node, &format!("machines.{name}.description"))
        };
        let target_host = {
            let node = self.path(&n, &["deploy", "targetHost"]);
            self.copied_string_at(node, &format!("machines.{name}.deploy.targetHost"))
        };
        let build_host = {
            let node = self.path(&n, &["deploy", "buildHost"]);
            self.copied_string_at(node, &format!("machines.{name}.deploy.buildHost"))
        };
        Machine {
            sources,
            tags: tags.list,
            tags_unknown: tags.unknown,
            description,
            target_host,
            build_host,
            ..Machine::new(name.to_string(), span, class)
        }
    }

    /// Where the definitions of an inventory machine come from, and its span: that of the
    /// first definition (its folder, its key in inventory.json, or the definition).
    fn machine_sources(&self, name: &str, defs: &[Def]) -> (Vec<MachineSource>, Option<Span>) {
        let mut sources = Vec::new();
        let mut span = None;
        for def in defs {
            let from_json = def
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("/inventory.json"));
            let from_folder = def.file.as_deref().is_some_and(|f| {
                self.files
                    .relative(f)
                    .is_some_and(|r| r.starts_with("machines/"))
            });
            let source = if from_json {
                MachineSource::InventoryJson
            } else if from_folder {
                MachineSource::Folder
            } else {
                MachineSource::Inventory
            };
            if !sources.contains(&source) {
                sources.push(source);
            }
            if span.is_none() {
                span = match source {
                    MachineSource::Folder => self.folder_span(name),
                    MachineSource::InventoryJson => self.json_key_span(&["machines", name]),
                    _ => self.def_span(def),
                };
            }
        }
        (sources, span)
    }

    /// An inventory machine's `machineClass`, spanned where the user sets it (`failed`: why
    /// its settings may be missing).
    fn machine_class(
        &mut self,
        n: &Option<Rc<Node>>,
        failed: &Option<String>,
    ) -> Spanned<Known<MachineClass>> {
        let class_node = self.child(n, "machineClass");
        let class_span = class_node.as_ref().and_then(|c| {
            let defs = self.user_defs(c);
            defs.first().and_then(|d| self.def_span(d))
        });
        let class = match (failed, &class_span) {
            // Only the default, and a failed definition may have set it.
            (Some(reason), None) => Known::Unknown(reason.clone()),
            _ => match class_node.map(|c| self.force(&c.value_thunk())) {
                Some(Ok(Value::String(s))) => match MachineClass::parse(s.text()) {
                    Some(c) => Known::Known(c),
                    None => Known::Unknown(format!(
                        "machineClass {:?} is neither nixos nor darwin",
                        s.text()
                    )),
                },
                Some(Ok(Value::Unknown(u))) => Known::Unknown(u.reason.clone()),
                Some(Ok(_)) | None => Known::Known(MachineClass::Nixos),
                Some(Err(e)) => Known::Unknown(e),
            },
        };
        Spanned::new(class, class_span)
    }

    /// Adds the machines `clan.machines.<m>` names, and that source to those the inventory
    /// names too (`inventory_failed`: why a machine only named here may have any class).
    fn add_clan_machines(&mut self, root: &Option<Rc<Node>>, inventory_failed: &Option<String>) {
        let machines = self.child(root, "machines");
        for (name, node) in self.keys(&machines) {
            let defs = self.user_defs(&node);
            let Some(def) = defs.first() else { continue };
            let from_folder = def.file.as_deref().is_some_and(|f| {
                self.files
                    .relative(f)
                    .is_some_and(|r| r.starts_with("machines/"))
            });
            let span = if from_folder {
                self.folder_span(&name)
            } else {
                self.def_span(def)
            };
            let source = if from_folder {
                MachineSource::Folder
            } else {
                MachineSource::ClanMachines
            };
            let m = self
                .clan
                .machines
                .entry(name.clone())
                .or_insert_with(|| Machine {
                    tags_unknown: inventory_failed.clone(),
                    ..Machine::new(
                        name.clone(),
                        span.clone(),
                        Spanned::new(
                            match inventory_failed {
                                Some(reason) => Known::Unknown(reason.clone()),
                                None => Known::Known(MachineClass::Nixos),
                            },
                            None,
                        ),
                    )
                });
            if !m.sources.contains(&source) {
                m.sources.push(source);
            }
            if m.span.is_none() {
                m.span = span;
            }
        }
    }

    /// A machine folder's span: its configuration.nix, else the folder.
    pub(super) fn folder_span(&self, name: &str) -> Option<Span> {
        for file in ["configuration.nix", "default.nix"] {
            let path = format!("{}/machines/{name}/{file}", self.files.root());
            if let Some(rel) = self.files.relative(&path)
                && crate::eval::Files::file_type(self.files, &path).is_some()
            {
                return Some(Span::new(rel, Default::default()));
            }
        }
        Some(Span::new(format!("machines/{name}"), Default::default()))
    }

    /// The span of a key path in inventory.json (found in its text; JSON values carry no
    /// positions in the evaluator).
    pub(super) fn json_key_span(&self, keys: &[&str]) -> Option<Span> {
        let text = self.inventory_json()?;
        let range = crate::model::json_locate::locate_key(&text, keys)?;
        Some(Span::new("inventory.json", range))
    }

    /// The text of `inventory.json` as the database holds it (no disk read: the loader
    /// loaded it, and an editor may have changed it).
    pub(super) fn inventory_json(&self) -> Option<std::sync::Arc<str>> {
        let path = format!("{}/inventory.json", self.files.root());
        let file = crate::eval::Files::source(self.files, self.db, &path).ok()?;
        Some(file.text(self.db).clone())
    }

    /// `flake.lock` and (when the evaluation read it) `inventory.json` as Nix reads them:
    /// one that Nix cannot read leaves the clan unknown, as a module that does not parse.
    pub(super) fn read_data_files(&mut self, lock: Option<&str>) {
        let mut found = Vec::new();
        if let Some(text) = lock {
            found.push((
                "flake.lock",
                crate::model::data_files::flake_lock("flake.lock", text),
            ));
        }
        let json = format!("{}/inventory.json", self.files.root());
        if self.files.has_read(&json)
            && let Some(text) = self.inventory_json()
        {
            let findings = crate::model::data_files::inventory_json("inventory.json", &text);
            found.push(("inventory.json", findings));
        }
        if let Some((file, reason)) =
            (found.iter()).find_map(|(file, f)| f.unreadable.as_ref().map(|r| (*file, r.clone())))
        {
            *self.clan = Clan {
                inputs: self.clan.inputs.clone(),
                clan_core_rev: self.clan.clan_core_rev.clone(),
                clan_core_last_modified: self.clan.clan_core_last_modified,
                ..Clan::default()
            };
            self.clan.unknowns.push(UnknownNote {
                subject: "clan".into(),
                reason: format!("`{file}` could not be read ({reason}), so the clan is unknown"),
                span: None,
            });
        }
        for (_, findings) in found {
            for d in findings.diagnostics {
                push_unique(&mut self.clan.diagnostics, d);
            }
        }
    }

    /// Where in inventory.json a diagnostic of the module system belongs, when it is about
    /// a definition from there (clanc's model of clan-core imports the file as one module,
    /// whose values carry no positions): a wrong type at the key of its option path.
    pub(super) fn inventory_json_span(&self, d: &ModuleDiagnostic) -> Option<Span> {
        let pos = d.pos?;
        let path = self.ev.file_path(pos.file);
        let model = known::source(&path).filter(|_| path == known::path("clan-core.nix"))?;
        let start = model.find("jsonModules =")?;
        let end = start + model[start..].find("};")?;
        let range = TextRange::new(TextSize::from(start as u32), TextSize::from(end as u32));
        if !range.contains_range(pos.range) {
            return None;
        }
        let text = self.inventory_json()?;
        let option = d.message.split('`').nth(1).unwrap_or_default();
        let below = match option.find(".inventory.") {
            Some(i) => &option[i + ".inventory.".len()..],
            None => option.strip_prefix("inventory.").unwrap_or_default(),
        };
        let at = crate::model::json_locate::locate_dotted(&text, below).unwrap_or_default();
        Some(Span::new("inventory.json", at))
    }

    /// A list-of-strings option (a machine's `tags`, a generator's `dependencies`) with the
    /// span of each element the user wrote, each once. With `copies`, a string the user wrote
    /// is kept as a copy of its literal (an edit of a tag is then applied to the model,
    /// [`Clan::resolve_tags`]), and the merged value is not forced unless a definition is not
    /// a plain list: clan-core's `apply = lib.unique` on tags would compare, that is read,
    /// every element. An element or definition that is unknown or fails (reported) makes
    /// [`UniqueNames::unknown`] say so.
    pub(super) fn list_of_strings(&mut self, node: Option<Rc<Node>>, copies: bool) -> UniqueNames {
        let mut names = UniqueNames::default();
        let Some(node) = node else { return names };
        // The span for the merged value's elements, when it must be read.
        let mut read_merged: Option<Option<Span>> = None;
        for def in self.user_defs(&node) {
            let def_span = self.def_span(&def);
            let written = self.list_items(self.def_value_pos(&def));
            match self.force(&def.value) {
                Ok(Value::List(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let pos = self.ev.thunk_pos(item).or_else(|| written.get(i).copied());
                        let span = self.span(pos).or_else(|| def_span.clone());
                        match self.force(item) {
                            Ok(Value::String(s)) if copies => {
                                names.add_copy(&s, self.copy_string(&s), span)
                            }
                            Ok(Value::String(s)) => names.add_read(&s, span),
                            Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                            Ok(other) => self.not_a_string(&node.path, i, &other, span),
                            Err(e) => names.add_unknown(&e),
                        }
                    }
                }
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                // mkIf/mkMerge around the list, or not a list (the merged value reports its
                // type).
                Ok(_) => {
                    read_merged.get_or_insert(def_span);
                }
                Err(e) => names.add_unknown(&e),
            }
        }
        // What clanc's clan-core adds (the tags whose `inventory.tags` list names the
        // machine): from its own definitions, without a span of their own.
        let mut added = Vec::new();
        if read_merged.is_none() {
            let builtin: Vec<Def> = (node.defs.iter())
                .filter(|d| is_builtin_def(self.ev, d))
                .cloned()
                .collect();
            for def in builtin {
                match self.force(&def.value) {
                    Ok(Value::List(items)) => added.extend(items.iter().cloned()),
                    Ok(_) => read_merged = Some(None),
                    Err(e) => names.add_unknown(&e),
                }
            }
        }
        let span = match read_merged {
            Some(span) => {
                added = match self.force(&node.value_thunk()) {
                    Ok(Value::List(items)) => items.iter().cloned().collect(),
                    Ok(Value::Unknown(u)) => {
                        names.add_unknown(&u.reason);
                        Vec::new()
                    }
                    // Not a list: the module system reports the type.
                    Ok(other) => {
                        names.add_unknown(&format!("`{}` is {}", node.path, other.describe()));
                        Vec::new()
                    }
                    Err(e) => {
                        names.add_unknown(&e);
                        Vec::new()
                    }
                };
                span
            }
            None => None,
        };
        for item in &added {
            match self.force(item) {
                Ok(Value::String(s)) => names.add_read(&s, span.clone()),
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                // Not a string: reported where the element is written (or by the module
                // system's type check of the merged value).
                Ok(_) => {}
                Err(e) => names.add_unknown(&e),
            }
        }
        names
    }

    pub(super) fn read_tags(&mut self, inventory: &Option<Rc<Node>>) {
        let tags = self.child(inventory, "tags");
        for (name, node) in self.keys(&tags) {
            let computed = matches!(name.as_str(), "all" | "nixos" | "darwin");
            let span = if computed {
                None
            } else {
                self.first_span(&node)
            };
            let members = match self.force(&node.value_thunk()) {
                Ok(Value::List(items)) => {
                    let mut names = BTreeSet::new();
                    let mut unknown = None;
                    for item in items.iter() {
                        match self.force(item) {
                            Ok(Value::String(s)) => {
                                names.insert(s.text().to_string());
                            }
                            Ok(Value::Unknown(u)) => unknown = Some(u.reason.clone()),
                            Ok(_) => {}
                            Err(e) => unknown = Some(e),
                        }
                    }
                    match unknown {
                        Some(reason) => Known::Unknown(reason),
                        None => Known::Known(names.into_iter().collect()),
                    }
                }
                Ok(Value::Unknown(u)) => Known::Unknown(u.reason.clone()),
                Ok(other) => Known::Unknown(format!("tag `{name}` is {}", other.describe())),
                Err(e) => Known::Unknown(e),
            };
            if let Known::Unknown(reason) = &members {
                self.note(
                    &format!("inventory.tags.{name}"),
                    reason.clone(),
                    span.clone(),
                );
            }
            self.clan.tags.insert(
                name.clone(),
                Tag {
                    name,
                    listed: Some(members.clone()),
                    members,
                    span,
                    computed,
                },
            );
        }
    }

    pub(super) fn read_instances(&mut self, inventory: &Option<Rc<Node>>) {
        let instances = self.child(inventory, "instances");
        for (name, node) in self.keys(&instances) {
            let span = self.instance_span(&node, &name);
            let n = Some(node.clone());
            let module_name_node = self.path(&n, &["module", "name"]);
            let defaulted = module_name_node
                .as_ref()
                .is_none_or(|m| self.user_defs(m).is_empty());
            // A definition of the instance or its `module` that failed (reported) may have set
            // `module.name`.
            let module_node = self.child(&n, "module");
            let failed = self
                .open_reason(&n)
                .or_else(|| self.open_reason(&module_node));
            let module_name = match failed {
                Some(reason) if defaulted => {
                    let subject = format!("instances.{name}.module.name");
                    self.note(&subject, reason.clone(), span.clone());
                    Spanned::new(Known::Unknown(reason), span.clone())
                }
                _ => match self
                    .copied_string_at(module_name_node, &format!("instances.{name}.module.name"))
                {
                    Some(mut s) => {
                        if defaulted {
                            s.span = span.clone();
                        }
                        s
                    }
                    None => Spanned::new(Known::Known(name.clone()), span.clone()),
                },
            };
            let module_input = {
                let node = self.path(&n, &["module", "input"]);
                self.copied_string_at(node, &format!("instances.{name}.module.input"))
            };
            let mut roles = BTreeMap::new();
            let roles_node = self.child(&n, "roles");
            for (role_name, role_node) in self.keys(&roles_node) {
                let role = self.read_role(&name, &role_name, &role_node);
                roles.insert(role_name, role);
            }
            self.clan.instances.insert(
                name.clone(),
                Instance {
                    name,
                    span,
                    module_name,
                    module_name_defaulted: defaulted,
                    module_input,
                    roles,
                },
            );
        }
    }

    pub(super) fn instance_span(&self, node: &Node, name: &str) -> Option<Span> {
        let defs = self.user_defs(node);
        let def = defs.first()?;
        let from_json = def
            .file
            .as_deref()
            .is_some_and(|f| f.ends_with("/inventory.json"));
        if from_json && (def.pos.is_none() || is_builtin_pos(self.ev, def.pos)) {
            return self.json_key_span(&["instances", name]);
        }
        self.def_span(def)
    }

    pub(super) fn read_role(&mut self, instance: &str, name: &str, node: &Rc<Node>) -> Role {
        let n = Some(node.clone());
        let subject = format!("instances.{instance}.roles.{name}");
        let span = {
            let defs = self.user_defs(node);
            match defs.first() {
                Some(d)
                    if d.file
                        .as_deref()
                        .is_some_and(|f| f.ends_with("/inventory.json"))
                        && d.pos.is_none_or(|p| is_builtin_pos(self.ev, Some(p))) =>
                {
                    self.json_key_span(&["instances", instance, "roles", name])
                }
                Some(d) => self.def_span(d),
                None => None,
            }
        };
        let mut machines = BTreeMap::new();
        let machines_node = self.child(&n, "machines");
        let machines_unknown = self.open_reason(&machines_node);
        for (m, m_node) in self.keys(&machines_node) {
            let defs = self.user_defs(&m_node);
            let m_span = match defs.first() {
                Some(d)
                    if d.file
                        .as_deref()
                        .is_some_and(|f| f.ends_with("/inventory.json")) =>
                {
                    self.json_key_span(&["instances", instance, "roles", name, "machines", &m])
                }
                Some(d) => self.def_span(d),
                None => None,
            };
            let settings = self.settings(
                Some(m_node.clone()),
                &format!("{subject}.machines.{m}.settings"),
            );
            machines.insert(
                m.clone(),
                RoleMachine {
                    name: m,
                    span: m_span,
                    settings,
                },
            );
        }
        let tags = {
            let node = self.child(&n, "tags");
            self.role_tags(node, instance, name)
        };
        let settings = self.settings(n.clone(), &format!("{subject}.settings"));
        let extra_modules = {
            let node = self.child(&n, "extraModules");
            self.extra_modules(node)
        };
        Role {
            name: name.to_string(),
            span,
            machines,
            tags: tags.list,
            tags_unknown: tags.unknown,
            machines_unknown,
            settings,
            extra_modules,
            // `Clan::resolve_tags`, once every tag is known
            resolved: Known::Known(Vec::new()),
        }
    }

    /// A role's `tags`: a list of names or a set whose keys are names.
    pub(super) fn role_tags(
        &mut self,
        node: Option<Rc<Node>>,
        instance: &str,
        role: &str,
    ) -> UniqueNames {
        let mut names = UniqueNames::default();
        let Some(node) = node else { return names };
        // The span for the merged value's names, when a definition is wrapped (`mkIf`, ...).
        let mut read_merged: Option<Option<Span>> = None;
        for def in self.user_defs(&node) {
            let from_json = def
                .file
                .as_deref()
                .is_some_and(|f| f.ends_with("/inventory.json"));
            let written = self.list_items(self.def_value_pos(&def));
            match self.force(&def.value) {
                Ok(Value::List(items)) => {
                    for (i, item) in items.iter().enumerate() {
                        let pos = self.ev.thunk_pos(item).or_else(|| written.get(i).copied());
                        let span = if from_json {
                            self.json_index_span(&["instances", instance, "roles", role, "tags"], i)
                        } else {
                            self.span(pos).or_else(|| self.def_span(&def))
                        };
                        match self.force(item) {
                            Ok(Value::String(s)) => names.add_copy(&s, self.copy_string(&s), span),
                            Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                            Ok(other) => self.not_a_string(&node.path, i, &other, span),
                            Err(e) => names.add_unknown(&e),
                        }
                    }
                }
                // `mkIf`/`mkMerge`/`mkOverride` around either form: the merged value tells.
                Ok(Value::Attrs(attrs)) if attrs.get("_type").is_some() => {
                    read_merged.get_or_insert(self.def_span(&def));
                }
                Ok(Value::Attrs(attrs)) => {
                    for a in &attrs.entries {
                        if a.name.starts_with("_") {
                            continue;
                        }
                        let span = if from_json {
                            self.json_key_span(&[
                                "instances",
                                instance,
                                "roles",
                                role,
                                "tags",
                                &a.name,
                            ])
                        } else {
                            self.span(a.pos).or_else(|| self.def_span(&def))
                        };
                        names.add_name(&a.name, span);
                    }
                }
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                // Neither form: the module system reports the type.
                Ok(other) => names.add_unknown(&format!("`{}` is {}", node.path, other.describe())),
                Err(e) => names.add_unknown(&e),
            }
        }
        if let Some(span) = read_merged {
            match self.force(&node.value_thunk()) {
                Ok(Value::Attrs(attrs)) => {
                    for a in attrs.entries.iter().filter(|a| !a.name.starts_with('_')) {
                        names.add_name(&a.name, span.clone());
                    }
                }
                Ok(Value::List(items)) => {
                    for item in items.iter() {
                        match self.force(item) {
                            Ok(Value::String(s)) => names.add_read(&s, span.clone()),
                            Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                            Ok(_) => {}
                            Err(e) => names.add_unknown(&e),
                        }
                    }
                }
                Ok(Value::Unknown(u)) => names.add_unknown(&u.reason),
                Ok(other) => names.add_unknown(&format!("`{}` is {}", node.path, other.describe())),
                Err(e) => names.add_unknown(&e),
            }
        }
        if let Some(reason) = &names.unknown {
            let span = self.first_span(&node);
            self.note(
                &format!("instances.{instance}.roles.{role}.tags"),
                reason.clone(),
                span,
            );
        }
        names
    }

    pub(super) fn json_index_span(&self, keys: &[&str], index: usize) -> Option<Span> {
        let text = self.inventory_json()?;
        let range = crate::model::json_locate::locate_index(&text, keys, index)?;
        Some(Span::new("inventory.json", range))
    }
}
