//! The audit trail off the request path: [`AuditQueue`], the [`AuditSink`] every use
//! case records into, puts each record in a bounded in-process queue without ever
//! waiting (a full queue drops the record, counts it and logs it), and [`AuditWriter`]
//! stores what the queue holds with one batch append at most every
//! [`WriterSettings::flush_every`] (or as soon as [`WriterSettings::batch`] records are
//! waiting), retries a failed append a few times, and on stop stores everything still
//! queued before it returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tether_domain::{AuditEvent, AuditIds, AuditSink, AuditStore, Clock, StoredAuditEvent};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Records dropped instead of stored, by reason: `queue_full` (the writer is behind),
/// `store_failed` (the store refused the batch after every retry), `stopped` (recorded
/// after the writer stopped).
pub const AUDIT_DROPPED_TOTAL: &str = "tether_audit_dropped_total";
/// Records stored.
pub const AUDIT_WRITTEN_TOTAL: &str = "tether_audit_written_total";

/// How the writer batches and retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterSettings {
    /// Most records waiting in the queue; beyond it a record is dropped.
    pub capacity: usize,
    /// Most records of one append: a full batch is stored at once.
    pub batch: usize,
    /// How long the first record of a batch waits for others: at most one append
    /// this often, unless batches fill up.
    pub flush_every: Duration,
    /// Tries of one append before its records are dropped.
    pub attempts: u32,
    /// The pause after the first failed try, doubled after each further one.
    pub retry_pause: Duration,
}

impl Default for WriterSettings {
    /// 10 000 records queued, 500 a batch, 200 ms, 3 tries from 100 ms apart.
    fn default() -> Self {
        Self {
            capacity: 10_000,
            batch: 500,
            flush_every: Duration::from_millis(200),
            attempts: 3,
            retry_pause: Duration::from_millis(100),
        }
    }
}

/// The sink of the use cases: hands a record to the writer, never waiting.
#[derive(Debug)]
pub struct AuditQueue {
    sender: mpsc::Sender<AuditEvent>,
    dropped: Arc<AtomicU64>,
}

impl AuditQueue {
    /// Records dropped so far by this queue and its writer.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// Counts and logs a dropped record: its type, and the request id when it has one
/// (never a detail value or an address).
fn drop_record(dropped: &AtomicU64, reason: &'static str, event: &AuditEvent) {
    dropped.fetch_add(1, Ordering::Relaxed);
    metrics::counter!(AUDIT_DROPPED_TOTAL, "reason" => reason).increment(1);
    tracing::warn!(
        reason,
        audit_type = event.kind.as_str(),
        request_id = event.origin.request_id.as_deref().unwrap_or_default(),
        "an audit record was dropped"
    );
}

impl AuditSink for AuditQueue {
    fn record(&self, event: AuditEvent) {
        match self.sender.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(event)) => drop_record(&self.dropped, "queue_full", &event),
            Err(mpsc::error::TrySendError::Closed(event)) => drop_record(&self.dropped, "stopped", &event),
        }
    }
}

/// The task storing queued records; [`AuditWriter::stop`] stores what is left first.
#[derive(Debug)]
pub struct AuditWriter {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl AuditWriter {
    /// Starts the writer (on the current Tokio runtime) over `store` and answers the
    /// queue the use cases record into. Record ids come from `ids`, their times from
    /// the records themselves.
    pub fn start(
        store: Arc<dyn AuditStore>,
        ids: AuditIds,
        settings: WriterSettings,
    ) -> (Arc<AuditQueue>, AuditWriter) {
        let (sender, receiver) = mpsc::channel(settings.capacity.max(1));
        let (stop, stopped) = watch::channel(false);
        let dropped = Arc::new(AtomicU64::new(0));
        let queue = Arc::new(AuditQueue {
            sender,
            dropped: dropped.clone(),
        });
        let writer = Writer {
            store,
            ids,
            settings,
            dropped,
        };
        let task = tokio::spawn(writer.run(receiver, stopped));
        (queue, AuditWriter { stop, task })
    }

    /// Stops taking records and stores every record still queued (each batch with its
    /// retries), then returns. Records handed over afterwards are dropped and counted.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the audit writer failed");
        }
    }
}

