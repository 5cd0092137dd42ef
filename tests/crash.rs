//! Crash safety: writes under load, SIGKILL at an arbitrary moment, restart; every write the
//! server acknowledged must be there afterwards. Repeated over several kill/restart rounds on
//! the same data directory, so recovery of a recovered log is exercised too.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, client};
use zookeeper_client::{Acls, CreateMode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_write() {
    let mut s = Server::start();
    let c = client(&s).await;
    let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
    c.create("/crash", b"", &opts).await.unwrap();
    drop(c);
    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    for round in 0..4 {
        let mut writers = Vec::new();
        for w in 0..4 {
            let c = client(&s).await;
            let acked = acked.clone();
            writers.push(tokio::spawn(async move {
                let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
                for k in 0.. {
                    let path = format!("/crash/r{round}-w{w}-{k}");
                    let value = path.as_bytes().to_vec();
                    match c.create(&path, &value, &opts).await {
                        Ok(_) => {
                            acked.lock().unwrap().insert(path);
                        }
                        Err(_) => break,
                    }
                }
            }));
        }
        // Let the writers get going, then kill the server mid-stream.
        tokio::time::sleep(Duration::from_millis(300 + 150 * round)).await;
        s.kill();
        for w in writers {
            let _ = tokio::time::timeout(Duration::from_secs(30), w).await;
        }
        s.restart();
        let c = client(&s).await;
        let present: BTreeSet<String> = c
            .list_children("/crash")
            .await
            .unwrap()
            .into_iter()
            .map(|n| format!("/crash/{n}"))
            .collect();
        let acked_now = acked.lock().unwrap().clone();
        let missing: Vec<&String> = acked_now.difference(&present).collect();
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged writes lost: {missing:?}"
        );
        assert!(
            acked_now.len() > round as usize,
            "round {round}: the writers made no progress"
        );
        for p in acked_now.iter().take(20) {
            let (data, _) = c.get_data(p).await.unwrap();
            assert_eq!(data, p.as_bytes());
        }
    }
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly_and_keeps_sessions() {
    let mut s = Server::start();
    // Detached: dropping this client must not close the session, we resume it below.
    let c = zookeeper_client::Client::connector()
        .with_detached()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&s.addr())
        .await
        .unwrap();
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    c.create("/eph", b"x", &eph).await.unwrap();
    let session = c.session().clone();
    // Dropped before the server goes: a client still alive would reconnect to the restarted
    // server with the same session and, as in ZooKeeper, take it over from `c2` below.
    drop(c);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        s.terminate(),
        "zk server exited non-zero on SIGTERM: {}",
        s.log()
    );
    s.restart();
    // The session outlives a server restart, as in ZooKeeper, so its ephemeral stays.
    let c2 = zookeeper_client::Client::connector()
        .with_session(session)
        .with_session_timeout(Duration::from_secs(10))
        .connect(&s.addr())
        .await
        .expect("resume the session after restart");
    let (data, _) = c2.get_data("/eph").await.unwrap();
    assert_eq!(data, b"x");
}
