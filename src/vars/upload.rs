//! What `upload-secrets` puts into a machine's `/var/lib/sops-nix` before activation, as clan's
//! sops store does (`populate_dir`): `key.txt`, the machine's age identity (mode 0600), and
//! `activation/<rel_dir>/<file>` (`rel_dir`: `per-machine/<m>/<generator>` or `shared/<generator>`)
//! for each deployed secret with `neededFor = "activation"`
//! (with the file's mode). Secrets needed for users and services are not uploaded: sops-nix
//! decrypts them on the machine from the system closure with `key.txt`. Everything is
//! decrypted into memory only (zeroized on drop); the executor streams it over ssh.

use std::path::{Path, PathBuf};

use age::x25519;

use super::SecretBytes;
use super::sops;
use super::store::{StoredKind, VarsTree};
use crate::model::vars::generator::NeededFor;
use crate::model::vars::names::{self, NameError};
use crate::model::{Known, Machine};

/// One file to create under `/var/lib/sops-nix`.
pub struct UploadFile {
    /// Relative to `/var/lib/sops-nix`.
    pub path: PathBuf,
    /// Permission bits (`0o600`, or the var's `mode`).
    pub mode: u32,
    pub content: SecretBytes,
}

impl std::fmt::Debug for UploadFile {
    /// Never shows the content.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadFile")
            .field("path", &self.path)
            .field("mode", &format_args!("{:04o}", self.mode))
            .field("content", &format_args!("<{} bytes>", self.content.len()))
            .finish()
    }
}

/// The files to upload for `machine` of the clan at `root`, decrypted with the admin's
/// `identities`. A machine without `sops/secrets/<m>-age.key` gets nothing (clan: "not managed
/// by us"). An activation secret that is missing or does not decrypt is an error.
pub fn upload_files(
    root: &Path,
    tree: &VarsTree,
    machine: &Machine,
    identities: &[x25519::Identity],
) -> Result<Vec<UploadFile>, String> {
    let key_file = super::store::key_secret_dir(root, &machine.name)
        .map_err(|e| e.to_string())?
        .join("secret");
    let Ok(text) = std::fs::read_to_string(&key_file) else {
        return Ok(Vec::new());
    };
    let key = sops::decrypt(&text, identities)
        .map_err(|e| format!("cannot decrypt the age key of `{}`: {e}", machine.name))?;
    let mut files = vec![UploadFile {
        path: PathBuf::from("key.txt"),
        mode: 0o600,
        content: key,
    }];
    for (name, generator) in &machine.generators {
        for (file_name, file) in &generator.files {
            let activation = matches!(&file.needed_for.value, Known::Known(n)
                if NeededFor::parse(n) == Some(NeededFor::Activation));
            if !activation || file.secret != Known::Known(true) || file.deploy != Known::Known(true)
            {
                continue;
            }
            let var = format!("{name}/{file_name}");
            let stored = match generator.share {
                Known::Known(true) => tree.shared.get(name),
                _ => tree
                    .per_machine
                    .get(&machine.name)
                    .and_then(|g| g.get(name)),
            }
            .and_then(|g| g.files.get(file_name))
            .filter(|s| matches!(s.kind, StoredKind::Secret(_)))
            .ok_or_else(|| {
                format!(
                    "the activation secret `{var}` of `{}` has not been generated",
                    machine.name
                )
            })?;
            let text = std::fs::read_to_string(stored.dir.join("secret"))
                .map_err(|e| format!("cannot read `{var}`: {e}"))?;
            let content = sops::decrypt(&text, identities)
                .map_err(|e| format!("cannot decrypt `{var}` of `{}`: {e}", machine.name))?;
            let mode = match &file.mode.value {
                Known::Known(m) => u32::from_str_radix(m, 8)
                    .map_err(|_| format!("the mode of `{var}` is not octal: \"{m}\""))?,
                Known::Unknown(_) => 0o400,
            };
            // clan's layout since its vars moved to `rel_dir` (April 2026, the seed's pin
            // included): `activation/per-machine/<m>/<gen>/<file>` or
            // `activation/shared/<gen>/<file>`, the path the NixOS module points the secret at.
            let rel = var_rel_path(generator, &machine.name, name, file_name)
                .map_err(|e| e.to_string())?;
            files.push(UploadFile {
                path: Path::new("activation").join(rel),
                mode,
                content,
            });
        }
    }
    Ok(files)
}

/// clan's `rel_dir` of a generator and a file of it: `shared/<gen>/<file>` or
/// `per-machine/<machine>/<gen>/<file>`, each name one path component (`model::vars::names`).
pub fn var_rel_path(
    generator: &crate::model::Generator,
    machine: &str,
    name: &str,
    file: &str,
) -> Result<PathBuf, NameError> {
    match generator.share {
        Known::Known(true) => {
            names::join(Path::new("shared"), &[("generator", name), ("file", file)])
        }
        _ => names::join(
            Path::new("per-machine"),
            &[("machine", machine), ("generator", name), ("file", file)],
        ),
    }
}

