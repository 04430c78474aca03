//! [`EventConsumer`]: one poll of the provider's event list by the replica holding the
//! lease. The cursor moves only after a page's effects are written; the first start
//! with no cursor begins at the newest event. The caller repeats polls on its timer.

use std::sync::Arc;

use thiserror::Error;

use super::handler::LifecycleEvents;
use super::ports::{CursorMove, EventCursorStore, EventSource, EventSourceError};
use super::{EventOutcome, LifecycleEvent};
use crate::failure::Failure;
use crate::ports::RepositoryError;
use crate::values::Timestamp;

/// How a replica consumes a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// The stream's name (one cursor and one lease each), e.g. `workos`.
    pub stream: String,
    /// This replica's name in the lease (unique per process).
    pub holder: String,
    /// How long a lease lasts unless renewed: another replica takes over this long
    /// after the holder stopped renewing it.
    pub lease_seconds: i64,
    /// Events per page (at most 100).
    pub page_size: u32,
    /// Pages per poll at most, so the lease is renewed between batches.
    pub max_pages: u32,
}

/// Why a poll stopped early. The cursor stays where the last written page left it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PollError {
    /// The provider's event list could not be read.
    #[error(transparent)]
    Source(#[from] EventSourceError),
    /// The store failed: the page being applied is applied again by the next poll.
    #[error(transparent)]
    Failure(#[from] Failure),
}

impl From<RepositoryError> for PollError {
    fn from(e: RepositoryError) -> Self {
        Self::Failure(e.into())
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollReport {
    /// Whether this replica held the lease (and so consumed).
    pub held: bool,
    /// Each event handled: its type and outcome, in order.
    pub handled: Vec<(String, EventOutcome)>,
    /// Seconds between the provider recording the last event handled and its
    /// application, when an event was handled.
    pub lag_seconds: Option<f64>,
    /// Whether the end of the list was reached (no page was left unread).
    pub caught_up: bool,
    /// When another replica holds the lease: when its lease ends.
    pub lease_until: Option<Timestamp>,
}

/// Polls the provider's events as the one consumer of a stream.
#[derive(Clone)]
pub struct EventConsumer {
    source: Arc<dyn EventSource>,
    cursors: Arc<dyn EventCursorStore>,
    handler: LifecycleEvents,
    settings: ConsumerSettings,
}

impl std::fmt::Debug for EventConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventConsumer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl EventConsumer {
    /// Builds the consumer of `source`'s events, keeping its place in `cursors`,
    /// applying them with `handler` (and by its clock).
    pub fn new(
        source: Arc<dyn EventSource>,
        cursors: Arc<dyn EventCursorStore>,
        handler: LifecycleEvents,
        settings: ConsumerSettings,
    ) -> Self {
        Self {
            source,
            cursors,
            handler,
            settings,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &ConsumerSettings {
        &self.settings
    }

    /// One poll: takes or renews the lease (nothing else when another replica holds
    /// it), then reads pages oldest first after the cursor, applies each event, and
    /// moves the cursor past a page once its effects are written. With no cursor and
    /// no replay time, the cursor is set at the newest event and nothing is applied.
    ///
    /// # Errors
    /// [`PollError`] when the provider or the store failed; the cursor stays after
    /// the last page written.
    pub async fn poll_once(&self) -> Result<PollReport, PollError> {
        let settings = &self.settings;
        let now = self.handler.clock().now();
        let Some(mut state) = self
            .cursors
            .acquire_lease(
                &settings.stream,
                &settings.holder,
                now,
                now.plus_seconds(settings.lease_seconds),
            )
            .await?
        else {
            let state = self.cursors.cursor_state(&settings.stream).await?;
            return Ok(PollReport {
                lease_until: state.and_then(|s| s.lease_until),
                ..PollReport::default()
            });
        };
        let mut report = PollReport {
            held: true,
            ..PollReport::default()
        };
        if state.after.is_none() && state.since.is_none() {
            self.start_stream().await?;
            report.caught_up = true;
            return Ok(report);
        }
        for _ in 0..settings.max_pages.max(1) {
            let page = self
                .source
                .page(state.after.as_deref(), state.since, settings.page_size)
                .await?;
            let mut last: Option<&LifecycleEvent> = None;
            for event in &page.events {
                let outcome =
                    if state.after.is_none() && state.since.is_some_and(|since| event.occurred_at < since) {
                        // A replay starts at its time even where the provider ignores it.
                        EventOutcome::Ignored
                    } else {
                        self.handler.apply(event).await?
                    };
                report.handled.push((event.event_type.clone(), outcome));
                last = Some(event);
            }
            let at = self.handler.clock().now();
            if let Some(last) = last {
                report.lag_seconds = Some((at.millis() - last.occurred_at.millis()).max(0) as f64 / 1000.0);
            }
            let after = last.map(|e| e.id.clone()).or_else(|| state.after.clone());
            let moved = self.advance(after, last.map(|e| e.occurred_at), at).await?;
            if !moved {
                tracing::warn!(stream = %settings.stream, "the event lease was lost during a poll");
                report.held = false;
                return Ok(report);
            }
            if let Some(last) = last {
                state.after = Some(last.id.clone());
                state.since = None;
            }
            if !page.has_more || page.events.is_empty() {
                report.caught_up = true;
                break;
            }
        }
        Ok(report)
    }

    /// A stream consumed for the first time starts after its newest event, or, with no
    /// event yet, at now (so the first ones are not missed); nothing is applied.
    async fn start_stream(&self) -> Result<(), PollError> {
        let newest = self.source.newest().await?;
        let at = self.handler.clock().now();
        match newest {
            Some(event) => {
                tracing::info!(event_id = %event.id, "event stream starts after its newest event");
                self.advance(Some(event.id), Some(event.occurred_at), at).await?;
            }
            None => {
                self.cursors.replay_from(&self.settings.stream, at).await?;
                self.advance(None, None, at).await?;
            }
        }
        Ok(())
    }

    /// Moves this replica's cursor past `after` (see [`EventCursorStore::advance_cursor`]).
    async fn advance(
        &self,
        after: Option<String>,
        last_event_at: Option<Timestamp>,
        at: Timestamp,
    ) -> Result<bool, RepositoryError> {
        let to = CursorMove {
            holder: self.settings.holder.clone(),
            after,
            last_event_at,
            at,
        };
        self.cursors.advance_cursor(&self.settings.stream, to).await
    }

    /// Ends this replica's lease (on shutdown), so another takes over at once.
    ///
    /// # Errors
    /// [`RepositoryError`] when the store failed; the lease then ends by itself.
    pub async fn release(&self) -> Result<(), RepositoryError> {
        self.cursors
            .release_lease(&self.settings.stream, &self.settings.holder)
            .await
    }
}
