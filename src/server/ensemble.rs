//! The core as an ensemble member: transactions are proposed through `consensus::Member`
//! instead of the local WAL, and come back — this member's and everyone else's — as committed
//! entries in log order through the `ChannelApplier` mailbox the core serves. The member that
//! proposed an entry finds the waiting request by its tag and answers it; every member applies
//! it and fires its own watches. Only the leader decides expiry, from the session touches every
//! member forwards to it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::core::{Core, Log, Origin, Pending, Queued, ToCore};
use super::fourlw::{CounterMetric, Mode};
use super::quorum_probe::QuorumProbe;
use super::read_only::{Change, Standing, read_only_delay};
use super::session::Tracker;
use super::watches::{ConnId, Watches};
use crate::config::dynamic::DynamicConfig;
use crate::consensus::applier::Committed;
use crate::consensus::channel_applier::{ApplyRequest, ChannelApplier};
use crate::consensus::error::ConsensusError;
use crate::consensus::member::{Member, Role, Status};
use crate::proto::request::Request;
use crate::tree::{DataTree, Txn};

/// How long a `sync` may wait for the leader's commit point before the client is disconnected.
const SYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// What the background tasks of an ensemble member tell the core.
pub enum Event {
    /// A proposal ended without this member being told it committed: no quorum, a lost
    /// leader (the outcome is unknown) or a stopped member.
    ProposalFailed { tag: u64, error: ConsensusError },
    /// A `sync` reached the leader's commit point (or failed to).
    Synced {
        tag: u64,
        result: Result<i64, ConsensusError>,
    },
    /// Adding the configured observers finished (successfully or not).
    ObserversAdded,
    /// A client's reconfig ended: the new configuration's version, or why not.
    Reconfigured {
        tag: u64,
        result: Result<i64, ConsensusError>,
    },
}

/// A `sync` waiting for the leader's commit point (or a `reconfig` for the leader's answer).
pub(super) struct WaitingSync {
    pub conn: ConnId,
    pub session: i64,
    pub xid: i32,
    pub req: Request,
    pub received: Instant,
}

impl WaitingSync {
    /// Where the request came from, for abandoning it when it fails.
    pub(super) fn origin(&self) -> Origin {
        Origin::Request {
            conn: self.conn,
            session: self.session,
            xid: self.xid,
            received: self.received,
        }
    }
}

/// The core's replication state as an ensemble member.
pub struct Ensemble {
    pub(super) member: Arc<Member<ChannelApplier>>,
    my_id: u64,
    proposals: mpsc::UnboundedSender<(Txn, u64)>,
    pub(super) events: mpsc::UnboundedSender<Event>,
    /// Tags start from the wall clock in nanoseconds so that entries this member proposed
    /// before a restart (re-applied from the log) never match a new request.
    next_tag: u64,
    proposed: HashMap<u64, Origin>,
    syncs: HashMap<u64, WaitingSync>,
    pub(super) reconfigs: HashMap<u64, WaitingSync>,
    /// Time of the last applied transaction: the mtime a membership change gives
    /// `/zookeeper/config` (the membership entry itself carries no time).
    last_time: i64,
    /// Whether a committed membership has included this member; one that then leaves it
    /// has been removed by a reconfig (see `removed`).
    was_member: bool,
    /// Set once a committed membership no longer includes this member: it stops.
    pub(super) removed: bool,
    touched: HashSet<i64>,
    leading: bool,
    leading_since: Option<Instant>,
    observers: BTreeMap<u64, String>,
    /// The participants zoo.cfg lists.
    participants: Vec<u64>,
    adding_observers: Arc<AtomicBool>,
    /// Whether this member is in touch with a quorum (see `read_only`); a member starts cut
    /// off until it hears from a leader or a quorum acknowledges it.
    pub(super) standing: Standing,
    probe: QuorumProbe,
}