/// A process tag for [`AuditIds`]: the process id and the start time in
/// milliseconds, so that two processes (or two starts) mint different ids.
pub fn process_tag(clock: &dyn Clock) -> u64 {
    let millis = u64::try_from(clock.now().millis()).unwrap_or_default();
    (u64::from(std::process::id()) << 20) ^ (millis & 0xF_FFFF) ^ (millis >> 20 << 40)
}

struct Writer {
    store: Arc<dyn AuditStore>,
    ids: AuditIds,
    settings: WriterSettings,
    dropped: Arc<AtomicU64>,
}

impl Writer {
    async fn run(self, mut receiver: mpsc::Receiver<AuditEvent>, mut stop: watch::Receiver<bool>) {
        let mut batch: Vec<AuditEvent> = Vec::with_capacity(self.settings.batch);
        loop {
            // The first record of a batch, or the stop.
            let first = tokio::select! {
                biased;
                record = receiver.recv() => record,
                _ = stop.wait_for(|stopped| *stopped) => None,
            };
            let Some(first) = first else { break };
            batch.push(first);
            let deadline = tokio::time::sleep(self.settings.flush_every);
            tokio::pin!(deadline);
            let mut stopping = false;
            while batch.len() < self.settings.batch {
                tokio::select! {
                    biased;
                    record = receiver.recv() => match record {
                        Some(record) => batch.push(record),
                        None => break,
                    },
                    _ = &mut deadline => break,
                    _ = stop.wait_for(|stopped| *stopped), if !stopping => {
                        stopping = true;
                        break;
                    }
                }
            }
            self.flush(&mut batch).await;
            if stopping {
                break;
            }
        }
        // Stopping: take no more records, store every queued one.
        receiver.close();
        while let Some(record) = receiver.recv().await {
            batch.push(record);
            if batch.len() >= self.settings.batch {
                self.flush(&mut batch).await;
            }
        }
        self.flush(&mut batch).await;
        tracing::info!("the audit writer stored every queued record");
    }

