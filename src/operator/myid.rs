//! myid assignment: which ZooKeeper server id each member runs with.
//!
//! An id names a member's data, not a pod slot. ZooKeeper trusts `dataDir/myid`, so if a
//! member lost its volume and came back under its old id, the others would treat an empty
//! member as one that had acknowledged past writes — a quiet way to lose them. So:
//! - a member keeps its id while its data claim is the one the id was bound to;
//! - a claim with a new UID (the data is gone) gets a new id;
//! - ids come from a counter in status and are never handed out twice;
//! - members scaled away whose claim is retained keep their id in `retiredMembers`, so a
//!   scale-up that reattaches the volume finds the id that is written in it.
//!
//! Pure: the previous status and the observed claims in, the new assignment out.

use std::collections::BTreeMap;

use super::crd::{
    MemberRole, MemberStatus, RetiredMember, ZooKeeperEnsembleSpec, ZooKeeperEnsembleStatus,
};
use super::names::Names;

/// The ids of the wanted members and what must be remembered.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// Wanted members in ordinal order (status fields other than identity left empty).
    pub members: Vec<MemberStatus>,
    pub retired: Vec<RetiredMember>,
    pub next_myid: u64,
    /// Members that got an id they did not have before: (pod, myid, why).
    pub fresh: Vec<(String, u64, &'static str)>,
}

impl Assignment {
    /// `pod=myid` lines: the file `zk server --myid-map` reads.
    pub fn myid_map(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("{}={}\n", m.pod, m.myid))
            .collect()
    }

    /// Whether the remembered part differs from what status holds.
    pub fn differs_from(&self, status: Option<&ZooKeeperEnsembleStatus>) -> bool {
        let Some(s) = status else { return true };
        let ids = |m: &[MemberStatus]| {
            m.iter()
                .map(|m| (m.pod.clone(), m.myid, m.role, m.pvc_uid.clone()))
                .collect::<Vec<_>>()
        };
        ids(&self.members) != ids(&s.members)
            || self.retired != s.retired_members
            || Some(self.next_myid) != s.next_myid
    }
}

