//! The diagnostic codes: one enum, each code with its usual severity, its title and its
//! section of `docs/diagnostics.md` (a test keeps the two equal). Every diagnostic is built
//! from a code; a diagnostic may be raised at another severity than the usual one (N001 in a
//! file nothing reads is information, C007 on a role without options a warning).

use std::fmt;

use super::Severity;

/// A stable diagnostic code (`N001`, `C002`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    N000,
    N001,
    N002,
    N003,
    N004,
    N005,
    N006,
    N007,
    N008,
    C001,
    C002,
    C003,
    C004,
    C005,
    C006,
    C007,
    C008,
    C009,
    C010,
    C011,
    C012,
    C013,
    C014,
    M001,
    M002,
    M003,
    M004,
    M005,
    V001,
    V002,
    V003,
    V004,
    V005,
    V006,
    V007,
    V008,
    S001,
    S002,
    S003,
    P001,
    P002,
    P003,
    P004,
    P005,
    P006,
}

impl Code {
    /// Every code, by family as `docs/diagnostics.md` documents them.
    pub const ALL: &[Code] = &[
        Code::N000,
        Code::N001,
        Code::N002,
        Code::N003,
        Code::N004,
        Code::N005,
        Code::N006,
        Code::N007,
        Code::N008,
        Code::C001,
        Code::C002,
        Code::C003,
        Code::C004,
        Code::C005,
        Code::C006,
        Code::C007,
        Code::C008,
        Code::C009,
        Code::C010,
        Code::C011,
        Code::C012,
        Code::C013,
        Code::C014,
        Code::M001,
        Code::M002,
        Code::M003,
        Code::M004,
        Code::M005,
        Code::V001,
        Code::V002,
        Code::V003,
        Code::V004,
        Code::V005,
        Code::V006,
        Code::V007,
        Code::V008,
        Code::S001,
        Code::S002,
        Code::S003,
        Code::P001,
        Code::P002,
        Code::P003,
        Code::P004,
        Code::P005,
        Code::P006,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::N000 => "N000",
            Code::N001 => "N001",
            Code::N002 => "N002",
            Code::N003 => "N003",
            Code::N004 => "N004",
            Code::N005 => "N005",
            Code::N006 => "N006",
            Code::N007 => "N007",
            Code::N008 => "N008",
            Code::C001 => "C001",
            Code::C002 => "C002",
            Code::C003 => "C003",
            Code::C004 => "C004",
            Code::C005 => "C005",
            Code::C006 => "C006",
            Code::C007 => "C007",
            Code::C008 => "C008",
            Code::C009 => "C009",
            Code::C010 => "C010",
            Code::C011 => "C011",
            Code::C012 => "C012",
            Code::C013 => "C013",
            Code::C014 => "C014",
            Code::M001 => "M001",
            Code::M002 => "M002",
            Code::M003 => "M003",
            Code::M004 => "M004",
            Code::M005 => "M005",
            Code::V001 => "V001",
            Code::V002 => "V002",
            Code::V003 => "V003",
            Code::V004 => "V004",
            Code::V005 => "V005",
            Code::V006 => "V006",
            Code::V007 => "V007",
            Code::V008 => "V008",
            Code::S001 => "S001",
            Code::S002 => "S002",
            Code::S003 => "S003",
            Code::P001 => "P001",
            Code::P002 => "P002",
            Code::P003 => "P003",
            Code::P004 => "P004",
            Code::P005 => "P005",
            Code::P006 => "P006",
        }
    }

    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// The usual severity and the title, as `docs/diagnostics.md` heads the code's section.
    fn facts(self) -> (Severity, &'static str) {
        match self {
            Code::N000 => (Severity::Info, "not checked: a value is unknown"),
            Code::N001 => (Severity::Error, "syntax error"),
            Code::N002 => (Severity::Error, "evaluation error"),
            Code::N003 => (Severity::Error, "infinite recursion"),
            Code::N004 => (Severity::Error, "missing file"),
            Code::N005 => (Severity::Error, "a limit was exceeded"),
            Code::N006 => (Severity::Warning, "file is not valid UTF-8"),
            Code::N007 => (Severity::Error, "a data file Nix cannot read"),
            Code::N008 => (Severity::Warning, "a key written twice in a JSON data file"),
            Code::C001 => (
                Severity::Error,
                "a role names a machine no inventory source defines",
            ),
            Code::C002 => (Severity::Error, "a role the service does not define"),
            Code::C003 => (
                Severity::Error,
                "`module.name` that the input does not provide",
            ),
            Code::C004 => (
                Severity::Error,
                "`module.input` that is neither a flake input nor \"self\"",
            ),
            Code::C005 => (Severity::Warning, "a tag in a role that matches no machine"),
            Code::C006 => (
                Severity::Error,
                "a setting whose value does not have the option's type",
            ),
            Code::C007 => (
                Severity::Error,
                "a setting the role's interface does not declare",
            ),
            Code::C008 => (
                Severity::Info,
                "a required option left unset for a machine of the role",
            ),
            Code::C009 => (Severity::Error, "a role constraint is violated"),
            Code::C010 => (
                Severity::Warning,
                "a darwin machine named directly in a role of a service without darwin support",
            ),
            Code::C011 => (Severity::Error, "an inventory value of the wrong type"),
            Code::C012 => (Severity::Error, "conflicting definitions"),
            Code::C013 => (Severity::Error, "`inventory.services` is used"),
            Code::C014 => (Severity::Info, "the catalog describes another clan-core"),
            Code::M001 => (Severity::Error, "a deferred module that nothing defines"),
            Code::M002 => (Severity::Error, "a deferred module of the other class"),
            Code::M003 => (
                Severity::Error,
                "`nixpkgs.hostPlatform` is no known system or contradicts the class",
            ),
            Code::M004 => (Severity::Error, "a deploy target that does not parse"),
            Code::M005 => (Severity::Warning, "a machine name clan does not accept"),
            Code::V001 => (
                Severity::Error,
                "a generator depends on a generator that does not exist",
            ),
            Code::V002 => (Severity::Error, "generator dependencies form a cycle"),
            Code::V003 => (
                Severity::Warning,
                "a declared var has no file under `vars/` yet",
            ),
            Code::V004 => (Severity::Warning, "a vars directory nothing uses"),
            Code::V005 => (
                Severity::Error,
                "a secret not encrypted for a recipient it names",
            ),
            Code::V006 => (Severity::Error, "a vars option out of range"),
            Code::V007 => (
                Severity::Error,
                "a shared generator declared differently on two machines",
            ),
            Code::V008 => (
                Severity::Error,
                "a generator, file or prompt name that cannot name a file",
            ),
            Code::S001 => (Severity::Error, "the sops file does not exist"),
            Code::S002 => (Severity::Error, "the key is not in the sops file"),
            Code::S003 => (
                Severity::Error,
                "the sops file is not encrypted for the machine",
            ),
            Code::P001 => (Severity::Warning, "a machine is skipped"),
            Code::P002 => (Severity::Error, "stale plan"),
            Code::P003 => (Severity::Warning, "a selector term matches no machine"),
            Code::P004 => (Severity::Info, "an ordering dropped to break a cycle"),
            Code::P005 => (
                Severity::Warning,
                "`clanc.toml` orders something that does not exist",
            ),
            Code::P006 => (Severity::Info, "the order of an instance is not known"),
        }
    }

    pub fn severity(self) -> Severity {
        self.facts().0
    }

    pub fn title(self) -> &'static str {
        self.facts().1
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/diagnostics.md` heads one section per code: `## <code> — <title> (<severity>...)`.
    #[test]
    fn the_documentation_has_exactly_the_codes_with_their_titles_and_severities() {
        let docs = include_str!("../../docs/diagnostics.md");
        let mut documented = Vec::new();
        for line in docs.lines() {
            let Some(heading) = line.strip_prefix("## ").or(line.strip_prefix("### ")) else {
                continue;
            };
            let Some((code, rest)) = heading.split_once(" — ") else {
                continue;
            };
            let Some(code) = Code::parse(code) else {
                panic!("docs/diagnostics.md documents `{code}`, which is no code: {line}");
            };
            let (title, severity) = rest
                .rsplit_once(" (")
                .unwrap_or_else(|| panic!("no severity in `{line}`"));
            let severity = severity.split([';', ')']).next().unwrap_or_default();
            assert_eq!(title, code.title(), "{line}");
            assert_eq!(severity, code.severity().as_str(), "{line}");
            documented.push(code);
        }
        let mut all = Code::ALL.to_vec();
        all.sort();
        documented.sort();
        assert_eq!(documented, all, "every code documented once");
    }
}
