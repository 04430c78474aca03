//! One turn at a time per key, within this process: concurrent posts of one login
//! callback wait for each other instead of racing, so that the second finds the
//! answer the first stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::lock::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::values::TokenHash;

/// Keys with a turn in progress or waiting; an entry lives only while someone holds
/// or waits for its turn, so the map is bounded by the requests in flight.
#[derive(Debug, Default)]
pub(crate) struct Turns {
    keys: Arc<Mutex<HashMap<TokenHash, Arc<AsyncMutex<()>>>>>,
}

/// A turn: while it lives, no other turn of the same key runs.
pub(crate) struct Turn {
    // Dropped first: the next waiter may go on before the entry is looked at.
    guard: Option<OwnedMutexGuard<()>>,
    lock: Arc<AsyncMutex<()>>,
    key: TokenHash,
    keys: Arc<Mutex<HashMap<TokenHash, Arc<AsyncMutex<()>>>>>,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn").finish_non_exhaustive()
    }
}

/// The turns of this process: every `CompleteLogin` shares them, so that posts of one
/// callback wait for each other whichever HTTP worker (with its own wiring) takes them.
pub(crate) fn process_turns() -> Arc<Turns> {
    static TURNS: std::sync::OnceLock<Arc<Turns>> = std::sync::OnceLock::new();
    TURNS.get_or_init(Arc::default).clone()
}

impl Turns {
    /// Waits until no other turn of `key` runs, and takes one.
    pub(crate) async fn take(&self, key: TokenHash) -> Turn {
        let lock = {
            let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
            keys.entry(key.clone()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        Turn {
            guard: Some(guard),
            lock,
            key,
            keys: self.keys.clone(),
        }
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
        // Clones are made under this lock: two left (the map's and ours) means nobody
        // else holds or waits for this key.
        if Arc::strong_count(&self.lock) == 2 {
            keys.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn turns_of_one_key_never_overlap_other_keys_do_not_wait_and_nothing_is_left() {
        let turns = Arc::new(Turns::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
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
}
