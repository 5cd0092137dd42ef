//! Answers to admin questions (four-letter words, AdminServer commands, Prometheus scrapes).
//!
//! The core owns the state, so it is the one that applies a command's [`Effect`] and captures
//! an [`AdminSnapshot`] of itself, filling the expensive lists only when the command's
//! [`Detail`] asks for them. Everything that is not core state (process and host facts, sizes
//! of the data directories) is added by [`AdminHandle`] outside the core task, because it is
//! file-system I/O the request pipeline should not wait for. Rendering happens in the caller.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use super::core::{Core, Origin, Queued, ToCore};
use super::fourlw::{
    self, AdminCommand, AdminSnapshot, ConnectionInfo, DataStats, Detail, Effect, FourLetterWord,
    ServerConf, SessionInfo, SessionWatches,
};
use super::host;
use super::watches::ConnId;
use crate::consensus::storage::Layout;

/// How long ZooKeeper keeps a connection without a session (`zookeeper.nio.
/// sessionlessCnxnTimeout`, 10 s): the expiry `dump` shows for one.
const SESSIONLESS_TIMEOUT_MS: i64 = 10_000;

/// What an admin surface asks the core.
#[derive(Debug)]
pub enum AdminAsk {
    /// A whitelisted four-letter word on the client port. The asking socket is a connection
    /// too and is listed (ZooKeeper shows it in `cons`/`stat` and counts it as alive).
    Word {
        word: FourLetterWord,
        /// `stmk`'s 8-byte argument.
        argument: Option<i64>,
        asker: SocketAddr,
        /// When the asking socket was accepted, epoch ms.
        accepted_ms: i64,
    },
    /// An AdminServer `/commands/<name>` request with its URL query parameters.
    Command {
        command: AdminCommand,
        query: BTreeMap<String, String>,
    },
    /// A Prometheus scrape: lifetime counters, no lists.
    Scrape,
}

impl AdminAsk {
    fn effect(&self, serving: bool) -> Option<Effect> {
        match self {
            AdminAsk::Word { word, argument, .. } => word.effect(serving, *argument),
            AdminAsk::Command { command, query } => command.effect(serving, query),
            AdminAsk::Scrape => None,
        }
    }

    fn detail(&self) -> Detail {
        match self {
            AdminAsk::Word { word, .. } => word.detail(),
            AdminAsk::Command { command, .. } => command.detail(),
            AdminAsk::Scrape => Detail::NONE,
        }
    }
}

/// Why an admin question got no answer.
#[derive(Debug, Error)]
pub enum AdminError {
    #[error("the server core has stopped")]
    CoreStopped,
    #[error("reading process facts failed: {0}")]
    Host(#[from] tokio::task::JoinError),
}

/// What the admin listeners hold to ask the core.
#[derive(Clone, Debug)]
pub struct AdminHandle {
    core: mpsc::UnboundedSender<ToCore>,
    layout: Layout,
}

impl AdminHandle {
    pub fn new(core: mpsc::UnboundedSender<ToCore>, layout: Layout) -> AdminHandle {
        AdminHandle { core, layout }
    }

