//! Reading each machine's configuration: its modules' evaluation, imports, networking hosts,
//! and vars generators (its own, and with what its services give it: `service_generators`).

use super::*;

impl Reader<'_, '_> {
    pub(super) fn read_machine_modules(
        &mut self,
        flake: &FlakeEvaluation,
        root: &Option<Rc<Node>>,
        clan_config: &Thunk,
    ) {
        let machines_node = self.child(root, "machines");
        let special = match self
            .child(root, "specialArgs")
            .map(|n| self.force(&n.value_thunk()))
        {
            Some(Ok(Value::Attrs(a))) => a
                .entries
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
                .collect(),
            _ => Vec::new(),
        };
        let names: Vec<String> = self.clan.machines.keys().cloned().collect();
        // One schema value for every machine: its declarations are read once.
        let schema = machine_schema(&flake.ctx, true);
        // A failed (reported) definition of `machines` may have held any machine's modules.
        let machines_failed = self.open_reason(&machines_node);
        for name in names {
            self.ev.begin_machine();
            let mark = self.files.reads_count();
            if let Some(reason) = &machines_failed {
                let span = self.clan.machines.get(&name).and_then(|m| m.span.clone());
                self.note(&format!("machines.{name}"), reason.clone(), span);
            }
            let mut args = special.clone();
            args.push(("inputs".into(), flake.inputs_value.clone()));
            args.push(("self".into(), flake.self_value.clone()));
            args.push(("name".into(), Thunk::value(Value::string(name.clone()))));
            let Some(node) = self.child(&machines_node, &name) else {
                // No modules of its own: what its services give it is all it has.
                if machines_failed.is_none() {
                    self.add_service_generators(flake, clan_config, &name, Vec::new(), args, false);
                }
                self.footprint_machine(&name, None, None, mark, machines_failed.clone());
                continue;
            };
            let mut modules = Vec::new();
            modules.push(ModuleSource::new(
                schema.clone(),
                Some(Rc::from(known::path("machine.nix"))),
                None,
            ));
            let (defined, uncertain) = node.as_modules(self.ev);
            let uncertain_modules = uncertain.clone();
            let own_modules = defined.clone();
            modules.extend(defined);
            let settings = EvalSettings {
                open_world: Some(
                    "options of the machine's NixOS or nix-darwin modules are not modelled".into(),
                ),
                ..EvalSettings::default()
            };
            let evaluation = evaluate(&flake.ctx, self.ev, modules, args.clone(), settings);
            self.read_machine_evaluation(&name, &evaluation);
            if evaluation.failed.is_none() {
                let own_open = evaluation.open.is_some();
                self.add_service_generators(flake, clan_config, &name, own_modules, args, own_open);
            }
            // A module that failed (reported) or that clanc cannot see into: what it declares
            // and defines is missing. (An unknown import says so itself, `ImportTarget`.)
            let machine = self.clan.machines.get(&name);
            let unknown_import = machine.is_some_and(|m| {
                (m.imports.iter()).any(|i| matches!(i.target, ImportTarget::Unknown(_)))
            });
            let unseen = evaluation.open.clone().filter(|_| !unknown_import);
            if let Some(reason) = (evaluation.failed.as_ref().map(|f| f.message.clone()))
                .or(unseen)
                .or(uncertain)
            {
                let span = machine.and_then(|m| m.span.clone());
                self.note(&format!("machines.{name}"), reason, span);
            }
            let failed = machines_failed.clone().or(uncertain_modules);
            self.footprint_machine(&name, Some(&node), Some(&evaluation), mark, failed);
            // Everything the model and the footprints need is read: the machine's option
            // tree is freed here rather than kept to the end (the next machine reuses the
            // memory; 10,000 machines' trees were most of a check's peak).
            flake.ctx.release(evaluation);
            // What reference cycles keep of it goes too (frames nothing else holds).
            self.ev.collect_stretch_cycles();
        }
    }