    /// Appends `batch` (emptying it), retrying a failure with a doubling pause; after
    /// the last try its records are dropped and counted.
    async fn flush(&self, batch: &mut Vec<AuditEvent>) {
        if batch.is_empty() {
            return;
        }
        let records: Vec<StoredAuditEvent> = batch
            .drain(..)
            .map(|event| StoredAuditEvent {
                id: self.ids.next(event.at),
                event,
            })
            .collect();
        let mut pause = self.settings.retry_pause;
        for attempt in 1..=self.settings.attempts.max(1) {
            match self.store.append(&records).await {
                Ok(()) => {
                    metrics::counter!(AUDIT_WRITTEN_TOTAL).increment(records.len() as u64);
                    return;
                }
                Err(e) if attempt < self.settings.attempts => {
                    tracing::warn!(error = %e, attempt, records = records.len(), "storing audit records failed; retrying");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
                Err(e) => {
                    tracing::error!(error = %e, records = records.len(), "storing audit records failed; they are dropped");
                }
            }
        }
        for record in &records {
            drop_record(&self.dropped, "store_failed", &record.event);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use async_trait::async_trait;
    use tether_domain::{AuditActor, AuditQuery, AuditType, RepositoryError, SystemActor, Timestamp};
    use tokio::sync::Semaphore;

    use super::*;

    /// A store that keeps every batch appended, and that lets an append through only
    /// when a permit is given (or always, when open), failing the first `failures`.
    struct Gate {
        batches: Mutex<Vec<Vec<StoredAuditEvent>>>,
        permits: Semaphore,
        failures: AtomicU64,
    }

    impl Gate {
        fn open() -> Arc<Self> {
            Self::with(Semaphore::MAX_PERMITS, 0)
        }

        fn with(permits: usize, failures: u64) -> Arc<Self> {
            Arc::new(Self {
                batches: Mutex::new(Vec::new()),
                permits: Semaphore::new(permits),
                failures: AtomicU64::new(failures),
            })
        }

        fn stored(&self) -> usize {
            self.batches.lock().unwrap().iter().map(Vec::len).sum()
        }
    }

    #[async_trait]
    impl AuditStore for Gate {
        async fn append(&self, batch: &[StoredAuditEvent]) -> Result<(), RepositoryError> {
            self.permits.acquire().await.unwrap().forget();
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(RepositoryError::Unavailable("down".into()));
            }
            self.batches.lock().unwrap().push(batch.to_vec());
            Ok(())
        }

        async fn query(&self, _: &AuditQuery) -> Result<Vec<StoredAuditEvent>, RepositoryError> {
            Ok(Vec::new())
        }
    }

    fn event(n: i64) -> AuditEvent {
        AuditEvent::new(
            AuditType::LoginSucceeded,
            AuditActor::System(SystemActor::Service),
            Timestamp::from_millis(1_800_000_000_000 + n),
        )
    }

    fn settings(capacity: usize) -> WriterSettings {
        WriterSettings {
            capacity,
            batch: 500,
            flush_every: Duration::from_millis(200),
            attempts: 3,
            retry_pause: Duration::from_millis(10),
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_and_counts_and_never_waits() {
        let metrics = crate::metrics::handle();
        // The store takes nothing: the first batch waits in the writer, the queue fills.
        let store = Gate::with(0, 0);
        let (queue, _writer) = AuditWriter::start(store.clone(), AuditIds::new(1), settings(10));
        let started = Instant::now();
        for n in 0..1_000 {
            queue.record(event(n));
        }
        let spent = started.elapsed();
        assert!(spent < Duration::from_millis(100), "recording waited: {spent:?}");
        let dropped = queue.dropped();
        // At most the queue and one batch the writer took before it blocked are kept.
        assert!(
            (1_000 - 10 - 500..=1_000 - 10).contains(&dropped),
            "dropped {dropped}"
        );
        let rendered = metrics.render();
        assert!(
            rendered
                .lines()
                .any(|l| l.starts_with("tether_audit_dropped_total{reason=\"queue_full\"}")),
            "{rendered}"
        );
    }

    #[tokio::test]
    async fn records_are_stored_in_batches_and_stop_stores_every_queued_one() {
        let store = Gate::open();
        let (queue, writer) = AuditWriter::start(store.clone(), AuditIds::new(2), settings(5_000));
        for n in 0..1_200 {
            queue.record(event(n));
        }
        writer.stop().await;
        assert_eq!(store.stored(), 1_200, "nothing queued is lost on stop");
        assert_eq!(queue.dropped(), 0);
        let batches = store.batches.lock().unwrap();
        assert!(
            batches.iter().all(|b| b.len() <= 500),
            "{:?}",
            batches.iter().map(Vec::len).collect::<Vec<_>>()
        );
        let ids: Vec<_> = batches.iter().flatten().map(|r| r.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow in recording order");
        drop(batches);
        queue.record(event(0));
        assert_eq!(
            queue.dropped(),
            1,
            "a record after the stop is dropped and counted"
        );
    }

    #[tokio::test]
    async fn a_lone_record_waits_at_most_the_flush_interval() {
        let store = Gate::open();
        let (queue, _writer) = AuditWriter::start(store.clone(), AuditIds::new(3), settings(100));
        queue.record(event(0));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(store.stored(), 0, "the writer waits for more records first");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(store.stored(), 1, "stored within the interval");
    }

    #[tokio::test]
    async fn a_failing_store_is_retried_then_its_records_are_dropped_and_counted() {
        let flaky = Gate::with(Semaphore::MAX_PERMITS, 2);
        let (queue, writer) = AuditWriter::start(flaky.clone(), AuditIds::new(4), settings(100));
        queue.record(event(0));
        writer.stop().await;
        assert_eq!(flaky.stored(), 1, "the third try stored it");
        assert_eq!(queue.dropped(), 0);

        let down = Gate::with(Semaphore::MAX_PERMITS, u64::MAX);
        let (queue, writer) = AuditWriter::start(down.clone(), AuditIds::new(5), settings(100));
        queue.record(event(0));
        queue.record(event(1));
        writer.stop().await;
        assert_eq!(down.stored(), 0);
        assert_eq!(queue.dropped(), 2, "both records dropped after the last try");
    }
}