    /// Asks the core (which applies the effect), then adds process and directory facts.
    pub async fn snapshot(&self, ask: AdminAsk) -> Result<AdminSnapshot, AdminError> {
        let (tx, rx) = oneshot::channel();
        self.core
            .send(ToCore::Admin { ask, reply: tx })
            .map_err(|_| AdminError::CoreStopped)?;
        let mut snap = rx.await.map_err(|_| AdminError::CoreStopped)?;
        let layout = self.layout.clone();
        let snap = tokio::task::spawn_blocking(move || {
            host::fill(&mut snap, &layout);
            snap
        })
        .await?;
        Ok(snap)
    }
}

fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Core {
    /// Applies the question's effect and captures the core's side of the snapshot.
    pub(super) fn admin_snapshot(&mut self, ask: &AdminAsk) -> AdminSnapshot {
        // A standalone core that runs is serving; an ensemble member only while it knows a
        // leader.
        let (mode, serving) = self.mode();
        if let AdminAsk::Word { .. } = ask {
            // ZooKeeper counts the four bytes of a word as a received packet, and the word's
            // connection as a connection request.
            self.stats.packets_received += 1;
            self.metrics
                .count(fourlw::CounterMetric::ConnectionRequestCount);
        }
        if let Some(effect) = ask.effect(serving) {
            self.apply(effect);
        }
        let detail = ask.detail();
        let asker = match ask {
            AdminAsk::Word {
                asker, accepted_ms, ..
            } => Some(asker_info(*asker, *accepted_ms)),
            _ => None,
        };
        let mut snap = AdminSnapshot {
            serving,
            mode,
            conf: self.server_conf(),
            stats: self.server_stats(asker.is_some()),
            data: self.data_stats(),
            trace_mask: self.trace_mask,
            quorum: self.quorum_info(Instant::now()),
            metrics: match ask {
                AdminAsk::Scrape => self.metrics.lifetime(),
                _ => self.metrics.since_reset(),
            },
            ..AdminSnapshot::default()
        };
        if detail.connections {
            snap.connections = self.connection_infos();
            snap.connections.extend(asker);
        }
        if detail.sessions {
            snap.sessions = self.session_infos();
        }
        if detail.watches {
            snap.watches = self.session_watches();
        }
        // Tree digests are not computed yet, so `hash` lists none.
        snap
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::ResetServerStats => {
                self.stats.reset();
                self.metrics.reset();
            }
            Effect::ResetConnectionStats => {
                for c in self.conns.values_mut() {
                    c.stats.reset();
                }
            }
            // A standalone member has no observers.
            Effect::ResetObserverConnectionStats => {}
            Effect::SetTraceMask(mask) => self.trace_mask = mask,
        }
    }

    fn server_conf(&self) -> ServerConf {
        let c = &self.cfg;
        let layout = Layout::new(&c.data_dir, &c.data_log_dir);
        let initial_config = c.raw.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        ServerConf {
            client_port: i32::from(c.client_port),
            secure_client_port: -1,
            data_dir: layout.snap_dir.display().to_string(),
            data_log_dir: layout.log_dir.display().to_string(),
            tick_time: c.tick_time,
            max_client_cnxns: c.max_client_cnxns,
            min_session_timeout: c.min_session_timeout,
            max_session_timeout: c.max_session_timeout,
            client_port_listen_backlog: -1,
            server_id: i64::try_from(c.my_id).unwrap_or(i64::MAX),
            initial_config,
        }
    }

    /// Requests received and not answered yet, per connection: transactions on their way to
    /// the log plus reads queued behind a session's earlier writes.
    fn outstanding(&self) -> HashMap<ConnId, u64> {
        let mut out: HashMap<ConnId, u64> = HashMap::new();
        for p in &self.pending {
            match p.origin {
                Origin::Request { conn, .. } | Origin::Connect { conn, .. } => {
                    *out.entry(conn).or_default() += 1
                }
                Origin::Internal => {}
            }
        }
        for q in self.sessions.values() {
            for item in &q.queue {
                if let Queued::Read { conn, .. } = item {
                    *out.entry(*conn).or_default() += 1;
                }
            }
        }
        out
    }

    fn server_stats(&self, asked_by_word: bool) -> fourlw::ServerStats {
        let s = &self.stats;
        fourlw::ServerStats {
            latency: s.latency,
            packets_received: s.packets_received,
            packets_sent: s.packets_sent,
            outstanding_requests: self.outstanding().values().sum(),
            alive_connections: (self.conns.len() + usize::from(asked_by_word)) as u64,
            uptime_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            client_response_size: s.client_response_size,
            auth_failed_count: s.auth_failed,
            ..fourlw::ServerStats::default()
        }
    }

