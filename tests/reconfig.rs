//! Dynamic reconfig (`reconfig`, opcode 16, and `/zookeeper/config`) on ensembles of real
//! `zk server` processes, driven through the zookeeper-client crate's `update_ensemble` and
//! `get_config`: growing 3→5 with fresh members while writes go on, shrinking 5→3 with the
//! leader among the leaving, participant↔observer, non-incremental changes, version checks,
//! permissions, and the config everyone reads. Nets 50–59.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::ensemble::{Ensemble, client};
use zookeeper_client::{Acls, CreateMode, EnsembleUpdate, Error, EventType};

const RECONFIG: &[&str] = &[
    "reconfigEnabled=true",
    // super:test
    "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
];

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

async fn super_client(addr: &str) -> zookeeper_client::Client {
    let c = client(addr).await;
    c.auth("digest", b"super:test").await.expect("super auth");
    c
}

fn joiner(e: &Ensemble, i: usize) -> String {
    format!("server.{}={}", e.members[i].id, e.members[i].spec)
}

async fn incremental(
    c: &zookeeper_client::Client,
    joining: &[&str],
    leaving: &[&str],
    version: Option<i64>,
) -> Result<String, Error> {
    // The crate wants one iterator type for both lists.
    let joinings: Vec<&str> = joining.to_vec();
    let leavings: Vec<&str> = leaving.to_vec();
    c.update_ensemble(
        EnsembleUpdate::Incremental {
            joinings: joinings.iter().copied(),
            leavings: leavings.iter().copied(),
        },
        version,
    )
    .await
    .map(|(data, _)| String::from_utf8(data).expect("utf-8 config"))
}

/// `server.N=` lines of a config text with their role, e.g. `(4, "participant")`.
fn roles(config: &str) -> Vec<(u64, String)> {
    config
        .lines()
        .filter_map(|l| {
            let (key, value) = l.split_once('=')?;
            let id = key.strip_prefix("server.")?.parse().ok()?;
            let role = value.split(';').next()?.rsplit(':').next()?.to_string();
            Some((id, role))
        })
        .collect()
}

fn version_of(config: &str) -> i64 {
    let v = config
        .lines()
        .find_map(|l| l.strip_prefix("version="))
        .expect("a version line");
    i64::from_str_radix(v, 16).expect("hex version")
}

/// The config a member shows after catching up with the leader.
async fn synced_config(addr: &str) -> (String, zookeeper_client::Stat) {
    let c = client(addr).await;
    c.sync("/").await.expect("sync");
    let (data, stat) = c.get_config().await.expect("get_config");
    (String::from_utf8(data).expect("utf-8"), stat)
}

/// A reconfig sent byte by byte (the zookeeper-client crate closes its session on error codes
/// it does not know, such as NewConfigNoQuorum); returns the reply's error code.
async fn raw_reconfig(addr: &str, joining: &str, leaving: &str, as_super: bool) -> i32 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use zk::proto::frame::with_length;
    use zk::proto::jute::{Reader, Record, Writer, encode};
    use zk::proto::opcode as op;
    use zk::proto::records::{
        AuthPacket, ConnectRequest, ReconfigRequest, ReplyHeader, RequestHeader,
    };

    async fn read_frame(s: &mut tokio::net::TcpStream) -> Vec<u8> {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.expect("frame length");
        let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
        s.read_exact(&mut body).await.expect("frame body");
        body
    }
    async fn send(s: &mut tokio::net::TcpStream, xid: i32, opcode: i32, body: &[u8]) {
        let mut w = Writer::new();
        RequestHeader { xid, op: opcode }.write(&mut w);
        w.buf.extend_from_slice(body);
        s.write_all(&with_length(&w.buf)).await.expect("send");
    }
    /// Sends a request and returns its reply's error code, pinging meanwhile so the session
    /// (4 s with tickTime=200) outlives a slow reply.
    async fn request(s: &mut tokio::net::TcpStream, xid: i32, opcode: i32, body: &[u8]) -> i32 {
        send(s, xid, opcode, body).await;
        let mut ping = tokio::time::interval(Duration::from_secs(1));
        ping.tick().await;
        loop {
            let mut len = [0u8; 4];
            tokio::select! {
                r = s.read_exact(&mut len) => {
                    r.expect("frame length");
                    let mut reply = vec![0u8; i32::from_be_bytes(len) as usize];
                    s.read_exact(&mut reply).await.expect("frame body");
                    let h = ReplyHeader::read(&mut Reader::new(&reply)).expect("reply header");
                    if h.xid == xid {
                        return h.err;
                    }
                }
                _ = ping.tick() => send(s, op::PING_XID, op::PING, &[]).await,
            }
        }
    }

    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let connect = encode(&ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 10_000,
        session_id: 0,
        passwd: Some(bytes::Bytes::from_static(&[0; 16])),
    });
    s.write_all(&with_length(&connect))
        .await
        .expect("handshake");
    read_frame(&mut s).await;
    if as_super {
        let auth = encode(&AuthPacket {
            auth_type: 0,
            scheme: "digest".into(),
            auth: Some(bytes::Bytes::from_static(b"super:test")),
        });
        assert_eq!(request(&mut s, op::AUTH_XID, op::AUTH, &auth).await, 0);
    }
    let body = encode(&ReconfigRequest {
        joining_servers: joining.into(),
        leaving_servers: leaving.into(),
        new_members: String::new(),
        cur_config_id: -1,
    });
    tokio::time::timeout(
        Duration::from_secs(60),
        request(&mut s, 1, op::RECONFIG, &body),
    )
    .await
    .expect("a reconfig reply")
}

