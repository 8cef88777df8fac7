//! Machines: deferred modules that nothing defines (M001) or of the other class (M002),
//! `nixpkgs.hostPlatform` that is no known system or contradicts the class (M003), deploy
//! targets that do not parse (M004) and machine names clan's CLI does not accept (M005).

use std::collections::BTreeSet;

use rnix::{TextRange, TextSize};

use crate::diagnostics::{Diagnostic, Span};
use crate::model::{Clan, ImportTarget, Known, Machine, MachineClass, Spanned, deploy_target};

use super::clan::first_span;
use super::suggest::did_you_mean;
use crate::diagnostics::Code;

/// Nix system doubles nixpkgs knows (`lib.systems.doubles.all`, the common part).
pub const KNOWN_SYSTEMS: &[&str] = &[
    "aarch64-darwin",
    "x86_64-darwin",
    "aarch64-linux",
    "armv5tel-linux",
    "armv6l-linux",
    "armv7a-linux",
    "armv7l-linux",
    "i686-linux",
    "loongarch64-linux",
    "m68k-linux",
    "microblaze-linux",
    "microblazeel-linux",
    "mips-linux",
    "mips64-linux",
    "mips64el-linux",
    "mipsel-linux",
    "powerpc-linux",
    "powerpc64-linux",
    "powerpc64le-linux",
    "riscv32-linux",
    "riscv64-linux",
    "s390-linux",
    "s390x-linux",
    "x86_64-linux",
    "aarch64-freebsd",
    "i686-freebsd",
    "x86_64-freebsd",
    "riscv64-freebsd",
    "aarch64-netbsd",
    "x86_64-netbsd",
    "i686-netbsd",
    "x86_64-openbsd",
    "i686-openbsd",
    "x86_64-solaris",
    "x86_64-cygwin",
    "i686-cygwin",
    "x86_64-windows",
    "i686-windows",
    "aarch64-windows",
    "wasm32-wasi",
    "wasm64-wasi",
    "x86_64-redox",
    "aarch64-genode",
    "i686-genode",
    "x86_64-genode",
    "javascript-ghcjs",
];

pub(super) fn check(clan: &Clan, out: &mut Vec<Diagnostic>) {
    // Deferred modules known to exist, per class, for "did you mean".
    let mut defined: BTreeSet<(&str, &str)> = BTreeSet::new();
    for machine in clan.machines.values() {
        for import in &machine.imports {
            if let ImportTarget::Deferred {
                class,
                name,
                defined: true,
            } = &import.target
            {
                defined.insert((class.as_str(), name.as_str()));
            }
        }
    }
    for machine in clan.machines.values() {
        check_machine_name(machine, out);
        check_imports(machine, &defined, out);
        check_host_platform(machine, out);
        for (field, host) in [
            ("targetHost", &machine.target_host),
            ("buildHost", &machine.build_host),
        ] {
            if let Some(host) = host {
                check_deploy_target(machine, field, host, out);
            }
        }
    }
}

fn check_imports(machine: &Machine, defined: &BTreeSet<(&str, &str)>, out: &mut Vec<Diagnostic>) {
    for import in &machine.imports {
        let ImportTarget::Deferred {
            class,
            name,
            defined: is_defined,
        } = &import.target
        else {
            continue;
        };
        let Some(span) = first_span(&[import.span.as_ref(), machine.span.as_ref()]) else {
            continue;
        };
        let reference = format!("config.flake.modules.{class}.{name}");
        if !is_defined {
            let same_class: Vec<&str> = defined
                .iter()
                .filter(|(c, _)| *c == class)
                .map(|(_, n)| *n)
                .collect();
            let mut help = format!(
                "define `flake.modules.{class}.{name}` (with `inputs.flake-parts.flakeModules.modules` imported), or fix the name"
            );
            if let Some(suggestion) = did_you_mean(name, same_class.iter().copied()) {
                help = format!("{suggestion} {help}");
            }
            out.push(
                Diagnostic::error(
                    Code::M001,
                    format!(
                        "machine `{}` imports `{reference}`, which nothing defines; expected a module defined as `flake.modules.{class}.{name}`",
                        machine.name
                    ),
                    span,
                )
                .with_help(help),
            );
            continue;
        }
        let Known::Known(machine_class) = machine.class.value else {
            continue;
        };
        // Other classes ("generic", "homeManager"...) are not NixOS or darwin modules.
        let module_class = match MachineClass::parse(class) {
            Some(c) => c,
            None => continue,
        };
        if module_class == machine_class {
            continue;
        }
        out.push(
            Diagnostic::error(
                Code::M002,
                format!(
                    "machine `{}` is a {} machine but imports the {} module `{reference}`: expected a `{}` (or generic) module",
                    machine.name,
                    machine_class.as_str(),
                    module_class.as_str(),
                    machine_class.as_str()
                ),
                span,
            )
            .with_help(format!(
                "import `config.flake.modules.{}.{name}` (define it if needed), or set the machine's `machineClass` to \"{}\" if it really is a {} machine",
                machine_class.as_str(),
                module_class.as_str(),
                module_class.as_str()
            )),
        );
    }
}

