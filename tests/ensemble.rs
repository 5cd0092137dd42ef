//! Ensembles of real `zk server` processes on loopback addresses, exercised through the
//! zookeeper-client crate: writes through any member are seen everywhere after sync, a killed
//! leader is replaced without losing acknowledged writes or sessions, SIGTERM hands leadership
//! over, observers serve reads and forward writes.

mod common;

use std::time::{Duration, Instant};

use common::ensemble::{Ensemble, client};
use zookeeper_client::{Acls, CreateMode, Error};

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

/// Reads `path` on a client connected to one member after bringing that member up to the
/// leader's commit point.
async fn synced_get(c: &zookeeper_client::Client, path: &str) -> Option<Vec<u8>> {
    c.sync(path).await.expect("sync");
    match c.get_data(path).await {
        Ok((data, _)) => Some(data),
        Err(Error::NoNode) => None,
        Err(e) => panic!("get {path}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_any_member_are_read_on_every_member_after_sync() {
    let e = Ensemble::start(31, 3, 0);
    let leader = e.leader();
    let clients = [
        client(&e.members[0].addr()).await,
        client(&e.members[1].addr()).await,
        client(&e.members[2].addr()).await,
    ];
    // One write through each member, the leader and both followers.
    for (i, c) in clients.iter().enumerate() {
        let path = format!("/from-{}", i + 1);
        c.create(&path, format!("written via {}", i + 1).as_bytes(), &persistent())
            .await
            .unwrap_or_else(|err| panic!("create through member {}: {err}", i + 1));
    }
    let mut stats = Vec::new();
    for c in &clients {
        for i in 1..=3 {
            let path = format!("/from-{i}");
            assert_eq!(
                synced_get(c, &path).await,
                Some(format!("written via {i}").into_bytes())
            );
        }
        stats.push(c.get_data("/from-1").await.unwrap().1);
    }
    // The same transaction has the same zxid on every member.
    assert!(stats.iter().all(|s| s.mzxid == stats[0].mzxid && s.czxid == stats[0].czxid));
    // A follower's write conflicts are decided like the leader's.
    let follower = (leader + 1) % 3;
    assert_eq!(
        clients[follower]
            .create("/from-1", b"again", &persistent())
            .await
            .unwrap_err(),
        Error::NodeExists
    );
    let (_, stat) = clients[follower].get_data("/from-2").await.unwrap();
    clients[follower]
        .set_data("/from-2", b"v2", Some(stat.version))
        .await
        .unwrap();
    assert_eq!(
        clients[follower]
            .set_data("/from-2", b"v3", Some(stat.version))
            .await
            .unwrap_err(),
        Error::BadVersion
    );
    assert_eq!(
        synced_get(&clients[leader], "/from-2").await,
        Some(b"v2".to_vec())
    );
    // Read-your-writes without sync on the member that took the write.
    for i in 0..20 {
        let v = format!("{i}");
        clients[follower]
            .set_data("/from-3", v.as_bytes(), None)
            .await
            .unwrap();
        assert_eq!(
            clients[follower].get_data("/from-3").await.unwrap().0,
            v.into_bytes()
        );
    }
    let modes: Vec<String> = e.members.iter().filter_map(|m| m.mode()).collect();
    assert_eq!(modes.iter().filter(|m| *m == "leader").count(), 1);
    assert_eq!(modes.iter().filter(|m| *m == "follower").count(), 2);
}
