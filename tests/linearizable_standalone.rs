//! Linearizability of versioned operations on a few znodes, checked on a recorded history: four
//! clients race create/get/set/delete with expected versions while the server is SIGKILLed and
//! restarted twice. Calls cut off by the crash are recorded as unknown (they may or may not have
//! taken effect); every answered call must fit one sequential order that respects real time.
//! On a single server reads are linearizable; the ensemble tests reuse this with `sync` + get.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use common::history::{self, History, connect};
use zookeeper_client::{Acls, CreateMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versioned_ops_stay_linearizable_across_sigkill() {
    let mut s = Server::start();
    let c = connect(&s.addr()).await;
    c.create(
        "/lin",
        b"",
        &CreateMode::Persistent.with_acls(Acls::anyone_all()),
    )
    .await
    .expect("create /lin");
    drop(c);

    let origin = Instant::now();
    let until = origin + Duration::from_secs(4);
    let history = History::default();
    let clients: Vec<_> = (0..4)
        .map(|id| {
            tokio::spawn(history::client_loop(
                id,
                s.addr(),
                origin,
                until,
                history.clone(),
                false,
            ))
        })
        .collect();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        s.kill();
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.restart();
    }
    for t in clients {
        t.await.expect("client task");
    }

    let unknown = history::check(&history, || format!("server log:\n{}", s.log()));
    assert!(
        unknown <= 8 * 2,
        "more unknown outcomes ({unknown}) than two crashes explain"
    );
}
