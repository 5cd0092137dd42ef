//! Status derivation: (wanted members, observed pods, member reports, problems) → status.
//!
//! Pure, so the same observation always gives the same status, and the rollout/scale
//! planners of the next step can be tested against the very fields users see.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::crd::{MemberStatus, ZooKeeperEnsembleSpec, ZooKeeperEnsembleStatus};
use super::myid::Assignment;
use super::names::Names;
use super::observe::{MemberReport, ReportError};

/// A follower within this many transactions of the leader (same epoch) counts as in sync;
/// under a steady write load an exact match would almost never be observed.
pub const SYNC_LAG_TOLERANCE: i64 = 1000;

/// What the operator saw of one pod.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObservedPod {
    pub ready: bool,
    pub ip: Option<String>,
    /// The pod template's config hash the pod runs with.
    pub config_hash: Option<String>,
    pub terminating: bool,
}

/// Everything status is derived from.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    pub generation: Option<i64>,
    pub spec: &'a ZooKeeperEnsembleSpec,
    pub names: &'a Names,
    pub ids: &'a Assignment,
    pub config_hash: &'a str,
    pub pods: &'a BTreeMap<String, ObservedPod>,
    pub reports: &'a BTreeMap<String, Result<MemberReport, ReportError>>,
    /// Problems that stopped the operator from applying (invalid spec, API errors).
    pub problem: Option<Problem>,
    pub previous: Option<&'a ZooKeeperEnsembleStatus>,
    pub now: Time,
}

/// Why the operator could not do its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub reason: &'static str,
    pub message: String,
}

/// Votes needed for a quorum of `voters`.
pub fn quorum(voters: u32) -> u32 {
    voters / 2 + 1
}

fn epoch(zxid: i64) -> i64 {
    zxid >> 32
}

