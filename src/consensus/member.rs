//! One ensemble member's replication, as the server uses it: start from the data directories,
//! bootstrap a new ensemble, propose transactions, change membership, observe role and progress.
//! Committed transactions reach the server through its `Applier`, on every member alike.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::type_config::async_runtime::WatchReceiver;
use openraft::{ChangeMembers, SnapshotPolicy};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::info;

use super::applier::Applier;
use super::error::ConsensusError;
use super::leader_watch;
use super::logstore::LogStore;
use super::net::forward::{Ask, Forwarder, lost_leader};
use super::net::frame::Outcome;
use super::net::{client, client::Network, dial, server};
use super::statemachine::StateMachine;
pub use super::status::{Role, Status};
use super::status::{status_of, successor};
use super::submit::{LocalOutcome, local_outcome, submit_local};
use super::types::{NodeInfo, Proposal, Raft};
use super::zxid;
use crate::config::dynamic::quorum_addr;
use crate::config::reconfig::ReconfigAsk;
use crate::tree::Txn;

/// Directory name for the replicated log and snapshots: not `version-zk1`, because an ensemble
/// member's records (Raft entries) and a standalone member's (bare transactions) differ.
pub const VERSION_DIR: &str = "version-zkr1";

/// Election and heartbeat timing. A follower notices a dead leader after a random election
/// timeout in `[election_min, election_max]`; heartbeats must come well inside that window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub heartbeat: Duration,
    pub election_min: Duration,
    pub election_max: Duration,
}