    pub(super) fn read_machine_evaluation(&mut self, name: &str, evaluation: &Rc<Evaluation>) {
        let root = Some(evaluation.root.clone());
        let platform = self.path(&root, &["nixpkgs", "hostPlatform"]);
        let host_platform = match platform {
            Some(node) if node.is_defined() => {
                self.copied_string_at(Some(node), &format!("machines.{name}.nixpkgs.hostPlatform"))
            }
            _ => None,
        };
        // clan falls back to the machine's own `clan.core.networking.{targetHost,buildHost}`
        // where the inventory sets no `deploy.<field>` (clan_lib's get_machine_host).
        let mut networking = [None, None];
        for (slot, field) in networking.iter_mut().zip(["targetHost", "buildHost"]) {
            if let Some(node) = self.path(&root, &["clan", "core", "networking", field])
                && !self.user_defs(&node).is_empty()
            {
                *slot = self.copied_string_at(
                    Some(node),
                    &format!("machines.{name}.clan.core.networking.{field}"),
                );
            }
        }
        let [networking_target, networking_build] = networking;
        let mut imports = Vec::new();
        for record in &evaluation.imports {
            let span = self.span(record.pos);
            let text = record
                .pos
                .and_then(|p| self.ev.pos_text(p))
                .unwrap_or_default();
            let deferred = deferred_reference(&text);
            let target = match (&record.target, deferred) {
                (ImportedModule::Failed(_), Some((class, module))) => {
                    if let Some(span) = &span {
                        self.missing_references.push(span.clone());
                    }
                    ImportTarget::Deferred {
                        class,
                        name: module,
                        defined: false,
                    }
                }
                (_, Some((class, module))) => ImportTarget::Deferred {
                    class,
                    name: module,
                    defined: true,
                },
                (ImportedModule::File(p), None) => match self.files.relative(p) {
                    Some(rel) => ImportTarget::File(rel.to_string()),
                    None if known::is_builtin(p) => continue,
                    None => ImportTarget::Unknown(format!("{p} is outside the clan")),
                },
                (ImportedModule::Inline, None) => continue,
                (ImportedModule::Unknown(reason), None) => ImportTarget::Unknown(reason.clone()),
                (ImportedModule::Failed(reason), None) => ImportTarget::Unknown(reason.clone()),
            };
            if span.is_none() && !matches!(target, ImportTarget::File(_)) {
                continue;
            }
            imports.push(ModuleImport { span, target });
        }
        let generators_node = self.path(&root, &["clan", "core", "vars", "generators"]);
        let mut generators = BTreeMap::new();
        for (g, node) in self.keys(&generators_node) {
            if !node.is_defined() {
                continue;
            }
            let generator = self.read_generator(name, &g, &node);
            generators.insert(g, generator);
        }
        let sops_secrets = self.read_sops_secrets(name, &root);
        let sops_key_elsewhere = self.sops_key_elsewhere(&root);
        if let Some(m) = self.clan.machines.get_mut(name) {
            if m.target_host.is_none() {
                m.target_host = networking_target;
            }
            if m.build_host.is_none() {
                m.build_host = networking_build;
            }
            m.host_platform = host_platform;
            m.imports = imports;
            m.generators = generators;
            m.sops_secrets = sops_secrets;
            m.sops_key_elsewhere = sops_key_elsewhere;
        }
    }

    /// Adds the generators the machine's services and clan-core give it (read from a second
    /// evaluation, `service_generators`); a failure there is kept as why its generators are
    /// partial.
    pub(super) fn add_service_generators(
        &mut self,
        flake: &FlakeEvaluation,
        clan_config: &Thunk,
        name: &str,
        own_modules: Vec<ModuleSource>,
        args: Vec<(crate::modules::system::Name, Thunk)>,
        own_open: bool,
    ) {
        let source = self.clan.service_sources.clan_core_dir.clone();
        let class = match self.clan.machines.get(name).map(|m| &m.class.value) {
            Some(Known::Known(class)) => class.as_str(),
            _ => return,
        };
        let services = self.clan.machine_services(name);
        if services.memberships.is_empty() && source.is_none() {
            return;
        }
        let result = self.service_generators(
            flake,
            clan_config,
            name,
            class,
            &services,
            source.as_deref(),
            (own_modules, own_open),
            args,
        );
        if let Some(m) = self.clan.machines.get_mut(name) {
            m.distributed = (services.memberships.iter())
                .map(|s| s.instance.clone())
                .collect();
            match result {
                Ok(generators) => m.generators = generators,
                Err(reason) => m.services_failed = Some(reason),
            }
        }
    }

    pub(in crate::model) fn read_generator(
        &mut self,
        machine: &str,
        name: &str,
        node: &Rc<Node>,
    ) -> Generator {
        let n = Some(node.clone());
        let span = self.first_span(node);
        let subject = format!("machines.{machine}.clan.core.vars.generators.{name}");
        let files = self.read_var_files(&n, &subject);
        let prompts = self.read_prompts(&n, &subject);
        let dependencies = self.read_dependencies(&n);
        let share = {
            let node = self.child(&n, "share");
            self.bool_at(node)
        };
        let script = self.read_script(&n);
        let runtime_inputs = match self
            .child(&n, "runtimeInputs")
            .map(|s| self.force(&s.value_thunk()))
        {
            Some(Ok(Value::List(items))) if items.is_empty() => Known::Known(Vec::new()),
            _ => Known::Unknown("runtime inputs are packages".into()),
        };
        Generator {
            name: name.to_string(),
            span,
            share,
            files,
            prompts,
            dependencies,
            script,
            runtime_inputs,
        }
    }

