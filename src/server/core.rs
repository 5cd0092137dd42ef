//! The request pipeline's single owner of state: the tree, sessions, watches and the queue of
//! transactions waiting to become durable. Connections talk to it through messages; it replies
//! through each connection's outbound queue, so notifications and replies on a connection are
//! ordered exactly as they are produced here.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info};

use super::admin::AdminAsk;
use super::fourlw::{self, AdminSnapshot, CounterMetric};
use super::session::{SessionIds, Tracker};
use super::stats::{ConnStats, Metrics, ServerStats};
use super::watches::{ConnId, Watches};
use crate::config::ServerConfig;
use crate::consensus::committer::{Committed, Committer};
use crate::proto::records::{ConnectRequest, Id};
use crate::proto::request::Request;
use crate::tree::{DataTree, Txn};

/// What a connection task sends to the core.
pub enum ToCore {
    /// A new connection's handshake.
    Connect {
        conn: ConnId,
        req: ConnectRequest,
        /// Whether the client sent the trailing readOnly byte (the reply mirrors it).
        has_readonly: bool,
        /// Whether that byte asked for read-only service.
        read_only: bool,
        remote: SocketAddr,
        out: mpsc::UnboundedSender<Out>,
    },
    /// A decoded request after the handshake.
    Request {
        conn: ConnId,
        xid: i32,
        op: i32,
        req: Request,
        received: Instant,
    },
    /// The connection is gone.
    Closed { conn: ConnId },
    /// An admin question (four-letter word, AdminServer command, metrics scrape): the core
    /// applies its effect and sends back a snapshot of its state; rendering happens outside.
    Admin {
        ask: AdminAsk,
        reply: oneshot::Sender<AdminSnapshot>,
    },
    /// Stop: the process is shutting down.
    Shutdown,
}

/// What the core sends to a connection's writer.
#[derive(Debug)]
pub enum Out {
    Frame(Vec<u8>),
    Close,
}

/// Who waits for a transaction's result.
pub(super) enum Origin {
    /// A handshake creating a session.
    Connect { conn: ConnId },
    /// A client request.
    Request {
        conn: ConnId,
        session: i64,
        xid: i32,
        received: Instant,
    },
    /// The server itself (expiry, container and TTL reaping).
    Internal,
}

pub(super) struct Pending {
    pub txn: Txn,
    pub origin: Origin,
    /// What the session's queue knows this transaction by: its zxid on a standalone member,
    /// its proposal tag in an ensemble (where the zxid is learned only when it commits).
    pub ticket: i64,
}

/// A session's requests in arrival order: reads wait behind earlier writes (FIFO per session).
pub(super) enum Queued {
    /// A write on its way through the log, by its ticket.
    Write(i64),
    /// An ensemble `sync` waiting for the leader's commit point, by its ticket. It completes
    /// out of log order, so later writes of the session are held until it is answered.
    Sync(i64),
    /// A write held behind a `sync`, proposed once everything before it is answered.
    Held {
        conn: ConnId,
        xid: i32,
        req: Request,
        received: Instant,
    },
    Read {
        conn: ConnId,
        xid: i32,
        req: Request,
        received: Instant,
    },
    /// A reply decided out of order (a finished `reconfig`), sent in the session's order.
    Answer {
        conn: ConnId,
        frame: Vec<u8>,
        zxid: i64,
        received: Instant,
    },
}

pub(super) struct Conn {
    pub out: mpsc::UnboundedSender<Out>,
    pub session: Option<i64>,
    pub auth: Vec<Id>,
    pub remote: SocketAddr,
    pub stats: ConnStats,
    pub established: SystemTime,
    pub timeout: i32,
    /// Whether the handshake carried the readOnly byte (the reply mirrors it).
    pub has_readonly: bool,
}

#[derive(Default)]
pub(super) struct SessionQueue {
    pub conn: Option<ConnId>,
    pub queue: VecDeque<Queued>,
}

