//! ZooKeeper's `reconfig` carried out on the leader as Raft membership changes: the request is
//! checked against the committed configuration (`config::reconfig::target`), new members are
//! added as learners and wait until they have caught up, then one joint-consensus change sets
//! the voters (participants), keeps participants that become observers as learners and drops
//! the leaving members. A leader that is itself leaving hands leadership to a member
//! that stays first, and the request is retried there.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use openraft::ChangeMembers;
use openraft::ServerState;
use openraft::type_config::async_runtime::WatchReceiver;
use tokio::sync::Mutex;
use tracing::{info, warn};

use super::applier::Applier;
use super::error::ConsensusError;
use super::net::client;
use super::net::frame::Outcome;
use super::statemachine::members_of;
use super::types::{NodeInfo, Raft, TypeConfig};
use super::zxid;
use crate::config::dynamic::{DynamicConfig, member_value};
use crate::config::reconfig::{ReconfigAsk, ReconfigRefusal, joins, leaves, target, votes};

/// How long a joining member may take to answer before the change is refused.
const CONTACT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a joining member may take to catch up with the leader's log.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the current members have to show they are in sync.
const SYNC_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a leaving leader waits for another member to take over.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// The committed configuration as ZooKeeper shows it, and whether a change is still half done
/// (a joint configuration).
pub(super) fn committed_config(m: &openraft::RaftMetrics<TypeConfig>) -> (DynamicConfig, bool) {
    let stored = &m.membership_config;
    let members = members_of(stored.membership());
    let version = zxid::of_index(stored.log_id().as_ref().map_or(0, |l| l.index));
    let cfg = DynamicConfig::from_members(&members.voters(), &members.addrs, &[], version);
    (cfg, members.is_joint())
}

/// Runs `ask` on this member, which must lead; the outcome is what a forwarding member gets.
/// `gate` admits one reconfiguration at a time (ReconfigInProgress otherwise).
pub(super) async fn on_leader<A: Applier>(
    raft: &Raft<A>,
    (me, source): (u64, Option<IpAddr>),
    gate: &Mutex<()>,
    ask: ReconfigAsk,
) -> Outcome {
    let Ok(_one_at_a_time) = gate.try_lock() else {
        return Outcome::Refused(ReconfigRefusal::InProgress);
    };
    match run(raft, (me, source), ask).await {
        Ok(zxid) => Outcome::Zxid(zxid),
        Err(Step::Refused(r)) => Outcome::Refused(r),
        Err(Step::NotLeader) => Outcome::NotLeader,
        Err(Step::Failed(e)) => Outcome::Unknown(e.to_string()),
    }
}

enum Step {
    Refused(ReconfigRefusal),
    NotLeader,
    Failed(ConsensusError),
}

impl From<ConsensusError> for Step {
    fn from(e: ConsensusError) -> Step {
        match e {
            ConsensusError::NotLeader { .. } => Step::NotLeader,
            e => Step::Failed(e),
        }
    }
}

async fn run<A: Applier>(
    raft: &Raft<A>,
    (me, source): (u64, Option<IpAddr>),
    ask: ReconfigAsk,
) -> Result<i64, Step> {
    let metrics = raft.metrics().borrow_watched().clone();
    if metrics.state != ServerState::Leader {
        return Err(Step::NotLeader);
    }
    let (current, joint) = committed_config(&metrics);
    if joint {
        return Err(Step::Refused(ReconfigRefusal::InProgress));
    }
    let next = target(&current, &ask, ask.standalone_enabled).map_err(Step::Refused)?;
    info!(from = %current.to_text(), to = %next.to_text(), "reconfig");
    if !votes(&next, me) {
        hand_over(raft, me, &next, &metrics).await?;
        return Err(Step::NotLeader);
    }
    check_quorum(raft, me, &current, &next).await?;
    let nodes = metrics.membership_config.membership().nodes();
    let nodes: BTreeMap<u64, NodeInfo> = nodes.map(|(id, n)| (*id, n.clone())).collect();
    let joining = joins(&current, &next);
    for (id, spec) in next.servers.iter().filter(|(id, _)| joining.contains(id)) {
        if let Err(e) = add_caught_up(raft, (me, source), *id, member_value(spec)).await {
            warn!(member = id, error = %e, "a joining member did not catch up");
            // Learners already added would otherwise linger outside the configuration.
            let added: BTreeSet<u64> = joining.iter().copied().collect();
            let _ = raft
                .change_membership(ChangeMembers::RemoveNodes(added), false)
                .await;
            return Err(Step::Refused(ReconfigRefusal::NoQuorum));
        }
    }
    // Members staying with a new client address or election port get their line updated.
    let updated: BTreeMap<u64, NodeInfo> = next
        .servers
        .values()
        .filter_map(|s| {
            let old = nodes.get(&s.id)?;
            let value = member_value(s);
            let incarnation = old.incarnation;
            (old.addr != value).then_some((
                s.id,
                NodeInfo {
                    addr: value,
                    incarnation,
                },
            ))
        })
        .collect();
    let voters: BTreeSet<u64> = next.voters().into_iter().collect();
    let dropped_learners: BTreeSet<u64> = leaves(&current, &next)
        .into_iter()
        .filter(|id| !votes(&current, *id))
        .collect();
    let mut batch = vec![ChangeMembers::ReplaceAllVoters(voters)];
    if !updated.is_empty() {
        batch.insert(0, ChangeMembers::SetNodes(updated));
    }
    if !dropped_learners.is_empty() {
        batch.push(ChangeMembers::RemoveNodes(dropped_learners));
    }
    // Participants that become observers stay as learners (retain): they keep the log. Other
    // leaving voters are dropped with the change when nobody is demoted, so they stop receiving
    // the log at once; otherwise they are retained too and dropped right after.
    let demoting = next
        .servers
        .keys()
        .any(|id| votes(&current, *id) && !votes(&next, *id));
    raft.change_membership(ChangeMembers::Batch(batch), demoting)
        .await
        .map_err(ConsensusError::from)?;
    let dropped_voters: BTreeSet<u64> = leaves(&current, &next)
        .into_iter()
        .filter(|id| votes(&current, *id))
        .collect();
    if demoting && !dropped_voters.is_empty() {
        raft.change_membership(ChangeMembers::RemoveNodes(dropped_voters), false)
            .await
            .map_err(ConsensusError::from)?;
    }
    // The leader no longer replicates to members that left, so they would never learn it.
    for id in leaves(&current, &next) {
        if let Some(node) = nodes.get(&id).cloned() {
            tokio::spawn(async move {
                let addr = node.quorum_addr().to_string();
                if let Err(e) = client::tell_removed(me, source, id, &addr, node.incarnation).await
                {
                    warn!(member = id, error = %e, "could not tell a removed member");
                }
            });
        }
    }
    let after = raft.metrics().borrow_watched().clone();
    let (done, _) = committed_config(&after);
    info!(
        version = format_args!("{:#x}", done.version),
        "reconfig committed"
    );
    Ok(done.version)
}

