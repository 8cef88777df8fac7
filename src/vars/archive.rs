//! The upload archive: the files `upload-secrets` sends (see [`super::upload`]) as one
//! POSIX ustar stream, built in memory (zeroized on drop) so the secrets never touch the
//! local disk. Every entry carries its permission bits and root ownership in its header, so
//! `tar -x` on the target creates each file with its mode; the directories (`activation/`,
//! `activation/per-machine/<m>/<generator>/`, ...) are `0700`.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use zeroize::Zeroizing;

use super::upload::UploadFile;

const BLOCK: usize = 512;

/// The mode of the directories the archive creates.
pub const DIR_MODE: u32 = 0o700;

/// `value` as a NUL-terminated octal field of `width` bytes.
fn octal(field: &mut [u8], value: u64) -> Result<(), String> {
    let digits = format!("{value:0width$o}", width = field.len() - 1);
    if digits.len() != field.len() - 1 {
        return Err(format!("{value} does not fit a tar header field"));
    }
    field[..digits.len()].copy_from_slice(digits.as_bytes());
    field[digits.len()] = 0;
    Ok(())
}

/// The relative path as tar stores it: plain components joined by `/`; an absolute path or
/// `..` is refused (the archive must stay inside the upload directory).
fn entry_name(path: &Path) -> Result<String, String> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(
                part.to_str()
                    .ok_or_else(|| format!("`{}` is not UTF-8", path.display()))?
                    .to_string(),
            ),
            Component::CurDir => {}
            _ => {
                return Err(format!("`{}` is not a plain relative path", path.display()));
            }
        }
    }
    if parts.is_empty() {
        return Err("an empty path cannot be archived".to_string());
    }
    Ok(parts.join("/"))
}

/// One ustar header. Names longer than 100 bytes are split into prefix and name at a `/`.
fn header(name: &str, mode: u32, size: u64, directory: bool) -> Result<[u8; BLOCK], String> {
    let mut block = [0u8; BLOCK];
    let (prefix, rest) = if name.len() <= 100 {
        ("", name)
    } else {
        let split = name
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && name.len() - i - 1 <= 100)
            .map(|(i, _)| i)
            .next()
            .ok_or_else(|| format!("the path `{name}` is too long for a tar archive"))?;
        (&name[..split], &name[split + 1..])
    };
    block[..rest.len()].copy_from_slice(rest.as_bytes());
    octal(&mut block[100..108], u64::from(mode & 0o7777))?;
    octal(&mut block[108..116], 0)?;
    octal(&mut block[116..124], 0)?;
    octal(&mut block[124..136], size)?;
    octal(&mut block[136..148], 0)?;
    block[156] = if directory { b'5' } else { b'0' };
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    block[265..269].copy_from_slice(b"root");
    block[297..301].copy_from_slice(b"root");
    block[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    // The checksum counts its own field as spaces.
    block[148..156].copy_from_slice(b"        ");
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    let digits = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(digits.as_bytes());
    Ok(block)
}

fn padded(size: usize) -> usize {
    size.div_ceil(BLOCK) * BLOCK
}

/// The archive of `files`: each parent directory once (mode [`DIR_MODE`]), before the files
/// in it, then the file with its mode. The buffer is allocated once at its final size, so no
/// partial copy of a secret is left behind by a reallocation.
pub fn archive(files: &[UploadFile]) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut entries: Vec<(String, Option<&UploadFile>)> = Vec::new();
    let mut dirs = BTreeSet::new();
    for file in files {
        let name = entry_name(&file.path)?;
        let mut at = 0;
        while let Some(slash) = name[at..].find('/') {
            let dir = &name[..at + slash];
            if dirs.insert(dir.to_string()) {
                entries.push((format!("{dir}/"), None));
            }
            at += slash + 1;
        }
        entries.push((name, Some(file)));
    }
    let total = entries
        .iter()
        .map(|(_, f)| BLOCK + f.map_or(0, |f| padded(f.content.len())))
        .sum::<usize>()
        + 2 * BLOCK;
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    for (name, file) in entries {
        match file {
            None => out.extend_from_slice(&header(&name, DIR_MODE, 0, true)?),
            Some(file) => {
                let size = file.content.len();
                out.extend_from_slice(&header(&name, file.mode, size as u64, false)?);
                out.extend_from_slice(&file.content);
                let end = out.len() + padded(size) - size;
                out.resize(end, 0);
            }
        }
    }
    let end = out.len() + 2 * BLOCK;
    out.resize(end, 0);
    debug_assert_eq!(out.len(), total);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(path: &str, mode: u32, content: &[u8]) -> UploadFile {
        UploadFile {
            path: PathBuf::from(path),
            mode,
            content: Zeroizing::new(content.to_vec()),
        }
    }

    fn field(block: &[u8], range: std::ops::Range<usize>) -> String {
        String::from_utf8_lossy(&block[range])
            .trim_end_matches('\0')
            .to_string()
    }

    #[test]
    fn headers_carry_names_modes_sizes_and_a_valid_checksum() {
        let bytes = archive(&[
            file("key.txt", 0o600, b"AGE-SECRET-KEY-1TEST\n"),
            file("activation/gen/token", 0o440, b"t"),
        ])
        .unwrap();
        // key.txt, activation/, activation/gen/, the token, two end blocks
        assert_eq!(bytes.len(), 512 * 2 + 512 + 512 + 512 * 2 + 1024);
        let first = &bytes[..512];
        assert_eq!(field(first, 0..100), "key.txt");
        assert_eq!(field(first, 100..108), "0000600");
        assert_eq!(field(first, 124..136), "00000000025");
        assert_eq!(&bytes[512..533], b"AGE-SECRET-KEY-1TEST\n");
        let dir = &bytes[1024..1536];
        assert_eq!(
            (field(dir, 0..100), field(dir, 100..108), dir[156]),
            ("activation/".to_string(), "0000700".to_string(), b'5')
        );
        let token = &bytes[2048..2560];
        assert_eq!(field(token, 0..100), "activation/gen/token");
        assert_eq!(field(token, 100..108), "0000440");
        for block in [first, dir, token] {
            let mut copy = block.to_vec();
            copy[148..156].copy_from_slice(b"        ");
            let sum: u64 = copy.iter().map(|&b| u64::from(b)).sum();
            assert_eq!(field(block, 148..154), format!("{sum:06o}"));
        }
        assert!(bytes[bytes.len() - 1024..].iter().all(|&b| b == 0));
    }

    #[test]
    fn long_names_use_the_prefix_and_escaping_paths_are_refused() {
        let long = format!("activation/{}/{}", "g".repeat(80), "f".repeat(60));
        let bytes = archive(&[file(&long, 0o400, b"x")]).unwrap();
        let entry = &bytes[1024..1536];
        assert_eq!(
            field(entry, 345..500),
            format!("activation/{}", "g".repeat(80))
        );
        assert_eq!(field(entry, 0..100), "f".repeat(60));
        for bad in ["/etc/shadow", "../x", "a/../../b"] {
            assert!(archive(&[file(bad, 0o400, b"x")]).is_err(), "{bad}");
        }
        assert!(archive(&[file(&"n".repeat(120), 0o400, b"x")]).is_err());
    }
}