async fn eventually<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes `/w-<n>` through `addr` until told to stop; returns the acknowledged paths.
fn writer(addr: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let c = client(&addr).await;
        let mut acked = Vec::new();
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let path = format!("/w-{n}");
            if c.create(&path, b"x", &persistent()).await.is_ok() {
                acked.push(path);
            }
        }
        acked
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grow_three_to_five_with_fresh_members_while_writing() {
    let mut e = Ensemble::start_with(50, 3, 0, RECONFIG);
    let leader = e.leader();
    let follower = (leader + 1) % 3;
    let seed = client(&e.members[leader].addr()).await;
    for i in 0..50 {
        seed.create(&format!("/old-{i}"), b"old", &persistent())
            .await
            .expect("seed write");
    }
    let (before, before_stat) = synced_config(&e.members[0].addr()).await;
    assert_eq!(
        roles(&before),
        vec![
            (1, "participant".into()),
            (2, "participant".into()),
            (3, "participant".into())
        ],
        "{before}"
    );
    // A config watch on a follower.
    let watcher_client = client(&e.members[follower].addr()).await;
    let (_, _, watch) = watcher_client
        .get_and_watch_config()
        .await
        .expect("watch config");

    let four = e.add_member(false);
    let five = e.add_member(false);
    // The new members wait to be added; they must not form an ensemble of their own.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        e.members[four].mode().is_none_or(|m| m != "leader"),
        "a joining member took the lead"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let writes = writer(e.members[follower].addr(), stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let admin = super_client(&e.members[follower].addr()).await;
    let (j4, j5) = (joiner(&e, four), joiner(&e, five));
    let after = incremental(&admin, &[&j4, &j5], &[], Some(before_stat.mzxid))
        .await
        .expect("reconfig 3→5");
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let acked = writes.await.expect("writer");
    assert!(!acked.is_empty(), "no write went through during the change");

    assert_eq!(
        roles(&after)
            .iter()
            .filter(|(_, r)| r == "participant")
            .count(),
        5,
        "{after}"
    );
    assert!(
        after.contains(&format!("server.4={}", e.members[four].spec)),
        "{after}"
    );
    assert!(version_of(&after) > version_of(&before));

    let ev = watch.changed().await;
    assert_eq!(ev.event_type, EventType::NodeDataChanged);
    assert_eq!(ev.path, "/zookeeper/config");

    // Every member — the new ones included — shows the same config and has all the data.
    e.wait_for_leader(Duration::from_secs(30));
    for m in &e.members {
        let (config, stat) = synced_config(&m.addr()).await;
        assert_eq!(config, after, "member {}", m.id);
        assert_eq!(stat.mzxid, version_of(&after), "member {}", m.id);
    }
    for idx in [four, five] {
        let c = client(&e.members[idx].addr()).await;
        c.sync("/").await.expect("sync");
        for i in 0..50 {
            assert_eq!(
                c.get_data(&format!("/old-{i}")).await.expect("old data").0,
                b"old"
            );
        }
        for p in &acked {
            c.get_data(p)
                .await
                .unwrap_or_else(|err| panic!("acknowledged {p} lost on member {}: {err}", idx + 1));
        }
        // The new member takes writes too.
        c.create(&format!("/via-{}", idx + 1), b"", &persistent())
            .await
            .expect("write via a new member");
    }
    // Four-letter words follow the committed membership.
    let conf =
        common::ensemble::four_letter(&e.members[four].ip, e.members[four].client_port, "conf")
            .expect("conf");
    assert!(conf.ends_with(&after), "conf:\n{conf}\nconfig:\n{after}");
    let leader = e.leader();
    let mntr = e.members[leader].mntr();
    assert!(mntr.contains("zk_quorum_size\t5"), "{mntr}");
    let l = &e.members[leader];
    eventually("4 synced followers", Duration::from_secs(10), || async {
        l.mntr().contains("zk_synced_followers\t4")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shrink_five_to_three_removing_the_leader() {
    let mut e = Ensemble::start_with(51, 5, 0, RECONFIG);
    let leader = e.leader();
    let other = (leader + 1) % 5;
    let stays: Vec<usize> = (0..5).filter(|i| *i != leader && *i != other).collect();
    let c = client(&e.members[stays[0]].addr()).await;
    for i in 0..20 {
        c.create(&format!("/k-{i}"), b"v", &persistent())
            .await
            .expect("write");
    }
    let admin = super_client(&e.members[stays[0]].addr()).await;
    let (l, o) = (
        e.members[leader].id.to_string(),
        e.members[other].id.to_string(),
    );
    let after = incremental(&admin, &[], &[&l, &o], None)
        .await
        .expect("reconfig 5→3");
    let ids: Vec<u64> = roles(&after).into_iter().map(|(id, _)| id).collect();
    let expected: Vec<u64> = stays.iter().map(|i| e.members[*i].id).collect();
    assert_eq!(ids, expected, "{after}");
    // The removed members stop serving: they exit, or have no leader and refuse clients.
    for idx in [leader, other] {
        let m = &e.members[idx];
        eventually(
            "a removed member to stop serving",
            Duration::from_secs(15),
            || async { m.mode().is_none() },
        )
        .await;
    }
    e.members[leader].kill();
    e.members[other].kill();
    let new_leader = e.wait_for_leader(Duration::from_secs(30));
    assert!(stays.contains(&new_leader));
    for i in &stays {
        let (config, _) = synced_config(&e.members[*i].addr()).await;
        assert_eq!(config, after);
        let c = client(&e.members[*i].addr()).await;
        c.sync("/").await.expect("sync");
        for k in 0..20 {
            c.get_data(&format!("/k-{k}"))
                .await
                .expect("acknowledged write");
        }
    }
    // Three voters: losing one more still leaves a quorum.
    let victim = stays
        .iter()
        .copied()
        .find(|i| *i != new_leader)
        .expect("a follower");
    e.members[victim].kill();
    let c = client(&e.members[new_leader].addr()).await;
    c.create("/after-shrink", b"", &persistent())
        .await
        .expect("write with 2 of 3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_becomes_an_observer_and_back() {
    let mut e = Ensemble::start_with(52, 3, 0, RECONFIG);
    let leader = e.leader();
    let idx = (leader + 1) % 3;
    let admin = super_client(&e.members[leader].addr()).await;
    let spec = e.members[idx].spec.clone();
    let as_observer = format!(
        "server.{}={}",
        e.members[idx].id,
        spec.replace(";", ":observer;")
    );
    let after = incremental(&admin, &[&as_observer], &[], None)
        .await
        .expect("to observer");
    assert!(
        roles(&after).contains(&(e.members[idx].id, "observer".into())),
        "{after}"
    );
    e.members[idx].observer = true;
    let m = &e.members[idx];
    eventually("observer mode", Duration::from_secs(20), || async {
        m.mode().as_deref() == Some("observer")
    })
    .await;
    // An observer forwards writes and serves reads.
    let c = client(&e.members[idx].addr()).await;
    c.create("/via-observer", b"o", &persistent())
        .await
        .expect("write via the observer");
    let as_participant = format!(
        "server.{}={}",
        e.members[idx].id,
        spec.replace(";", ":participant;")
    );
    let back = incremental(&admin, &[&as_participant], &[], Some(version_of(&after)))
        .await
        .expect("back to participant");
    assert!(
        roles(&back).iter().all(|(_, r)| r == "participant"),
        "{back}"
    );
    e.members[idx].observer = false;
    let m = &e.members[idx];
    eventually("follower mode", Duration::from_secs(20), || async {
        m.mode().as_deref() == Some("follower")
    })
    .await;
    e.wait_for_leader(Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_incremental_membership_and_version_checks() {
    let mut e = Ensemble::start_with(53, 3, 0, RECONFIG);
    let leader = e.leader();
    let admin = super_client(&e.members[leader].addr()).await;
    let (current, stat) = admin.get_config().await.expect("config");
    let current = String::from_utf8(current).expect("utf-8");
    assert_eq!(version_of(&current), stat.mzxid);
    let obs = e.add_member(true);
    let mut members: Vec<String> = e.members[..3]
        .iter()
        .map(|m| format!("server.{}={}", m.id, m.spec))
        .collect();
    members.push(joiner(&e, obs));
    let list: Vec<&str> = members.iter().map(String::as_str).collect();
    let wrong = admin
        .update_ensemble(
            EnsembleUpdate::New {
                ensemble: list.iter().copied(),
            },
            Some(stat.mzxid + 1),
        )
        .await;
    assert_eq!(wrong.unwrap_err(), Error::BadVersion);
    let (data, new_stat) = admin
        .update_ensemble(
            EnsembleUpdate::New {
                ensemble: list.iter().copied(),
            },
            Some(stat.mzxid),
        )
        .await
        .expect("non-incremental reconfig");
    let data = String::from_utf8(data).expect("utf-8");
    assert_eq!(roles(&data).last(), Some(&(4, "observer".into())), "{data}");
    assert_eq!(new_stat.mzxid, version_of(&data));
    let m = &e.members[obs];
    eventually(
        "the added observer serves",
        Duration::from_secs(20),
        || async { m.mode().as_deref() == Some("observer") },
    )
    .await;
    // Using the old version again is refused: it is not the current one any more.
    let stale = incremental(&admin, &[], &["4"], Some(stat.mzxid)).await;
    assert_eq!(stale.unwrap_err(), Error::BadVersion);
    // Bad specifications are bad arguments and change nothing.
    let bad = incremental(&admin, &["server.9=127.0.53.9:1"], &[], None).await;
    assert!(matches!(bad, Err(Error::BadArguments(_))), "{bad:?}");
    let (still, _) = admin.get_config().await.expect("config");
    assert_eq!(String::from_utf8(still).expect("utf-8"), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_authorized_clients_reconfigure_one_at_a_time_and_a_dead_joiner_has_no_quorum() {
    let e = Ensemble::start_with(54, 3, 0, RECONFIG);
    let leader = e.leader();
    let follower = (leader + 1) % 3;
    let anonymous = client(&e.members[follower].addr()).await;
    assert_eq!(
        incremental(&anonymous, &[], &["9"], None)
            .await
            .unwrap_err(),
        Error::NoAuth
    );
    // /zookeeper/config is read-only for everyone else too.
    assert_eq!(
        anonymous
            .set_data("/zookeeper/config", b"x", None)
            .await
            .unwrap_err(),
        Error::NoAuth
    );
    let admin = super_client(&e.members[follower].addr()).await;
    let (before, _) = admin.get_config().await.expect("config");
    let same = incremental(&admin, &[], &["9"], None)
        .await
        .expect("super may reconfigure");
    assert_eq!(
        roles(&same),
        roles(&String::from_utf8(before).expect("utf-8"))
    );
    // Two participants nobody runs: a majority of the new five would not be in sync.
    let dead = [
        "server.8=127.0.54.8:2888:3888:participant;127.0.54.8:2181",
        "server.9=127.0.54.9:2888:3888:participant;127.0.54.9:2181",
    ];
    let slow = tokio::spawn({
        let (addr, joining) = (e.members[follower].addr(), dead.join(","));
        async move { raw_reconfig(&addr, &joining, "", true).await }
    });
    // While the leader still tries to reach them, another reconfig must wait its turn.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let concurrent = raw_reconfig(&e.members[leader].addr(), "", "9", true).await;
    assert_eq!(concurrent, -14, "ReconfigInProgress");
    let code = slow.await.expect("first reconfig");
    assert_eq!(code, -13, "NewConfigNoQuorum");
    // The same through the raw path without credentials: NoAuth, checked before any contact.
    assert_eq!(
        raw_reconfig(&e.members[leader].addr(), &dead.join(","), "", false).await,
        -102
    );
    let (after, _) = admin.get_config().await.expect("config");
    assert_eq!(roles(&String::from_utf8(after).expect("utf-8")).len(), 3);
    // The ensemble still works.
    admin
        .create("/still-writable", b"", &persistent())
        .await
        .expect("write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconfig_disabled_is_refused_but_the_config_is_readable() {
    let e = Ensemble::start(55, 3, 0);
    let leader = e.leader();
    let c = client(&e.members[leader].addr()).await;
    assert_eq!(
        incremental(&c, &[], &["3"], None).await.unwrap_err(),
        Error::ReconfigDisabled
    );
    let (data, stat) = c.get_config().await.expect("config");
    let data = String::from_utf8(data).expect("utf-8");
    assert_eq!(roles(&data).len(), 3, "{data}");
    assert_eq!(version_of(&data), stat.mzxid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_server_has_an_empty_config_and_no_reconfig() {
    let s = common::Server::start_with(&["reconfigEnabled=true"]);
    let c = common::client(&s).await;
    let (data, _) = c.get_config().await.expect("config");
    assert!(data.is_empty());
    assert_eq!(
        incremental(&c, &[], &["1"], None).await.unwrap_err(),
        Error::Unimplemented
    );
}