impl Ensemble {
    /// Wraps a started member; returns the receiver of the events the core must serve.
    pub fn new(
        member: Arc<Member<ChannelApplier>>,
        participants: Vec<u64>,
        observers: BTreeMap<u64, String>,
    ) -> (Ensemble, mpsc::UnboundedReceiver<Event>) {
        let (events, events_rx) = mpsc::unbounded_channel();
        let (proposals, proposals_rx) = mpsc::unbounded_channel();
        tokio::spawn(proposer(member.clone(), proposals_rx, events.clone()));
        let next_tag = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX >> 2))
            .unwrap_or(1);
        let e = Ensemble {
            my_id: member.id(),
            member,
            proposals,
            events,
            next_tag,
            proposed: HashMap::new(),
            syncs: HashMap::new(),
            reconfigs: HashMap::new(),
            last_time: 0,
            was_member: false,
            removed: false,
            touched: HashSet::new(),
            leading: false,
            leading_since: None,
            observers,
            participants,
            adding_observers: Arc::new(AtomicBool::new(false)),
            standing: Standing::Lost(Instant::now()),
            probe: QuorumProbe::default(),
        };
        (e, events_rx)
    }

    pub(super) fn tag(&mut self) -> u64 {
        self.next_tag += 1;
        self.next_tag
    }

    /// Queues `txn` for the proposer; returns the ticket its session queue knows it by.
    pub(super) fn propose(&mut self, txn: Txn, origin: Origin) -> i64 {
        let tag = self.tag();
        self.proposed.insert(tag, origin);
        if self.proposals.send((txn, tag)).is_err() {
            let _ = self.events.send(Event::ProposalFailed {
                tag,
                error: ConsensusError::Stopped("the proposer stopped".into()),
            });
        }
        ticket(tag)
    }

    /// Records a session that showed life here, for the next batch of touches to the leader.
    pub(super) fn touched(&mut self, session: i64) {
        self.touched.insert(session);
    }

    /// When this member last became leader (`zk_leader_uptime`).
    pub(super) fn leading_since(&self) -> Option<Instant> {
        self.leading_since.filter(|_| self.leading)
    }

    pub(super) fn status(&self) -> Status {
        self.member.status()
    }

    /// Other members' `sync` requests waiting here (`zk_pending_syncs`).
    pub(super) fn pending_syncs(&self) -> u64 {
        self.member.pending_syncs()
    }

    /// Sends the sessions touched since the last tick to the leader (never logged).
    fn send_touches(&mut self) {
        if self.touched.is_empty() {
            return;
        }
        let batch: Vec<i64> = self.touched.drain().collect();
        let member = self.member.clone();
        tokio::spawn(async move { member.touch(batch).await });
    }

    /// On the leader: adds the observers zoo.cfg lists that the membership lacks — unless a
    /// reconfig has moved the membership away from zoo.cfg (a participant that is not a voter,
    /// or a member zoo.cfg does not list): the dynamic configuration then rules, and an
    /// observer it dropped must stay out.
    fn add_missing_observers(&mut self, status: &Status) {
        let listed = |id: &u64| self.participants.contains(id) || self.observers.contains_key(id);
        let diverged = self
            .participants
            .iter()
            .any(|id| !status.members.voters().contains(id))
            || status.members.addrs.keys().any(|id| !listed(id));
        if diverged {
            return;
        }
        let missing: Vec<(u64, String)> = self
            .observers
            .iter()
            .filter(|(id, _)| !status.members.learners.contains(id))
            .map(|(id, addr)| (*id, addr.clone()))
            .collect();
        if missing.is_empty() || self.adding_observers.swap(true, Ordering::SeqCst) {
            return;
        }
        let member = self.member.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            for (id, addr) in missing {
                match member.add_learner(id, addr, true).await {
                    Ok(()) => info!(observer = id, "observer added"),
                    Err(e) => warn!(observer = id, error = %e, "cannot add observer yet"),
                }
            }
            let _ = events.send(Event::ObserversAdded);
        });
    }
}

