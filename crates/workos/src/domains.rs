//! Whether WorkOS vouches for an SSO profile's address: its domain is a **verified**
//! domain of the profile's WorkOS organization (`GET /organizations/{id}`,
//! `domains[].state == "verified"`). The answer is cached per organization for
//! [`CACHE_TTL`], in a table of at most [`MAX_ORGANIZATIONS`] entries (expired entries
//! go first; a full table of live ones starts afresh), so a login pays the call at most
//! once per organization in five minutes. A failure is an error, never a guessed `true`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

/// How long an organization's verified domains are trusted without asking again.
pub(crate) const CACHE_TTL: Duration = Duration::from_secs(300);

/// Most organizations cached at once.
pub(crate) const MAX_ORGANIZATIONS: usize = 4096;

/// An organization's verified domains and when they were read.
type Entry = (Instant, Arc<[String]>);

/// The verified domains of WorkOS organizations, as last read.
#[derive(Debug, Clone, Default)]
pub(crate) struct DomainCache {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl DomainCache {
    /// The organization's verified domains, when read within [`CACHE_TTL`] of `now`.
    pub(crate) fn get(&self, organization: &str, now: Instant) -> Option<Arc<[String]>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(organization)
            .filter(|(read, _)| now.saturating_duration_since(*read) < CACHE_TTL)
            .map(|(_, domains)| domains.clone())
    }

    /// Records what was just read.
    pub(crate) fn put(&self, organization: &str, domains: Arc<[String]>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ORGANIZATIONS && !entries.contains_key(organization) {
            entries.retain(|_, (read, _)| now.saturating_duration_since(*read) < CACHE_TTL);
            if entries.len() >= MAX_ORGANIZATIONS {
                entries.clear();
            }
        }
        entries.insert(organization.to_owned(), (now, domains));
    }
}

/// The part of a WorkOS organization this adapter reads.
#[derive(Deserialize)]
pub(crate) struct OrganizationAnswer {
    #[serde(default)]
    domains: Vec<DomainAnswer>,
}

/// One domain of an organization.
#[derive(Deserialize)]
struct DomainAnswer {
    domain: String,
    #[serde(default)]
    state: Option<String>,
}

impl OrganizationAnswer {
    /// The verified domains, lower-cased.
    pub(crate) fn verified(self) -> Arc<[String]> {
        self.domains
            .into_iter()
            .filter(|d| d.state.as_deref() == Some("verified"))
            .map(|d| d.domain.trim().to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    }
}

/// Whether `email`'s domain is one of `verified` (exactly, case-insensitively).
pub(crate) fn vouched(email: &str, verified: &[String]) -> bool {
    let Some((_, domain)) = email.trim().rsplit_once('@') else {
        return false;
    };
    let domain = domain.to_ascii_lowercase();
    verified.contains(&domain)
}

/// Whether `id` can be put in a URL path as is (`org_` and URL-safe characters).
pub(crate) fn is_organization_id(id: &str) -> bool {
    id.len() <= 128 && id.starts_with("org_") && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domains(list: &[&str]) -> Arc<[String]> {
        list.iter().map(|d| (*d).to_owned()).collect()
    }

    #[test]
    fn only_verified_domains_count_and_the_match_is_exact() {
        let answer: OrganizationAnswer = serde_json::from_str(
            r#"{"domains":[{"domain":"Acme.example","state":"verified"},{"domain":"pending.example","state":"pending"},{"domain":"x.example"}]}"#,
        )
        .unwrap();
        let verified = answer.verified();
        assert_eq!(&*verified, &["acme.example".to_owned()]);
        assert!(vouched("Jane@ACME.example", &verified));
        assert!(!vouched("jane@pending.example", &verified));
        assert!(!vouched("jane@evil-acme.example", &verified));
        assert!(!vouched("jane@sub.acme.example", &verified));
        assert!(!vouched("no-at-sign", &verified));
        let none: OrganizationAnswer = serde_json::from_str(r#"{"id":"org_1"}"#).unwrap();
        assert!(none.verified().is_empty());
    }

    #[test]
    fn the_cache_forgets_after_its_ttl_and_stays_bounded() {
        let cache = DomainCache::default();
        let start = Instant::now();
        cache.put("org_1", domains(&["a.example"]), start);
        assert!(
            cache
                .get("org_1", start + CACHE_TTL - Duration::from_secs(1))
                .is_some()
        );
        assert!(cache.get("org_1", start + CACHE_TTL).is_none());
        for n in 0..MAX_ORGANIZATIONS + 10 {
            cache.put(&format!("org_{n}"), domains(&[]), start);
        }
        let held = cache.entries.lock().unwrap().len();
        assert!(held <= MAX_ORGANIZATIONS, "{held}");
    }

    #[test]
    fn only_plain_organization_ids_go_into_a_path() {
        assert!(is_organization_id("org_01HXAAAA"));
        assert!(!is_organization_id("org_../../users"));
        assert!(!is_organization_id("prof_1"));
        assert!(!is_organization_id(&format!("org_{}", "a".repeat(200))));
    }
}
