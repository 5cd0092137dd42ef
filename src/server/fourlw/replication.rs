//! How far each other member has caught up, as the leader sees it, and which of them count as
//! synced — the numbers behind `zk_learners`, `zk_synced_followers`,
//! `zk_synced_non_voting_followers` and `zk_synced_observers`, and the per-member table an
//! operator reads before it restarts a member (`/zk/replication` on the AdminServer).
//!
//! ZooKeeper counts a learner as synced while its link is alive and it acknowledges within
//! `syncLimit` ticks (`LearnerHandler.synced()`). Here the link's life is the time since the
//! member's last acknowledgement, and "caught up" is its log matching the leader's commit
//! point: a follower that died keeps its last matched zxid, so without the first test it would
//! count as synced until the next write.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};

/// One other member as the leader knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSync {
    /// Its myid.
    pub id: u64,
    /// What it is to the ensemble.
    pub kind: SyncKind,
    /// zxid up to which its log is known to match the leader's (-1: nothing known yet).
    pub matched_zxid: i64,
    /// Milliseconds since its last acknowledgement; `None` when it has not answered since
    /// this leader took over.
    pub last_ack_ms: Option<u64>,
    /// Answering within the sync window and caught up with the commit point.
    pub synced: bool,
}

/// The three kinds of learner ZooKeeper's leader tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    /// A voter.
    Follower,
    /// A follower not (yet) in the voting configuration: a participant being added, which
    /// catches up as a non-voter before it is promoted.
    NonVotingFollower,
    /// A non-voting member by configuration.
    Observer,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Follower => "follower",
            SyncKind::NonVotingFollower => "non_voting_follower",
            SyncKind::Observer => "observer",
        }
    }
}

/// The leader's view of replication, and the counts `mntr` prints from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicationView {
    /// The leader's commit point.
    pub commit_zxid: i64,
    /// Every other member, by id.
    pub members: Vec<MemberSync>,
}

/// What [`ReplicationView::of`] reads.
pub struct ReplicationInput<'a> {
    pub leader: u64,
    pub committed: i64,
    /// Voters of the current configuration.
    pub voters: &'a [u64],
    /// Non-voters of the current configuration.
    pub learners: &'a [u64],
    /// Members zoo.cfg names as observers (the other non-voters are joining participants).
    pub observers: &'a BTreeSet<u64>,
    /// Matched zxid per member.
    pub matched: &'a BTreeMap<u64, i64>,
    /// Time since the last acknowledgement per member.
    pub heard: &'a BTreeMap<u64, Duration>,
    /// How recent an acknowledgement must be (`syncLimit` × `tickTime`).
    pub window: Duration,
}

impl ReplicationView {
    pub fn of(input: &ReplicationInput<'_>) -> ReplicationView {
        let kinds = input
            .voters
            .iter()
            .map(|id| (*id, SyncKind::Follower))
            .chain(input.learners.iter().map(|id| {
                let kind = if input.observers.contains(id) {
                    SyncKind::Observer
                } else {
                    SyncKind::NonVotingFollower
                };
                (*id, kind)
            }));
        let mut members: BTreeMap<u64, MemberSync> = BTreeMap::new();
        for (id, kind) in kinds {
            if id == input.leader || members.contains_key(&id) {
                continue;
            }
            let matched_zxid = input.matched.get(&id).copied().unwrap_or(-1);
            let heard = input.heard.get(&id).copied();
            let alive = heard.is_some_and(|d| d <= input.window);
            members.insert(
                id,
                MemberSync {
                    id,
                    kind,
                    matched_zxid,
                    last_ack_ms: heard.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                    synced: alive && matched_zxid >= input.committed,
                },
            );
        }
        ReplicationView {
            commit_zxid: input.committed,
            members: members.into_values().collect(),
        }
    }

    /// `learners`: members with a live link, whatever their kind.
    pub fn learners(&self, window: Duration) -> u64 {
        self.members
            .iter()
            .filter(|m| {
                m.last_ack_ms
                    .is_some_and(|ms| u128::from(ms) <= window.as_millis())
            })
            .count() as u64
    }

    /// Synced members of one kind (`synced_followers`, `synced_non_voting_followers`,
    /// `synced_observers`).
    pub fn synced(&self, kind: SyncKind) -> u64 {
        self.members
            .iter()
            .filter(|m| m.kind == kind && m.synced)
            .count() as u64
    }
}

