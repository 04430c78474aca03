//! Offboarding from WorkOS events, wired: the polling consumer of this replica (a task
//! that polls every `WORKOS_EVENTS_POLL_SECONDS` while it holds the lease, and tries
//! to take the lease over as soon as the holder's ends), the webhook route's use case,
//! the metrics of both, and the `tether-auth events status|replay` commands.
//!
//! ```text
//! tether-auth events status
//! tether-auth events replay --since 2026-12-01T00:00:00Z
//! ```

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tether_clock::SystemClock;
use tether_domain::lifecycle::{
    ConsumerSettings, EventSourceError, PollError, PollReport, format_rfc3339, parse_rfc3339,
};
use tether_domain::{
    Clock, EventConsumer, EventCursorStore, EventSource, LifecycleEvents, Ports, ReceiveDelivery, Timestamp,
};
use tether_http::Webhooks;
use tether_http::metrics::{EVENTS_LAG_SECONDS, EVENTS_LEASE_HELD, record_event};
use tether_mongo::{MongoConfig, MongoStore};
use tether_workos::WebhookSignatures;
use tether_workos::events::type_label;

use crate::settings::EventSettings;

/// The stream of WorkOS events: its cursor and lease in `event_cursors`.
pub const STREAM: &str = "workos";

/// Events per page.
const PAGE_SIZE: u32 = 100;
/// Pages per poll at most (the lease is renewed between polls).
const MAX_PAGES: u32 = 10;

/// A name for this replica in the lease: host, process and a counter (several
/// services in one process, as in tests, are replicas of their own).
fn holder_name(clock: &dyn Clock) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| "tether-auth".to_owned());
    format!(
        "{host}/{}/{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        clock.now().millis() % 100_000
    )
}

/// The webhook route's use case, when `WORKOS_WEBHOOK_SECRET` is set.
pub(crate) fn webhooks(settings: &EventSettings, ports: &Ports) -> Option<Webhooks> {
    let secret = settings.webhook_secret.clone()?;
    Some(Webhooks {
        receive: ReceiveDelivery::new(
            Arc::new(WebhookSignatures::new(secret)),
            LifecycleEvents::new(ports.clone()),
        ),
        type_label,
    })
}

/// The consumer task of this replica; aborted when dropped.
pub(crate) struct EventsTask {
    consumer: EventConsumer,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EventsTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EventsTask {
    /// This replica's name in the lease.
    pub(crate) fn holder(&self) -> &str {
        &self.consumer.settings().holder
    }

    /// Stops polling and hands the lease over at once (graceful stop).
    pub(crate) async fn stop(self) {
        self.task.abort();
        if let Err(e) = self.consumer.release().await {
            tracing::warn!(error = %e, "could not release the event lease; it ends by itself");
        }
    }
}

/// Starts polling `source` on the current runtime, its cursor and lease in `cursors`,
/// applying events to the users and sessions of `ports`.
pub(crate) fn start(
    settings: &EventSettings,
    source: Arc<dyn EventSource>,
    cursors: Arc<dyn EventCursorStore>,
    ports: &Ports,
) -> EventsTask {
    let consumer = EventConsumer::new(
        source,
        cursors,
        LifecycleEvents::new(ports.clone()),
        ConsumerSettings {
            stream: STREAM.to_owned(),
            holder: holder_name(ports.clock.as_ref()),
            lease_seconds: i64::try_from(settings.lease.as_secs()).unwrap_or(30),
            page_size: PAGE_SIZE,
            max_pages: MAX_PAGES,
        },
    );
    tracing::info!(
        holder = %consumer.settings().holder,
        poll_seconds = settings.poll_interval.as_secs(),
        lease_seconds = settings.lease.as_secs(),
        "polling WorkOS events"
    );
    let task = tokio::spawn(poll_forever(
        consumer.clone(),
        ports.clock.clone(),
        settings.poll_interval,
    ));
    EventsTask { consumer, task }
}

/// Polls until aborted: every poll interval while holding the lease (at once while
/// pages are left), as soon as another holder's lease ends otherwise; after a failure
/// it waits the poll interval, doubling up to a minute (a 429 waits its Retry-After).
async fn poll_forever(consumer: EventConsumer, clock: Arc<dyn Clock>, poll: Duration) {
    let mut failures: u32 = 0;
    loop {
        let wait = match consumer.poll_once().await {
            Ok(report) => {
                failures = 0;
                record(&report);
                next_wait(&report, clock.now(), poll)
            }
            Err(PollError::Source(EventSourceError::RateLimited { retry_after_seconds })) => {
                tracing::warn!(?retry_after_seconds, "WorkOS is rate-limiting the event polls");
                Duration::from_secs(retry_after_seconds.unwrap_or(30).clamp(1, 300))
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = poll
                    .saturating_mul(2u32.saturating_pow(failures.min(6) - 1))
                    .min(Duration::from_secs(60));
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "an event poll failed; the cursor stays");
                wait
            }
        };
        tokio::time::sleep(wait).await;
    }
}

fn record(report: &PollReport) {
    metrics::gauge!(EVENTS_LEASE_HELD).set(if report.held { 1.0 } else { 0.0 });
    for (event_type, outcome) in &report.handled {
        record_event(type_label(event_type), *outcome);
    }
    if report.held {
        metrics::gauge!(EVENTS_LAG_SECONDS).set(report.lag_seconds.unwrap_or(0.0));
    }
}

/// How long to wait before the next poll.
fn next_wait(report: &PollReport, now: Timestamp, poll: Duration) -> Duration {
    if report.held {
        return if report.caught_up { poll } else { Duration::ZERO };
    }
    match report.lease_until {
        Some(until) if until > now => {
            let left = Duration::from_millis(u64::try_from(until.millis() - now.millis()).unwrap_or(0));
            (left + Duration::from_millis(50)).min(poll)
        }
        _ => poll.min(Duration::from_secs(1)),
    }
}