impl Default for Timing {
    /// Fast failover (the issue asks for a new leader within a few hundred milliseconds) while
    /// staying 10× above a typical fsync'd append, as openraft's FAQ advises.
    fn default() -> Timing {
        Timing {
            heartbeat: Duration::from_millis(50),
            election_min: Duration::from_millis(150),
            election_max: Duration::from_millis(300),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// The ZooKeeper myid.
    pub id: u64,
    /// Where to listen for other members (the quorum port).
    pub listen: SocketAddr,
    /// `<dataLogDir>/version-zkr1`: log segments and the vote.
    pub log_dir: PathBuf,
    /// `<dataDir>/version-zkr1`: snapshots.
    pub snap_dir: PathBuf,
    /// `forceSync`; off only in tests.
    pub fsync: bool,
    pub timing: Timing,
    /// Entries between snapshots (`snapCount`).
    pub snapshot_every: u64,
    /// Entries kept behind a snapshot so a briefly lagging member catches up from the log
    /// instead of needing a whole snapshot.
    pub keep_behind_snapshot: u64,
}

/// How long `add_learner` tries to reach the new member before giving up.
const CONTACT_TIMEOUT: Duration = Duration::from_secs(10);

/// A running member. Dropping it without `shutdown` leaves its tasks running.
pub struct Member<A: Applier> {
    id: u64,
    raft: Raft<A>,
    server: JoinHandle<()>,
    forwarder: Forwarder,
    /// This member's own address, which outgoing quorum connections leave from.
    source: Option<IpAddr>,
    timing: Timing,
    touch_tx: server::TouchSink,
    pending_syncs: server::PendingSyncs,
    touch_rx: std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<Vec<i64>>>>,
    log_closed: std::sync::Mutex<Option<super::logwriter::Closed>>,
    /// Admits one reconfig at a time while this member leads.
    reconfig_gate: Arc<tokio::sync::Mutex<()>>,
    /// Set when the leader reports that a reconfig removed this member.
    removed: Arc<std::sync::atomic::AtomicBool>,
}

/// How long `shutdown` waits for the log to be closed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Touch batches queued for the core before new ones are dropped.
const TOUCH_QUEUE: usize = 1024;

impl<A: Applier> Member<A> {
    /// Recovers from the directories in `cfg` (creating them when new), loads the newest
    /// snapshot into `applier` (which must hold the empty state) and starts replicating.
    pub async fn start(cfg: MemberConfig, applier: A) -> Result<Member<A>, ConsensusError> {
        let (log_dir, id, fsync) = (cfg.log_dir.clone(), cfg.id, cfg.fsync);
        let log = tokio::task::spawn_blocking(move || LogStore::open(&log_dir, id, fsync))
            .await
            .map_err(std::io::Error::other)??;
        let incarnation = log.incarnation();
        let log_closed = log.closed();
        let sm = StateMachine::open(cfg.snap_dir.clone(), applier).await?;
        let config = openraft::Config {
            cluster_name: "zk".into(),
            heartbeat_interval: millis(cfg.timing.heartbeat),
            election_timeout_min: millis(cfg.timing.election_min),
            election_timeout_max: millis(cfg.timing.election_max),
            // A restarted or partitioned member must not depose a healthy leader.
            enable_pre_vote: Some(true),
            // A restarted leader must win an election again: its tree is rebuilt from a snapshot
            // and the commit point is saved lazily, so it could otherwise lead with stale state.
            enable_leader_restore: Some(false),
            // The transport cuts a request to its frame budget (`append_budget`).
            max_payload_entries: super::net::append_budget::MAX_PAYLOAD_ENTRIES,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(cfg.snapshot_every.max(1)),
            max_in_snapshot_log_to_keep: cfg.keep_behind_snapshot,
            ..Default::default()
        }
        .validate()
        .map_err(|e| ConsensusError::Bootstrap(e.to_string()))?;
        let listener = TcpListener::bind(cfg.listen).await?;
        let source = dial::source_of(cfg.listen);
        let network = Network {
            me: cfg.id,
            source,
            // openraft's leader lease is the longest election timeout.
            min_append_ttl: cfg.timing.election_max,
        };
        let raft = Raft::new(cfg.id, Arc::new(config), network, log, sm).await?;

        let (touch_tx, touch_rx) = tokio::sync::mpsc::channel(TOUCH_QUEUE);
        let (lost_tx, lost_rx) = tokio::sync::mpsc::unbounded_channel();
        // Ends when the quorum listener (holding the senders) is stopped.
        tokio::spawn(leader_watch::run(
            cfg.id,
            raft.clone(),
            lost_rx,
            cfg.timing.heartbeat,
        ));
        let pending_syncs = server::PendingSyncs::default();
        let reconfig_gate = Arc::new(tokio::sync::Mutex::new(()));
        let removed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let server = tokio::spawn(server::serve(
            listener,
            cfg.id,
            incarnation,
            raft.clone(),
            server::Sinks {
                touches: touch_tx.clone(),
                syncs: pending_syncs.clone(),
                lost: lost_tx,
                me: (cfg.id, source),
                reconfig_gate: reconfig_gate.clone(),
                removed: removed.clone(),
            },
        ));
        info!(id = cfg.id, listen = %cfg.listen, "ensemble member started");
        Ok(Member {
            id: cfg.id,
            raft,
            server,
            forwarder: Forwarder::new(cfg.id, source),
            source,
            timing: cfg.timing,
            touch_tx,
            pending_syncs,
            touch_rx: std::sync::Mutex::new(Some(touch_rx)),
            log_closed: std::sync::Mutex::new(log_closed),
            reconfig_gate,
            removed,
        })
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// Forms a brand-new ensemble of `voters` (id → quorum address). Called on one member whose
    /// data directory is empty, once the others are listening (it waits up to `timeout` for
    /// them, to learn their incarnations); they learn the configuration from it. Observers join
    /// afterwards through `add_learner`.
    pub async fn bootstrap(
        &self,
        voters: BTreeMap<u64, String>,
        timeout: Duration,
    ) -> Result<(), ConsensusError> {
        let mut nodes = BTreeMap::new();
        for (id, addr) in voters {
            let incarnation = self.incarnation_of(id, quorum_addr(&addr), timeout).await?;
            nodes.insert(id, NodeInfo { addr, incarnation });
        }
        // A member started to join an existing ensemble lists it in its zoo.cfg; if it happens
        // to be the designated bootstrapper it must wait for a reconfig instead. A member that
        // cannot answer (an older build) is taken as not initialized, as before.
        for (id, node) in nodes.iter().filter(|(id, _)| **id != self.id) {
            let addr = node.quorum_addr();
            if let Ok(true) =
                client::is_initialized(self.id, self.source, *id, addr, node.incarnation).await
            {
                return Err(ConsensusError::Bootstrap(format!(
                    "member {id} already belongs to an ensemble: waiting to be added by a reconfig"
                )));
            }
        }
        Ok(self.raft.initialize(nodes).await?)
    }

    /// Learns a member's data incarnation, retrying until `timeout` while it is not up yet.
    async fn incarnation_of(
        &self,
        id: u64,
        addr: &str,
        timeout: Duration,
    ) -> Result<u64, ConsensusError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match client::probe(self.id, self.source, id, addr).await {
                Ok(i) => return Ok(i),
                Err(e) if tokio::time::Instant::now() >= deadline => {
                    return Err(ConsensusError::Bootstrap(e.to_string()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Whether this member's storage already holds an ensemble (so it must not bootstrap).
    pub async fn is_initialized(&self) -> Result<bool, ConsensusError> {
        Ok(self.raft.is_initialized().await?)
    }

    /// Replicates `txn` and returns its zxid once a quorum has it durably and the leader has
    /// applied it: [`Member::submit`] followed by [`Submitted::outcome`]. Every member's
    /// applier then sees it as `Committed::Txn` with `from` = this member and this `tag`, which
    /// is how the member holding the client's connection finds the request to answer (it may
    /// apply it before or after this call returns).
    pub async fn propose(&self, txn: Txn, tag: u64) -> Result<i64, ConsensusError> {
        self.submit(txn, tag).await?.outcome().await
    }

    /// Hands `txn` to the leader — this member's Raft core, or the link to the leader — and
    /// returns as soon as it is queued there, so a caller that submits one proposal after the
    /// other gets them appended in that order (a session's writes must commit in request
    /// order) while it waits for many outcomes at once (group commit).
    ///
    /// While there is no usable leader (an election, or a leader that cannot be reached) it
    /// retries for up to two election timeouts; a caller submitting in order waits with it, so
    /// nothing overtakes. Nothing was queued when it fails, so nothing can commit.
    pub async fn submit(&self, txn: Txn, tag: u64) -> Result<Submitted, ConsensusError> {
        let proposal = Proposal::new(txn, self.id, tag);
        let deadline = tokio::time::Instant::now() + self.timing.election_max * 2;
        loop {
            match self.submit_once(proposal.clone()).await {
                Err(ConsensusError::NotLeader { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(self.timing.heartbeat / 2).await;
                }
                other => return other,
            }
        }
    }

    async fn submit_once(&self, proposal: Proposal) -> Result<Submitted, ConsensusError> {
        let (leader, node) = match self.leader_node() {
            Some((l, _)) if l == self.id => {
                let outcome = submit_local(&self.raft, proposal).await?;
                return Ok(Submitted {
                    leader: (l, NodeInfo::default()),
                    outcome: Waiting::Local(outcome),
                });
            }
            Some(ln) => ln,
            None => return Err(ConsensusError::NotLeader { leader: None }),
        };
        let outcome = match self
            .forwarder
            .send(leader, &node, Ask::Propose(proposal))
            .await
        {
            Ok(rx) => rx,
            Err(refused) => {
                // A refusal is never a zxid: this returns its error.
                outcome_to_result(refused, leader, node)?;
                return Err(ConsensusError::NotLeader { leader: None });
            }
        };
        Ok(Submitted {
            leader: (leader, node),
            outcome: Waiting::Forwarded(outcome),
        })
    }

    /// ZooKeeper's `sync`: waits until this member has applied everything the leader had
    /// committed when the call was made (a quorum-confirmed read index), and returns that zxid.
    ///
    /// Asking for the commit point has no effect of its own, so while leadership is unknown
    /// or moving (an election, or this member just thawed from a pause and is re-learning the
    /// leader) it is asked again, for up to two election timeouts, as `submit` waits.
    pub async fn sync(&self, timeout: Duration) -> Result<i64, ConsensusError> {
        let deadline = tokio::time::Instant::now() + self.timing.election_max * 2;
        let zxid = loop {
            match self.read_index().await {
                Err(ConsensusError::NotLeader { .. } | ConsensusError::Unknown(_))
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(self.timing.heartbeat / 2).await;
                }
                other => break other?,
            }
        };
        self.wait_until(timeout, "sync", |s| s.applied >= zxid)
            .await?;
        Ok(zxid)
    }

    /// The leader's commit point, confirmed by a quorum (a read index).
    async fn read_index(&self) -> Result<i64, ConsensusError> {
        match self.leader_node() {
            Some((l, _)) if l == self.id => {
                let read = self
                    .raft
                    .ensure_linearizable(openraft::ReadPolicy::ReadIndex)
                    .await
                    .map_err(|e| ConsensusError::Unknown(e.to_string()))?;
                Ok(zxid::of_index(read.index()))
            }
            Some((leader, node)) => {
                let outcome = self.forwarder.call(leader, &node, Ask::ReadIndex).await;
                outcome_to_result(outcome, leader, node)
            }
            None => Err(ConsensusError::NotLeader { leader: None }),
        }
    }

    /// ZooKeeper's `reconfig`: carried out by the leader (this member, or the leader the
    /// request is forwarded to; see `consensus::reconfig`), retried while leadership moves.
    /// Returns the version (zxid) of the new configuration once this member has applied it,
    /// so a reply built from the local tree shows it.
    pub async fn reconfig(
        &self,
        ask: ReconfigAsk,
        timeout: Duration,
    ) -> Result<i64, ConsensusError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let version = loop {
            let outcome = match self.leader_node() {
                Some((l, _)) if l == self.id => {
                    super::reconfig::on_leader(
                        &self.raft,
                        (self.id, self.source),
                        &self.reconfig_gate,
                        ask.clone(),
                    )
                    .await
                }
                Some((leader, node)) => {
                    self.forwarder
                        .call(leader, &node, Ask::Reconfig(ask.clone()))
                        .await
                }
                None => Outcome::NotLeader,
            };
            match outcome {
                Outcome::Zxid(z) => break z,
                Outcome::NotLeader if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(self.timing.heartbeat).await;
                }
                Outcome::NotLeader => return Err(ConsensusError::NotLeader { leader: None }),
                Outcome::Unknown(why) => return Err(ConsensusError::Unknown(why)),
                Outcome::Refused(r) => return Err(ConsensusError::Reconfig(r)),
            }
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.wait_until(
            left.max(self.timing.election_max),
            "the new configuration",
            |s| s.applied >= version,
        )
        .await?;
        Ok(version)
    }

    /// Whether the leader reported that a committed reconfig removed this member.
    pub fn removed(&self) -> bool {
        self.removed.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The leader this member knows of, with how to reach it.
    fn leader_node(&self) -> Option<(u64, NodeInfo)> {
        let m = self.raft.metrics();
        let m = m.borrow_watched();
        let leader = m.current_leader?;
        let node = m.membership_config.membership().get_node(&leader)?.clone();
        Some((leader, node))
    }

    /// Reports sessions that showed life on this member (pings, requests) to the leader, which
    /// alone decides expiry. Sent in the background, never logged; a batch lost to a leader
    /// change is harmless because the next one carries the same sessions.
    pub async fn touch(&self, sessions: Vec<i64>) {
        match self.leader_node() {
            Some((l, _)) if l == self.id => {
                let _ = self.touch_tx.try_send(sessions);
            }
            Some((leader, node)) => {
                self.forwarder
                    .tell(leader, &node, Ask::Touch(sessions))
                    .await;
            }
            None => {}
        }
    }

    /// The stream of touched sessions arriving at this member (its own when it leads, and
    /// those forwarded by the others). There is one stream; later calls get None.
    pub fn touches(&self) -> Option<tokio::sync::mpsc::Receiver<Vec<i64>>> {
        self.touch_rx.lock().ok()?.take()
    }

    /// Adds a non-voting member. With `catch_up` it returns only once the member has the log
    /// (or a snapshot), so a later promotion does not stall commits.
    pub async fn add_learner(
        &self,
        id: u64,
        addr: String,
        catch_up: bool,
    ) -> Result<(), ConsensusError> {
        let incarnation = self
            .incarnation_of(id, quorum_addr(&addr), CONTACT_TIMEOUT)
            .await?;
        self.raft
            .add_learner(id, NodeInfo { addr, incarnation }, catch_up)
            .await?;
        Ok(())
    }

    /// Makes learners voters (ZooKeeper: observer → participant), through joint consensus.
    pub async fn promote(&self, ids: BTreeSet<u64>) -> Result<(), ConsensusError> {
        self.raft
            .change_membership(ChangeMembers::AddVoterIds(ids), false)
            .await?;
        Ok(())
    }

    /// Takes voters out of the quorum; with `keep_as_learners` they stay as observers.
    pub async fn remove_voters(
        &self,
        ids: BTreeSet<u64>,
        keep_as_learners: bool,
    ) -> Result<(), ConsensusError> {
        self.raft
            .change_membership(ChangeMembers::RemoveVoters(ids), keep_as_learners)
            .await?;
        Ok(())
    }

    /// Removes learners from the ensemble.
    pub async fn remove_learners(&self, ids: BTreeSet<u64>) -> Result<(), ConsensusError> {
        self.raft
            .change_membership(ChangeMembers::RemoveNodes(ids), false)
            .await?;
        Ok(())
    }

    /// Asks the leader (this member) to hand leadership to `to`.
    pub async fn transfer_leadership(&self, to: u64) -> Result<(), ConsensusError> {
        Ok(self.raft.trigger().transfer_leader(to).await?)
    }

    /// What a leader does on SIGTERM before it stops: hands leadership to the most caught-up
    /// other voter and waits (up to `timeout`) until someone else leads, so a planned restart
    /// costs no election timeout. Returns the new leader, or None when this member was not the
    /// leader or no other voter could take over in time (the stop then proceeds regardless).
    pub async fn step_down(&self, timeout: Duration) -> Option<u64> {
        let status = self.status();
        if status.role != Role::Leader {
            return None;
        }
        let to = successor(&status)?;
        if let Err(e) = self.transfer_leadership(to).await {
            tracing::warn!(error = %e, to, "leadership transfer failed");
            return None;
        }
        let moved = self
            .wait_until(timeout, "leadership transfer", |s| {
                s.leader.is_some_and(|l| l != self.id)
            })
            .await;
        match moved {
            Ok(s) => {
                info!(to = s.leader, "handed over leadership");
                s.leader
            }
            Err(e) => {
                tracing::warn!(error = %e, to, "leadership did not move");
                None
            }
        }
    }

    /// Builds a snapshot now rather than at the next `snapshot_every` boundary.
    pub async fn snapshot_now(&self) -> Result<(), ConsensusError> {
        Ok(self.raft.trigger().snapshot().await?)
    }

    /// `sync` requests forwarded by other members and still waiting here (non-zero only on
    /// the leader, which alone answers them).
    pub fn pending_syncs(&self) -> u64 {
        self.pending_syncs.get()
    }

    pub fn status(&self) -> Status {
        status_of(&self.raft.metrics().borrow_watched())
    }

    /// Asks for proof that this member's leader (itself, or the one it follows) is backed by
    /// a quorum right now: the read-index round `sync` uses, without waiting for the local
    /// apply. Raft alone does not tell a member it is cut off (an isolated leader keeps its role
    /// until it hears a newer term; an isolated follower, kept from campaigning by pre-vote, keeps
    /// naming its old leader, and a follower on the minority side of a split still hears from a
    /// leader that has no quorum), so the server probes with this. Callers bound the wait.
    pub async fn confirm_quorum(&self) -> Result<(), ConsensusError> {
        self.read_index().await.map(|_| ())
    }

    /// Waits until `pred` holds for this member's status.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        what: &'static str,
        pred: impl Fn(&Status) -> bool,
    ) -> Result<Status, ConsensusError> {
        let mut rx = self.raft.metrics();
        let wait = async {
            loop {
                let s = status_of(&rx.borrow_and_update());
                if pred(&s) {
                    return Ok(s);
                }
                if rx.changed().await.is_err() {
                    return Err(ConsensusError::Stopped("metrics closed".into()));
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ConsensusError::Timeout(what))?
    }

    /// Stops replication and the quorum listener, and waits until the log is closed.
    /// Proposals still running elsewhere end with `Stopped`.
    pub async fn shutdown(&self) {
        self.server.abort();
        if let Err(e) = self.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        // Once openraft has let go of the log, its writer finishes, trims and unlocks it; wait
        // for that so a restart in the same process finds the directory free.
        let closed = self.log_closed.lock().ok().and_then(|mut c| c.take());
        if let Some(closed) = closed
            && tokio::time::timeout(CLOSE_TIMEOUT, closed).await.is_err()
        {
            tracing::warn!("the replicated log was still open after shutdown");
        }
    }
}

/// A proposal queued at the leader, waiting for its outcome.
pub struct Submitted {
    leader: (u64, NodeInfo),
    outcome: Waiting,
}

enum Waiting {
    Local(LocalOutcome),
    Forwarded(tokio::sync::oneshot::Receiver<Outcome>),
}

impl Submitted {
    /// The zxid the proposal committed at; `NotLeader` if the leader refused it (it was not
    /// appended), `Unknown` if the leader was lost before telling.
    pub async fn outcome(self) -> Result<i64, ConsensusError> {
        let outcome = match self.outcome {
            Waiting::Local(rx) => local_outcome(rx).await,
            Waiting::Forwarded(rx) => rx.await.unwrap_or_else(|_| lost_leader()),
        };
        let (leader, node) = self.leader;
        outcome_to_result(outcome, leader, node)
    }
}

fn outcome_to_result(outcome: Outcome, leader: u64, node: NodeInfo) -> Result<i64, ConsensusError> {
    match outcome {
        Outcome::Zxid(z) => Ok(z),
        Outcome::NotLeader => Err(ConsensusError::NotLeader {
            leader: Some((leader, node.quorum_addr().to_string())),
        }),
        Outcome::Unknown(why) => Err(ConsensusError::Unknown(why)),
        Outcome::Refused(r) => Err(ConsensusError::Reconfig(r)),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
