//! Connections that have not yet sent a whole request head wait in the lobby. When every
//! connection slot is taken, the one that has waited longest is closed to make room for
//! the newcomer, so slow or silent clients (slowloris, even one that reconnects as fast as
//! it is closed) cannot keep real clients out: a real client sends its head within
//! milliseconds of connecting and leaves the lobby long before it would be the oldest.
//! Connections working on a request are never closed this way.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};

use crate::connection::Activity;

/// The connections that have sent no request head yet, oldest first.
pub struct Lobby {
    waiting: Mutex<VecDeque<Weak<Activity>>>,
    /// Past this many entries, the lobby drops those that have left it (closed or served).
    tidy_above: usize,
}

impl Lobby {
    /// A lobby for a server of `max_connections` slots.
    pub fn new(max_connections: usize) -> Self {
        Lobby {
            waiting: Mutex::new(VecDeque::new()),
            tidy_above: max_connections.saturating_mul(2).max(16),
        }
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, VecDeque<Weak<Activity>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection enters the lobby.
    pub fn enter(&self, activity: &Arc<Activity>) {
        let mut waiting = self.waiting();
        if waiting.len() >= self.tidy_above {
            waiting.retain(|entry| entry.upgrade().is_some_and(|a| a.is_waiting()));
        }
        waiting.push_back(Arc::downgrade(activity));
    }

    /// Closes the connection that has waited longest without a request head; `false`
    /// when none is waiting (every slot is doing real work).
    pub fn evict_longest_waiting(&self) -> bool {
        let mut waiting = self.waiting();
        while let Some(entry) = waiting.pop_front() {
            if entry
                .upgrade()
                .is_some_and(|activity| activity.evict_if_waiting())
            {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn the_longest_waiting_connection_goes_and_working_ones_stay() {
        let lobby = Lobby::new(4);
        let working = Activity::new();
        let oldest_waiting = Activity::new();
        let newest_waiting = Activity::new();
        for activity in [&working, &oldest_waiting, &newest_waiting] {
            lobby.enter(activity);
        }
        let _request = working.begin(Instant::now() + Duration::from_secs(60));
        let closed = Activity::new();
        lobby.enter(&closed);
        drop(closed);

        assert!(lobby.evict_longest_waiting());
        assert!(oldest_waiting.is_evicted());
        assert!(
            !working.is_evicted(),
            "a connection with a request is never evicted"
        );
        assert!(!newest_waiting.is_evicted());

        assert!(lobby.evict_longest_waiting());
        assert!(newest_waiting.is_evicted());
        assert!(
            !lobby.evict_longest_waiting(),
            "nobody is waiting: the newcomer is refused instead"
        );
    }

    #[test]
    fn the_lobby_forgets_connections_that_left_it() {
        let lobby = Lobby::new(4);
        let served = Activity::new();
        for _ in 0..100 {
            lobby.enter(&served);
        }
        let _request = served.begin(Instant::now() + Duration::from_secs(60));
        lobby.enter(&served);
        assert!(lobby.waiting().len() <= 16, "{}", lobby.waiting().len());
    }
}
