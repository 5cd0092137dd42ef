//! Znode operations as the zookeeper-client crate (an independent implementation of the
//! ZooKeeper client protocol) sees them.

mod common;

use std::time::Duration;

use common::{Server, client};
use zookeeper_client::{Acls, AddWatchMode, CreateMode, Error, EventType};

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

#[tokio::test]
async fn create_get_set_delete_with_stat_fields() {
    let s = Server::start();
    let c = client(&s).await;
    let (stat, _) = c.create("/a", b"hello", &persistent()).await.unwrap();
    assert_eq!((stat.version, stat.cversion, stat.aversion, stat.data_length), (0, 0, 0, 5));
    assert_eq!(stat.czxid, stat.mzxid);
    assert_eq!(stat.ephemeral_owner, 0);
    let (data, got) = c.get_data("/a").await.unwrap();
    assert_eq!(data, b"hello");
    assert_eq!(got, stat);
    let stat2 = c.set_data("/a", b"bye", Some(0)).await.unwrap();
    assert_eq!(stat2.version, 1);
    assert!(stat2.mzxid > stat.mzxid);
    assert_eq!(stat2.ctime, stat.ctime);
    assert!(matches!(c.set_data("/a", b"x", Some(0)).await, Err(Error::BadVersion)));
    c.create("/a/b", b"", &persistent()).await.unwrap();
    let (_, parent) = c.get_data("/a").await.unwrap();
    assert_eq!((parent.num_children, parent.cversion), (1, 1));
    assert!(matches!(c.delete("/a", None).await, Err(Error::NotEmpty)));
    c.delete("/a/b", Some(0)).await.unwrap();
    let (_, parent) = c.get_data("/a").await.unwrap();
    // A delete is a child change too: cversion counts it.
    assert_eq!((parent.num_children, parent.cversion), (0, 2));
    assert!(parent.pzxid > stat2.mzxid);
    c.delete("/a", Some(1)).await.unwrap();
    assert!(matches!(c.get_data("/a").await, Err(Error::NoNode)));
    assert!(c.check_stat("/a").await.unwrap().is_none());
}

#[tokio::test]
async fn error_codes_match_zookeeper() {
    let s = Server::start();
    let c = client(&s).await;
    c.create("/e", b"", &persistent()).await.unwrap();
    assert!(matches!(c.create("/e", b"", &persistent()).await, Err(Error::NodeExists)));
    assert!(matches!(c.create("/missing/x", b"", &persistent()).await, Err(Error::NoNode)));
    assert!(matches!(c.delete("/missing", None).await, Err(Error::NoNode)));
    assert!(matches!(c.delete("/zookeeper", None).await, Err(Error::BadArguments(_))));
    let eph = CreateMode::Ephemeral.with_acls(Acls::anyone_all());
    c.create("/e/eph", b"", &eph).await.unwrap();
    assert!(matches!(c.create("/e/eph/child", b"", &persistent()).await, Err(Error::NoChildrenForEphemerals)));
    // /zookeeper/config is read-only for everyone but super.
    assert!(matches!(c.set_data("/zookeeper/config", b"x", None).await, Err(Error::NoAuth)));
}

#[tokio::test]
async fn system_nodes_are_present() {
    let s = Server::start();
    let c = client(&s).await;
    let mut root = c.list_children("/").await.unwrap();
    root.sort();
    assert_eq!(root, vec!["zookeeper"]);
    let mut zk = c.list_children("/zookeeper").await.unwrap();
    zk.sort();
    assert_eq!(zk, vec!["config", "quota"]);
    let (config, _) = c.get_config().await.unwrap();
    assert!(config.is_empty(), "standalone has no dynamic config");
    assert_eq!(c.count_descendants_number("/").await.unwrap(), 3);
}

#[tokio::test]
async fn sequential_and_ephemeral_nodes() {
    let s = Server::start();
    let c = client(&s).await;
    c.create("/q", b"", &persistent()).await.unwrap();
    let seq = CreateMode::PersistentSequential.with_acls(Acls::anyone_all());
    let (_, n0) = c.create("/q/item-", b"", &seq).await.unwrap();
    let (_, n1) = c.create("/q/item-", b"", &seq).await.unwrap();
    assert_eq!(n0.to_string(), "0000000000");
    assert_eq!(n1.to_string(), "0000000001");
    c.delete("/q/item-0000000001", None).await.unwrap();
    let (_, n2) = c.create("/q/item-", b"", &seq).await.unwrap();
    // The counter is the parent's count of creates, so it never goes back.
    assert_eq!(n2.to_string(), "0000000002");
    let eseq = CreateMode::EphemeralSequential.with_acls(Acls::anyone_all());
    let (stat, _) = c.create("/q/e-", b"", &eseq).await.unwrap();
    assert_eq!(stat.ephemeral_owner, c.session_id().0);
    let mut eph = c.list_ephemerals("/").await.unwrap();
    eph.sort();
    assert_eq!(eph, vec!["/q/e-0000000003"]);
    drop(c);
    let c2 = client(&s).await;
    // Dropping the client closes its session, which removes its ephemerals.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut kids = c2.list_children("/q").await.unwrap();
    kids.sort();
    assert_eq!(kids, vec!["item-0000000000", "item-0000000002"]);
}