/// Assigns ids. `claims` maps pod name → UID of its data claim, for claims that exist.
pub fn assign(
    names: &Names,
    spec: &ZooKeeperEnsembleSpec,
    previous: Option<&ZooKeeperEnsembleStatus>,
    claims: &BTreeMap<String, String>,
) -> Assignment {
    let mut known: BTreeMap<String, (u64, Option<String>)> = BTreeMap::new();
    let mut highest = 0;
    if let Some(p) = previous {
        for m in &p.members {
            known.insert(m.pod.clone(), (m.myid, m.pvc_uid.clone()));
            highest = highest.max(m.myid);
        }
        for r in &p.retired_members {
            known
                .entry(r.pod.clone())
                .or_insert((r.myid, r.pvc_uid.clone()));
            highest = highest.max(r.myid);
        }
    }
    let mut next = previous
        .and_then(|p| p.next_myid)
        .unwrap_or(1)
        .max(highest + 1);
    let mut members = Vec::new();
    let mut fresh = Vec::new();
    for ordinal in 0..spec.members() {
        let pod = names.pod(ordinal);
        let role = if ordinal < spec.voters() {
            MemberRole::Participant
        } else {
            MemberRole::Observer
        };
        let claim = claims.get(&pod).cloned();
        let kept = match known.remove(&pod) {
            Some((id, Some(bound))) => match &claim {
                Some(c) if *c == bound => Ok((id, Some(bound))),
                Some(_) => Err("its data volume was replaced"),
                None => Err("its data volume was deleted"),
            },
            Some((id, None)) => Ok((id, claim.clone())),
            None => Err("it is new"),
        };
        let (myid, pvc_uid) = match kept {
            Ok(k) => k,
            Err(why) => {
                let id = next;
                next += 1;
                fresh.push((pod.clone(), id, why));
                (id, claim)
            }
        };
        members.push(MemberStatus {
            pod,
            myid,
            role,
            pvc_uid,
            state: None,
            zxid: None,
            synced_followers: None,
            in_sync: false,
            ready: false,
            config_hash: None,
        });
    }
    // What is left is not wanted any more: remember it while its volume exists unchanged.
    let retired = known
        .into_iter()
        .filter_map(|(pod, (myid, bound))| {
            let claim = claims.get(&pod)?;
            match &bound {
                Some(b) if b != claim => None,
                _ => Some(RetiredMember {
                    pod,
                    myid,
                    pvc_uid: Some(claim.clone()),
                }),
            }
        })
        .collect();
    Assignment {
        members,
        retired,
        next_myid: next,
        fresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn names() -> Names {
        Names {
            ensemble: "zk".into(),
            namespace: "ns".into(),
            cluster_domain: "cluster.local".into(),
        }
    }

    fn spec(replicas: i32, observers: i32) -> ZooKeeperEnsembleSpec {
        let mut s: ZooKeeperEnsembleSpec = serde_json::from_value(serde_json::json!({})).unwrap();
        s.replicas = replicas;
        s.observers = observers;
        s
    }

    fn status_of(a: &Assignment) -> ZooKeeperEnsembleStatus {
        ZooKeeperEnsembleStatus {
            members: a.members.clone(),
            retired_members: a.retired.clone(),
            next_myid: Some(a.next_myid),
            ..Default::default()
        }
    }

    #[test]
    fn first_assignment_numbers_voters_then_observers_from_one() {
        let a = assign(&names(), &spec(3, 1), None, &BTreeMap::new());
        let ids: Vec<_> = a
            .members
            .iter()
            .map(|m| (m.pod.as_str(), m.myid, m.role))
            .collect();
        assert_eq!(
            ids,
            [
                ("zk-0", 1, MemberRole::Participant),
                ("zk-1", 2, MemberRole::Participant),
                ("zk-2", 3, MemberRole::Participant),
                ("zk-3", 4, MemberRole::Observer)
            ]
        );
        assert_eq!(a.myid_map(), "zk-0=1\nzk-1=2\nzk-2=3\nzk-3=4\n");
        assert_eq!(a.next_myid, 5);
    }

    #[test]
    fn a_replaced_volume_gets_a_new_id_and_the_old_one_is_not_reused() {
        let claims = BTreeMap::from([("zk-0".to_string(), "u0".to_string())]);
        let a = assign(&names(), &spec(1, 0), None, &claims);
        assert_eq!(a.members[0].myid, 1);
        let again = assign(&names(), &spec(1, 0), Some(&status_of(&a)), &claims);
        assert_eq!(again.members[0].myid, 1);
        assert!(again.fresh.is_empty());
        let replaced = BTreeMap::from([("zk-0".to_string(), "u1".to_string())]);
        let b = assign(&names(), &spec(1, 0), Some(&status_of(&again)), &replaced);
        assert_eq!(b.members[0].myid, 2);
        assert_eq!(
            b.fresh,
            [("zk-0".to_string(), 2, "its data volume was replaced")]
        );
    }

    #[test]
    fn a_retained_volume_brings_its_id_back_on_scale_up() {
        let claims: BTreeMap<_, _> = (0..3)
            .map(|i| (format!("zk-{i}"), format!("u{i}")))
            .collect();
        let three = assign(&names(), &spec(3, 0), None, &claims);
        let one = assign(&names(), &spec(1, 0), Some(&status_of(&three)), &claims);
        assert_eq!(one.members.len(), 1);
        assert_eq!(one.retired.len(), 2);
        let back = assign(&names(), &spec(3, 0), Some(&status_of(&one)), &claims);
        assert_eq!(
            back.members.iter().map(|m| m.myid).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        // Scaled down with claims deleted: the ids are gone for good.
        let only0 = BTreeMap::from([("zk-0".to_string(), "u0".to_string())]);
        let one = assign(&names(), &spec(1, 0), Some(&status_of(&back)), &only0);
        assert!(one.retired.is_empty());
        let up = assign(&names(), &spec(3, 0), Some(&status_of(&one)), &only0);
        assert_eq!(
            up.members.iter().map(|m| m.myid).collect::<Vec<_>>(),
            [1, 4, 5]
        );
    }

    proptest! {
        /// Across any history of scaling and volume churn: ids of live members and retired
        /// volumes are unique, an id once dropped never comes back, and a member keeps its id
        /// exactly while its volume is the one the id was bound to.
        #[test]
        fn ids_are_never_reused(steps in proptest::collection::vec(
            (1i32..6, 0i32..3, proptest::collection::vec(0u8..4, 8)), 1..12)
        ) {
            let n = names();
            let mut status: Option<ZooKeeperEnsembleStatus> = None;
            let mut claims: BTreeMap<String, String> = BTreeMap::new();
            let mut generation = 0u32;
            let mut ever: BTreeSet<u64> = BTreeSet::new();
            for (replicas, observers, churn) in steps {
                // churn per ordinal: 0 keep, 1 create if missing, 2 delete, 3 replace.
                for (i, c) in churn.iter().enumerate() {
                    let pod = format!("zk-{i}");
                    generation += 1;
                    match c {
                        1 => { claims.entry(pod).or_insert_with(|| format!("g{generation}")); }
                        2 => { claims.remove(&pod); }
                        3 => { claims.insert(pod, format!("g{generation}")); }
                        _ => {}
                    }
                }
                let a = assign(&n, &spec(replicas, observers), status.as_ref(), &claims);
                let mut live: Vec<u64> = a.members.iter().map(|m| m.myid).collect();
                live.extend(a.retired.iter().map(|r| r.myid));
                let unique: BTreeSet<u64> = live.iter().copied().collect();
                prop_assert_eq!(unique.len(), live.len());
                prop_assert!(live.iter().all(|id| *id < a.next_myid));
                if let Some(prev) = &status {
                    let before: BTreeMap<&str, (u64, Option<&String>)> = prev.members.iter()
                        .map(|m| (m.pod.as_str(), (m.myid, m.pvc_uid.as_ref())))
                        .chain(prev.retired_members.iter().map(|r| (r.pod.as_str(), (r.myid, r.pvc_uid.as_ref()))))
                        .collect();
                    for m in &a.members {
                        match before.get(m.pod.as_str()) {
                            Some((id, Some(uid))) if claims.get(&m.pod) == Some(*uid) => prop_assert_eq!(m.myid, *id),
                            Some((id, None)) => prop_assert_eq!(m.myid, *id),
                            _ => prop_assert!(!ever.contains(&m.myid), "reused {}", m.myid),
                        }
                    }
                }
                ever.extend(live);
                status = Some(status_of(&a));
            }
        }
    }
}
