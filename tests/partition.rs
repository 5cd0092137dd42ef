//! Network partitions of real `zk server` ensembles: the kernel drops the packets between
//! members (see `common::partition` for the mechanism and why it is real), while the test's
//! clients, connecting from 127.0.0.1, still reach every member. A cut-off leader is replaced
//! and takes no writes; a cut-off follower does not stop writes; a 2|3 split with the leader on
//! the small side loses no acknowledged write; sessions on the majority side survive. Each test
//! runs in its own network namespace (root needed) on nets 60–69.

mod common;

use std::time::{Duration, Instant};

use common::ensemble::{Ensemble, client};
use common::partition::{join, run_in_private_network, split};
use zookeeper_client::{Acls, CreateMode, Error, SessionState};

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

/// Reads `path` after bringing the client's member up to the leader's commit point.
async fn synced_get(c: &zookeeper_client::Client, path: &str) -> Option<Vec<u8>> {
    c.sync(path).await.expect("sync");
    match c.get_data(path).await {
        Ok((data, _)) => Some(data),
        Err(Error::NoNode) => None,
        Err(e) => panic!("get {path}: {e}"),
    }
}

/// Creates `/w-<i>` for i in `range`, retrying each until acknowledged (or found to exist: a
/// retry after ConnectionLoss may meet its own earlier attempt); returns the acknowledged paths.
async fn write_all(c: &zookeeper_client::Client, range: std::ops::Range<u32>) -> Vec<String> {
    let mut acked = Vec::new();
    for i in range {
        let path = format!("/w-{i}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let attempt =
                tokio::time::timeout(Duration::from_secs(5), c.create(&path, b"x", &persistent()))
                    .await;
            match attempt {
                Ok(Ok(_)) | Ok(Err(Error::NodeExists)) => break,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                other => panic!("create {path} never succeeded: {other:?}"),
            }
        }
        acked.push(path);
    }
    acked
}

/// Asserts every path in `acked` is on every member, each read after a sync there.
async fn all_present(e: &Ensemble, acked: &[String]) {
    for m in &e.members {
        let c = client(&m.addr()).await;
        for p in acked {
            assert!(
                synced_get(&c, p).await.is_some(),
                "{p} missing on member {}\n{}",
                m.id,
                m.log()
            );
        }
    }
}

fn ips(e: &Ensemble, at: &[usize]) -> Vec<String> {
    at.iter().map(|i| e.members[*i].ip.clone()).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Waits until the member stops serving (its `srvr` says it is not serving).
async fn wait_not_serving(e: &Ensemble, i: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while e.members[i].mode().is_some() {
        assert!(
            Instant::now() < deadline,
            "member {} still serves without a quorum: {}",
            e.members[i].id,
            e.members[i].srvr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The mechanism itself: with a blackhole rule between two loopback addresses, new
/// connections between them fail, an established one stops delivering, other addresses are
/// unaffected, and after healing the stalled bytes arrive (TCP retransmits them).
#[test]
fn partition_cuts_established_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpSocket};
    run_in_private_network(|| async {
        let (a, b, c) = ("127.0.60.1", "127.0.60.2", "127.0.60.3");
        let listener = TcpListener::bind((b, 0)).await.unwrap();
        let to_b = listener.local_addr().unwrap();
        let dial = |from: &str| {
            let s = TcpSocket::new_v4().unwrap();
            s.bind(format!("{from}:0").parse().unwrap()).unwrap();
            s.connect(to_b)
        };
        let (out, accepted) = tokio::join!(dial(a), listener.accept());
        let mut out = out.unwrap();
        let (mut inb, _) = accepted.unwrap();

        split(&[a], &[b]);
        out.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        let stalled = tokio::time::timeout(Duration::from_secs(2), inb.read_exact(&mut buf)).await;
        assert!(stalled.is_err(), "bytes crossed an established, cut link");
        let fresh = tokio::time::timeout(Duration::from_secs(2), dial(a)).await;
        assert!(
            !matches!(fresh, Ok(Ok(_))),
            "a new connection crossed the cut"
        );
        let other = tokio::time::timeout(Duration::from_secs(2), dial(c)).await;
        assert!(
            matches!(other, Ok(Ok(_))),
            "an unrelated address was cut too"
        );
        let from_test = tokio::net::TcpStream::connect(to_b).await.unwrap();
        assert_eq!(
            from_test.local_addr().unwrap().ip().to_string(),
            "127.0.0.1"
        );

        join(&[a], &[b]);
        tokio::time::timeout(Duration::from_secs(10), inb.read_exact(&mut buf))
            .await
            .expect("retransmitted after healing")
            .unwrap();
        assert_eq!(&buf, b"ping");
    });
}

#[test]
fn an_isolated_leader_is_replaced_takes_no_writes_and_catches_up() {
    run_in_private_network(|| async {
        let e = Ensemble::start(61, 3, 0);
        let old = e.leader();
        let rest: Vec<usize> = (0..3).filter(|i| *i != old).collect();
        let on_old = client(&e.members[old].addr()).await;
        let majority_addrs: Vec<String> = rest.iter().map(|i| e.members[*i].addr()).collect();
        let on_majority = client(&majority_addrs.join(",")).await;
        let session = on_majority.session_id();
        let mut acked = write_all(&on_majority, 0..10).await;

        split(&refs(&ips(&e, &[old])), &refs(&ips(&e, &rest)));
        // A write through the cut-off leader never succeeds: it cannot reach a quorum, and the
        // leader drops its clients once it notices.
        let doomed = tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_secs(15),
                on_old.create("/via-old-leader", b"", &persistent()),
            )
            .await
        });
        let new = e.wait_for_leader_among(&rest, Duration::from_secs(30));
        assert_ne!(new, old);
        acked.extend(write_all(&on_majority, 10..30).await);
        wait_not_serving(&e, old).await;
        let outcome = doomed.await.unwrap();
        assert!(
            !matches!(outcome, Ok(Ok(_))),
            "the cut-off leader acknowledged a write: {outcome:?}"
        );

        join(&refs(&ips(&e, &[old])), &refs(&ips(&e, &rest)));
        e.wait_for_leader(Duration::from_secs(30));
        assert_ne!(e.members[old].mode().as_deref(), Some("leader"));
        all_present(&e, &acked).await;
        let back = client(&e.members[old].addr()).await;
        assert_eq!(synced_get(&back, "/via-old-leader").await, None);
        assert_eq!(on_majority.session_id(), session);
        assert_eq!(on_majority.state(), SessionState::SyncConnected);
    });
}