#[tokio::test]
async fn containers_and_ttl_nodes_are_reaped() {
    let s = Server::start();
    let c = client(&s).await;
    let container = CreateMode::Container.with_acls(Acls::anyone_all());
    let (stat, _) = c.create("/c", b"", &container).await.unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "containers report no owner");
    c.create("/c/child", b"", &persistent()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(c.check_stat("/c").await.unwrap().is_some(), "a container with children stays");
    c.delete("/c/child", None).await.unwrap();
    let ttl = persistent().with_ttl(Duration::from_millis(300));
    c.create("/t", b"", &ttl).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let gone_c = c.check_stat("/c").await.unwrap().is_none();
        let gone_t = c.check_stat("/t").await.unwrap().is_none();
        if gone_c && gone_t {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "container or TTL node was not reaped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn multi_is_atomic_with_per_op_results() {
    let s = Server::start();
    let c = client(&s).await;
    c.create("/m", b"v0", &persistent()).await.unwrap();
    let mut w = c.new_multi_writer();
    w.add_check_version("/m", 0).unwrap();
    w.add_create("/m/a", b"", &persistent()).unwrap();
    w.add_set_data("/m", b"v1", Some(0)).unwrap();
    let results = w.commit().await.unwrap();
    assert_eq!(results.len(), 3);
    let mut w = c.new_multi_writer();
    w.add_create("/m/b", b"", &persistent()).unwrap();
    w.add_check_version("/m", 0).unwrap();
    w.add_delete("/m/a", None).unwrap();
    match w.commit().await {
        Err(zookeeper_client::MultiWriteError::OperationFailed { index, source }) => {
            assert_eq!(index, 1);
            assert!(matches!(source, Error::BadVersion));
        }
        other => panic!("expected a failed multi, got {other:?}"),
    }
    // Nothing of the failed multi happened.
    assert!(c.check_stat("/m/b").await.unwrap().is_none());
    assert!(c.check_stat("/m/a").await.unwrap().is_some());
    let mut r = c.new_multi_reader();
    r.add_get_data("/m").unwrap();
    r.add_get_children("/m").unwrap();
    r.add_get_data("/nope").unwrap();
    let results = r.commit().await.unwrap();
    assert!(matches!(&results[0], zookeeper_client::MultiReadResult::Data { data, .. } if data == b"v1"));
    assert!(matches!(&results[1], zookeeper_client::MultiReadResult::Children { children } if children == &vec!["a".to_string()]));
    assert!(matches!(&results[2], zookeeper_client::MultiReadResult::Error { err: Error::NoNode }));
}

#[tokio::test]
async fn one_shot_watches_fire_once_with_the_right_types() {
    let s = Server::start();
    let c = client(&s).await;
    let (_, exist) = c.check_and_watch_stat("/w").await.unwrap();
    c.create("/w", b"", &persistent()).await.unwrap();
    let e = exist.changed().await;
    assert_eq!((e.event_type, e.path.as_str()), (EventType::NodeCreated, "/w"));
    assert!(e.zxid > 0, "3.9 notifications carry the triggering zxid");
    let (_, _, data) = c.get_and_watch_data("/w").await.unwrap();
    let (_, children) = c.list_and_watch_children("/w").await.unwrap();
    c.set_data("/w", b"1", None).await.unwrap();
    assert_eq!(data.changed().await.event_type, EventType::NodeDataChanged);
    c.create("/w/k", b"", &persistent()).await.unwrap();
    let e = children.changed().await;
    assert_eq!((e.event_type, e.path.as_str()), (EventType::NodeChildrenChanged, "/w"));
    let (_, _, data) = c.get_and_watch_data("/w/k").await.unwrap();
    c.delete("/w/k", None).await.unwrap();
    assert_eq!(data.changed().await.event_type, EventType::NodeDeleted);
}

#[tokio::test]
async fn persistent_and_recursive_watches() {
    let s = Server::start();
    let c = client(&s).await;
    c.create("/p", b"", &persistent()).await.unwrap();
    let mut rec = c.watch("/p", AddWatchMode::PersistentRecursive).await.unwrap();
    let mut per = c.watch("/p", AddWatchMode::Persistent).await.unwrap();
    c.create("/p/a", b"", &persistent()).await.unwrap();
    c.create("/p/a/b", b"", &persistent()).await.unwrap();
    c.set_data("/p/a/b", b"x", None).await.unwrap();
    let e = rec.changed().await;
    assert_eq!((e.event_type, e.path.as_str()), (EventType::NodeCreated, "/p/a"));
    let e = rec.changed().await;
    assert_eq!((e.event_type, e.path.as_str()), (EventType::NodeCreated, "/p/a/b"));
    let e = rec.changed().await;
    assert_eq!((e.event_type, e.path.as_str()), (EventType::NodeDataChanged, "/p/a/b"));
    let e = per.changed().await;
    assert_eq!((e.event_type, e.path.as_str()), (EventType::NodeChildrenChanged, "/p"));
    c.set_data("/p", b"y", None).await.unwrap();
    let e = per.changed().await;
    assert_eq!((e.event_type, e.path.as_str()), (EventType::NodeDataChanged, "/p"));
}

#[tokio::test]
async fn sync_whoami_and_descendants() {
    let s = Server::start();
    let c = client(&s).await;
    c.create("/s", b"", &persistent()).await.unwrap();
    c.create("/s/a", b"", &persistent()).await.unwrap();
    c.create("/s/a/b", b"", &persistent()).await.unwrap();
    c.sync("/s").await.unwrap();
    assert_eq!(c.count_descendants_number("/s").await.unwrap(), 2);
    let users = c.list_auth_users().await.unwrap();
    assert!(users.iter().any(|u| u.scheme() == "ip" && u.user() == "127.0.0.1"), "{users:?}");
    c.auth("digest", b"alice:secret").await.unwrap();
    let users = c.list_auth_users().await.unwrap();
    assert!(users.iter().any(|u| u.scheme() == "digest" && u.user() == "alice"), "{users:?}");
}