fn check_host_platform(machine: &Machine, out: &mut Vec<Diagnostic>) {
    let Some(platform) = &machine.host_platform else {
        return;
    };
    let Known::Known(system) = &platform.value else {
        return;
    };
    let Some(span) = first_span(&[platform.span.as_ref(), machine.span.as_ref()]) else {
        return;
    };
    if !KNOWN_SYSTEMS.contains(&system.as_str()) {
        let mut help =
            "use a system such as `x86_64-linux`, `aarch64-linux` or `aarch64-darwin`".to_string();
        if let Some(suggestion) = did_you_mean(system, KNOWN_SYSTEMS) {
            help = format!("{suggestion} {help}");
        }
        out.push(
            Diagnostic::error(
                Code::M003,
                format!(
                    "`nixpkgs.hostPlatform` of machine `{}` is \"{system}\", which is no known system; expected `<cpu>-<kernel>` such as `x86_64-linux`",
                    machine.name
                ),
                span,
            )
            .with_help(help),
        );
        return;
    }
    let Known::Known(class) = machine.class.value else {
        return;
    };
    let kernel = match class {
        MachineClass::Nixos => "linux",
        MachineClass::Darwin => "darwin",
    };
    if system.ends_with(&format!("-{kernel}")) {
        return;
    }
    let same_kernel: Vec<&str> = KNOWN_SYSTEMS
        .iter()
        .copied()
        .filter(|s| s.ends_with(&format!("-{kernel}")))
        .filter(|s| s.split('-').next() == system.split('-').next())
        .collect();
    let help = match same_kernel.first() {
        Some(s) => format!(
            "use `{s}` for a {} machine, or set `machineClass` to the class this system runs",
            class.as_str()
        ),
        None => format!(
            "use a `*-{kernel}` system for a {} machine, or set `machineClass` to the class this system runs",
            class.as_str()
        ),
    };
    out.push(
        Diagnostic::error(
            Code::M003,
            format!(
                "machine `{}` is a {} machine, but its `nixpkgs.hostPlatform` is \"{system}\"; expected a `*-{kernel}` system",
                machine.name,
                class.as_str()
            ),
            span,
        )
        .with_help(help),
    );
}

/// The longest machine name clan accepts (a DNS label).
const MAX_MACHINE_NAME: usize = 63;

/// Whether clan's CLI accepts `name` as a machine name: ASCII letters, digits and `-`, neither
/// first nor last, at most 63 characters (clan-cli's `is_valid_machine_name`, which
/// `clan machines create`, `clan machines hardware` and `clan secrets machines` apply).
pub fn is_valid_machine_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_MACHINE_NAME
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// M005: a warning, not an error: the inventory itself evaluates with any name, and a machine
/// that sets its own `networking.hostName` builds; but clan's CLI refuses the name and, with
/// clan's default hostname (the machine's name), NixOS refuses it too.
fn check_machine_name(machine: &Machine, out: &mut Vec<Diagnostic>) {
    if is_valid_machine_name(&machine.name) {
        return;
    }
    let Some(span) = machine.span.clone() else {
        return;
    };
    out.push(
        Diagnostic::warning(
            Code::M005,
            format!(
                "machine name `{}` is not one clan accepts: letters, digits and `-` (not first or last), at most {MAX_MACHINE_NAME} characters",
                machine.name
            ),
            span,
        )
        .with_help(
            "rename the machine: clan's CLI (`clan machines create`, `clan secrets machines`) rejects this name, and NixOS rejects it as the default `networking.hostName`",
        ),
    );
}

fn check_deploy_target(
    machine: &Machine,
    field: &str,
    host: &Spanned<Known<String>>,
    out: &mut Vec<Diagnostic>,
) {
    let Known::Known(text) = &host.value else {
        return;
    };
    let Err(error) = deploy_target::parse_deploy_target(text) else {
        return;
    };
    let Some(span) = first_span(&[host.span.as_ref(), machine.span.as_ref()]) else {
        return;
    };
    let mut help = "write `[user@]host[:port]`, e.g. `root@example.org`, `admin@10.0.0.2:2222` or `root@[2001:db8::1]:22`".to_string();
    if let Some(scheme) = text.find("://") {
        help = format!(
            "remove `{}://`: clan adds ssh itself; {help}",
            &text[..scheme]
        );
    } else if text.matches(':').count() >= 2 && !text.contains('[') {
        help = format!("put an IPv6 address in brackets (`[...]`); {help}");
    }
    let mut diagnostic = Diagnostic::error(
        Code::M004,
        format!(
            "`deploy.{field}` of machine `{}` is \"{text}\", which is not a deploy target: {}",
            machine.name, error.message
        ),
        span.clone(),
    )
    .with_help(help);
    if let Some(label) = offending_part(&span, text, error.offset) {
        diagnostic = diagnostic.with_label(label, "here");
    }
    out.push(diagnostic);
}

/// The character at `offset` of a string literal's text, when the span is exactly the literal
/// `"text"` (so offsets map to the source; escapes or interpolation would shift them).
fn offending_part(span: &Span, text: &str, offset: usize) -> Option<Span> {
    let len = usize::from(span.range.len());
    if len != text.len() + 2 || offset > text.len() || !text.is_char_boundary(offset) {
        return None;
    }
    let width = text[offset..].chars().next().map_or(0, char::len_utf8);
    let start = usize::from(span.range.start()) + 1 + offset;
    let range = TextRange::at(
        TextSize::try_from(start).ok()?,
        TextSize::try_from(width).ok()?,
    );
    Some(Span::new(span.file.clone(), range))
}

#[cfg(test)]
mod name_tests {
    use super::is_valid_machine_name;

    #[test]
    fn machine_names_as_clan_accepts_them() {
        for ok in ["a", "web-1", "Pixel", "x".repeat(63).as_str()] {
            assert!(is_valid_machine_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-x",
            "x-",
            "a_b",
            "a.b",
            "über",
            "x".repeat(64).as_str(),
        ] {
            assert!(!is_valid_machine_name(bad), "{bad}");
        }
    }
}

#[cfg(test)]
mod tests;
