//! Members coming back to a 3-member ensemble of real `zk server` processes: one whose dataDir
//! was wiped (all but `myid`, as after a lost volume) must stay out of every quorum under its
//! old identity, and one that was only down catches up, from a snapshot when the leader has
//! discarded the log it missed, from the log otherwise. No acknowledged write is lost.
//! Loopback nets 70–79 belong to these tests.

mod common;

use std::time::{Duration, Instant};

use common::ensemble::{Ensemble, client};
use zookeeper_client::{Acls, CreateMode, Error};

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

/// Creates `/<prefix>-<i>` for i in `range`, each retried until acknowledged (a retry that
/// finds its own earlier attempt applied counts); returns the acknowledged paths.
async fn write_all(
    c: &zookeeper_client::Client,
    prefix: &str,
    range: std::ops::Range<u32>,
) -> Vec<String> {
    let mut acked = Vec::new();
    for i in range {
        let path = format!("/{prefix}-{i}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match c.create(&path, path.as_bytes(), &persistent()).await {
                Ok(_) | Err(Error::NodeExists) => break,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("create {path}: {e}, retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("create {path} never succeeded: {e}"),
            }
        }
        acked.push(path);
    }
    acked
}

/// Every path in `acked` is on the member `addr` serves, with its data, after a sync.
async fn assert_all_present(addr: &str, acked: &[String]) {
    let c = client(addr).await;
    c.sync("/").await.expect("sync");
    for p in acked {
        match c.get_data(p).await {
            Ok((data, _)) => assert_eq!(data, p.as_bytes(), "{p} on {addr}"),
            Err(e) => panic!("{p} lost on {addr}: {e}"),
        }
    }
}