pub fn derive(o: &Observation) -> ZooKeeperEnsembleStatus {
    let leader = o
        .ids
        .members
        .iter()
        .find_map(|m| match o.reports.get(&m.pod) {
            Some(Ok(r)) if r.state == "leader" || r.state == "standalone" => {
                Some((m.pod.clone(), r.zxid))
            }
            _ => None,
        });
    let members: Vec<MemberStatus> = o
        .ids
        .members
        .iter()
        .map(|m| {
            let pod = o.pods.get(&m.pod);
            let report = o.reports.get(&m.pod);
            let (state, zxid) = match report {
                Some(Ok(r)) => (Some(r.state.clone()), Some(r.zxid)),
                Some(Err(_)) => (Some("unknown".to_string()), None),
                None => (None, None),
            };
            let in_sync = match (&state, zxid, &leader) {
                (Some(s), Some(_), _) if s == "leader" || s == "standalone" => true,
                (Some(s), Some(z), Some((_, lz))) if s == "follower" || s == "observer" => {
                    epoch(z) == epoch(*lz) && lz - z <= SYNC_LAG_TOLERANCE
                }
                _ => false,
            };
            MemberStatus {
                synced_followers: match report {
                    Some(Ok(r)) => r.synced_followers,
                    _ => None,
                },
                state,
                zxid: zxid.map(|z| format!("0x{z:x}")),
                in_sync,
                ready: pod.is_some_and(|p| p.ready && !p.terminating),
                config_hash: pod.and_then(|p| p.config_hash.clone()),
                ..m.clone()
            }
        })
        .collect();
    let voters = o.spec.voters();
    let wanted = o.spec.members();
    let voter_pods = members
        .iter()
        .filter(|m| m.role == super::crd::MemberRole::Participant && o.pods.contains_key(&m.pod))
        .count();
    let ready_voters = members
        .iter()
        .filter(|m| m.role == super::crd::MemberRole::Participant && m.ready)
        .count() as u32;
    let ready = members.iter().filter(|m| m.ready).count() as u32;
    let mut conditions = Vec::new();
    let mut set = |type_: &str, ok: bool, reason: &str, message: String| {
        conditions.push(condition(o, type_, ok, reason, message));
    };
    // Available: clients can use the ensemble.
    match &leader {
        Some((pod, _)) if ready_voters >= quorum(voters) => set(
            "Available",
            true,
            "QuorumServing",
            format!("{ready} of {wanted} members serving; leader {pod}"),
        ),
        Some(_) => set(
            "Available",
            false,
            "NoQuorum",
            format!(
                "{ready_voters} of {voters} voting members serving; a quorum needs {}",
                quorum(voters)
            ),
        ),
        None => set(
            "Available",
            false,
            "NoLeader",
            format!("no member reports itself leader ({ready} of {wanted} members ready)"),
        ),
    }
    // Progressing: what still differs from the spec, first cause first.
    let missing: Vec<_> = members
        .iter()
        .filter(|m| !o.pods.contains_key(&m.pod))
        .map(|m| m.pod.as_str())
        .collect();
    let unready: Vec<_> = members
        .iter()
        .filter(|m| o.pods.contains_key(&m.pod) && !m.ready)
        .map(|m| m.pod.as_str())
        .collect();
    let stale: Vec<_> = members
        .iter()
        .filter(|m| m.config_hash.as_deref().is_some_and(|h| h != o.config_hash))
        .map(|m| m.pod.as_str())
        .collect();
    if o.spec.paused {
        set(
            "Progressing",
            false,
            "Paused",
            "spec.paused is true; the operator changes nothing".to_string(),
        );
    } else if !missing.is_empty() {
        set(
            "Progressing",
            true,
            "CreatingMembers",
            format!("waiting for pods {}", missing.join(", ")),
        );
    } else if !unready.is_empty() {
        set(
            "Progressing",
            true,
            "MembersStarting",
            format!("waiting for {} to serve", unready.join(", ")),
        );
    } else if !stale.is_empty() {
        set(
            "Progressing",
            true,
            "RestartPending",
            if stale.len() == 1 {
                format!(
                    "{} runs an older configuration and needs a restart",
                    stale[0]
                )
            } else {
                format!(
                    "{} run an older configuration and need a restart",
                    stale.join(", ")
                )
            },
        );
    } else {
        set(
            "Progressing",
            false,
            "UpToDate",
            format!("{wanted} members run the current configuration"),
        );
    }
    // Degraded: something needs a human. A starting member that does not answer yet is
    // expected; one its own probe calls ready but the operator cannot read is not (a
    // network policy, an admin port taken by something else).
    let unreachable: Vec<_> = o
        .reports
        .iter()
        .filter(|(pod, _)| o.pods.get(*pod).is_some_and(|p| p.ready))
        .filter_map(|(pod, r)| r.as_ref().err().map(|e| format!("{pod}: {e}")))
        .collect();
    match &o.problem {
        Some(p) => set("Degraded", true, p.reason, p.message.clone()),
        None if !unreachable.is_empty() => set(
            "Degraded",
            true,
            "MemberUnreachable",
            unreachable.join("; "),
        ),
        None => set(
            "Degraded",
            false,
            "AsExpected",
            "no problems found".to_string(),
        ),
    }
    if voters.is_multiple_of(2) {
        set(
            "EvenVotingMembers",
            true,
            "EvenVoterCount",
            format!(
                "{voters} voting members tolerate {} failures, no more than {}; an odd count is recommended",
                voters - quorum(voters),
                voters - 1
            ),
        );
    } else {
        set(
            "EvenVotingMembers",
            false,
            "OddVoterCount",
            format!("{voters} voting members"),
        );
    }
    ZooKeeperEnsembleStatus {
        observed_generation: o.generation,
        replicas: i32::try_from(voter_pods).unwrap_or(i32::MAX),
        ready_members: i32::try_from(ready).unwrap_or(i32::MAX),
        ready: Some(format!("{ready}/{wanted}")),
        leader: leader.map(|(p, _)| p),
        selector: Some(o.names.selector_string()),
        config_hash: Some(o.config_hash.to_string()),
        members,
        retired_members: o.ids.retired.clone(),
        next_myid: Some(o.ids.next_myid),
        conditions,
    }
}

