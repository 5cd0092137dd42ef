//! What a member reports about itself: its ZooKeeper mode, its leader, how far its log, commit
//! point and applied state are, and (on the leader) how far each other member has caught up.
//! The four-letter words, the admin endpoints and the operator's rollout gate read this.

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::Instant as _;
use openraft::ServerState;

use super::applier::Members;
use super::statemachine::members_of;
use super::types::{LogId, TypeConfig};
use super::zxid;

/// What ZooKeeper calls the server's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    /// A voter following a leader (ZooKeeper's follower).
    Follower,
    /// A voter campaigning; no leader known.
    Candidate,
    /// A non-voting member (ZooKeeper's observer), or one not yet in the configuration.
    Learner,
    Stopped,
}

/// A point-in-time view of this member's replication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub id: u64,
    pub role: Role,
    pub leader: Option<u64>,
    pub term: u64,
    /// zxid of the last entry in this member's log.
    pub last_logged: i64,
    /// zxid up to which this member knows entries are committed.
    pub committed: i64,
    /// zxid of the last entry handed to the applier.
    pub applied: i64,
    /// zxid covered by this member's newest snapshot.
    pub snapshot: i64,
    /// zxid up to which this member's log was discarded (behind a snapshot).
    pub purged: i64,
    pub members: Members,
    /// zxid of the membership entry `members` comes from: ZooKeeper's config version.
    pub config_version: i64,
    /// On the leader: for every other member, the zxid up to which its log is known to match
    /// the leader's (what `zk_synced_followers` and per-member zxids are made from).
    pub replicated: BTreeMap<u64, i64>,
    /// On the leader: for every other member that has answered since this member became
    /// leader, how long ago its last acknowledgement (heartbeat or entries) arrived. A member
    /// whose link is down stops answering, so this is how the leader tells a live, synced
    /// follower from one that merely matched the log before it died.
    pub heard: BTreeMap<u64, Duration>,
}

/// The voter other than the leader whose log matches furthest (ties: the lowest id, so the
/// choice is predictable).
pub(super) fn successor(status: &Status) -> Option<u64> {
    status
        .members
        .voters()
        .into_iter()
        .filter(|id| *id != status.id)
        .max_by_key(|id| {
            (
                status.replicated.get(id).copied().unwrap_or(-1),
                std::cmp::Reverse(*id),
            )
        })
}

pub(super) fn status_of(m: &openraft::RaftMetrics<TypeConfig>) -> Status {
    let idx = |l: &Option<LogId>| zxid::of_index(l.as_ref().map_or(0, |l| l.index));
    Status {
        id: m.id,
        role: match m.state {
            ServerState::Leader => Role::Leader,
            ServerState::Follower => Role::Follower,
            ServerState::Candidate => Role::Candidate,
            ServerState::Learner => Role::Learner,
            ServerState::Shutdown => Role::Stopped,
        },
        leader: m.current_leader,
        term: m.current_term,
        last_logged: zxid::of_index(m.last_log_index.unwrap_or(0)),
        committed: idx(&m.local_committed),
        applied: idx(&m.last_applied),
        snapshot: idx(&m.snapshot),
        purged: idx(&m.purged),
        members: members_of(m.membership_config.membership()),
        config_version: idx(m.membership_config.log_id()),
        replicated: m
            .replication
            .iter()
            .flatten()
            .filter(|(id, _)| **id != m.id)
            .map(|(id, l)| (*id, idx(l)))
            .collect(),
        heard: m
            .heartbeat
            .iter()
            .flatten()
            .filter(|(id, _)| **id != m.id)
            .filter_map(|(id, at)| at.as_ref().map(|at| (*id, at.elapsed())))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn leader_status(replicated: &[(u64, i64)], voters: &[u64]) -> Status {
        Status {
            id: 1,
            role: Role::Leader,
            leader: Some(1),
            term: 3,
            last_logged: 10,
            committed: 10,
            applied: 10,
            snapshot: 0,
            purged: 0,
            members: Members {
                voter_sets: vec![voters.to_vec()],
                learners: vec![9],
                addrs: BTreeMap::new(),
            },
            config_version: 0,
            replicated: replicated.iter().copied().collect(),
            heard: BTreeMap::new(),
        }
    }

    #[test]
    fn the_successor_is_the_most_caught_up_voter_never_a_learner_or_itself() {
        let s = leader_status(&[(2, 7), (3, 9), (9, 10)], &[1, 2, 3]);
        assert_eq!(successor(&s), Some(3));
        let tie = leader_status(&[(2, 9), (3, 9)], &[1, 2, 3]);
        assert_eq!(successor(&tie), Some(2));
        let unknown = leader_status(&[], &[1, 4]);
        assert_eq!(successor(&unknown), Some(4));
        assert_eq!(successor(&leader_status(&[(9, 10)], &[1])), None);
    }
}
