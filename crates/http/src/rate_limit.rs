//! The per-client token bucket of the unauthenticated auth routes.
//!
//! The client is the peer's address or, when the peer is a trusted proxy
//! (`TRUSTED_PROXIES`), the right-most `X-Forwarded-For` address that is not itself
//! trusted; a header from any other peer is ignored, so it cannot be forged. IPv6
//! clients are counted by their /64, which one subscriber usually holds whole.
//!
//! The table of clients stays bounded: buckets that have refilled are dropped every
//! [`SWEEP_EVERY`] checks, and should more than [`MAX_CLIENTS`] still be tracked the
//! table starts afresh (logged), rather than grow without limit.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

/// Checks between two sweeps of refilled buckets.
pub const SWEEP_EVERY: u64 = 1024;

/// Most clients tracked at once.
pub const MAX_CLIENTS: usize = 100_000;

/// The token buckets, one per client address.
pub struct ClientRateLimit {
    quota: Quota,
    limiter: RwLock<Arc<DefaultKeyedRateLimiter<IpAddr>>>,
    trusted: Vec<IpNet>,
    checks: AtomicU64,
    max_clients: usize,
}

impl std::fmt::Debug for ClientRateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRateLimit")
            .field("quota", &self.quota)
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

impl ClientRateLimit {
    /// `per_minute` requests a minute per client, in bursts of as many; `trusted` are
    /// the proxies whose `X-Forwarded-For` is believed.
    pub fn new(per_minute: NonZeroU32, trusted: Vec<IpNet>) -> Self {
        let quota = Quota::per_minute(per_minute);
        Self {
            quota,
            limiter: RwLock::new(Arc::new(RateLimiter::keyed(quota))),
            trusted,
            checks: AtomicU64::new(0),
            max_clients: MAX_CLIENTS,
        }
    }

    /// Takes a token for the client of this request; `Err` with the whole seconds to
    /// wait (at least 1) when its bucket is empty.
    pub fn check(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Result<(), u64> {
        let client = bucket_key(client_address(peer, forwarded_for, &self.trusted));
        let limiter = self
            .limiter
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let outcome = limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        });
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep(&limiter);
        }
        outcome
    }

    /// How many clients are tracked.
    pub fn tracked_clients(&self) -> usize {
        self.limiter.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn sweep(&self, limiter: &DefaultKeyedRateLimiter<IpAddr>) {
        limiter.retain_recent();
        limiter.shrink_to_fit();
        if limiter.len() > self.max_clients {
            tracing::warn!(
                tracked = limiter.len(),
                "more clients than the rate limit tracks: starting its table afresh"
            );
            *self.limiter.write().unwrap_or_else(PoisonError::into_inner) =
                Arc::new(RateLimiter::keyed(self.quota));
        }
    }
}

/// The client's address: the peer's, or, when the peer is trusted, the right-most
/// address of `X-Forwarded-For` (all its lines, in order) that is not itself trusted.
/// An unreadable entry stops the walk at the last address read.
pub(crate) fn client_address(peer: Option<IpAddr>, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let unspecified = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    let Some(peer) = peer.map(canonical) else {
        return unspecified;
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = forwarded_for
        .iter()
        .flat_map(|line| line.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| hop.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The bucket of an address: itself for IPv4, its /64 for IPv6.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_address(Some(ip("203.0.113.9")), &["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(Some(ip("203.0.113.9")), &[], &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_peer_names_the_right_most_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        let peer = Some(ip("10.1.2.3"));
        assert_eq!(
            client_address(peer, &["198.51.100.1, 203.0.113.7, 192.168.1.1"], &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(
            client_address(peer, &["198.51.100.1", "203.0.113.7:4431"], &trusted),
            ip("203.0.113.7")
        );
        assert_eq!(client_address(peer, &[], &trusted), ip("10.1.2.3"));
        assert_eq!(
            client_address(peer, &["198.51.100.1, garbage, 10.9.9.9"], &trusted),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() {
        assert_eq!(
            bucket_key(ip("2001:db8:1:2:aaaa::1")),
            bucket_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            bucket_key(ip("2001:db8:1:2::1")),
            bucket_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            client_address(Some(ip("::ffff:192.0.2.1")), &[], &[]),
            ip("192.0.2.1")
        );
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_while_another_is_not_affected() {
        let limit = ClientRateLimit::new(NonZeroU32::new(3).unwrap(), Vec::new());
        let a = Some(ip("203.0.113.1"));
        for _ in 0..3 {
            assert_eq!(limit.check(a, &[]), Ok(()));
        }
        let wait = limit.check(a, &[]).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(limit.check(Some(ip("203.0.113.2")), &[]), Ok(()));
    }

    #[test]
    fn the_table_of_clients_stays_bounded() {
        let mut limit = ClientRateLimit::new(NonZeroU32::new(60).unwrap(), Vec::new());
        limit.max_clients = 100;
        for n in 0..(SWEEP_EVERY * 3) {
            let a = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n as u32));
            let _ = limit.check(Some(a), &[]);
        }
        // No bucket has refilled, so sweeping alone keeps them all: the cap resets the
        // table after each SWEEP_EVERY checks.
        assert_eq!(limit.tracked_clients(), 0);
        let _ = limit.check(Some(ip("203.0.113.1")), &[]);
        assert_eq!(limit.tracked_clients(), 1);
    }
}