/// A condition that keeps its transition time while its status stays the same.
fn condition(o: &Observation, type_: &str, ok: bool, reason: &str, message: String) -> Condition {
    let status = if ok { "True" } else { "False" };
    let since = o
        .previous
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == type_))
        .filter(|c| c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| o.now.clone());
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message,
        observed_generation: o.generation,
        last_transition_time: since,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::myid::assign;
    use crate::operator::resources::fixture::{names, spec};
    use proptest::prelude::*;

    struct World {
        spec: ZooKeeperEnsembleSpec,
        ids: Assignment,
        pods: BTreeMap<String, ObservedPod>,
        reports: BTreeMap<String, Result<MemberReport, ReportError>>,
    }

    fn world(replicas: i32) -> World {
        let s = spec(serde_json::json!({ "replicas": replicas }));
        let ids = assign(&names(), &s, None, &BTreeMap::new());
        World {
            spec: s,
            ids,
            pods: BTreeMap::new(),
            reports: BTreeMap::new(),
        }
    }

    impl World {
        fn running(&mut self, pod: &str, state: &str, zxid: i64) {
            self.pods.insert(
                pod.into(),
                ObservedPod {
                    ready: true,
                    ip: Some("10.0.0.1".into()),
                    config_hash: Some("h1".into()),
                    terminating: false,
                },
            );
            self.reports.insert(
                pod.into(),
                Ok(MemberReport {
                    state: state.into(),
                    zxid,
                    synced_followers: (state == "leader").then_some(2),
                }),
            );
        }

        fn derive(
            &self,
            previous: Option<&ZooKeeperEnsembleStatus>,
            at: i64,
        ) -> ZooKeeperEnsembleStatus {
            let n = names();
            derive(&Observation {
                generation: Some(4),
                spec: &self.spec,
                names: &n,
                ids: &self.ids,
                config_hash: "h1",
                pods: &self.pods,
                reports: &self.reports,
                problem: None,
                previous,
                now: Time(k8s_openapi::jiff::Timestamp::from_second(at).unwrap()),
            })
        }
    }

    fn cond<'a>(s: &'a ZooKeeperEnsembleStatus, t: &str) -> &'a Condition {
        s.conditions.iter().find(|c| c.type_ == t).unwrap()
    }

    #[test]
    fn a_healthy_ensemble_reports_its_leader_and_sync() {
        let mut w = world(3);
        w.running("zk-0", "follower", 0x1_0000_0010);
        w.running("zk-1", "leader", 0x1_0000_0012);
        w.running("zk-2", "follower", 0x0_0000_0012);
        let s = w.derive(None, 0);
        assert_eq!(s.leader.as_deref(), Some("zk-1"));
        assert_eq!(s.ready.as_deref(), Some("3/3"));
        assert_eq!(s.observed_generation, Some(4));
        let sync: Vec<_> = s.members.iter().map(|m| m.in_sync).collect();
        assert_eq!(sync, [true, true, false], "zk-2 is behind by a whole epoch");
        assert_eq!(s.members[1].zxid.as_deref(), Some("0x100000012"));
        assert_eq!(s.members[1].synced_followers, Some(2));
        assert_eq!(s.members[0].synced_followers, None);
        assert_eq!(cond(&s, "Available").status, "True");
        assert_eq!(cond(&s, "Progressing").reason, "UpToDate");
        assert_eq!(cond(&s, "Degraded").status, "False");
        assert_eq!(cond(&s, "EvenVotingMembers").status, "False");
    }

    #[test]
    fn a_leader_without_a_quorum_is_not_available() {
        let mut w = world(3);
        w.running("zk-0", "leader", 5);
        let s = w.derive(None, 0);
        let a = cond(&s, "Available");
        assert_eq!(
            (a.status.as_str(), a.reason.as_str()),
            ("False", "NoQuorum")
        );
        assert_eq!(cond(&s, "Progressing").reason, "CreatingMembers");
        assert!(cond(&s, "Progressing").message.contains("zk-1, zk-2"));
    }

    #[test]
    fn unreachable_members_and_stale_config_are_reported() {
        let mut w = world(1);
        w.running("zk-0", "standalone", 3);
        w.pods.get_mut("zk-0").unwrap().config_hash = Some("old".into());
        let s = w.derive(None, 0);
        assert_eq!(s.leader.as_deref(), Some("zk-0"));
        assert_eq!(cond(&s, "Progressing").reason, "RestartPending");
        w.reports.insert(
            "zk-0".into(),
            Err(ReportError::Timeout("10.0.0.1:8080".into())),
        );
        let s = w.derive(None, 0);
        assert_eq!(s.leader, None);
        assert_eq!(s.members[0].state.as_deref(), Some("unknown"));
        assert_eq!(cond(&s, "Degraded").reason, "MemberUnreachable");
        assert_eq!(cond(&s, "Available").reason, "NoLeader");
        // Not ready yet: silence is expected while it starts.
        w.pods.get_mut("zk-0").unwrap().ready = false;
        let s = w.derive(None, 0);
        assert_eq!(cond(&s, "Degraded").status, "False");
        assert_eq!(s.members[0].state.as_deref(), Some("unknown"));
    }

    #[test]
    fn even_voter_counts_are_allowed_but_flagged() {
        let s = world(4).derive(None, 0);
        let c = cond(&s, "EvenVotingMembers");
        assert_eq!(c.status, "True");
        assert!(c.message.contains("tolerate 1 failures"), "{}", c.message);
    }

    #[test]
    fn transition_times_move_only_when_the_status_flips() {
        let mut w = world(1);
        let first = w.derive(None, 100);
        let same = w.derive(Some(&first), 200);
        assert_eq!(
            cond(&same, "Available").last_transition_time,
            cond(&first, "Available").last_transition_time
        );
        w.running("zk-0", "standalone", 1);
        let flipped = w.derive(Some(&same), 300);
        assert_eq!(cond(&flipped, "Available").status, "True");
        assert_ne!(
            cond(&flipped, "Available").last_transition_time,
            cond(&first, "Available").last_transition_time
        );
    }

    fn arb_member() -> impl Strategy<Value = Option<(bool, Option<(&'static str, i64)>)>> {
        let state = prop_oneof![
            Just("leader"),
            Just("follower"),
            Just("observer"),
            Just("standalone"),
            Just("looking")
        ];
        proptest::option::of((any::<bool>(), proptest::option::of((state, 0i64..1 << 34))))
    }

    proptest! {
        /// Whatever the pods and members say: Available only with a leader and a ready quorum
        /// of voters, one status entry per wanted member in ordinal order, and counts that
        /// add up.
        #[test]
        fn status_invariants(replicas in 1i32..6, observed in proptest::collection::vec(arb_member(), 6)) {
            let mut w = world(replicas);
            for (i, m) in observed.iter().enumerate().take(replicas as usize) {
                let pod = format!("zk-{i}");
                if let Some((ready, report)) = m {
                    w.pods.insert(pod.clone(), ObservedPod { ready: *ready, ip: Some("10.0.0.1".into()), config_hash: Some("h1".into()), terminating: false });
                    w.reports.insert(pod, match report {
                        Some((state, zxid)) => Ok(MemberReport { state: state.to_string(), zxid: *zxid, synced_followers: None }),
                        None => Err(ReportError::Timeout("x".into())),
                    });
                }
            }
            let s = w.derive(None, 0);
            let pods: Vec<_> = s.members.iter().map(|m| m.pod.clone()).collect();
            let want: Vec<_> = (0..replicas).map(|i| format!("zk-{i}")).collect();
            prop_assert_eq!(pods, want);
            let ready = s.members.iter().filter(|m| m.ready).count() as i32;
            prop_assert_eq!(s.ready_members, ready);
            prop_assert!(s.replicas <= replicas);
            if cond(&s, "Available").status == "True" {
                let leader = s.leader.clone().unwrap();
                let m = s.members.iter().find(|m| m.pod == leader).unwrap();
                prop_assert!(matches!(m.state.as_deref(), Some("leader" | "standalone")));
                prop_assert!(ready as u32 >= quorum(replicas as u32));
            }
            for m in &s.members {
                if m.in_sync {
                    prop_assert!(m.zxid.is_some());
                }
            }
            for t in ["Available", "Progressing", "Degraded", "EvenVotingMembers"] {
                prop_assert_eq!(s.conditions.iter().filter(|c| c.type_ == t).count(), 1);
            }
        }
    }

    #[test]
    fn quorum_sizes() {
        assert_eq!([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
    }
}