#[test]
fn an_isolated_follower_does_not_stop_writes() {
    run_in_private_network(|| async {
        let e = Ensemble::start(62, 3, 0);
        let leader = e.leader();
        let cut_off = (leader + 1) % 3;
        let rest: Vec<usize> = (0..3).filter(|i| *i != cut_off).collect();
        let on_leader = client(&e.members[leader].addr()).await;
        let session = on_leader.session_id();
        let mut acked = write_all(&on_leader, 0..10).await;

        split(&refs(&ips(&e, &[cut_off])), &refs(&ips(&e, &rest)));
        acked.extend(write_all(&on_leader, 10..40).await);
        assert_eq!(
            e.wait_for_leader_among(&rest, Duration::from_secs(10)),
            leader
        );
        wait_not_serving(&e, cut_off).await;
        acked.extend(write_all(&on_leader, 40..50).await);

        join(&refs(&ips(&e, &[cut_off])), &refs(&ips(&e, &rest)));
        e.wait_for_leader(Duration::from_secs(30));
        all_present(&e, &acked).await;
        assert_eq!(on_leader.session_id(), session);
        assert_eq!(on_leader.state(), SessionState::SyncConnected);
    });
}

#[test]
fn five_members_split_two_three_with_the_leader_in_the_minority_lose_no_write() {
    run_in_private_network(|| async {
        let e = Ensemble::start(63, 5, 0);
        let leader = e.leader();
        let minority = vec![leader, (leader + 1) % 5];
        let majority: Vec<usize> = (0..5).filter(|i| !minority.contains(i)).collect();
        let majority_addrs: Vec<String> = majority.iter().map(|i| e.members[*i].addr()).collect();
        let on_majority = client(&majority_addrs.join(",")).await;
        let session = on_majority.session_id();
        let on_minority = client(&e.members[minority[1]].addr()).await;
        let mut acked = write_all(&on_majority, 0..20).await;

        split(&refs(&ips(&e, &minority)), &refs(&ips(&e, &majority)));
        // The minority's clients get no write through, however long they try.
        let doomed = tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_secs(15),
                on_minority.create("/via-minority", b"", &persistent()),
            )
            .await
        });
        let new = e.wait_for_leader_among(&majority, Duration::from_secs(30));
        assert!(majority.contains(&new));
        acked.extend(write_all(&on_majority, 20..60).await);
        for i in &minority {
            wait_not_serving(&e, *i).await;
        }
        let outcome = doomed.await.unwrap();
        assert!(
            !matches!(outcome, Ok(Ok(_))),
            "the minority acknowledged a write: {outcome:?}"
        );

        join(&refs(&ips(&e, &minority)), &refs(&ips(&e, &majority)));
        e.wait_for_leader(Duration::from_secs(30));
        eprintln!("{} acknowledged writes", acked.len());
        all_present(&e, &acked).await;
        let c = client(&e.members[minority[0]].addr()).await;
        assert_eq!(synced_get(&c, "/via-minority").await, None);
        assert_eq!(on_majority.session_id(), session);
        assert_eq!(on_majority.state(), SessionState::SyncConnected);
    });
}
