//! One turn at a time per key, within a turn table ([`LoginTurns`]): concurrent posts
//! of one login callback wait for each other instead of racing, so that the second
//! finds the answer the first stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::lock::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::values::TokenHash;

/// How many requests may hold or wait for the turn of one key.
pub(crate) const MAX_QUEUED: usize = 8;

/// Where posts of one login callback wait for each other. Clones share one table: a
/// process gives the same one to every wiring of [`crate::CompleteLogin`] (one per
/// HTTP worker), so that posts of one callback take turns whichever worker takes them.
///
/// It holds the keys with a turn in progress or waiting, each with how many requests
/// hold or wait for it; an entry lives only while someone does, so the table is
/// bounded by the requests in flight.
#[derive(Debug, Clone, Default)]
pub struct LoginTurns {
    keys: Arc<Mutex<HashMap<TokenHash, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    lock: Arc<AsyncMutex<()>>,
    queued: usize,
}

/// A turn: while it lives, no other turn of the same key runs.
pub(crate) struct Turn {
    // Dropped first: the next waiter may go on before the entry is looked at.
    guard: Option<OwnedMutexGuard<()>>,
    key: TokenHash,
    keys: Arc<Mutex<HashMap<TokenHash, Entry>>>,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn").finish_non_exhaustive()
    }
}

impl LoginTurns {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until no other turn of `key` runs, and takes one; `None` at once, without
    /// a turn, when [`MAX_QUEUED`] requests already hold or wait for one, so that
    /// copies of one post cannot line up without end (each turn lasts at most one
    /// login, itself bounded by the time-outs of the provider and the stores).
    pub(crate) async fn take(&self, key: TokenHash) -> Option<Turn> {
        let lock = {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = keys.entry(key.clone()).or_insert_with(|| Entry {
                lock: Arc::default(),
                queued: 0,
            });
            if entry.queued >= MAX_QUEUED {
                return None;
            }
            entry.queued += 1;
            entry.lock.clone()
        };
        // Counted from here: if this future is dropped while waiting, the turn's drop
        // still runs (the guard is taken inside it).
        let mut turn = Turn {
            guard: None,
            key,
            keys: self.keys.clone(),
        };
        turn.guard = Some(lock.lock_owned().await);
        Some(turn)
    }

    /// How many keys have a turn running or waited for.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner).len()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.guard.take();
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = keys.get_mut(&self.key) {
            entry.queued = entry.queued.saturating_sub(1);
            if entry.queued == 0 {
                keys.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn turns_of_one_key_never_overlap_other_keys_do_not_wait_and_nothing_is_left() {
        let turns = LoginTurns::new();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (1..MAX_QUEUED)
            .map(|_| {
                let (turns, inside, most) = (turns.clone(), inside.clone(), most.clone());
                tokio::spawn(async move {
                    let _turn = turns.take(TokenHash::new("one")).await;
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        // Another key goes on while "one" is busy.
        let held = turns.take(TokenHash::new("one")).await;
        assert!(held.is_some());
        tokio::time::timeout(
            std::time::Duration::from_secs(1),
            turns.take(TokenHash::new("two")),
        )
        .await
        .expect("another key does not wait");
        drop(held);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "one turn of a key at a time");
        assert_eq!(turns.len(), 0, "no entry outlives its turns");
    }

    #[tokio::test]
    async fn beyond_the_queue_limit_a_request_goes_on_without_a_turn() {
        let turns = LoginTurns::new();
        let held = turns.take(TokenHash::new("k")).await.expect("the first turn");
        // Fill the queue with waiters.
        let waiters: Vec<_> = (1..MAX_QUEUED)
            .map(|_| {
                let turns = turns.clone();
                tokio::spawn(async move { turns.take(TokenHash::new("k")).await.is_some() })
            })
            .collect();
        // Let every waiter register.
        while turns
            .keys
            .lock()
            .unwrap()
            .get(&TokenHash::new("k"))
            .map_or(0, |entry| entry.queued)
            < MAX_QUEUED
        {
            tokio::task::yield_now().await;
        }
        let over = tokio::time::timeout(std::time::Duration::from_secs(1), turns.take(TokenHash::new("k")))
            .await
            .expect("does not wait");
        assert!(over.is_none(), "no turn beyond the limit");
        drop(held);
        for waiter in waiters {
            assert!(
                waiter.await.unwrap(),
                "every waiter within the limit gets its turn"
            );
        }
        assert_eq!(turns.len(), 0);
    }
}
