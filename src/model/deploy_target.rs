//! Deploy targets (`grammar/target.ebnf`): `deploy.targetHost`/`buildHost` and
//! `--target-host`, written `[ssh://][user@]host[:port][?Option=value&...]`, with
//! `[v6-address]` for IPv6 (always). The options after `?` are ssh options, as clan takes them
//! (`root@host?ProxyJump=tunnel@gw`).

use std::fmt;

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::digit1;
use nom::combinator::{all_consuming, opt};
use nom::sequence::{delimited, preceded, terminated};
use nom::{IResult, Parser};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeployTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// ssh options written after `?`, in order (`ProxyJump`, `IdentityFile`, ...).
    pub options: Vec<(String, String)>,
}

impl DeployTarget {
    /// A target without ssh options.
    #[cfg(test)]
    pub fn new(user: Option<String>, host: String, port: Option<u16>) -> DeployTarget {
        DeployTarget {
            user,
            host,
            port,
            options: Vec::new(),
        }
    }

    /// The target's ssh options as `-o Name=value` arguments.
    pub fn ssh_option_args(&self) -> Vec<String> {
        self.options
            .iter()
            .flat_map(|(name, value)| ["-o".to_string(), format!("{name}={value}")])
            .collect()
    }

    /// The user ssh logs in as: the given one, else root (clan's default).
    pub fn user_or_root(&self) -> &str {
        self.user.as_deref().unwrap_or("root")
    }

    /// `user@host` for ssh's destination argument (the port goes to `-p`).
    pub fn ssh_destination(&self) -> String {
        match &self.user {
            Some(user) => format!("{user}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for DeployTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        match self.port {
            Some(port) if self.host.contains(':') => write!(f, "[{}]:{port}", self.host),
            Some(port) => write!(f, "{}:{port}", self.host),
            None => write!(f, "{}", self.host),
        }?;
        for (i, (name, value)) in self.options.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{name}={value}")?;
        }
        Ok(())
    }
}

/// Why a target does not parse: a message and the byte offset in the text it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetError {
    pub message: String,
    pub offset: usize,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TargetError {}

fn user(input: &str) -> IResult<&str, &str> {
    terminated(
        take_while1(|c: char| c.is_ascii_alphanumeric() || "-_.".contains(c)),
        tag("@"),
    )
    .parse(input)
}

fn hostname(input: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || "-.".contains(c)).parse(input)
}

fn bracketed_v6(input: &str) -> IResult<&str, &str> {
    delimited(
        tag("["),
        take_while1(|c: char| c.is_ascii_hexdigit() || c == ':' || c == '.' || c == '%'),
        tag("]"),
    )
    .parse(input)
}

fn target(input: &str) -> IResult<&str, (Option<&str>, &str, Option<&str>)> {
    all_consuming((
        opt(user),
        alt((bracketed_v6, hostname)),
        opt(preceded(tag(":"), digit1)),
    ))
    .parse(input)
}

pub fn parse_deploy_target(text: &str) -> Result<DeployTarget, TargetError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TargetError {
            message: "the deploy target is empty; expected `[user@]host[:port]`".to_string(),
            offset: 0,
        });
    }
    let lead = text.len() - text.trim_start().len();
    let (trimmed, lead) = match trimmed.strip_prefix("ssh://") {
        Some(rest) => (rest, lead + "ssh://".len()),
        None => (trimmed, lead),
    };
    let (trimmed, options) = match trimmed.split_once('?') {
        Some((endpoint, query)) => (endpoint, ssh_options(query, lead + endpoint.len() + 1)?),
        None => (trimmed, Vec::new()),
    };
    let (_, (user, host, port)) = target(trimmed).map_err(|e| {
        let rest = super::unparsed_rest(&e);
        let offset = lead + trimmed.len() - rest.len();
        let found = rest
            .chars()
            .next()
            .map_or("the end".to_string(), |c| format!("`{c}`"));
        TargetError {
            message: format!("unexpected {found} in deploy target; expected `[user@]host[:port]`"),
            offset,
        }
    })?;
    // A user or host starting with `-` would reach ssh as an option (`-Fcfg@host` reads a
    // config file); clan-core passes the destination as a plain argument, so clanc rejects it.
    let host_at = lead + user.map_or(0, |u| u.len() + 1);
    for (what, part, offset) in [("user", user.unwrap_or(""), lead), ("host", host, host_at)] {
        if part.starts_with('-') {
            return Err(TargetError {
                message: format!(
                    "the {what} `{part}` starts with `-`, which ssh would read as an option; expected `[user@]host[:port]`"
                ),
                offset,
            });
        }
    }
    let port = match port {
        None => None,
        Some(digits) => match digits.parse::<u16>() {
            Ok(p) if p > 0 => Some(p),
            _ => {
                return Err(TargetError {
                    message: format!("port {digits} is out of range (1 to 65535)"),
                    offset: lead + trimmed.len() - digits.len(),
                });
            }
        },
    };
    Ok(DeployTarget {
        user: user.map(str::to_string),
        host: host.to_string(),
        port,
        options,
    })
}