/// Where transactions go to become durable.
pub enum Log {
    /// A standalone member's own WAL.
    Standalone(Committer),
    /// An ensemble member's replication.
    Ensemble(Box<super::ensemble::Ensemble>),
}

/// The core's state.
pub struct Core {
    pub(super) cfg: Arc<ServerConfig>,
    pub(super) tree: DataTree,
    pub(super) watches: Watches,
    pub(super) tracker: Tracker,
    pub(super) ids: SessionIds,
    pub(super) conns: HashMap<ConnId, Conn>,
    pub(super) sessions: HashMap<i64, SessionQueue>,
    pub(super) pending: VecDeque<Pending>,
    pub(super) next_zxid: i64,
    pub(super) log: Log,
    pub(super) stats: ServerStats,
    pub(super) metrics: Metrics,
    /// Set by `stmk`, printed by `gtmk`; it does not change our logging.
    pub(super) trace_mask: i64,
    pub(super) since_snapshot: u64,
    pub(super) reaping: HashSet<String>,
    pub(super) started: Instant,
    pub(super) failed: bool,
    pub(super) last_sweep: Instant,
    pub(super) last_purge: Instant,
    /// A snapshot being written in the background; the next waits for it.
    pub(super) snapshotting: Option<std::thread::JoinHandle<()>>,
    /// Sessions created in read-only mode, by password: never replicated, forgotten when the
    /// quorum is back.
    pub(super) local_sessions: HashMap<i64, bytes::Bytes>,
}

impl Core {
    pub fn new(cfg: Arc<ServerConfig>, tree: DataTree, log: Log) -> Core {
        let now = Instant::now();
        let mut tracker = Tracker::default();
        for (id, s) in tree.sessions() {
            // Recovered sessions get a full timeout to reconnect, as in ZooKeeper.
            tracker.add(*id, s.timeout, now);
        }
        let highest = tree.sessions().keys().next_back().copied().unwrap_or(0);
        let server_id = cfg.my_id.max(1);
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let sessions = tree
            .sessions()
            .keys()
            .map(|id| (*id, SessionQueue::default()))
            .collect();
        Core {
            next_zxid: tree.last_zxid() + 1,
            ids: SessionIds::new(server_id, now_ms, highest),
            cfg,
            tree,
            watches: Watches::default(),
            tracker,
            conns: HashMap::new(),
            sessions,
            pending: VecDeque::new(),
            log,
            stats: ServerStats::default(),
            metrics: Metrics::default(),
            trace_mask: fourlw::DEFAULT_TRACE_MASK,
            since_snapshot: 0,
            reaping: HashSet::new(),
            started: now,
            failed: false,
            last_sweep: now,
            last_purge: now,
            snapshotting: None,
            local_sessions: HashMap::new(),
        }
    }