/// One parsed `tether-auth events ...` command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the cursor, the lease holder and the lag.
    Status,
    /// Start the stream over from a time.
    Replay {
        /// The time to start from.
        since: Timestamp,
    },
}

/// Parses an RFC 3339 time for `--since`.
pub fn parse_since(raw: &str) -> Result<Timestamp, String> {
    parse_rfc3339(raw).ok_or_else(|| format!("{raw:?}: an RFC 3339 time such as 2026-12-01T00:00:00Z"))
}

/// Runs a parsed `tether-auth events ...` against the database `config` names.
pub async fn run(command: Command, config: MongoConfig) -> Result<(), String> {
    let store = MongoStore::connect(config)
        .await
        .map_err(|e| format!("MONGODB_URI: cannot use the database: {e}"))?;
    let mut out = std::io::stdout().lock();
    execute(command, &store, &SystemClock, &mut out).await
}

/// Carries out `command` on `cursors`, writing what it did to `out`.
pub async fn execute(
    command: Command,
    cursors: &dyn EventCursorStore,
    clock: &dyn Clock,
    out: &mut dyn Write,
) -> Result<(), String> {
    let now = clock.now();
    let text = match command {
        Command::Status => {
            let state = cursors.cursor_state(STREAM).await.map_err(|e| e.to_string())?;
            let Some(state) = state else {
                return writeln!(
                    out,
                    "no WorkOS events consumed yet (the first poll starts at the newest event)"
                )
                .map_err(|e| e.to_string());
            };
            let time = |t: Option<Timestamp>| t.map_or_else(|| "-".to_owned(), format_rfc3339);
            let seconds_ago = |t: Option<Timestamp>| {
                t.map_or_else(
                    || "-".to_owned(),
                    |t| format!("{:.1}", (now.millis() - t.millis()) as f64 / 1000.0),
                )
            };
            let holder = match (&state.holder, state.lease_until) {
                (Some(holder), Some(until)) if until > now => {
                    format!("{holder} (until {})", format_rfc3339(until))
                }
                (Some(holder), _) => format!("none (the lease of {holder} ended)"),
                _ => "none".to_owned(),
            };
            format!(
                "cursor: {}\nreplay since: {}\nlease holder: {holder}\nlast poll: {} ({} s ago)\nlast event applied: {} (lag {} s)\n",
                state.after.as_deref().unwrap_or("-"),
                time(state.since),
                time(state.checked_at),
                seconds_ago(state.checked_at),
                time(state.last_event_at),
                seconds_ago(state.last_event_at),
            )
        }
        Command::Replay { since } => {
            if since > now {
                return Err("--since is in the future".to_owned());
            }
            cursors
                .replay_from(STREAM, since)
                .await
                .map_err(|e| e.to_string())?;
            format!(
                "the WorkOS event stream starts over from {} at the next poll (events applied before are recognised and skipped)\n",
                format_rfc3339(since)
            )
        }
    };
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use tether_clock::ManualClock;
    use tether_domain::lifecycle::CursorMove;
    use tether_memory::InMemoryStore;

    use super::*;

    #[tokio::test]
    async fn status_shows_the_cursor_the_holder_and_replay_starts_over() {
        let store = InMemoryStore::new();
        let clock = ManualClock::new(Timestamp::from_millis(1_800_000_000_000));
        let mut out = Vec::new();
        execute(Command::Status, &store, &clock, &mut out).await.unwrap();
        assert!(String::from_utf8_lossy(&out).contains("no WorkOS events consumed yet"));

        let now = clock.now();
        store
            .acquire_lease(STREAM, "replica-a", now, now.plus_seconds(30))
            .await
            .unwrap();
        store
            .advance_cursor(
                STREAM,
                CursorMove {
                    holder: "replica-a".to_owned(),
                    after: Some("event_9".to_owned()),
                    last_event_at: Some(now.plus_seconds(-2)),
                    at: now,
                },
            )
            .await
            .unwrap();
        let mut out = Vec::new();
        execute(Command::Status, &store, &clock, &mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("cursor: event_9"), "{text}");
        assert!(text.contains("lease holder: replica-a"), "{text}");
        assert!(text.contains("lag 2.0 s"), "{text}");

        let since = parse_since("2027-01-15T00:00:00Z").unwrap();
        let mut out = Vec::new();
        execute(Command::Replay { since }, &store, &clock, &mut out)
            .await
            .unwrap();
        let state = store.cursor_state(STREAM).await.unwrap().unwrap();
        assert_eq!((state.after, state.since), (None, Some(since)));
        assert!(
            execute(
                Command::Replay {
                    since: now.plus_seconds(60)
                },
                &store,
                &clock,
                &mut Vec::new()
            )
            .await
            .is_err()
        );
        assert!(parse_since("yesterday").is_err());
    }

    #[test]
    fn a_replica_without_the_lease_tries_again_as_soon_as_it_ends() {
        let now = Timestamp::from_millis(1_000_000);
        let poll = Duration::from_secs(10);
        let waiting = PollReport {
            lease_until: Some(now.plus_seconds(2)),
            ..PollReport::default()
        };
        assert_eq!(next_wait(&waiting, now, poll), Duration::from_millis(2050));
        let holding = PollReport {
            held: true,
            caught_up: true,
            ..PollReport::default()
        };
        assert_eq!(next_wait(&holding, now, poll), poll);
        let behind = PollReport {
            held: true,
            ..PollReport::default()
        };
        assert_eq!(next_wait(&behind, now, poll), Duration::ZERO);
    }
}
