//! The sync state an operator reads from a running ensemble of real `zk server` processes:
//! the leader's `mntr` keys in ZooKeeper's names (`zk_learners`, `zk_synced_followers`,
//! `zk_synced_non_voting_followers`, `zk_synced_observers`, `zk_pending_syncs`), every
//! member's zxid (`srvr`), and the leader's per-member table at `/zk/replication`. A killed
//! follower drops out of the synced count without any write happening, and comes back after
//! a restart.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::ensemble::{Ensemble, Member, client};
use serde_json::Value;
use zookeeper_client::{Acls, CreateMode};

/// Polls `cond` every 20 ms until it holds; panics with `what` after `timeout`.
async fn eventually(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn replication(m: &Member) -> Value {
    serde_json::from_str(&m.admin_get("/zk/replication")).unwrap_or(Value::Null)
}

/// The `/zk/replication` row of member `id`.
fn row(table: &Value, id: u64) -> Value {
    table["members"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["id"] == id).cloned())
        .unwrap_or(Value::Null)
}

fn leader_keys(m: &Member) -> [Option<String>; 5] {
    [
        m.mntr_value("zk_learners"),
        m.mntr_value("zk_synced_followers"),
        m.mntr_value("zk_synced_non_voting_followers"),
        m.mntr_value("zk_synced_observers"),
        m.mntr_value("zk_pending_syncs"),
    ]
}

fn some(values: [&str; 5]) -> [Option<String>; 5] {
    values.map(|v| Some(v.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_reports_who_is_in_sync_and_a_killed_follower_drops_out() {
    let mut e = Ensemble::start(73, 3, 1);
    let leader = e.leader();
    let (f1, f2, observer) = ((leader + 1) % 3, (leader + 2) % 3, 3);
    let c = client(&e.members[leader].addr()).await;
    for i in 0..10 {
        c.create(
            &format!("/n-{i}"),
            b"x",
            &CreateMode::Persistent.with_acls(Acls::anyone_all()),
        )
        .await
        .expect("create");
    }

    // Everyone answers and has matched the commit point.
    let l = &e.members[leader];
    eventually(Duration::from_secs(10), "all learners synced", || {
        leader_keys(l) == some(["3", "2", "0", "1", "0"])
    })
    .await;
    // Leader-only keys are absent elsewhere, as in ZooKeeper.
    for i in [f1, f2, observer] {
        let m = &e.members[i];
        assert_eq!(m.mntr_value("zk_synced_followers"), None, "{}", m.mntr());
        assert_eq!(m.mntr_value("zk_learners"), None);
        assert_eq!(m.mntr_value("zk_pending_syncs"), None);
    }
    // Every member's zxid (srvr) reaches the leader's once the last write is applied.
    let top = l.zxid().expect("leader zxid");
    eventually(Duration::from_secs(10), "equal zxids", || {
        e.members.iter().all(|m| m.zxid() == Some(top))
    })
    .await;

    // The per-member table, on the leader only.
    let table = replication(l);
    assert_eq!(table["is_leader"], Value::Bool(true), "{table}");
    assert_eq!(table["commit_zxid"], top, "{table}");
    for (i, role) in [(f1, "follower"), (f2, "follower"), (observer, "observer")] {
        let r = row(&table, e.members[i].id);
        assert_eq!(r["role"], role, "{table}");
        assert_eq!(r["matched_zxid"], top, "{table}");
        assert_eq!(r["lag"], 0, "{table}");
        assert_eq!(r["synced"], true, "{table}");
    }
    let elsewhere = replication(&e.members[f1]);
    assert_eq!(elsewhere["is_leader"], false, "{elsewhere}");
    assert_eq!(elsewhere["leader_id"], e.members[leader].id, "{elsewhere}");

    // A follower dies and nothing is written: the leader stops hearing from it within
    // syncLimit ticks and no longer counts it.
    let dead_id = e.members[f1].id;
    e.members[f1].kill();
    let l = &e.members[leader];
    eventually(
        Duration::from_secs(10),
        "the dead follower dropping out",
        || leader_keys(l) == some(["2", "1", "0", "1", "0"]),
    )
    .await;
    let r = row(&replication(l), dead_id);
    assert_eq!(r["synced"], false, "{r}");
    assert_eq!(
        r["matched_zxid"], top,
        "it keeps its last matched zxid: {r}"
    );

    // A sync asked on the observer waits at the leader while the leader has no quorum to
    // confirm its commit point (the other follower is stopped): zk_pending_syncs counts it.
    // (Its session is made first: creating one needs a quorum.)
    let on_observer = client(&e.members[observer].addr()).await;
    e.members[f2].signal("STOP");
    // Each attempt waits at the leader for at most a leader lease and then fails, so the
    // observer's session keeps asking while the quorum is away.
    let asking = Arc::new(AtomicBool::new(true));
    let waiting = tokio::spawn({
        let asking = asking.clone();
        async move {
            while asking.load(Ordering::Relaxed) {
                if on_observer.sync("/").await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    });
    eventually(Duration::from_secs(10), "a pending sync", || {
        l.mntr_value("zk_pending_syncs").as_deref() == Some("1")
    })
    .await;
    e.members[f2].signal("CONT");
    asking.store(false, Ordering::Relaxed);
    eventually(Duration::from_secs(10), "the sync answered", || {
        l.mntr_value("zk_pending_syncs").as_deref() != Some("1")
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(10), waiting).await;

    // Restarted, it catches up and counts again.
    e.members[f1].restart();
    e.wait_for_leader(Duration::from_secs(30));
    let l = &e.members[e.leader()];
    eventually(Duration::from_secs(20), "the follower synced again", || {
        leader_keys(l) == some(["3", "2", "0", "1", "0"])
    })
    .await;
}
