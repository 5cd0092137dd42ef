//! Session bookkeeping that is not replicated: when each session expires. Only the member that
//! decides expiry (the leader; a standalone member is its own leader) keeps deadlines, and it
//! expires a session by committing a CloseSession transaction.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Deadlines of live sessions.
#[derive(Default, Debug)]
pub struct Tracker {
    sessions: HashMap<i64, Entry>,
}

#[derive(Debug)]
struct Entry {
    timeout: Duration,
    deadline: Instant,
    closing: bool,
}

impl Tracker {
    pub fn add(&mut self, id: i64, timeout_ms: i32, now: Instant) {
        let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
        self.sessions.insert(
            id,
            Entry {
                timeout,
                deadline: now + timeout,
                closing: false,
            },
        );
    }

    /// Pushes the deadline out; a reconnect may also change the timeout.
    pub fn touch(&mut self, id: i64, now: Instant, timeout_ms: Option<i32>) -> bool {
        match self.sessions.get_mut(&id) {
            Some(e) if !e.closing => {
                if let Some(t) = timeout_ms {
                    e.timeout = Duration::from_millis(t.max(0) as u64);
                }
                e.deadline = now + e.timeout;
                true
            }
            _ => false,
        }
    }

    /// When the session expires unless touched again (`dump`).
    pub fn deadline(&self, id: i64) -> Option<Instant> {
        self.sessions.get(&id).map(|e| e.deadline)
    }

    pub fn is_live(&self, id: i64) -> bool {
        self.sessions.get(&id).is_some_and(|e| !e.closing)
    }

    pub fn remove(&mut self, id: i64) {
        self.sessions.remove(&id);
    }

    /// Marks a session as closing (its CloseSession is on its way through the log).
    pub fn set_closing(&mut self, id: i64) {
        if let Some(e) = self.sessions.get_mut(&id) {
            e.closing = true;
        }
    }

    /// Sessions past their deadline, marked closing so they are expired once.
    pub fn take_expired(&mut self, now: Instant) -> Vec<i64> {
        let mut v: Vec<i64> = self
            .sessions
            .iter_mut()
            .filter(|(_, e)| !e.closing && e.deadline <= now)
            .map(|(id, e)| {
                e.closing = true;
                *id
            })
            .collect();
        v.sort_unstable();
        v
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

/// Session ids as ZooKeeper makes them: the server id in the top byte, the start time in
/// milliseconds below it, then a counter, so ids stay unique across restarts.
#[derive(Debug)]
pub struct SessionIds {
    next: i64,
}

impl SessionIds {
    pub fn new(server_id: u64, now_ms: i64, highest_existing: i64) -> SessionIds {
        let base = (((now_ms << 24) as u64) >> 8) as i64 | ((server_id as i64) << 56);
        SessionIds {
            next: base.max(highest_existing.wrapping_add(1)),
        }
    }

    pub fn next(&mut self) -> i64 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_server_id_and_never_repeat() {
        let mut ids = SessionIds::new(1, 1_700_000_000_000, 0);
        let a = ids.next();
        assert_eq!(a >> 56, 1);
        assert_eq!(ids.next(), a + 1);
        let mut later = SessionIds::new(1, 0, a + 5);
        assert_eq!(later.next(), a + 6);
    }

    #[test]
    fn expiry_happens_once_and_touch_defers_it() {
        let mut t = Tracker::default();
        let now = Instant::now();
        t.add(1, 100, now);
        t.add(2, 100, now);
        assert!(t.touch(2, now + Duration::from_millis(80), None));
        assert_eq!(t.take_expired(now + Duration::from_millis(150)), vec![1]);
        assert!(t.take_expired(now + Duration::from_millis(150)).is_empty());
        assert!(!t.touch(1, now, None));
        assert!(!t.is_live(1));
        assert!(t.is_live(2));
    }
}
