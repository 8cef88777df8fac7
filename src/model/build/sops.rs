//! Reading legacy sops-nix secrets of a machine and of its home-manager users, and where
//! sops-nix finds its key.

use super::*;

impl Reader<'_, '_> {
    /// Why sops-nix may not decrypt with the clan's machine key, `/var/lib/sops-nix/key.txt`
    /// (clan-core's `sops.age.keyFile`): the machine's modules set the key file to another
    /// path (or to one clanc cannot know), or give ssh or gnupg keys.
    pub(super) fn sops_key_elsewhere(&mut self, root: &Option<Rc<Node>>) -> Option<String> {
        const CLAN_KEY_FILE: &str = "/var/lib/sops-nix/key.txt";
        let defined = |r: &mut Self, keys: &[&str]| {
            r.path(root, keys)
                .is_some_and(|node| !r.user_defs(&node).is_empty())
        };
        if defined(self, &["sops", "age", "keyFile"]) {
            let node = self.path(root, &["sops", "age", "keyFile"]);
            let value = node.map(|n| n.value_thunk());
            let file = value.and_then(|t| match self.ev.force(&t, None) {
                Ok(Value::String(s)) => Some(s.text().to_string()),
                Ok(Value::Path(p)) => Some(p.to_string()),
                _ => None,
            });
            if file.as_deref() != Some(CLAN_KEY_FILE) {
                return Some(format!(
                    "`sops.age.keyFile` is {}",
                    file.map_or("not known".to_string(), |f| format!("`{f}`"))
                ));
            }
        }
        for keys in [
            &["sops", "age", "sshKeyPaths"][..],
            &["sops", "gnupg", "home"],
            &["sops", "gnupg", "sshKeyPaths"],
        ] {
            if defined(self, keys) {
                return Some(format!("`{}` is set", keys.join(".")));
            }
        }
        None
    }

    /// `sops.secrets.<name>` of the machine's sops-nix and of each home-manager user's
    /// (`home-manager.users.<user>.sops.secrets`).
    pub(super) fn read_sops_secrets(
        &mut self,
        machine: &str,
        root: &Option<Rc<Node>>,
    ) -> Vec<SopsSecret> {
        let mut out = self.read_sops_at(&format!("machines.{machine}"), root, None);
        let users = self.path(root, &["home-manager", "users"]);
        let shared = self.hm_shared_modules(root);
        for (user, node) in self.keys(&users) {
            if !node.is_defined() {
                continue;
            }
            let at = format!("machines.{machine}.home-manager.users.{user}");
            if let Some(reason) = &shared {
                let span = self.first_span(&node);
                self.note(&format!("{at}.sops.secrets"), reason.clone(), span);
                continue;
            }
            out.extend(self.read_sops_at(&at, &Some(node), Some(&user)));
        }
        out
    }

    /// Why the home-manager users' modules may hold more than clanc gives them: every user
    /// also gets `home-manager.sharedModules`, which clanc does not evaluate. An element
    /// clanc cannot see into (an input's module) is taken to define nothing the model reads,
    /// as everywhere; any other element may set `sops.defaultSopsFile`, `defaultSopsKey`...
    pub(super) fn hm_shared_modules(&mut self, root: &Option<Rc<Node>>) -> Option<String> {
        let node = self.path(root, &["home-manager", "sharedModules"])?;
        let reason = "`home-manager.sharedModules` (which clanc does not evaluate) may set every home-manager user's sops options";
        for def in self.user_defs(&node) {
            let Ok(Value::List(items)) = self.force(&def.value) else {
                return Some(reason.to_string());
            };
            for item in items.iter() {
                if !matches!(self.force(item), Ok(Value::Unknown(_))) {
                    return Some(reason.to_string());
                }
            }
        }
        None
    }

    /// `sops.secrets.<name>` below `root` (the option path `at`) with their file (else
    /// `sops.defaultSopsFile`), key and format.
    pub(super) fn read_sops_at(
        &mut self,
        at: &str,
        root: &Option<Rc<Node>>,
        home_user: Option<&str>,
    ) -> Vec<SopsSecret> {
        let secrets_node = self.path(root, &["sops", "secrets"]);
        let default_file = self.path(root, &["sops", "defaultSopsFile"]);
        let mut out = Vec::new();
        for (name, node) in self.keys(&secrets_node) {
            if !node.is_defined() {
                continue;
            }
            let n = Some(node.clone());
            let subject = format!("{at}.sops.secrets.{name}");
            // A definition of the secret that failed (reported) may have set any field.
            let failed = self.open_reason(&n);
            let unset = |r: &Self, node: &Option<Rc<Node>>| {
                node.as_ref().is_none_or(|c| r.user_defs(c).is_empty())
            };
            let file_node = self.child(&n, "sopsFile");
            let user_file = !unset(self, &file_node);
            let sops_file = if let (Some(reason), false) = (&failed, user_file) {
                Some(Spanned::new(Known::Unknown(reason.clone()), None))
            } else if user_file {
                self.file_at(file_node, &format!("{subject}.sopsFile"))
            } else {
                match default_file.clone() {
                    Some(d) if d.is_defined() => {
                        self.file_at(Some(d), &format!("{at}.sops.defaultSopsFile"))
                    }
                    _ => None,
                }
            };
            let key_node = self.child(&n, "key");
            let key = match &failed {
                Some(reason) if unset(self, &key_node) => {
                    Spanned::new(Known::Unknown(reason.clone()), None)
                }
                _ => self
                    .copied_string_at(key_node, &format!("{subject}.key"))
                    .unwrap_or_else(|| Spanned::new(Known::Known(name.clone()), None)),
            };
            let format_node = self.child(&n, "format");
            let format = match &failed {
                Some(reason) if unset(self, &format_node) => Known::Unknown(reason.clone()),
                _ => self
                    .string_at(format_node, &format!("{subject}.format"))
                    .map(|s| s.value)
                    .unwrap_or_else(|| Known::Known("yaml".to_string())),
            };
            out.push(SopsSecret {
                span: self.first_span(&node),
                name,
                sops_file,
                key,
                format,
                home_user: home_user.map(str::to_string),
            });
        }
        out
    }

    /// A file option's value (a path, or a string such as `"${self}/secrets/x.yaml"`), relative
    /// to the clan directory when inside it.
    pub(super) fn file_at(
        &mut self,
        node: Option<Rc<Node>>,
        subject: &str,
    ) -> Option<Spanned<Known<String>>> {
        let node = node?;
        let span = self.value_span(&node);
        let value = match self.force(&node.value_thunk()) {
            Ok(Value::Null) => return None,
            Ok(Value::Path(p)) => self.clan_relative(&p),
            Ok(Value::String(s)) => self.clan_relative(s.text()),
            Ok(Value::Unknown(u)) => {
                self.note(subject, u.reason.clone(), span.clone());
                Known::Unknown(u.reason.clone())
            }
            Ok(other) => Known::Unknown(format!("{subject} is {}", other.describe())),
            Err(e) => Known::Unknown(e),
        };
        Some(Spanned::new(value, span))
    }

    pub(super) fn clan_relative(&self, path: &str) -> Known<String> {
        match self.files.relative(path) {
            Some(rel) => Known::Known(rel.to_string()),
            None if path.starts_with("/nix/store/") => {
                Known::Unknown(format!("`{path}` is in the Nix store"))
            }
            None => Known::Known(path.to_string()),
        }
    }
}