    /// Runs until shutdown or a fatal log failure; returns true after a failure.
    pub async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<ToCore>,
        mut committed: mpsc::UnboundedReceiver<Committed>,
    ) -> bool {
        let tick = std::time::Duration::from_millis((self.cfg.tick_time as u64 / 2).clamp(10, 500));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                c = committed.recv() => match c {
                    Some(Committed::Upto(z)) => self.on_durable(z),
                    Some(Committed::Failed(e)) => {
                        error!(error = %e, "stopping: the transaction log cannot be written");
                        self.failed = true;
                        break;
                    }
                    None => break,
                },
                m = rx.recv() => match m {
                    Some(ToCore::Shutdown) | None => break,
                    Some(m) => {
                        self.handle(m);
                        // Drain a burst so replies batch up behind one wakeup.
                        let mut n = 0;
                        while n < 256 {
                            match rx.try_recv() {
                                Ok(ToCore::Shutdown) => {
                                    self.shutdown();
                                    return self.failed;
                                }
                                Ok(m) => self.handle(m),
                                Err(_) => break,
                            }
                            n += 1;
                        }
                    }
                },
                _ = ticker.tick() => self.maintain(),
            }
        }
        self.shutdown();
        self.failed
    }

    pub(super) fn shutdown(&mut self) {
        info!(
            zxid = format_args!("{:#x}", self.tree.last_zxid()),
            "core stopping"
        );
        for c in self.conns.values() {
            let _ = c.out.send(Out::Close);
        }
        self.conns.clear();
    }

    pub(super) fn handle(&mut self, m: ToCore) {
        match m {
            ToCore::Connect {
                conn,
                req,
                has_readonly,
                read_only,
                remote,
                out,
            } => {
                self.metrics.count(CounterMetric::ConnectionRequestCount);
                self.connect(conn, req, (has_readonly, read_only), remote, out)
            }
            ToCore::Request {
                conn,
                xid,
                op,
                req,
                received,
            } => self.request(conn, xid, op, req, received),
            ToCore::Closed { conn } => self.closed(conn),
            ToCore::Admin { ask, reply } => {
                let _ = reply.send(self.admin_snapshot(&ask));
            }
            ToCore::Shutdown => {}
        }
    }

    /// Queues a frame to a connection; counts it as sent.
    pub(super) fn send(&mut self, conn: ConnId, frame: Vec<u8>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.sent += 1;
            self.stats.packets_sent += 1;
            let size = i32::try_from(frame.len().saturating_sub(4)).unwrap_or(i32::MAX);
            self.stats.client_response_size.record(size);
            let _ = c.out.send(Out::Frame(frame));
        }
    }

    pub(super) fn close_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            let _ = c.out.send(Out::Close);
            if let Some(s) = c.session
                && let Some(q) = self.sessions.get_mut(&s)
                && q.conn == Some(conn)
            {
                q.conn = None;
            }
        }
        self.watches.drop_conn(conn);
    }

    fn closed(&mut self, conn: ConnId) {
        if self.conns.contains_key(&conn) {
            debug!(conn, "connection closed by client");
            self.close_conn(conn);
        }
    }

    /// Routes a request: writes go to the log, reads run now or after the session's earlier
    /// writes.
    fn request(&mut self, conn: ConnId, xid: i32, op: i32, req: Request, received: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.stats.received += 1;
        self.stats.packets_received += 1;
        let Some(session) = c.session else {
            return;
        };
        if !matches!(req, Request::Auth(_)) {
            // ZooKeeper records no operation for auth packets.
            c.stats.last_op = fourlw::last_op_code(op);
            c.stats.last_cxid = i64::from(xid);
        }
        let now = Instant::now();
        if !self.tracker.touch(session, now, None) {
            // Requests of a closing session are dropped, as ZooKeeper does.
            return;
        }
        if let Log::Ensemble(e) = &mut self.log {
            e.touched(session);
        }
        if let Request::Auth(a) = &req {
            // Auth is handled on arrival, as ZooKeeper does, so later requests use it.
            self.auth(conn, xid, a.clone());
            return;
        }
        if self.is_read_only() && self.read_only_request(conn, session, xid, &req) {
            return;
        }
        if req.is_write() {
            if self.held_behind_sync(session) {
                self.sessions
                    .entry(session)
                    .or_default()
                    .queue
                    .push_back(Queued::Held {
                        conn,
                        xid,
                        req,
                        received,
                    });
            } else {
                self.write(conn, session, xid, req, received, false);
            }
            return;
        }
        if let (Request::Sync(_), Log::Ensemble(_)) = (&req, &self.log) {
            self.sync(conn, session, xid, req, received);
            return;
        }

        if matches!(req, Request::Ping) && self.reconfig_pending(session) {
            // A reconfig can take seconds (new members catch up first); a ping queued behind
            // it would make the client give up on the connection.
            self.read(conn, xid, req, received);
            return;
        }
        let q = self.sessions.entry(session).or_default();
        if q.queue.is_empty() {
            self.read(conn, xid, req, received);
        } else {
            q.queue.push_back(Queued::Read {
                conn,
                xid,
                req,
                received,
            });
        }
    }

    /// Hands a transaction to the log; returns the ticket the session queue knows it by.
    pub(super) fn propose(&mut self, body: crate::tree::TxnBody, origin: Origin) -> i64 {
        let time = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let committer = match &mut self.log {
            Log::Standalone(c) => c,
            Log::Ensemble(e) => {
                // The zxid is stamped from the log position when the entry commits.
                let txn = Txn {
                    zxid: 0,
                    time,
                    body,
                };
                return e.propose(txn, origin);
            }
        };
        let zxid = self.next_zxid;
        self.next_zxid += 1;
        let txn = Txn { zxid, time, body };
        if !committer.append(zxid, txn.encode()) {
            error!("transaction log writer is gone");
            self.failed = true;
        }
        self.pending.push_back(Pending {
            txn,
            origin,
            ticket: zxid,
        });
        zxid
    }

    /// Whether a session's new writes must wait: an earlier `sync` (or a write held behind
    /// one) is unanswered, and replies go out in request order.
    fn held_behind_sync(&self, session: i64) -> bool {
        self.sessions.get(&session).is_some_and(|q| {
            q.queue
                .iter()
                .any(|i| matches!(i, Queued::Sync(_) | Queued::Held { .. }))
        })
    }

    /// Applies every transaction that became durable, in order, and answers for it.
    fn on_durable(&mut self, upto: i64) {
        while self.pending.front().is_some_and(|p| p.txn.zxid <= upto) {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            self.metrics.count(CounterMetric::CommitCount);
            self.commit(p);
        }
    }

    /// Runs the reads queued behind a session's oldest write once it has been answered, and
    /// proposes the next write held behind a `sync`.
    pub(super) fn release_reads(&mut self, session: i64) {
        loop {
            let Some(q) = self.sessions.get_mut(&session) else {
                return;
            };
            match q.queue.front() {
                Some(Queued::Held { .. }) => {
                    if let Some(Queued::Held {
                        conn,
                        xid,
                        req,
                        received,
                    }) = q.queue.pop_front()
                    {
                        self.write(conn, session, xid, req, received, true);
                    }
                    return;
                }
                Some(Queued::Read { .. }) => {
                    if let Some(Queued::Read {
                        conn,
                        xid,
                        req,
                        received,
                    }) = q.queue.pop_front()
                    {
                        self.read(conn, xid, req, received);
                    }
                }
                Some(Queued::Answer { .. }) => {
                    if let Some(Queued::Answer {
                        conn,
                        frame,
                        zxid,
                        received,
                    }) = q.queue.pop_front()
                    {
                        self.send(conn, frame);
                        self.update_latency(conn, received, zxid);
                    }
                }
                _ => return,
            }
        }
    }

    /// Records the service time of a request answered without a transaction (ZooKeeper's
    /// `readlatency`: reads, pings, watch management).
    pub(super) fn latency(&mut self, conn: ConnId, received: Instant, zxid: i64) {
        let took = received.elapsed();
        self.metrics.read_latency(took);
        self.record_latency(conn, took, zxid);
    }

    /// Records the service time of a write, answered once its transaction is durable
    /// (ZooKeeper's `updatelatency`).
    pub(super) fn update_latency(&mut self, conn: ConnId, received: Instant, zxid: i64) {
        let took = received.elapsed();
        self.metrics.update_latency(took);
        self.record_latency(conn, took, zxid);
    }

    /// Server and connection latency in whole milliseconds, as ZooKeeper counts them.
    fn record_latency(&mut self, conn: ConnId, took: std::time::Duration, zxid: i64) {
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        self.stats.record_latency(ms);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.stats.record(ms, zxid);
        }
    }
}
