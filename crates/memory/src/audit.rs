//! [`InMemoryAuditLog`]: the audit trail in memory, ordered by id.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use tether_domain::{AuditQuery, AuditStore, HexId, RepositoryError, StoredAuditEvent};

/// The audit records of one process, kept until it stops.
#[derive(Debug, Default)]
pub struct InMemoryAuditLog {
    records: Mutex<BTreeMap<HexId, StoredAuditEvent>>,
}

impl InMemoryAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records are kept.
    pub fn len(&self) -> usize {
        self.records().len()
    }

    /// Whether no record is kept.
    pub fn is_empty(&self) -> bool {
        self.records().is_empty()
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<HexId, StoredAuditEvent>> {
        // A panic while holding the lock leaves the map whole: every write is one insert.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl AuditStore for InMemoryAuditLog {
    async fn append(&self, batch: &[StoredAuditEvent]) -> Result<(), RepositoryError> {
        let mut records = self.records();
        for record in batch {
            records.entry(record.id).or_insert_with(|| record.clone());
        }
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> Result<Vec<StoredAuditEvent>, RepositoryError> {
        Ok(self
            .records()
            .values()
            .rev()
            .filter(|record| query.matches(record))
            .take(query.limit)
            .cloned()
            .collect())
    }
}
