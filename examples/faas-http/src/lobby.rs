//! Connections with no request in flight wait in the lobby: new ones that have not yet
//! sent a whole request head, and kept-alive ones between requests. When every connection
//! slot is taken, the one that has been idle longest is closed to make room for the
//! newcomer, so slow or silent clients (slowloris, even one that reconnects as fast as it
//! is closed, or that keeps its connections alive with a cheap request now and then)
//! cannot keep real clients out: a real client sends its head within milliseconds of
//! connecting and is working long before it would be the longest idle. Connections
//! working on a request are never closed this way.

use std::sync::{Arc, Mutex, Weak};

use crate::connection::Activity;

/// Every open connection, to find the longest idle one when the slots are full.
pub struct Lobby {
    connections: Mutex<Vec<Weak<Activity>>>,
    /// Past this many entries, the lobby forgets the connections that have closed.
    tidy_above: usize,
}

impl Lobby {
    /// A lobby for a server of `max_connections` slots.
    pub fn new(max_connections: usize) -> Self {
        Lobby {
            connections: Mutex::new(Vec::new()),
            tidy_above: max_connections.saturating_mul(2).max(16),
        }
    }

    fn connections(&self) -> std::sync::MutexGuard<'_, Vec<Weak<Activity>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new connection enters the lobby.
    pub fn enter(&self, activity: &Arc<Activity>) {
        let mut connections = self.connections();
        if connections.len() >= self.tidy_above {
            connections.retain(|entry| entry.strong_count() > 0);
        }
        connections.push(Arc::downgrade(activity));
    }

    /// Closes the connection that has been idle longest (no request in flight); `false`
    /// when every connection is working on a request.
    pub fn evict_longest_idle(&self) -> bool {
        let mut connections = self.connections();
        connections.retain(|entry| entry.strong_count() > 0);
        let mut idle: Vec<(std::time::Instant, Arc<Activity>)> = connections
            .iter()
            .filter_map(Weak::upgrade)
            .filter_map(|activity| Some((activity.idle_since()?, activity)))
            .collect();
        idle.sort_by_key(|(since, _)| *since);
        // A connection may start a request between the look and the eviction: the next.
        idle.iter().any(|(_, activity)| activity.evict_if_idle())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn the_longest_idle_connection_goes_and_working_ones_stay() {
        let lobby = Lobby::new(4);
        let working = Activity::new();
        let kept_alive = Activity::new();
        for activity in [&working, &kept_alive] {
            lobby.enter(activity);
        }
        let _request = working.begin(Instant::now() + Duration::from_secs(60));
        // A kept-alive connection served a request and is idle again.
        drop(kept_alive.begin(Instant::now() + Duration::from_secs(60)));
        std::thread::sleep(Duration::from_millis(5));
        let silent = Activity::new();
        lobby.enter(&silent);
        let closed = Activity::new();
        lobby.enter(&closed);
        drop(closed);

        assert!(lobby.evict_longest_idle());
        assert!(kept_alive.is_evicted(), "idle longest");
        assert!(
            !working.is_evicted(),
            "a connection with a request is never evicted"
        );
        assert!(!silent.is_evicted());

        assert!(lobby.evict_longest_idle());
        assert!(silent.is_evicted());
        assert!(
            !lobby.evict_longest_idle(),
            "only working connections left: the newcomer is refused instead"
        );
    }

    #[test]
    fn the_lobby_forgets_connections_that_closed() {
        let lobby = Lobby::new(4);
        for _ in 0..100 {
            lobby.enter(&Activity::new());
        }
        assert!(
            lobby.connections().len() <= 16,
            "{}",
            lobby.connections().len()
        );
    }
}