/// `Name=value&Name2=value2` after the `?` of a target (`offset`: where it starts in the
/// text). Empty parts are skipped, as clan does; a part without `=` is an error. Names are
/// letters and digits (ssh's option names), values have no whitespace or control characters:
/// they go into an ssh_config file and onto ssh's command line.
fn ssh_options(query: &str, offset: usize) -> Result<Vec<(String, String)>, TargetError> {
    let mut options = Vec::new();
    let mut at = offset;
    for part in query.split('&') {
        let here = at;
        at += part.len() + 1;
        if part.is_empty() {
            continue;
        }
        let Some((name, value)) = part.split_once('=') else {
            return Err(TargetError {
                message: format!(
                    "the ssh option `{part}` has no value; expected `Name=value` after `?`"
                ),
                offset: here,
            });
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(TargetError {
                message: format!(
                    "`{name}` is not an ssh option name; expected letters and digits (`ProxyJump=host`)"
                ),
                offset: here,
            });
        }
        if let Some(bad) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(TargetError {
                message: format!(
                    "the value of the ssh option `{name}` holds {bad:?}; expected no spaces or control characters"
                ),
                offset: here + name.len() + 1,
            });
        }
        options.push((name.to_string(), value.to_string()));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> DeployTarget {
        parse_deploy_target(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn target(user: Option<&str>, host: &str, port: Option<u16>) -> DeployTarget {
        DeployTarget::new(user.map(str::to_string), host.to_string(), port)
    }

    #[test]
    fn ssh_options_after_a_question_mark_as_clan_takes_them() {
        let t = ok("root@host.example?ProxyJump=tunnel@gw&IdentityFile=/key");
        assert_eq!(t.user.as_deref(), Some("root"));
        assert_eq!(t.host, "host.example");
        assert_eq!(
            t.options,
            vec![
                ("ProxyJump".to_string(), "tunnel@gw".to_string()),
                ("IdentityFile".to_string(), "/key".to_string())
            ]
        );
        assert_eq!(
            t.ssh_option_args(),
            ["-o", "ProxyJump=tunnel@gw", "-o", "IdentityFile=/key"]
        );
        assert_eq!(
            t.to_string(),
            "root@host.example?ProxyJump=tunnel@gw&IdentityFile=/key"
        );
        assert_eq!(
            ok("ssh://user@example.com:22"),
            target(Some("user"), "example.com", Some(22))
        );
        assert_eq!(ok("example.com?"), target(None, "example.com", None));
        let e = parse_deploy_target("example.com?foo").unwrap_err();
        assert_eq!(e.offset, 12);
        assert!(e.message.contains("has no value"), "{e}");
        let e = parse_deploy_target("h?A=b&Bad Name=x").unwrap_err();
        assert_eq!(e.offset, 6);
        let e = parse_deploy_target("h?A=b c").unwrap_err();
        assert_eq!(e.offset, 4);
    }

    #[test]
    fn the_forms_clan_accepts() {
        assert_eq!(
            ok("cinnabar.example.org"),
            target(None, "cinnabar.example.org", None)
        );
        assert_eq!(ok("root@cinnabar"), target(Some("root"), "cinnabar", None));
        assert_eq!(
            ok("crs58@stibnite.local:2222"),
            target(Some("crs58"), "stibnite.local", Some(2222))
        );
        assert_eq!(
            ok("root@192.0.2.10"),
            target(Some("root"), "192.0.2.10", None)
        );
        assert_eq!(
            ok("root@[2001:db8::10]:22"),
            target(Some("root"), "2001:db8::10", Some(22))
        );
        // IPv6 needs brackets (grammar/target.ebnf): `a::b:22` could be an address or a port.
        assert!(parse_deploy_target("root@2001:db8:4:1::20").is_err());
        assert_eq!(ok("h").user_or_root(), "root");
        assert_eq!(ok("u@h:2").ssh_destination(), "u@h");
    }

    #[test]
    fn round_trips_through_display() {
        for text in ["a@b:1", "b", "root@[2001:db8::1]:22", "x@h.example"] {
            assert_eq!(parse_deploy_target(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn mistakes_point_at_the_offending_character() {
        let e = parse_deploy_target("root@host:99999").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (10, "port 99999 is out of range (1 to 65535)")
        );
        let e = parse_deploy_target("root@ho st").unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(e.message.starts_with("unexpected ` `"), "{}", e.message);
        assert!(parse_deploy_target("").is_err());
        assert!(parse_deploy_target("root@host; rm -rf /").is_err());
        assert!(parse_deploy_target("@host").is_err());
    }

    #[test]
    fn a_user_or_host_starting_with_a_dash_is_not_an_ssh_option() {
        let e = parse_deploy_target("-Fcfg@host").unwrap_err();
        assert_eq!(e.offset, 0);
        assert!(
            e.message.contains("the user `-Fcfg` starts with `-`"),
            "{e}"
        );
        let e = parse_deploy_target("ssh://root@-oProxyCommand=x").unwrap_err();
        assert!(e.message.contains("host"), "{e}");
        let e = parse_deploy_target(" ssh://root@-host:22").unwrap_err();
        assert_eq!(e.offset, 12);
        assert!(e.message.contains("the host `-host`"), "{e}");
        let e = parse_deploy_target("-h").unwrap_err();
        assert_eq!(e.offset, 0);
        // A dash inside a name is fine.
        assert_eq!(ok("a-b@c-d"), target(Some("a-b"), "c-d", None));
    }
}
