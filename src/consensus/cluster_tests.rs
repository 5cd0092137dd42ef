//! Ensembles of real members in one process, talking over TCP through the quorum transport
//! (see ensemble_harness.rs). The assertions are what the server will rely on: every member
//! applies the same transactions in the same order with the same zxids, and the tree survives
//! crashes, restarts, a lost disk, observers and membership changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::applier::Committed;
use super::ensemble_harness::*;
use super::error::ConsensusError;
use super::member::{Member, Role};
use super::testing::TreeApplier;
use crate::tree::Txn;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_members_apply_the_same_txns_in_the_same_order_with_the_same_zxids() {
    let ids = [1, 2, 3];
    let (e, leader) = bootstrapped(11, &ids, |_| {}).await;
    let mut zxids = e.propose_range(0..300).await;
    zxids.sort();
    assert_strictly_increasing(&zxids);
    e.applied_everywhere(&ids, *zxids.last().unwrap()).await;

    let reference: Vec<Txn> = e.txns(leader).into_iter().skip(1).collect();
    assert_eq!(reference.len(), 300);
    // The system nodes plus every created node.
    assert_eq!(e.digest(leader).len(), 4 + 300);
    assert_strictly_increasing(&reference.iter().map(|t| t.zxid).collect::<Vec<_>>());
    assert_eq!(reference.iter().map(|t| t.zxid).collect::<Vec<_>>(), zxids);
    for id in ids {
        assert_eq!(e.txns(id)[1..], reference, "member {id}");
        assert_same_tree(&e, id, leader);
        assert_eq!(e.slots[&id].applier.last_zxid(), *zxids.last().unwrap());
    }
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crashed_leader_is_replaced_and_catches_up_from_its_data_dir_after_restart() {
    let ids = [1, 2, 3];
    // Frequent snapshots, so the restarted member recovers from a snapshot plus the log after it.
    let (mut e, old) = bootstrapped(12, &ids, |e| {
        e.snapshot_every = 20;
        e.keep_behind_snapshot = 5;
        e.fsync = true;
    })
    .await;
    let before = e.propose_range(0..50).await;
    let old_term = e.member(old).status().term;
    e.stop(old).await;

    let rest: Vec<u64> = ids.iter().copied().filter(|id| *id != old).collect();
    let new = e.leader(&rest).await;
    assert_ne!(new, old);
    assert!(e.member(new).status().term > old_term);
    let after = e.propose_range(50..100).await;
    assert!(
        after.iter().min() > before.iter().max(),
        "zxids keep growing across leaders"
    );

    e.start(old).await;
    assert_eq!(e.restores(old), 1, "restarted from its own newest snapshot");
    let last = *after.iter().max().unwrap();
    e.applied_everywhere(&ids, last).await;
    assert_eq!(e.member(old).status().role, Role::Follower);
    assert_same_tree(&e, old, new);
    // What it applied after its snapshot (from its log, or after a newer snapshot from the
    // leader) is, zxid for zxid, what the leader applied.
    let replayed = e.txns(old);
    let by_zxid: BTreeMap<i64, Txn> = e.txns(new).into_iter().map(|t| (t.zxid, t)).collect();
    // It caught up either from the log after its snapshot or through a newer one from the leader.
    assert!(!replayed.is_empty() || e.restores(old) > 1);
    assert_strictly_increasing(&replayed.iter().map(|t| t.zxid).collect::<Vec<_>>());
    for t in &replayed {
        assert_eq!(Some(t), by_zxid.get(&t.zxid));
    }
    // The leader sees every follower caught up.
    let s = e
        .member(new)
        .wait_until(WAIT, "followers in sync", |s| {
            s.replicated.len() == 2 && s.replicated.values().all(|z| *z >= last)
        })
        .await
        .unwrap();
    assert!(s.replicated.contains_key(&old));
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_members_survive_two_failures_and_a_full_restart() {
    let ids = [1, 2, 3, 4, 5];
    let (mut e, leader) = bootstrapped(13, &ids, |_| {}).await;
    e.propose_range(0..40).await;
    // Lose the leader and one follower: three of five still form a quorum.
    let follower = ids.iter().copied().find(|id| *id != leader).unwrap();
    e.stop(leader).await;
    e.stop(follower).await;
    let rest = e.running();
    let new = e.leader(&rest).await;
    let zxids = e.propose_range(40..80).await;
    e.applied_everywhere(&rest, *zxids.iter().max().unwrap())
        .await;
    for id in &rest {
        assert_eq!(e.txns(*id), e.txns(new));
    }

    // Every member down, then up again from disk: nothing committed is lost.
    for id in e.running() {
        e.stop(id).await;
    }
    for id in ids {
        e.start(id).await;
    }
    let leader = e.leader(&ids).await;
    let more = e.propose_range(80..90).await;
    e.applied_everywhere(&ids, *more.iter().max().unwrap())
        .await;
    let reference = e.txns(leader);
    assert_eq!(reference.len(), 1 + 90, "the session and every write");
    assert_eq!(e.digest(leader).len(), 4 + 90);
    for id in ids {
        assert_eq!(e.txns(id), reference, "member {id}");
        assert_same_tree(&e, id, leader);
    }
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_observer_receives_everything_but_does_not_count_toward_the_quorum() {
    let ids = [1, 2, 3];
    let (mut e, leader) = bootstrapped(14, &ids, |_| {}).await;
    e.add_slot(4);
    e.start(4).await;
    let addr = e.slots[&4].addr.to_string();
    e.member(leader).add_learner(4, addr, true).await.unwrap();
    let zxids = e.propose_range(0..30).await;
    e.applied_everywhere(&[1, 2, 3, 4], *zxids.iter().max().unwrap())
        .await;
    let s = e.member(4).status();
    assert_eq!(s.role, Role::Learner);
    assert_eq!(s.leader, Some(leader));
    assert_eq!(s.members.learners, vec![4]);
    assert_eq!(s.members.voters(), vec![1, 2, 3]);
    assert_eq!(e.txns(4), e.txns(leader));

    // With two of three voters gone, the observer cannot make a quorum with the leader.
    let others: Vec<u64> = ids.iter().copied().filter(|id| *id != leader).collect();
    for id in &others {
        e.stop(*id).await;
    }
    let stalled = tokio::time::timeout(
        Duration::from_secs(3),
        e.member(leader).propose(create(100), 100),
    )
    .await;
    assert!(
        !matches!(stalled, Ok(Ok(_))),
        "committed without a quorum: {stalled:?}"
    );
    assert!(e.txns(4).iter().all(|t| t.time != 100));
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_designated_bootstrapper_joining_a_running_ensemble_waits_to_be_added() {
    let ids = [2, 3, 4];
    let (mut e, leader) = bootstrapped(59, &ids, |_| {}).await;
    let before = e.propose_range(0..5).await;
    // Member 1 starts empty with a zoo.cfg listing 1–4: it is the lowest id, so it would form
    // the ensemble, but the others already belong to one.
    e.add_slot(1);
    e.start(1).await;
    let refused = e.member(1).bootstrap(e.addrs(&[1, 2, 3, 4]), WAIT).await;
    assert!(
        matches!(refused, Err(ConsensusError::Bootstrap(_))),
        "{refused:?}"
    );
    assert!(!e.member(1).is_initialized().await.unwrap());
    // A reconfig adds it; it then has everything.
    let addr = e.slots[&1].addr.to_string();
    e.member(leader).add_learner(1, addr, true).await.unwrap();
    e.applied_everywhere(&[1, 2, 3, 4], *before.iter().max().unwrap())
        .await;
    assert_eq!(e.txns(1), e.txns(leader));
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_whose_disk_is_lost_rejoins_under_a_new_id_through_a_snapshot() {
    let ids = [1, 2, 3];
    let (mut e, leader) = bootstrapped(15, &ids, |e| {
        e.snapshot_every = 20;
        e.keep_behind_snapshot = 5;
    })
    .await;
    let zxids = e.propose_range(0..120).await;
    let last = *zxids.iter().max().unwrap();
    e.applied_everywhere(&ids, last).await;
    e.member(leader)
        .wait_until(WAIT, "a snapshot and a purge", |s| {
            s.snapshot > 0 && s.purged > 0
        })
        .await
        .unwrap();

    // Member `lost` loses its disk. Its id is retired (openraft: ids are never reused) and a
    // new member takes its place: learner first, promoted once caught up.
    let lost = ids.iter().copied().find(|id| *id != leader).unwrap();
    e.stop(lost).await;
    e.wipe(lost);

    // Restarted under its old id with an empty disk, it would count toward quorums with entries
    // it no longer has; the others refuse it (new data incarnation) and carry on without it.
    e.start(lost).await;
    e.outcasts.insert(lost);
    let while_refused = e.propose_range(120..130).await;
    let last = *while_refused.iter().max().unwrap();
    let rest = e.running();
    e.applied_everywhere(&rest, last).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(e.txns(lost).is_empty());
    assert_eq!(e.member(lost).status().leader, None);
    e.stop(lost).await;
    e.outcasts.remove(&lost);

    e.member(leader)
        .remove_voters(BTreeSet::from([lost]), false)
        .await
        .unwrap();
    e.add_slot(9);
    e.start(9).await;
    let addr = e.slots[&9].addr.to_string();
    e.member(leader).add_learner(9, addr, true).await.unwrap();
    e.applied_everywhere(&[9], last).await;
    assert!(
        e.restores(9) >= 1,
        "the new member was caught up by a snapshot"
    );
    assert_same_tree(&e, 9, leader);

    e.member(leader).promote(BTreeSet::from([9])).await.unwrap();
    let s = e.member(leader).status();
    let mut voters: Vec<u64> = ids.iter().copied().filter(|id| *id != lost).collect();
    voters.push(9);
    voters.sort();
    assert_eq!(s.members.voters(), voters);
    assert!(!s.members.is_joint());
    assert!(s.members.learners.is_empty());

    let more = e.propose_range(130..140).await;
    e.applied_everywhere(&voters, *more.iter().max().unwrap())
        .await;
    for id in &voters {
        assert_same_tree(&e, *id, leader);
    }
    // The membership changes reached every member's applier, in order, with their zxids.
    let changes: Vec<i64> = {
        let s = e.slots[&9].applier.seen.lock().unwrap();
        s.items
            .iter()
            .filter_map(|c| match c {
                Committed::Members { zxid, .. } => Some(*zxid),
                _ => None,
            })
            .collect()
    };
    assert!(!changes.is_empty());
    assert_strictly_increasing(&changes);
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leadership_is_handed_over_on_request() {
    let ids = [1, 2, 3];
    let (e, leader) = bootstrapped(16, &ids, |_| {}).await;
    let before = e.propose_range(0..10).await;
    e.applied_everywhere(&ids, *before.iter().max().unwrap())
        .await;
    // What SIGTERM on the leader will do: pick a caught-up voter and hand over.
    let to = e.member(leader).step_down(WAIT).await.unwrap();
    assert_ne!(to, leader);
    e.member(to)
        .wait_until(WAIT, "the new leader", |s| s.role == Role::Leader)
        .await
        .unwrap();
    assert_eq!(e.leader(&ids).await, to);
    // A follower has nothing to hand over.
    assert_eq!(e.member(leader).step_down(WAIT).await, None);
    let after = e.propose_range(10..20).await;
    e.applied_everywhere(&ids, *after.iter().max().unwrap())
        .await;
    assert_eq!(e.txns(leader), e.txns(to));
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_and_garbage_on_the_quorum_port_are_turned_away() {
    use super::net::frame::{self, PROTOCOL, Request, Response};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let ids = [1, 2, 3];
    let (e, leader) = bootstrapped(17, &ids, |_| {}).await;
    let addr = e.slots[&1].addr;

    // A frame claiming 4 GiB: the connection is closed without allocating it.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0);

    // A greeting-sized stranger cannot make it reserve a full frame either.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&(frame::MAX_GREETING as u32 + 1).to_be_bytes())
        .await
        .unwrap();
    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0);

    // Undecodable bytes in a well-sized frame.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(&[0, 0, 0, 3, 0xff, 0xfe, 0xfd]).await.unwrap();
    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0);

    // A greeting meant for another member (say, a moved pod's old address) is refused.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let hello = Request::Hello {
        protocol: PROTOCOL,
        from: 2,
        to: 7,
        incarnation: 0,
    };
    frame::write(&mut s, &hello).await.unwrap();
    let reply: Response = frame::read(&mut s).await.unwrap();
    assert!(matches!(reply, Response::Refused(_)), "{reply:?}");

    // Requests before a greeting are refused too.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    frame::write(&mut s, &Request::SnapshotChunk(vec![1, 2, 3]))
        .await
        .unwrap();
    let reply: Response = frame::read(&mut s).await.unwrap();
    assert!(matches!(reply, Response::Refused(_)), "{reply:?}");

    // The ensemble carries on unharmed.
    let zxids = e.propose_range(0..10).await;
    e.applied_everywhere(&ids, *zxids.iter().max().unwrap())
        .await;
    assert_eq!(e.txns(1), e.txns(leader));
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn followers_and_observers_forward_writes_and_sync_with_the_leader() {
    let ids = [1, 2, 3];
    let (mut ens, leader) = bootstrapped(18, &ids, |_| {}).await;
    ens.add_slot(4);
    ens.start(4).await;
    let addr = ens.slots[&4].addr.to_string();
    ens.member(leader).add_learner(4, addr, true).await.unwrap();
    ens.leader(&[1, 2, 3, 4]).await;

    // Concurrent writes from every member; the non-leaders forward theirs.
    let all = [1u64, 2, 3, 4];
    let writes = all
        .iter()
        .flat_map(|m| (0..25).map(move |i| (*m, *m * 100 + i)));
    let e = &ens;
    let results = futures::future::join_all(
        writes.map(|(m, i)| async move { (m, i, e.member(m).propose(create(i), i).await) }),
    )
    .await;
    let mut zxids = Vec::new();
    for (m, i, r) in results {
        zxids.push(r.unwrap_or_else(|err| panic!("write {i} via member {m}: {err}")));
    }
    zxids.sort();
    zxids.dedup();
    assert_eq!(zxids.len(), 100, "every write got its own zxid");

    // sync on a follower and on the observer: afterwards they have applied every write.
    for m in all.iter().copied().filter(|m| *m != leader) {
        let upto = e.member(m).sync(WAIT).await.unwrap();
        assert!(upto >= *zxids.last().unwrap());
        assert!(e.member(m).status().applied >= upto);
        assert_eq!(e.txns(m).len(), 1 + 100);
        assert_same_tree(e, m, leader);
        assert_eq!(e.digest(m).len(), 4 + 100);
    }
    // Each member sees every write tagged with the member that accepted it.
    let seen = e.slots[&leader].applier.seen.lock().unwrap().items.clone();
    let mut tags: Vec<(u64, u64)> = seen
        .iter()
        .filter_map(|c| match c {
            Committed::Txn { from, tag, .. } if *tag != u64::MAX => Some((*from, *tag)),
            _ => None,
        })
        .collect();
    tags.sort();
    let want: Vec<(u64, u64)> = all
        .iter()
        .flat_map(|m| (0..25).map(move |i| (*m, *m * 100 + i)))
        .collect();
    assert_eq!(tags, want);

    // The observer leaves the ensemble (reconfig removing an observer).
    ens.member(leader)
        .remove_learners(BTreeSet::from([4]))
        .await
        .unwrap();
    let s = ens
        .member(leader)
        .wait_until(WAIT, "the observer gone", |s| s.members.learners.is_empty())
        .await
        .unwrap();
    assert_eq!(s.members.voters(), vec![1, 2, 3]);
    assert!(!s.members.addrs.contains_key(&4));
    ens.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_write_is_lost_when_the_leader_dies_under_load() {
    let ids = [1, 2, 3];
    let (mut e, leader) = bootstrapped(19, &ids, |e| e.fsync = true).await;
    let members: Vec<Arc<Member<TreeApplier>>> = ids.iter().map(|id| e.shared(*id)).collect();
    // Writers through every member (followers forward), each write a distinct path.
    let writers: Vec<_> = (0..6u64)
        .map(|w| {
            let members = members.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for n in 0..40u64 {
                    let i = w * 1000 + n;
                    let m = &members[(i % 3) as usize];
                    match m.propose(create(i), i).await {
                        Ok(z) => acked.push((i, z)),
                        // Not appended, maybe appended, or this member is down: not acknowledged.
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
                acked
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    e.stop(leader).await;
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    drop(members);
    e.start(leader).await;
    let last = acked.iter().map(|(_, z)| *z).max().unwrap();
    e.applied_everywhere(&ids, last).await;
    let new = e.leader(&ids).await;
    assert_ne!(new, 0);
    assert!(
        acked.len() > 40,
        "writes went through before and after the failover"
    );
    for id in ids {
        let by_zxid: BTreeMap<i64, Txn> = e.txns(id).into_iter().map(|t| (t.zxid, t)).collect();
        let restored = e.restores(id) > 0;
        let d = e.digest(id);
        for (i, z) in &acked {
            // Replayed members hold every acknowledged write at its zxid ...
            if !restored {
                assert_eq!(
                    by_zxid.get(z).map(|t| t.time),
                    Some(*i as i64),
                    "member {id}"
                );
            }
            // ... and every member's tree has it.
            let path = format!("/n{i}");
            assert!(
                d.iter()
                    .any(|(p, data, _)| *p == path
                        && data.as_deref() == Some(i.to_string().as_bytes())),
                "member {id} lost {path}: restored {restored}, {} nodes, {} txns, txn {:?}, first nodes {:?}",
                d.len(),
                by_zxid.len(),
                by_zxid.get(z),
                d.iter().take(4).collect::<Vec<_>>()
            );
        }
    }
    e.shutdown_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_touches_reach_the_leader_without_touching_the_log() {
    let ids = [1, 2, 3];
    let (e, leader) = bootstrapped(20, &ids, |_| {}).await;
    let mut touches = e.member(leader).touches().unwrap();
    assert!(e.member(leader).touches().is_none(), "one stream");
    let before = e.member(leader).status().last_logged;
    let follower = ids.iter().copied().find(|id| *id != leader).unwrap();
    e.member(follower).touch(vec![11, 12]).await;
    e.member(leader).touch(vec![13]).await;
    let mut got = Vec::new();
    while got.len() < 3 {
        let batch = tokio::time::timeout(WAIT, touches.recv())
            .await
            .unwrap()
            .unwrap();
        got.extend(batch);
    }
    got.sort();
    assert_eq!(got, vec![11, 12, 13]);
    assert_eq!(e.member(leader).status().last_logged, before);
    e.shutdown_all().await;
}