/// The `/zk/replication` body. On the leader: its commit point and one row per other member
/// (matched zxid, lag behind the commit point, time since its last acknowledgement, synced or
/// not). Elsewhere: who leads, so a caller knows where to ask, and no rows.
pub fn replication_json(
    server_id: u64,
    leader_id: Option<u64>,
    view: Option<&ReplicationView>,
) -> Value {
    let Some(view) = view else {
        return json!({
            "server_id": server_id,
            "leader_id": leader_id,
            "is_leader": false,
            "members": [],
        });
    };
    let members: Vec<Value> = view
        .members
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "role": m.kind.as_str(),
                "matched_zxid": m.matched_zxid,
                "lag": (m.matched_zxid >= 0)
                    .then(|| view.commit_zxid.saturating_sub(m.matched_zxid).max(0)),
                "last_ack_ms": m.last_ack_ms,
                "synced": m.synced,
            })
        })
        .collect();
    json!({
        "server_id": server_id,
        "leader_id": leader_id,
        "is_leader": true,
        "commit_zxid": view.commit_zxid,
        "members": members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(1000);

    fn view(
        matched: &[(u64, i64)],
        heard_ms: &[(u64, u64)],
        learners: &[u64],
        observers: &[u64],
    ) -> ReplicationView {
        let matched: BTreeMap<u64, i64> = matched.iter().copied().collect();
        let heard: BTreeMap<u64, Duration> = heard_ms
            .iter()
            .map(|(id, ms)| (*id, Duration::from_millis(*ms)))
            .collect();
        let observers: BTreeSet<u64> = observers.iter().copied().collect();
        ReplicationView::of(&ReplicationInput {
            leader: 1,
            committed: 100,
            voters: &[1, 2, 3],
            learners,
            observers: &observers,
            matched: &matched,
            heard: &heard,
            window: WINDOW,
        })
    }

    #[test]
    fn a_follower_is_synced_when_it_answers_and_matches_the_commit_point() {
        let v = view(&[(2, 100), (3, 100)], &[(2, 10), (3, 20)], &[], &[]);
        assert_eq!(v.synced(SyncKind::Follower), 2);
        assert_eq!(v.learners(WINDOW), 2);
        assert!(v.members.iter().all(|m| m.id != 1), "the leader is no row");
    }

    #[test]
    fn a_dead_follower_drops_out_even_without_new_writes() {
        // Member 3 matched everything before it died; its last answer is older than the window.
        let v = view(&[(2, 100), (3, 100)], &[(2, 10), (3, 5000)], &[], &[]);
        assert_eq!(v.synced(SyncKind::Follower), 1);
        assert_eq!(v.learners(WINDOW), 1);
        let dead = &v.members[1];
        assert_eq!((dead.id, dead.synced, dead.matched_zxid), (3, false, 100));
    }

    #[test]
    fn a_lagging_or_silent_follower_is_not_synced() {
        // 2 answers but is behind (catching up); 3 never answered this leader.
        let v = view(&[(2, 60)], &[(2, 10)], &[], &[]);
        assert_eq!(v.synced(SyncKind::Follower), 0);
        assert_eq!(v.learners(WINDOW), 1);
        assert_eq!(v.members[1].matched_zxid, -1);
        assert_eq!(v.members[1].last_ack_ms, None);
    }

    #[test]
    fn non_voters_are_observers_or_joining_followers_by_configuration() {
        let v = view(
            &[(2, 100), (3, 100), (4, 100), (5, 100)],
            &[(2, 1), (3, 1), (4, 1), (5, 1)],
            &[4, 5],
            &[4],
        );
        assert_eq!(v.synced(SyncKind::Follower), 2);
        assert_eq!(v.synced(SyncKind::Observer), 1);
        assert_eq!(v.synced(SyncKind::NonVotingFollower), 1);
        assert_eq!(v.learners(WINDOW), 4);
    }

    #[test]
    fn the_json_rows_carry_matched_zxid_lag_and_liveness() {
        let v = view(&[(2, 100), (3, 40)], &[(2, 10)], &[], &[]);
        let j = replication_json(1, Some(1), Some(&v));
        assert_eq!(j["is_leader"], json!(true));
        assert_eq!(j["commit_zxid"], json!(100));
        assert_eq!(
            j["members"],
            json!([
                {"id": 2, "role": "follower", "matched_zxid": 100, "lag": 0,
                 "last_ack_ms": 10, "synced": true},
                {"id": 3, "role": "follower", "matched_zxid": 40, "lag": 60,
                 "last_ack_ms": null, "synced": false},
            ])
        );
        let follower = replication_json(2, Some(1), None);
        assert_eq!(
            follower,
            json!({"server_id": 2, "leader_id": 1, "is_leader": false, "members": []})
        );
    }
}
