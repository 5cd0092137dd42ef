//! An ensemble member cut off from its quorum, and ZooKeeper's read-only mode.
//!
//! A member that could not confirm a working quorum behind it (see `quorum_probe`) for
//! `syncLimit` ticks stops serving clients, as a ZooKeeper member leaves LEADING/FOLLOWING and
//! shuts its client-facing server down: its connections are closed so clients move to a member that still has the quorum, and
//! new ones are refused. An isolated old leader would otherwise keep answering pings and reads
//! from a state that is falling behind, and hold writes it can never commit.
//!
//! With `readonlymode.enabled`, after a further grace period (ZooKeeper waits
//! `max(2000 ms, tickTime)` in LOOKING before starting its ReadOnlyZooKeeperServer) the member
//! serves clients that asked for read-only service (the readOnly flag of ConnectRequest): reads
//! from its local state, NotReadOnly for every write and `sync`, sessions created locally and
//! never replicated. When the quorum is back, every read-only connection is closed and those
//! local sessions are forgotten; read-only clients look for a read/write server (`isro`) and
//! reconnect there.

use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::RngCore;
use tracing::{debug, info, warn};

use super::core::Core;
use super::handshake::connect_response;
use super::reply;
use super::watches::ConnId;
use crate::proto::ErrorCode;
use crate::proto::records::ConnectRequest;
use crate::proto::request::Request;

/// What a member can do for clients, given whether a quorum is behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// In touch with a quorum (or not yet known otherwise): serves everything.
    InQuorum,
    /// Cut off since the given instant: serves nobody.
    Lost(Instant),
    /// Cut off for long enough, with read-only mode enabled: serves read-only clients.
    ReadOnly,
}

/// A change of standing the core must act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// The quorum is gone: drop every client.
    Lost,
    /// Read-only service starts.
    ReadOnly,
    /// The quorum is back: drop the clients of read-only service, if any.
    Regained { was_read_only: bool },
}

/// When read-only service may start after the quorum was lost: ZooKeeper's grace period.
pub fn read_only_delay(tick_time_ms: u32) -> Duration {
    Duration::from_millis(u64::from(tick_time_ms).max(2000))
}

impl Standing {
    /// The next standing from whether the member is in touch with a quorum now; pure, so the
    /// transitions are unit-tested.
    pub fn next(
        self,
        in_quorum: bool,
        now: Instant,
        read_only: Option<Duration>,
    ) -> (Standing, Option<Change>) {
        match (self, in_quorum) {
            (Standing::InQuorum, true) => (self, None),
            (Standing::InQuorum, false) => (Standing::Lost(now), Some(Change::Lost)),
            (Standing::Lost(_), true) => (
                Standing::InQuorum,
                Some(Change::Regained {
                    was_read_only: false,
                }),
            ),
            (Standing::Lost(since), false) => match read_only {
                Some(delay) if now.duration_since(since) >= delay => {
                    (Standing::ReadOnly, Some(Change::ReadOnly))
                }
                _ => (self, None),
            },
            (Standing::ReadOnly, true) => (
                Standing::InQuorum,
                Some(Change::Regained {
                    was_read_only: true,
                }),
            ),
            (Standing::ReadOnly, false) => (self, None),
        }
    }
}

/// Requests a read-only server answers with NotReadOnly (ZooKeeper's ReadOnlyRequestProcessor
/// list: every state change, `check`, and `sync`, which needs the leader).
pub fn refused_when_read_only(req: &Request) -> bool {
    match req {
        // A read-only session closes locally.
        Request::CloseSession => false,
        Request::Check(_) | Request::Sync(_) => true,
        other => other.is_write(),
    }
}

impl Core {
    /// This member's standing; a standalone server is always in quorum.
    pub(super) fn standing(&self) -> Standing {
        match &self.log {
            super::core::Log::Ensemble(e) => e.standing,
            super::core::Log::Standalone(_) => Standing::InQuorum,
        }
    }

    pub(super) fn is_read_only(&self) -> bool {
        self.standing() == Standing::ReadOnly
    }

    /// Acts on a change of standing.
    pub(super) fn standing_changed(&mut self, change: Change) {
        match change {
            Change::Lost => {
                warn!(
                    connections = self.conns.len(),
                    "no quorum confirmed within syncLimit ticks: closing every client connection"
                );
                self.close_all_conns();
            }
            Change::ReadOnly => {
                info!("no quorum: serving read-only clients (readonlymode.enabled)");
            }
            Change::Regained { was_read_only } => {
                if was_read_only {
                    info!(
                        connections = self.conns.len(),
                        local_sessions = self.local_sessions.len(),
                        "quorum regained: closing read-only connections"
                    );
                    self.close_all_conns();
                    for s in std::mem::take(&mut self.local_sessions).into_keys() {
                        self.tracker.remove(s);
                        self.sessions.remove(&s);
                    }
                } else {
                    info!("quorum regained");
                }
            }
        }
    }

