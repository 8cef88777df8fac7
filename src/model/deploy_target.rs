//! Deploy targets (`grammar/target.ebnf`): `deploy.targetHost`/`buildHost` and
//! `--target-host`, written `[user@]host[:port]`, with `[v6-address]` for IPv6 (always).

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
}

impl DeployTarget {
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
        }
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> DeployTarget {
        parse_deploy_target(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn target(user: Option<&str>, host: &str, port: Option<u16>) -> DeployTarget {
        DeployTarget {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        }
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
}