/// Polls `cond` every 50 ms until it holds; panics with `what` after `timeout`.
async fn eventually(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_data_was_wiped_never_counts_toward_a_quorum() {
    let mut e = Ensemble::start(70, 3, 0);
    // The wiped member is the lowest id, the one that forms an empty ensemble, so that case
    // is covered too: it must not start a new ensemble of its own. Move leadership off it
    // first (SIGTERM hands it over).
    if e.leader() == 0 {
        assert!(e.members[0].terminate());
        e.members[0].restart();
        e.wait_for_leader(Duration::from_secs(30));
    }
    let leader = e.leader();
    assert_ne!(leader, 0);
    let other = 3 - leader; // the follower that is not member 1
    let c = client(&e.members[leader].addr()).await;
    let mut acked = write_all(&c, "before", 0..30).await;

    e.members[0].kill();
    e.members[0].wipe_data();
    e.members[0].restart();
    // It is refused under its old identity: the survivors know its former data incarnation.
    eventually(Duration::from_secs(20), "the survivors refusing it", || {
        e.members[0].log().contains("its data was lost")
            || e.members[leader].log().contains("its data was lost")
            || e.members[other].log().contains("its data was lost")
    })
    .await;
    // The ensemble keeps working with the two members that have the data.
    acked.extend(write_all(&c, "during", 0..20).await);
    assert_eq!(
        e.wait_for_leader_ignoring(&[0], Duration::from_secs(10)),
        leader
    );
    // The wiped member serves no client: it has no leader, and none of the data.
    let wiped = &e.members[0];
    assert!(
        wiped.srvr().contains("not currently serving requests"),
        "wiped member answers srvr with:\n{}",
        wiped.srvr()
    );
    assert!(wiped.zxid().unwrap_or(0) < e.members[leader].zxid().unwrap_or(0));
    // The leader counts only the intact follower as synced.
    assert_eq!(
        e.members[leader]
            .mntr_value("zk_synced_followers")
            .as_deref(),
        Some("1"),
        "{}",
        e.members[leader].mntr()
    );

    // The safety property: with the intact follower gone, the leader and the wiped member
    // are two of three members, but the wiped one must not count, so nothing is acknowledged.
    // (The probe's session is created first: creating a session needs a quorum too.)
    let probe = client(&e.members[leader].addr()).await;
    e.members[other].kill();
    let attempt = tokio::time::timeout(
        Duration::from_secs(4),
        probe.create("/without-quorum", b"", &persistent()),
    )
    .await;
    assert!(
        !matches!(attempt, Ok(Ok(_))),
        "a write was acknowledged by the leader and the wiped member: {attempt:?}"
    );
    drop(probe);

    // The intact follower returns: the ensemble has its quorum again and lost nothing.
    e.members[other].restart();
    let leader = e.wait_for_leader_ignoring(&[0], Duration::from_secs(30));
    assert_ne!(leader, 0, "the wiped member must not lead");
    let c = client(&e.members[leader].addr()).await;
    acked.extend(write_all(&c, "after", 0..10).await);
    for i in [leader, 3 - leader] {
        assert_all_present(&e.members[i].addr(), &acked).await;
    }
    // Still outside: the wiped member never got the data under its old identity.
    assert!(
        e.members[0]
            .srvr()
            .contains("not currently serving requests")
    );
}

/// Polls until the member at `i` has applied at least what the leader has.
async fn caught_up(e: &Ensemble, i: usize) {
    let leader = e.leader();
    let target = e.members[leader].zxid().expect("leader zxid");
    eventually(Duration::from_secs(30), "the member catching up", || {
        e.members[i].zxid().is_some_and(|z| z >= target)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_down_while_the_leader_snapshotted_past_it_catches_up_from_the_snapshot() {
    // A snapshot every 20 entries, and only 20 entries kept behind it: 300 writes while a
    // follower is down leave nothing of its gap in the leader's log.
    let mut e = Ensemble::start_with(71, 3, 0, &["snapCount=20"]);
    let leader = e.leader();
    let down = (leader + 1) % 3;
    let c = client(&e.members[leader].addr()).await;
    let mut acked = write_all(&c, "before", 0..10).await;
    e.members[down].kill();
    acked.extend(write_all(&c, "while-down", 0..300).await);
    e.members[down].restart();
    e.wait_for_leader(Duration::from_secs(30));
    caught_up(&e, down).await;
    assert!(
        e.members[down]
            .log()
            .contains("installed snapshot from the leader"),
        "the member did not get a snapshot:\n{}",
        e.members[down].log()
    );
    // Writes after the snapshot reach it through the log.
    acked.extend(write_all(&c, "after", 0..30).await);
    caught_up(&e, down).await;
    assert_all_present(&e.members[down].addr(), &acked).await;
    let leader = &e.members[e.leader()];
    eventually(Duration::from_secs(10), "two synced followers", || {
        leader.mntr_value("zk_synced_followers").as_deref() == Some("2")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_down_briefly_catches_up_from_the_log() {
    let mut e = Ensemble::start_with(72, 3, 0, &["snapCount=10000"]);
    let leader = e.leader();
    let down = (leader + 2) % 3;
    let c = client(&e.members[leader].addr()).await;
    let mut acked = write_all(&c, "before", 0..10).await;
    e.members[down].kill();
    acked.extend(write_all(&c, "while-down", 0..50).await);
    e.members[down].restart();
    e.wait_for_leader(Duration::from_secs(30));
    caught_up(&e, down).await;
    assert!(
        !e.members[down]
            .log()
            .contains("installed snapshot from the leader"),
        "a short gap should be sent from the log"
    );
    assert_all_present(&e.members[down].addr(), &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_member_comes_back_under_a_new_id_and_catches_up() {
    // Every zoo.cfg lists server.4 as an observer that is not running yet: the slot the
    // wiped machine takes under its new id. (Making it a voter and retiring the old id is a
    // reconfig, the last step of the documented path.)
    let mut e = Ensemble::configure(74, 3, 1, &["snapCount=20"]);
    for i in 0..3 {
        e.members[i].restart();
    }
    let leader = e.wait_for_leader(Duration::from_secs(60));
    let lost = (leader + 1) % 3;
    let c = client(&e.members[leader].addr()).await;
    let mut acked = write_all(&c, "before", 0..30).await;
    e.members[lost].kill();
    e.members[lost].wipe_data();
    acked.extend(write_all(&c, "after-loss", 0..100).await);

    // The machine comes back as member 4; the leader admits it and sends it the state.
    e.members[3].restart();
    e.wait_for_leader_ignoring(&[lost], Duration::from_secs(30));
    eventually(Duration::from_secs(30), "the new member joining", || {
        e.members[3].mode().as_deref() == Some("observer")
    })
    .await;
    caught_up(&e, 3).await;
    assert_all_present(&e.members[3].addr(), &acked).await;
    acked.extend(write_all(&c, "joined", 0..10).await);
    assert_all_present(&e.members[3].addr(), &acked).await;
}
