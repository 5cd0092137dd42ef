//! Ensembles of real `zk server` processes on loopback addresses, exercised through the
//! zookeeper-client crate: writes through any member are seen everywhere after sync, a killed
//! leader is replaced without losing acknowledged writes or sessions, SIGTERM hands leadership
//! over, observers serve reads and forward writes.

mod common;

use std::time::{Duration, Instant};

use zookeeper_client::SessionState;

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
        c.create(
            &path,
            format!("written via {}", i + 1).as_bytes(),
            &persistent(),
        )
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
    assert!(
        stats
            .iter()
            .all(|s| s.mzxid == stats[0].mzxid && s.czxid == stats[0].czxid)
    );
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

/// Creates `/w-<i>` for i in `range` through `c`, retrying each until it is acknowledged or
/// known to exist (a retry after ConnectionLoss may find its own earlier attempt applied);
/// returns the paths it knows are durable.
async fn write_all(c: &zookeeper_client::Client, range: std::ops::Range<u32>) -> Vec<String> {
    let mut acked = Vec::new();
    for i in range {
        let path = format!("/w-{i}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match c.create(&path, b"x", &persistent()).await {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_without_losing_writes_or_sessions() {
    let mut e = Ensemble::start(32, 3, 0);
    let old = e.leader();
    // A session that lives on the leader, so the kill takes its connection away.
    let mut c = client(&e.connect_string()).await;
    for _ in 0..50 {
        if e.members[old].serves_session(c.session_id().0) {
            break;
        }
        c = client(&e.connect_string()).await;
    }
    assert!(e.members[old].serves_session(c.session_id().0));
    let session = c.session_id();
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    c.create("/eph", b"mine", &eph).await.unwrap();
    let mut acked = write_all(&c, 0..30).await;

    e.members[old].kill();
    let new = e.wait_for_leader(Duration::from_secs(30));
    assert_ne!(new, old);
    // The survivors saw the dead leader's port refuse connections and did not wait out its
    // lease and an election timeout (consensus/leader_watch.rs).
    assert!(
        e.members.iter().enumerate().any(|(i, m)| i != old
            && m.log()
                .contains("the leader's quorum port refuses connections")),
        "no survivor noticed the dead leader:\n{}",
        e.members[new].log()
    );
    acked.extend(write_all(&c, 30..60).await);

    // The session survived (same id, its ephemeral still there) and every acknowledged write
    // is on every surviving member.
    assert_eq!(c.session_id(), session);
    assert_eq!(c.state(), SessionState::SyncConnected);
    assert!(
        e.members.iter().any(|m| m.serves_session(session.0)),
        "the session moved to a surviving member"
    );
    for (i, m) in e.members.iter().enumerate() {
        if i == old {
            continue;
        }
        let other = client(&m.addr()).await;
        let (_, stat) = other.get_data("/eph").await.expect("ephemeral kept");
        assert_eq!(stat.ephemeral_owner, session.0);
        for p in &acked {
            assert!(
                synced_get(&other, p).await.is_some(),
                "{p} lost on member {}",
                m.id
            );
        }
    }

    // The killed member comes back, catches up and follows.
    e.members[old].restart();
    e.wait_for_leader(Duration::from_secs(30));
    let back = client(&e.members[old].addr()).await;
    for p in &acked {
        assert!(
            synced_get(&back, p).await.is_some(),
            "{p} missing on the restarted member"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_on_the_leader_hands_leadership_over() {
    let mut e = Ensemble::start(33, 3, 0);
    let old = e.leader();
    let c = client(&e.connect_string()).await;
    let mut acked = write_all(&c, 0..10).await;
    assert!(
        e.members[old].terminate(),
        "the leader did not stop cleanly"
    );
    assert!(
        e.members[old]
            .log()
            .contains("leadership handed over before stopping"),
        "no handover: {}",
        e.members[old].log()
    );
    let new = e.wait_for_leader(Duration::from_secs(10));
    assert_ne!(new, old);
    acked.extend(write_all(&c, 10..20).await);
    let other = client(&e.members[new].addr()).await;
    for p in &acked {
        assert!(synced_get(&other, p).await.is_some(), "{p} lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_serves_reads_and_forwards_writes() {
    let e = Ensemble::start(34, 3, 1);
    let observer = &e.members[3];
    assert_eq!(observer.mode().as_deref(), Some("observer"));
    let on_observer = client(&observer.addr()).await;
    let on_first = client(&e.members[0].addr()).await;
    on_observer
        .create("/via-observer", b"o", &persistent())
        .await
        .unwrap();
    assert_eq!(
        synced_get(&on_first, "/via-observer").await,
        Some(b"o".to_vec())
    );
    on_first
        .create("/via-participant", b"p", &persistent())
        .await
        .unwrap();
    assert_eq!(
        synced_get(&on_observer, "/via-participant").await,
        Some(b"p".to_vec())
    );
    // An observer does not vote: the leader counts the two followers only (once both have
    // acknowledged the last write).
    let leader = &e.members[e.leader()];
    let deadline = Instant::now() + Duration::from_secs(10);
    while !leader.mntr().contains("zk_synced_followers\t2") {
        assert!(Instant::now() < deadline, "{}", leader.mntr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(leader.mntr().contains("zk_server_state\tleader"));
    assert!(observer.mntr().contains("zk_server_state\tobserver"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_keeps_follower_sessions_alive_and_expires_abandoned_ones() {
    let mut e = Ensemble::start(35, 3, 0);
    let leader = e.leader();
    let (f1, f2) = ((leader + 1) % 3, (leader + 2) % 3);
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    // Connected to followers only: the leader learns of their life from forwarded touches.
    let alive = client(&e.members[f1].addr()).await;
    alive.create("/alive", b"", &eph).await.unwrap();
    let doomed = client(&e.members[f2].addr()).await;
    doomed.create("/doomed", b"", &eph).await.unwrap();
    let session_timeout = Duration::from_millis(4000); // maxSessionTimeout = 20 ticks of 200 ms
    // The follower holding the doomed session dies and its client has nowhere else to go.
    e.members[f2].kill();
    tokio::time::sleep(session_timeout * 2).await;
    let on_leader = client(&e.members[leader].addr()).await;
    assert!(synced_get(&on_leader, "/alive").await.is_some());
    assert_eq!(alive.state(), SessionState::SyncConnected);
    let deadline = Instant::now() + session_timeout * 3;
    while synced_get(&on_leader, "/doomed").await.is_some() {
        assert!(
            Instant::now() < deadline,
            "the abandoned session never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(synced_get(&alive, "/doomed").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_quorum_there_are_no_writes_and_no_new_sessions() {
    let mut e = Ensemble::start(36, 3, 0);
    let leader = e.leader();
    let survivor = (leader + 1) % 3;
    let c = client(&e.members[survivor].addr()).await;
    c.create("/before", b"", &persistent()).await.unwrap();
    for i in 0..3 {
        if i != survivor {
            e.members[i].kill();
        }
    }
    // The write is refused (the client loses its connection) rather than acknowledged.
    assert!(c.create("/after", b"", &persistent()).await.is_err());
    let attempt = tokio::time::timeout(
        Duration::from_secs(5),
        zookeeper_client::Client::connector()
            .with_session_timeout(Duration::from_secs(4))
            .with_connection_timeout(Duration::from_secs(1))
            .connect(&e.members[survivor].addr()),
    )
    .await;
    assert!(
        !matches!(attempt, Ok(Ok(_))),
        "a session was created without a quorum"
    );
    // Once a majority is back, the ensemble serves again and /after was never applied.
    let back = (survivor + 1) % 3;
    e.members[back].restart();
    e.wait_for_leader(Duration::from_secs(30));
    let c = client(&e.members[back].addr()).await;
    assert!(synced_get(&c, "/before").await.is_some());
    assert_eq!(synced_get(&c, "/after").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sessions_pipelined_sync_writes_and_reads_are_answered_in_order() {
    let e = Ensemble::start(38, 3, 0);
    let follower = (e.leader() + 1) % 3;
    let c = client(&e.members[follower].addr()).await;
    c.create("/p", b"0", &persistent()).await.unwrap();
    for round in 1..=20 {
        let v = format!("{round}");
        let child = format!("/p/{round}");
        // Sent back to back without waiting: the sync completes out of log order on this
        // member, yet the write behind it and the read behind that must still see everything
        // before them, and the replies come in request order.
        let (synced, set, got, created) = futures::join!(
            c.sync("/p"),
            c.set_data("/p", v.as_bytes(), Some(round - 1)),
            c.get_data("/p"),
            c.create(&child, b"", &persistent()),
        );
        synced.unwrap_or_else(|err| panic!("round {round}: {err}\n{}", e.members[follower].log()));
        assert_eq!(set.unwrap().version, round);
        assert_eq!(got.unwrap().0, v.into_bytes());
        created.unwrap();
    }
    let on_leader = client(&e.members[e.leader()].addr()).await;
    c.sync("/p").await.unwrap();
    assert_eq!(
        c.list_children("/p").await.unwrap().len(),
        on_leader.list_children("/p").await.unwrap().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_leader_is_replaced_and_follows_once_it_thaws() {
    let mut e = Ensemble::start(39, 3, 0);
    let old = e.leader();
    let follower = (old + 1) % 3;
    let c = client(&e.members[follower].addr()).await;
    let mut acked = write_all(&c, 0..10).await;
    e.members[old].signal("STOP");
    // The frozen member still counts as running, so wait for the other two to agree.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leaders: Vec<usize> = (0..3)
            .filter(|i| *i != old && e.members[*i].mode().as_deref() == Some("leader"))
            .collect();
        if leaders.len() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no new leader while the old one is frozen"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    acked.extend(write_all(&c, 10..20).await);
    e.members[old].signal("CONT");
    // Every running member settles again, the thawed one as a follower.
    e.wait_for_leader(Duration::from_secs(30));
    assert_eq!(e.members[old].mode().as_deref(), Some("follower"));
    // Its quorum probe notices the stall and gives it a fresh window to confirm the quorum
    // (server/quorum_probe.rs), so it keeps its clients; a sync may still have to wait while
    // it learns who leads now.
    let deadline = Instant::now() + Duration::from_secs(20);
    let thawed = loop {
        let t = client(&e.members[old].addr()).await;
        match t.sync("/").await {
            Ok(()) => break t,
            Err(err) => assert!(
                Instant::now() < deadline,
                "the thawed member never served a sync: {err}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for p in &acked {
        assert!(
            synced_get(&thawed, p).await.is_some(),
            "{p} missing on the thawed member"
        );
    }
    e.members[old].kill();
}

/// Sends a bare ConnectRequest for a new session claiming to have seen `last_zxid_seen`;
/// returns the length of the answer frame, or None when the member closed the connection
/// without answering.
async fn raw_connect(addr: &str, last_zxid_seen: i64) -> Option<u32> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut body = Vec::new();
    body.extend_from_slice(&0i32.to_be_bytes()); // protocol version
    body.extend_from_slice(&last_zxid_seen.to_be_bytes());
    body.extend_from_slice(&4000i32.to_be_bytes()); // session timeout
    body.extend_from_slice(&0i64.to_be_bytes()); // new session
    body.extend_from_slice(&16i32.to_be_bytes());
    body.extend_from_slice(&[0; 16]);
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(&(body.len() as u32).to_be_bytes())
        .await
        .expect("send");
    s.write_all(&body).await.expect("send");
    let mut len = [0u8; 4];
    match tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len)).await {
        Ok(Ok(_)) => Some(u32::from_be_bytes(len)),
        Ok(Err(_)) => None,
        Err(_) => panic!("no answer and no close within 10 s"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_refuses_a_client_that_has_seen_more_than_it_has() {
    let e = Ensemble::start(40, 3, 0);
    let leader = e.leader();
    let (b, c) = ((leader + 1) % 3, (leader + 2) % 3);
    e.members[c].signal("STOP");
    let on_leader = client(&e.members[leader].addr()).await;
    let (stat, _) = on_leader
        .create("/seen", b"", &persistent())
        .await
        .expect("committed by the leader and b");
    let seen = stat.czxid;
    // c runs again but cannot learn anything: everyone else is frozen.
    e.members[leader].signal("STOP");
    e.members[b].signal("STOP");
    e.members[c].signal("CONT");
    assert_eq!(raw_connect(&e.members[c].addr(), seen).await, None);
    assert!(
        e.members[c]
            .log()
            .contains("refusing a client that is ahead of this server")
    );
    e.members[leader].signal("CONT");
    e.members[b].signal("CONT");
    e.wait_for_leader(Duration::from_secs(30));
    let on_c = client(&e.members[c].addr()).await;
    assert!(synced_get(&on_c, "/seen").await.is_some());
    // Caught up, c answers the same client.
    assert!(raw_connect(&e.members[c].addr(), seen).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_members_survive_two_failures_including_the_leader() {
    let mut e = Ensemble::start(42, 5, 0);
    let old = e.leader();
    let c = client(&e.connect_string()).await;
    let mut acked = write_all(&c, 0..20).await;
    let follower = (old + 1) % 5;
    e.members[old].kill();
    e.members[follower].kill();
    let new = e.wait_for_leader(Duration::from_secs(30));
    assert!(new != old && new != follower);
    acked.extend(write_all(&c, 20..40).await);
    for (i, m) in e.members.iter().enumerate() {
        if i == old || i == follower {
            continue;
        }
        let on_m = client(&m.addr()).await;
        for p in &acked {
            assert!(
                synced_get(&on_m, p).await.is_some(),
                "{p} lost on member {}",
                m.id
            );
        }
    }
}

/// Hundreds of writes in flight on one session, through the leader and through a follower:
/// they must commit in request order (a session's writes overtaking each other would cost the
/// client its connection), and every one is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_pipelining_hundreds_of_writes_keeps_its_order() {
    let e = Ensemble::start(42, 3, 0);
    let leader = e.leader();
    for (name, at) in [("leader", leader), ("follower", (leader + 1) % 3)] {
        let c = client(&e.members[at].addr()).await;
        let base = format!("/pipelined-{name}");
        c.create(&base, b"", &persistent()).await.unwrap();
        let writes = (0..600).map(|i| {
            let c = c.clone();
            let path = format!("{base}/{i:04}");
            async move {
                c.create(&path, b"v", &persistent()).await?;
                c.set_data(&path, b"w", Some(0)).await.map(|_| ())
            }
        });
        for (i, r) in futures::future::join_all(writes)
            .await
            .into_iter()
            .enumerate()
        {
            r.unwrap_or_else(|err| {
                panic!("write {i} via the {name}: {err}\n{}", e.members[at].log())
            });
        }
        assert_eq!(c.list_children(&base).await.unwrap().len(), 600);
        assert!(
            !e.members[at].log().contains("out of order"),
            "{}",
            e.members[at].log()
        );
    }
}