    /// A generator's `files`, each with its settings (defaults where it sets none).
    fn read_var_files(&mut self, n: &Option<Rc<Node>>, subject: &str) -> BTreeMap<String, VarFile> {
        let mut files = BTreeMap::new();
        let files_node = self.child(n, "files");
        for (f, f_node) in self.keys(&files_node) {
            if !f_node.is_defined() {
                continue;
            }
            let fnode = Some(f_node.clone());
            let fspan = self.first_span(&f_node);
            // kept as they are (a copy of a literal knows it); defaults have no span
            let text = |r: &mut Self, key: &str, default: &str| {
                let child = r.child(&fnode, key);
                let user = child.as_ref().is_some_and(|c| !r.user_defs(c).is_empty());
                let subject = format!("{subject}.files.{f}.{key}");
                match r.copied_string_at(child, &subject) {
                    Some(mut s) => {
                        if !user {
                            s.span = None;
                        }
                        s
                    }
                    None => Spanned::new(Known::Known(default.to_string()), None),
                }
            };
            let owner = text(self, "owner", "root");
            let group = text(self, "group", "root");
            let mode = text(self, "mode", "0400");
            let needed_for = text(self, "neededFor", "services");
            let secret = {
                let node = self.child(&fnode, "secret");
                self.bool_at(node)
            };
            let deploy = {
                let node = self.child(&fnode, "deploy");
                self.bool_at(node)
            };
            files.insert(
                f.clone(),
                VarFile {
                    name: f,
                    span: fspan,
                    secret,
                    deploy,
                    owner,
                    group,
                    mode,
                    needed_for,
                },
            );
        }
        files
    }

    /// A generator's `prompts` (type `line` and the prompt's name as its description by
    /// default).
    fn read_prompts(&mut self, n: &Option<Rc<Node>>, subject: &str) -> BTreeMap<String, Prompt> {
        let mut prompts = BTreeMap::new();
        let prompts_node = self.child(n, "prompts");
        for (p, p_node) in self.keys(&prompts_node) {
            if !p_node.is_defined() {
                continue;
            }
            let pnode = Some(p_node.clone());
            let pspan = self.first_span(&p_node);
            let kind_node = self.child(&pnode, "type");
            let user = kind_node
                .as_ref()
                .is_some_and(|c| !self.user_defs(c).is_empty());
            let mut kind = self
                .copied_string_at(kind_node, &format!("{subject}.prompts.{p}.type"))
                .unwrap_or_else(|| Spanned::new(Known::Known("line".into()), None));
            if !user {
                kind.span = None;
            }
            let description_node = self.child(&pnode, "description");
            let description = self
                .copied_string_at(description_node, "prompt description")
                .unwrap_or_else(|| Spanned::new(Known::Known(p.clone()), None));
            let persist = {
                let node = self.child(&pnode, "persist");
                self.bool_at(node)
            };
            prompts.insert(
                p.clone(),
                Prompt {
                    name: p,
                    span: pspan,
                    description,
                    kind,
                    persist,
                },
            );
        }
        prompts
    }

    /// The generators a generator's `dependencies` name (none when it sets none).
    fn read_dependencies(&mut self, n: &Option<Rc<Node>>) -> Known<Vec<Spanned<String>>> {
        match self.child(n, "dependencies") {
            Some(d) => {
                let list = self.list_of_strings(Some(d.clone()), false);
                match (self.force(&d.value_thunk()), list.unknown) {
                    (Ok(Value::Unknown(u)), _) => Known::Unknown(u.reason.clone()),
                    (_, Some(reason)) => Known::Unknown(reason),
                    _ => Known::Known(list.list),
                }
            }
            None => Known::Known(Vec::new()),
        }
    }

    /// A generator's `script` when it is a string with no store paths in it (copied from a
    /// literal, it knows that literal).
    fn read_script(&mut self, n: &Option<Rc<Node>>) -> Spanned<Known<String>> {
        let node = self.child(n, "script");
        let span = node.as_ref().and_then(|s| self.value_span(s));
        let mut literal = None;
        let value = match node.map(|s| self.force(&s.value_thunk())) {
            Some(Ok(Value::String(s))) if !s.context => {
                let (text, from) = self.copy_string(&s);
                literal = from;
                Known::Known(text)
            }
            Some(Ok(Value::String(_))) => Known::Unknown("the script refers to store paths".into()),
            Some(Ok(Value::Unknown(u))) => Known::Unknown(u.reason.clone()),
            Some(Ok(other)) => Known::Unknown(format!("the script is {}", other.describe())),
            Some(Err(e)) => Known::Unknown(e),
            None => Known::Known(String::new()),
        };
        Spanned {
            literal,
            ..Spanned::new(value, span)
        }
    }
}
