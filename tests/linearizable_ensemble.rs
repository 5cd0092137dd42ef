//! Linearizability of versioned operations on a few znodes in a 3-member ensemble, checked on a
//! recorded history: six clients spread over the members race create/get/set/delete with
//! expected versions while the leader is SIGKILLed (twice: the first leader, then its
//! successor, each restarted afterwards). Calls cut off by a crash or a lost leader are recorded
//! as unknown; every answered call must fit one sequential order that respects real time. A
//! member's local read may be stale, so a read is `sync` followed by get, as ZooKeeper
//! applications do when they need a linearizable read.

mod common;

use std::time::{Duration, Instant};

use common::ensemble::Ensemble;
use common::history::{self, History, connect};
use zookeeper_client::{Acls, CreateMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_ops_stay_linearizable_across_leader_sigkill() {
    let mut e = Ensemble::start(37, 3, 0);
    let c = connect(&e.connect_string()).await;
    c.create(
        "/lin",
        b"",
        &CreateMode::Persistent.with_acls(Acls::anyone_all()),
    )
    .await
    .expect("create /lin");
    drop(c);

    let origin = Instant::now();
    let until = origin + Duration::from_secs(6);
    let history = History::default();
    let clients: Vec<_> = (0..6)
        .map(|id| {
            tokio::spawn(history::client_loop(
                id,
                e.connect_string(),
                origin,
                until,
                history.clone(),
                true,
            ))
        })
        .collect();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let leader = e.leader();
        e.members[leader].kill();
        tokio::time::sleep(Duration::from_millis(300)).await;
        e.members[leader].restart();
    }
    for t in clients {
        t.await.expect("client task");
    }

    history::check(&history, || {
        let logs: Vec<String> = e.members.iter().map(|m| m.log()).collect();
        format!("member logs:\n{}", logs.join("\n-----\n"))
    });
}