    fn data_stats(&self) -> DataStats {
        DataStats {
            last_processed_zxid: self.tree.last_zxid(),
            node_count: self.tree.node_count() as u64,
            watch_count: self.watches.count() as u64,
            ephemerals_count: self.tree.ephemeral_count() as u64,
            approximate_data_size: self.tree.approximate_data_size(),
            global_sessions: self.tree.sessions().len() as u64,
            // Sessions of read-only mode, never replicated.
            local_sessions: self.local_sessions.len() as u64,
            // Directory sizes are read outside the core (see AdminHandle).
            data_dir_size: 0,
            log_dir_size: 0,
        }
    }

    /// When a session expires unless it is heard from, as epoch ms.
    fn expiry_ms(&self, session: i64, now: Instant, now_ms: i64) -> Option<i64> {
        let deadline = self.tracker.deadline(session)?;
        let left = i64::try_from(deadline.saturating_duration_since(now).as_millis()).ok()?;
        Some(now_ms.saturating_add(left))
    }

    fn connection_infos(&self) -> Vec<ConnectionInfo> {
        let outstanding = self.outstanding();
        let (now, now_ms) = (Instant::now(), epoch_ms(SystemTime::now()));
        let mut ids: Vec<&ConnId> = self.conns.keys().collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|id| self.conns.get(id).map(|c| (id, c)))
            .map(|(id, c)| {
                let established_ms = epoch_ms(c.established);
                let s = &c.stats;
                let session = c.session.unwrap_or(0);
                ConnectionInfo {
                    outstanding_requests: outstanding.get(id).copied().unwrap_or(0),
                    packets_received: s.received,
                    packets_sent: s.sent,
                    session_id: session,
                    session_timeout_ms: u32::try_from(c.timeout).unwrap_or(0),
                    last_operation: s.last_op,
                    last_cxid: s.last_cxid,
                    last_zxid: s.last_zxid,
                    last_response_ms: s.last_response.map_or(0, epoch_ms),
                    last_latency_ms: s.last_latency_ms,
                    latency: s.latency,
                    expires_at_ms: c
                        .session
                        .and_then(|sid| self.expiry_ms(sid, now, now_ms))
                        .unwrap_or(established_ms + SESSIONLESS_TIMEOUT_MS),
                    ..ConnectionInfo::new(c.remote, established_ms)
                }
            })
            .collect()
    }

    fn session_infos(&self) -> Vec<SessionInfo> {
        let (now, now_ms) = (Instant::now(), epoch_ms(SystemTime::now()));
        self.tree
            .sessions()
            .iter()
            .map(|(id, s)| SessionInfo {
                session_id: *id,
                timeout_ms: u32::try_from(s.timeout).unwrap_or(0),
                expires_at_ms: self.expiry_ms(*id, now, now_ms).unwrap_or(0),
                ephemerals: s.ephemerals.iter().cloned().collect(),
            })
            .collect()
    }

    /// Watched paths by session (data and child watches alike; ZooKeeper's `wchc` shows its
    /// data table only, which hides getChildren watches).
    fn session_watches(&self) -> Vec<SessionWatches> {
        let mut by_session: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (id, c) in &self.conns {
            if let Some(session) = c.session {
                let paths = self.watches.paths_of(*id);
                if !paths.is_empty() {
                    by_session.entry(session).or_default().extend(paths);
                }
            }
        }
        by_session
            .into_iter()
            .map(|(session_id, paths)| SessionWatches { session_id, paths })
            .collect()
    }
}

/// The asking four-letter-word socket as ZooKeeper lists it: one packet received (the word),
/// nothing sent yet, no session, not reading.
fn asker_info(remote: SocketAddr, accepted_ms: i64) -> ConnectionInfo {
    ConnectionInfo {
        interest_ops: 0,
        packets_received: 1,
        expires_at_ms: accepted_ms + SESSIONLESS_TIMEOUT_MS,
        ..ConnectionInfo::new(remote, accepted_ms)
    }
}