/// NewConfigNoQuorum unless a majority of the new participants is reachable: this leader,
/// members whose log has reached the commit point as of the request, and joining members
/// (which must still catch up before anything changes).
async fn check_quorum<A: Applier>(
    raft: &Raft<A>,
    me: u64,
    current: &DynamicConfig,
    next: &DynamicConfig,
) -> Result<(), Step> {
    let voters = next.voters();
    let needed = voters.len() / 2 + 1;
    let committed = {
        let m = raft.metrics();
        let m = m.borrow_watched();
        m.local_committed.as_ref().map_or(0, |l| l.index)
    };
    let synced = |m: &openraft::RaftMetrics<TypeConfig>| {
        voters
            .iter()
            .filter(|id| {
                **id == me
                    || !current.servers.contains_key(id)
                    || m.replication.as_ref().is_some_and(|r| {
                        r.get(id)
                            .and_then(|l| l.as_ref())
                            .is_some_and(|l| l.index >= committed)
                    })
            })
            .count()
            >= needed
    };
    let mut rx = raft.metrics();
    let wait = async {
        loop {
            if synced(&rx.borrow_watched()) {
                return true;
            }
            if rx.changed().await.is_err() {
                return false;
            }
        }
    };
    match tokio::time::timeout(SYNC_TIMEOUT, wait).await {
        Ok(true) => Ok(()),
        _ => Err(Step::Refused(ReconfigRefusal::NoQuorum)),
    }
}

/// Adds `id` as a learner and returns once it has the leader's log.
async fn add_caught_up<A: Applier>(
    raft: &Raft<A>,
    (me, source): (u64, Option<IpAddr>),
    id: u64,
    value: String,
) -> Result<(), ConsensusError> {
    let addr = crate::config::dynamic::quorum_addr(&value).to_string();
    let deadline = tokio::time::Instant::now() + CONTACT_TIMEOUT;
    let incarnation = loop {
        match client::probe(me, source, id, &addr).await {
            Ok(i) => break i,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(ConsensusError::Membership(format!(
                    "cannot reach member {id} at {addr}: {e}"
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let node = NodeInfo {
        addr: value,
        incarnation,
    };
    tokio::time::timeout(CATCH_UP_TIMEOUT, raft.add_learner(id, node, true))
        .await
        .map_err(|_| ConsensusError::Timeout("a joining member to catch up"))??;
    Ok(())
}

/// Hands leadership to the most caught-up participant of `next` and waits until someone else
/// leads.
async fn hand_over<A: Applier>(
    raft: &Raft<A>,
    me: u64,
    next: &DynamicConfig,
    metrics: &openraft::RaftMetrics<TypeConfig>,
) -> Result<(), Step> {
    let replicated = |id: &u64| {
        metrics
            .replication
            .as_ref()
            .and_then(|r| r.get(id).cloned().flatten())
            .map_or(0, |l| l.index)
    };
    let Some(to) = next
        .voters()
        .into_iter()
        .filter(|id| {
            metrics
                .membership_config
                .membership()
                .get_node(id)
                .is_some()
        })
        .max_by_key(|id| (replicated(id), std::cmp::Reverse(*id)))
    else {
        // Only new members would remain: they must join before this leader can leave.
        return Err(Step::Refused(ReconfigRefusal::BadArguments(
            "the leader cannot leave for members that have not joined yet; add them first".into(),
        )));
    };
    info!(to, "leaving the voters: handing over leadership first");
    raft.trigger()
        .transfer_leader(to)
        .await
        .map_err(|e| Step::Failed(e.into()))?;
    let mut rx = raft.metrics();
    let wait = async {
        loop {
            if rx.borrow_watched().current_leader.is_some_and(|l| l != me) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(HANDOVER_TIMEOUT, wait).await;
    Ok(())
}
