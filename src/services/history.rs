//! Which clan-core the embedded catalog describes, service by service: a clan's flake.lock
//! may pin another clan-core, and a finding about a built-in service is certain only where
//! the catalog describes that service as the pinned clan-core has it
//! (`clan-core-service-history.json`, written by `scripts/service-history` from clan-core's
//! git history).
//!
//! Pinned revisions are commits of clan-core's main line, whose commit times (flake.lock's
//! `lastModified`) grow along it; times are compared with a day of margin either way.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

const HISTORY_JSON: &str = include_str!("clan-core-service-history.json");

/// A day, the margin of every comparison of commit times.
const DAY: i64 = 86_400;

/// What the clan evaluates with: the pinned clan-core, from flake.lock.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pin<'a> {
    pub rev: Option<&'a str>,
    /// The pinned revision's commit time (`lastModified`).
    pub time: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ServiceHistory {
    /// The commit the catalog describes, and its commit time.
    pub commit: String,
    pub commit_time: i64,
    pub services: BTreeMap<String, ServiceSpan>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ServiceSpan {
    /// Commit times over which `clanServices/<name>/` existed: [from, to), `to` null when
    /// it exists at the catalog's commit.
    pub present: Vec<(i64, Option<i64>)>,
    /// The last change of the service's directory up to the catalog's commit.
    #[serde(default)]
    pub changed: Option<i64>,
}

impl ServiceHistory {
    /// The embedded history, read once.
    pub fn builtin() -> &'static ServiceHistory {
        static HISTORY: OnceLock<ServiceHistory> = OnceLock::new();
        HISTORY.get_or_init(|| {
            // The embedded file is part of the build and checked by the tests below.
            serde_json::from_str(HISTORY_JSON)
                .unwrap_or_else(|e| panic!("embedded service history: {e}"))
        })
    }

    /// Whether the pinned clan-core is the catalog's own commit.
    fn is_catalog(&self, pin: Pin<'_>) -> bool {
        pin.rev
            .is_some_and(|rev| self.commit.starts_with(rev) || rev.starts_with(&self.commit))
    }

    /// Whether the catalog describes the service `name` as the pinned clan-core has it: no
    /// pin (clanc assumes the clan-core it describes), the catalog's own commit, or a pin
    /// between the service's last change and the catalog's commit.
    pub fn describes(&self, name: &str, pin: Pin<'_>) -> bool {
        if self.is_catalog(pin) {
            return true;
        }
        let Some(time) = pin.time else {
            return pin.rev.is_none();
        };
        let Some(changed) = self.services.get(name).and_then(|s| s.changed) else {
            return false;
        };
        changed + DAY <= time && time + DAY <= self.commit_time
    }

    /// Whether the pinned clan-core may have a service named `name`: it existed around the
    /// pinned time, or the pin is newer than the catalog (a service added since), or nothing
    /// is known of the pin's time.
    pub fn may_exist(&self, name: &str, pin: Pin<'_>) -> bool {
        if self.is_catalog(pin) {
            return self.exists_at_catalog(name);
        }
        let Some(time) = pin.time else {
            return pin.rev.is_some() || self.exists_at_catalog(name);
        };
        if time + DAY > self.commit_time {
            return true;
        }
        self.services.get(name).is_some_and(|s| {
            s.present
                .iter()
                .any(|(from, to)| from - DAY <= time && to.is_none_or(|to| time < to + DAY))
        })
    }

    fn exists_at_catalog(&self, name: &str) -> bool {
        self.services
            .get(name)
            .is_some_and(|s| s.present.iter().any(|(_, to)| to.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::catalog::Catalog;

    #[test]
    fn the_embedded_history_is_of_the_catalogs_commit_and_has_its_services() {
        let history = ServiceHistory::builtin();
        let catalog = Catalog::builtin();
        assert_eq!(history.commit, catalog.clan_core_commit);
        for name in catalog.services.keys() {
            assert!(history.exists_at_catalog(name), "{name}");
            assert!(history.services[name].changed.is_some(), "{name}");
        }
    }

    fn history() -> ServiceHistory {
        let mut services = BTreeMap::new();
        services.insert(
            "kept".to_string(),
            ServiceSpan {
                present: vec![(100 * DAY, None)],
                changed: Some(200 * DAY),
            },
        );
        services.insert(
            "gone".to_string(),
            ServiceSpan {
                present: vec![(100 * DAY, Some(150 * DAY))],
                changed: None,
            },
        );
        ServiceHistory {
            commit: "abcdef0123".into(),
            commit_time: 300 * DAY,
            services,
        }
    }

    fn at(time: i64) -> Pin<'static> {
        Pin {
            rev: Some("0000"),
            time: Some(time * DAY),
        }
    }

    #[test]
    fn a_service_is_described_from_its_last_change_to_the_catalog() {
        let h = history();
        assert!(h.describes("kept", Pin::default()));
        assert!(h.describes(
            "kept",
            Pin {
                rev: Some("abcdef"),
                time: None
            }
        ));
        assert!(h.describes("kept", at(250)));
        assert!(!h.describes("kept", at(199)), "before its last change");
        assert!(!h.describes("kept", at(301)), "newer than the catalog");
        assert!(!h.describes(
            "kept",
            Pin {
                rev: Some("0000"),
                time: None
            }
        ));
        assert!(!h.describes("gone", at(120)));
    }

    #[test]
    fn a_name_may_exist_where_it_existed_or_where_nothing_is_known() {
        let h = history();
        assert!(h.may_exist("gone", at(120)));
        assert!(!h.may_exist("gone", at(200)));
        assert!(!h.may_exist("never", at(200)));
        assert!(h.may_exist("never", at(400)), "added after the catalog");
        assert!(!h.may_exist("never", Pin::default()));
        assert!(!h.may_exist("gone", Pin::default()));
        assert!(h.may_exist(
            "never",
            Pin {
                rev: Some("0000"),
                time: None
            }
        ));
    }
}