/// Writes `files` below `dir` (an existing, private directory): parent directories are
/// created `0700`, each file is created empty, given its mode, and only then filled. For
/// `clanc install`'s `--extra-files` tree. A path leaving `dir` is refused.
pub fn write_tree(dir: &Path, files: &[UploadFile]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    for file in files {
        if file
            .path
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{}` is not a plain relative path", file.path.display()),
            ));
        }
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let mut out = std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        out.set_permissions(std::fs::Permissions::from_mode(file.mode))?;
        out.write_all(&file.content)?;
        out.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Generator, MachineClass, Spanned, VarFile};
    use std::collections::BTreeMap;

    fn seed() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seed-fleet")
    }

    fn file(needed_for: &str, mode: &str) -> VarFile {
        VarFile {
            name: String::new(),
            span: None,
            secret: Known::Known(true),
            deploy: Known::Known(true),
            owner: Spanned::new(Known::Known("root".into()), None),
            group: Spanned::new(Known::Known("root".into()), None),
            mode: Spanned::new(Known::Known(mode.into()), None),
            needed_for: Spanned::new(Known::Known(needed_for.into()), None),
        }
    }

    /// cinnabar with its borgbackup generator, the repokey needed for activation.
    fn cinnabar() -> Machine {
        let generator = Generator {
            name: "borgbackup".into(),
            span: None,
            share: Known::Known(false),
            files: BTreeMap::from([
                ("borgbackup.repokey".to_string(), file("activation", "0440")),
                ("borgbackup.ssh".to_string(), file("services", "0400")),
            ]),
            prompts: BTreeMap::new(),
            dependencies: Known::Known(Vec::new()),
            script: Spanned::new(Known::Unknown("packages".into()), None),
            runtime_inputs: Known::Unknown("packages".into()),
        };
        Machine {
            generators: BTreeMap::from([("borgbackup".to_string(), generator)]),
            ..Machine::new(
                "cinnabar".into(),
                None,
                Spanned::new(Known::Known(MachineClass::Nixos), None),
            )
        }
    }

    fn admin() -> Vec<x25519::Identity> {
        let text = std::fs::read_to_string(seed().join("TEST-ONLY-admin-age-key.txt")).unwrap();
        super::super::keys::parse_identities(&text).unwrap()
    }

    #[test]
    fn the_age_key_and_activation_secrets_of_a_seed_fleet_machine() {
        let tree = VarsTree::read(&seed()).unwrap();
        let files = upload_files(&seed(), &tree, &cinnabar(), &admin()).unwrap();
        let paths: Vec<_> = files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            paths,
            [
                "key.txt",
                "activation/per-machine/cinnabar/borgbackup/borgbackup.repokey"
            ]
        );
        assert_eq!((files[0].mode, files[1].mode), (0o600, 0o440));

        // key.txt is the identity whose public key is sops/machines/cinnabar/key.json
        let key = std::str::from_utf8(&files[0].content).unwrap();
        let identity = super::super::keys::parse_identities(key).unwrap().remove(0);
        let json = std::fs::read_to_string(seed().join("sops/machines/cinnabar/key.json")).unwrap();
        let public = super::super::keys::parse_key_json(&json).unwrap();
        assert_eq!(public[0].to_string(), identity.to_public().to_string());

        // the activation secret is its plaintext
        let plaintexts: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(seed().join("../seed-fleet-plaintexts.json")).unwrap(),
        )
        .unwrap();
        let want =
            plaintexts["files"]["vars/per-machine/cinnabar/borgbackup/borgbackup.repokey/secret"]
                .as_str()
                .unwrap();
        assert_eq!(files[1].content.as_slice(), want.as_bytes());
        // and the debug form never shows it
        assert!(!format!("{files:?}").contains(want));
    }

    #[test]
    fn the_tree_has_every_mode_before_any_content() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let files = vec![
            UploadFile {
                path: PathBuf::from("key.txt"),
                mode: 0o600,
                content: SecretBytes::new(b"k".to_vec()),
            },
            UploadFile {
                path: PathBuf::from("activation/g/f"),
                mode: 0o440,
                content: SecretBytes::new(b"f".to_vec()),
            },
        ];
        write_tree(dir.path(), &files).unwrap();
        let mode = |p: &str| {
            std::fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(
            (mode("key.txt"), mode("activation"), mode("activation/g/f")),
            (0o600, 0o700, 0o440)
        );
        assert_eq!(
            std::fs::read(dir.path().join("activation/g/f")).unwrap(),
            b"f"
        );
        let escape = UploadFile {
            path: PathBuf::from("../x"),
            mode: 0o600,
            content: SecretBytes::new(Vec::new()),
        };
        assert!(write_tree(dir.path(), &[escape]).is_err());
    }

    #[test]
    fn wrong_keys_missing_secrets_and_unmanaged_machines() {
        let tree = VarsTree::read(&seed()).unwrap();
        let stranger = vec![x25519::Identity::generate()];
        assert!(upload_files(&seed(), &tree, &cinnabar(), &stranger).is_err());

        let mut machine = cinnabar();
        if let Some(g) = machine.generators.get_mut("borgbackup") {
            g.files
                .insert("not-generated".into(), file("activation", "0400"));
        }
        let err = upload_files(&seed(), &tree, &machine, &admin()).unwrap_err();
        assert!(err.contains("borgbackup/not-generated"), "{err}");

        machine.name = "not-in-the-clan".into();
        assert!(
            upload_files(&seed(), &tree, &machine, &admin())
                .unwrap()
                .is_empty()
        );
    }
}