    fn close_all_conns(&mut self) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            self.close_conn(c);
        }
    }

    /// A handshake on a member that is not in quorum; true when it was dealt with here (refused
    /// or accepted read-only), false when the normal path applies.
    pub(super) fn connect_without_quorum(
        &mut self,
        conn: ConnId,
        req: &ConnectRequest,
        read_only: bool,
    ) -> bool {
        match self.standing() {
            Standing::InQuorum => false,
            Standing::Lost(_) => {
                debug!(conn, "refusing a client: no quorum");
                self.close_conn(conn);
                true
            }
            Standing::ReadOnly if !read_only => {
                info!(
                    conn,
                    "refusing a client that did not ask for read-only service"
                );
                self.close_conn(conn);
                true
            }
            Standing::ReadOnly => {
                self.connect_read_only(conn, req);
                true
            }
        }
    }

    /// Accepts a read-only client: a new session is local to this member (never replicated);
    /// an existing one (replicated or local) is resumed after its password is checked.
    fn connect_read_only(&mut self, conn: ConnId, req: &ConnectRequest) {
        let timeout = self.cfg.negotiate_timeout(req.time_out);
        let (session, passwd) = if req.session_id == 0 {
            let session = self.ids.allocate();
            let mut password = [0u8; 16];
            rand::rng().fill_bytes(&mut password);
            let password = Bytes::copy_from_slice(&password);
            self.local_sessions.insert(session, password.clone());
            self.tracker.add(session, timeout, Instant::now());
            info!(
                session = format_args!("{session:#x}"),
                "read-only session created (local to this member)"
            );
            (session, password)
        } else {
            let session = req.session_id;
            let known = self
                .local_sessions
                .get(&session)
                .cloned()
                .or_else(|| self.tree.session(session).map(|s| s.password.clone()))
                .filter(|p| req.passwd.as_deref() == Some(&p[..]));
            match known {
                Some(p) if self.tracker.is_live(session) => (session, p),
                _ => {
                    debug!(
                        session = format_args!("{session:#x}"),
                        "refusing an unknown session or a wrong password (read-only)"
                    );
                    self.refuse_session(conn, true, true);
                    return;
                }
            }
        };
        self.take_over(conn, session, timeout);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.session = Some(session);
        let has_readonly = c.has_readonly;
        self.sessions.entry(session).or_default().conn = Some(conn);
        self.send(
            conn,
            connect_response(timeout, session, passwd, has_readonly, true),
        );
    }

    /// A request on a read-only member; true when it was answered here. Writes and `sync` get
    /// NotReadOnly; closing a session is done locally (nothing can be logged), reads go on.
    pub(super) fn read_only_request(
        &mut self,
        conn: ConnId,
        session: i64,
        xid: i32,
        req: &Request,
    ) -> bool {
        if refused_when_read_only(req) {
            let zxid = self.tree.last_zxid();
            self.send(
                conn,
                reply::reply(xid, zxid, ErrorCode::NOT_READONLY.0, None),
            );
            return true;
        }
        if matches!(req, Request::CloseSession) {
            let zxid = self.tree.last_zxid();
            self.send(conn, reply::reply(xid, zxid, 0, None));
            if self.local_sessions.remove(&session).is_some() {
                self.tracker.remove(session);
                self.sessions.remove(&session);
            }
            // A replicated session cannot be closed without the quorum; the leader expires it.
            self.close_conn(conn);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RO: Option<Duration> = Some(Duration::from_secs(2));

    #[test]
    fn losing_the_quorum_stops_service_and_read_only_starts_after_the_grace_period() {
        let t0 = Instant::now();
        let (s, c) = Standing::InQuorum.next(false, t0, RO);
        assert_eq!((s, c), (Standing::Lost(t0), Some(Change::Lost)));
        let (s, c) = s.next(false, t0 + Duration::from_secs(1), RO);
        assert_eq!((s, c), (Standing::Lost(t0), None));
        let (s, c) = s.next(false, t0 + Duration::from_secs(2), RO);
        assert_eq!((s, c), (Standing::ReadOnly, Some(Change::ReadOnly)));
        let (s, c) = s.next(true, t0 + Duration::from_secs(3), RO);
        assert_eq!(
            (s, c),
            (
                Standing::InQuorum,
                Some(Change::Regained {
                    was_read_only: true
                })
            )
        );
    }

    #[test]
    fn without_read_only_mode_a_cut_off_member_serves_nobody_until_the_quorum_is_back() {
        let t0 = Instant::now();
        let (s, _) = Standing::InQuorum.next(false, t0, None);
        let (s, c) = s.next(false, t0 + Duration::from_secs(60), None);
        assert_eq!((s, c), (Standing::Lost(t0), None));
        let (s, c) = s.next(true, t0 + Duration::from_secs(61), None);
        assert_eq!(
            (s, c),
            (
                Standing::InQuorum,
                Some(Change::Regained {
                    was_read_only: false
                })
            )
        );
    }

    #[test]
    fn the_grace_period_is_zookeepers() {
        assert_eq!(read_only_delay(200), Duration::from_millis(2000));
        assert_eq!(read_only_delay(3000), Duration::from_millis(3000));
    }

    #[test]
    fn sync_and_every_write_are_refused_but_reads_and_pings_are_not() {
        use crate::proto::records::PathRequest;
        assert!(refused_when_read_only(&Request::Sync(PathRequest {
            path: "/".into()
        })));
        assert!(!refused_when_read_only(&Request::Ping));
        assert!(!refused_when_read_only(&Request::CloseSession));
    }
}