/// Tags are unique per process start; the session queue's tickets are the same numbers.
pub(super) fn ticket(tag: u64) -> i64 {
    i64::try_from(tag).unwrap_or(i64::MAX)
}

/// Proposes in submission order: each proposal is queued at the leader (this member's Raft
/// core, or the link to the leader) before the next is taken, so a session's writes are
/// appended in request order, while the outcomes of many are awaited at once for group commit.
async fn proposer(
    member: Arc<Member<ChannelApplier>>,
    mut rx: mpsc::UnboundedReceiver<(Txn, u64)>,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut inflight = FuturesUnordered::new();
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Some((txn, tag)) => match member.submit(txn, tag).await {
                    Ok(submitted) => inflight.push(async move { (tag, submitted.outcome().await) }),
                    Err(error) => {
                        let _ = events.send(Event::ProposalFailed { tag, error });
                    }
                },
                None => break,
            },
            Some((tag, result)) = inflight.next(), if !inflight.is_empty() => {
                if let Err(error) = result {
                    let _ = events.send(Event::ProposalFailed { tag, error });
                }
            }
        }
    }
}

impl Core {
    /// Runs an ensemble member's core until shutdown or until its replication stops.
    pub async fn run_ensemble(
        mut self,
        mut rx: mpsc::UnboundedReceiver<ToCore>,
        mut applies: mpsc::Receiver<ApplyRequest>,
        mut events: mpsc::UnboundedReceiver<Event>,
        mut touches: mpsc::Receiver<Vec<i64>>,
    ) -> bool {
        let tick = Duration::from_millis((self.cfg.tick_time as u64 / 2).clamp(10, 500));
        let mut ticker = tokio::time::interval(tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                a = applies.recv() => match a {
                    Some(a) => {
                        self.serve_apply(a);
                        if matches!(&self.log, Log::Ensemble(e) if e.removed) {
                            // ZooKeeper: a server removed from the configuration stops being
                            // part of the ensemble. Clients move to the remaining members.
                            info!("removed from the ensemble by a reconfig: stopping");
                            break;
                        }
                    }
                    None => {
                        error!("replication stopped");
                        self.failed = true;
                        break;
                    }
                },
                Some(ev) = events.recv() => self.on_event(ev),
                Some(batch) = touches.recv() => {
                    let now = Instant::now();
                    for s in batch {
                        self.tracker.touch(s, now, None);
                    }
                }
                m = rx.recv() => match m {
                    Some(ToCore::Shutdown) | None => break,
                    Some(m) => self.handle(m),
                },
                _ = ticker.tick() => {
                    self.maintain();
                    if let Log::Ensemble(e) = &mut self.log
                        && e.member.removed()
                    {
                        info!("the leader reports this member removed by a reconfig: stopping");
                        break;
                    }
                }
            }
        }
        self.shutdown();
        self.failed
    }

    fn serve_apply(&mut self, a: ApplyRequest) {
        match a {
            ApplyRequest::Apply { batch, reply } => {
                for c in batch {
                    self.apply_committed(c);
                }
                let _ = reply.send(Ok(()));
            }
            ApplyRequest::Snapshot { reply } => {
                self.tree.purge_acls();
                let _ = reply.send(Ok(self.tree.snapshot()));
            }
            ApplyRequest::Restore { image, reply } => {
                let _ = reply.send(self.restore(&image));
            }
        }
    }

    fn apply_committed(&mut self, c: Committed) {
        let Log::Ensemble(e) = &mut self.log else {
            return;
        };
        match c {
            Committed::Txn { txn, from, tag } => {
                let origin = if from == e.my_id {
                    e.proposed.remove(&tag)
                } else {
                    None
                };
                self.metrics.count(CounterMetric::CommitCount);
                e.last_time = txn.time;
                self.commit(Pending {
                    txn,
                    origin: origin.unwrap_or(Origin::Internal),
                    ticket: ticket(tag),
                });
            }
            Committed::Members { zxid, members } => {
                info!(zxid, voters = ?members.voters(), learners = ?members.learners, "membership");
                if members.addrs.contains_key(&e.my_id) {
                    e.was_member = true;
                } else if e.was_member && !e.status().members.addrs.contains_key(&e.my_id) {
                    // Removed, and not added back by a later change this member already has
                    // (a restart replays old removals of a member that was re-added).
                    e.removed = true;
                }
                // A joint configuration is a step inside one change; ZooKeeper shows only
                // decided configurations.
                if members.is_joint() {
                    return;
                }
                let text = DynamicConfig::from_members(
                    &members.voters(),
                    &members.addrs,
                    &self.cfg.servers,
                    zxid,
                )
                .to_text();
                let time = e.last_time;
                if let Some(ev) = self.tree.set_config(text.as_bytes(), zxid, time) {
                    self.fire(zxid, &ev);
                }
            }
        }
    }

    /// Replaces the whole state with another member's image. Connections are closed and
    /// watches dropped, as a ZooKeeper follower does on a snapshot sync; clients reconnect and
    /// re-register their watches.
    fn restore(&mut self, image: &[u8]) -> io::Result<()> {
        let mut tree = DataTree::from_snapshot(image)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        tree.extended_types = self.cfg.extended_types_enabled;
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            self.close_conn(c);
        }
        self.watches = Watches::default();
        let now = Instant::now();
        let mut tracker = Tracker::default();
        for (id, s) in tree.sessions() {
            tracker.add(*id, s.timeout, now);
        }
        self.tracker = tracker;
        self.sessions = tree
            .sessions()
            .keys()
            .map(|id| (*id, Default::default()))
            .collect();
        self.reaping.clear();
        self.tree = tree;
        info!(
            zxid = format_args!("{:#x}", self.tree.last_zxid()),
            "state replaced by a snapshot"
        );
        Ok(())
    }

    fn on_event(&mut self, ev: Event) {
        let Log::Ensemble(e) = &mut self.log else {
            return;
        };
        match ev {
            Event::ProposalFailed { tag, error } => {
                if let Some(origin) = e.proposed.remove(&tag) {
                    warn!(error = %error, "a proposal did not commit");
                    self.abandon(origin);
                }
            }
            Event::Synced { tag, result } => {
                debug!(tag, ?result, "sync answered");
                let Some(w) = e.syncs.remove(&tag) else {
                    return;
                };
                if let Err(error) = result {
                    warn!(error = %error, "sync did not reach the leader's commit point");
                    self.abandon(w.origin());
                    return;
                }
                // Answered like a read, in the session's order.
                let Some(slot) = self.waiting_slot(w.session, tag) else {
                    return;
                };
                *slot = Queued::Read {
                    conn: w.conn,
                    xid: w.xid,
                    req: w.req,
                    received: w.received,
                };
                self.release_reads(w.session);
            }
            Event::ObserversAdded => e.adding_observers.store(false, Ordering::SeqCst),
            Event::Reconfigured { tag, result } => self.reconfigured(tag, result),
        }
    }

    /// A request whose outcome this member cannot tell: the client's connection is closed
    /// (ZooKeeper's ConnectionLoss when its server loses the leader), so it reconnects and
    /// finds out by reading.
    /// The session-queue slot of a `sync` (or reconfig) waiting under `tag`, which its answer
    /// takes so that it goes out in the session's order.
    pub(super) fn waiting_slot(&mut self, session: i64, tag: u64) -> Option<&mut Queued> {
        self.sessions
            .get_mut(&session)?
            .queue
            .iter_mut()
            .find(|i| matches!(i, Queued::Sync(t) if *t == ticket(tag)))
    }

    pub(super) fn abandon(&mut self, origin: Origin) {
        match origin {
            Origin::Connect { conn } => self.close_conn(conn),
            Origin::Request { conn, session, .. } => {
                if let Some(q) = self.sessions.get_mut(&session) {
                    q.queue.clear();
                }
                self.close_conn(conn);
            }
            // Expiry and reaping are decided again by whoever leads next.
            Origin::Internal => {}
        }
    }

    /// An ensemble `sync`: answered, in the session's order, once this member has applied
    /// everything the leader had committed when it was asked.
    pub(super) fn sync(
        &mut self,
        conn: ConnId,
        session: i64,
        xid: i32,
        req: Request,
        received: Instant,
    ) {
        let Log::Ensemble(e) = &mut self.log else {
            return;
        };
        let tag = e.tag();
        debug!(tag, session = format_args!("{session:#x}"), "sync asked");
        e.syncs.insert(
            tag,
            WaitingSync {
                conn,
                session,
                xid,
                req,
                received,
            },
        );
        let member = e.member.clone();
        let events = e.events.clone();
        tokio::spawn(async move {
            let result = member.sync(SYNC_TIMEOUT).await;
            let _ = events.send(Event::Synced { tag, result });
        });
        self.sessions
            .entry(session)
            .or_default()
            .queue
            .push_back(Queued::Sync(ticket(tag)));
    }

    /// The ensemble part of the periodic work; returns whether this member leads with a quorum
    /// behind it (and so decides expiry and reaping).
    pub(super) fn ensemble_tick(&mut self, now: Instant) -> bool {
        // ZooKeeper's members give up after syncLimit ticks without their quorum.
        let window = Duration::from_millis(
            u64::from(self.cfg.tick_time).saturating_mul(u64::from(self.cfg.sync_limit.max(1))),
        );
        let read_only = self
            .cfg
            .read_only_mode_enabled
            .then(|| read_only_delay(self.cfg.tick_time));
        let Log::Ensemble(e) = &mut self.log else {
            return false;
        };
        // A few probes per window, each allowed the whole window.
        let interval = (window / 4).max(Duration::from_millis(50));
        e.probe.tick(&e.member, now, interval, window);
        let in_quorum = e.probe.confirmed_within(now, window);
        let (standing, change) = e.standing.next(in_quorum, now, read_only);
        e.standing = standing;
        let status = e.status();
        let leading = status.role == Role::Leader;
        // A leader that was cut off does not know what the others did meanwhile: like a new
        // leader, it gives every session a full timeout from now.
        let regained = matches!(change, Some(Change::Regained { .. }));
        let became_leader = leading && (!e.leading || regained);
        e.leading = leading;
        if became_leader {
            e.leading_since = Some(now);
        }
        e.send_touches();
        if leading {
            e.add_missing_observers(&status);
        }
        if became_leader {
            // The old leader's deadlines are unknown here: every session gets a full timeout
            // from now, as ZooKeeper's new leader does.
            info!(
                sessions = self.tree.sessions().len(),
                "leading: session deadlines reset"
            );
            for (id, s) in self.tree.sessions() {
                self.tracker.add(*id, s.timeout, now);
            }
            self.reaping.clear();
        }
        if let Some(change) = change {
            self.standing_changed(change);
        }
        leading && in_quorum
    }

    /// ZooKeeper's mode and whether this member serves clients (it has a leader).
    pub(super) fn mode(&self) -> (Mode, bool) {
        let Log::Ensemble(e) = &self.log else {
            return (Mode::Standalone, true);
        };
        let s = e.status();
        let mode = match s.role {
            Role::Leader => Mode::Leader,
            Role::Learner => Mode::Observer,
            Role::Follower | Role::Candidate | Role::Stopped => Mode::Follower,
        };
        match e.standing {
            Standing::InQuorum => (mode, s.leader.is_some()),
            Standing::Lost(_) => (mode, false),
            Standing::ReadOnly => (Mode::ReadOnly, true),
        }
    }
}
