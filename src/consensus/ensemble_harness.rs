//! The harness for in-process ensembles: members on their own 127.0.N.id loopback addresses with
//! temporary data directories, started, stopped, wiped and restarted by the tests in
//! cluster_tests.rs, plus the comparisons those tests make.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tempfile::TempDir;

use super::applier::Committed;
use super::error::ConsensusError;
use super::member::{Member, MemberConfig, Role, Timing};
use super::testing::TreeApplier;
use crate::tree::{DataTree, Op, Txn, TxnBody, acl};

pub(super) const WAIT: Duration = Duration::from_secs(20);

pub(super) struct Slot {
    pub addr: SocketAddr,
    pub applier: TreeApplier,
    pub member: Option<Arc<Member<TreeApplier>>>,
}

pub(super) struct Ensemble {
    root: TempDir,
    subnet: u8,
    pub snapshot_every: u64,
    pub keep_behind_snapshot: u64,
    pub fsync: bool,
    pub slots: BTreeMap<u64, Slot>,
    /// Running members the others are expected to refuse; not waited on.
    pub outcasts: BTreeSet<u64>,
}

fn free_addr(ip: Ipv4Addr) -> SocketAddr {
    let l = TcpListener::bind((ip, 0)).unwrap();
    l.local_addr().unwrap()
}

/// The session every test write belongs to (opened by `bootstrapped`).
pub(super) const SESSION: i64 = 0x5e55;

/// A create of `/n<i>` holding `i` as data.
pub(super) fn create(i: u64) -> Txn {
    Txn {
        zxid: 0,
        time: i as i64,
        body: TxnBody::Ops {
            session: SESSION,
            auth: vec![],
            multi: false,
            ops: vec![Op::Create {
                opcode: 1,
                path: format!("/n{i}"),
                data: Some(Bytes::from(i.to_string())),
                acl: acl::open_acl(),
                flags: 0,
                ttl: -1,
            }],
        },
    }
}

/// Every node's path, data and stat, in path order: equal digests mean equal trees.
pub(super) fn digest(tree: &DataTree) -> Vec<(String, Option<Vec<u8>>, String)> {
    let mut out = Vec::new();
    let mut stack = vec!["/".to_string()];
    while let Some(p) = stack.pop() {
        let Some(n) = tree.get(&p) else { continue };
        out.push((
            p.clone(),
            n.data().map(|d| d.to_vec()),
            format!("{:?}", n.stat),
        ));
        for c in n.children() {
            stack.push(if p == "/" {
                format!("/{c}")
            } else {
                format!("{p}/{c}")
            });
        }
    }
    out.sort();
    out
}

impl Ensemble {
    pub(super) fn new(subnet: u8, ids: &[u64]) -> Ensemble {
        // RUST_LOG=... shows the members' logs when a test fails.
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
        let mut e = Ensemble {
            root: tempfile::tempdir().unwrap(),
            subnet,
            snapshot_every: 10_000,
            keep_behind_snapshot: 1_000,
            fsync: false,
            slots: BTreeMap::new(),
            outcasts: BTreeSet::new(),
        };
        for id in ids {
            e.add_slot(*id);
        }
        e
    }

    pub(super) fn add_slot(&mut self, id: u64) {
        let ip = Ipv4Addr::new(127, 0, self.subnet, id as u8);
        self.slots.insert(
            id,
            Slot {
                addr: free_addr(ip),
                applier: TreeApplier::default(),
                member: None,
            },
        );
    }

    pub(super) fn config(&self, id: u64) -> MemberConfig {
        let dir = self.root.path().join(id.to_string());
        MemberConfig {
            id,
            listen: self.slots[&id].addr,
            log_dir: dir.join("log"),
            snap_dir: dir.join("snap"),
            fsync: self.fsync,
            // Slower than production: these run on a shared 2-core machine in debug builds.
            timing: Timing {
                heartbeat: Duration::from_millis(150),
                election_min: Duration::from_millis(1000),
                election_max: Duration::from_millis(2000),
            },
            snapshot_every: self.snapshot_every,
            keep_behind_snapshot: self.keep_behind_snapshot,
        }
    }

    /// Starts (or restarts) a member from its data directories with an empty tree.
    pub(super) async fn start(&mut self, id: u64) {
        let cfg = self.config(id);
        let applier = TreeApplier::default();
        let member = Member::start(cfg, applier.clone()).await.unwrap();
        let slot = self.slots.get_mut(&id).unwrap();
        slot.applier = applier;
        slot.member = Some(Arc::new(member));
    }

    /// Stops a member as a crash would look to the others: listener gone, no more messages.
    pub(super) async fn stop(&mut self, id: u64) {
        if let Some(m) = self.slots.get_mut(&id).unwrap().member.take() {
            m.shutdown().await;
        }
    }

    /// Deletes a stopped member's directory. A snapshot save that was running on a blocking
    /// thread when the member stopped still finishes (it cannot be cancelled; a real crash
    /// would end it with the process), so a removal that races it is tried again.
    pub(super) fn wipe(&self, id: u64) {
        let dir = self.root.path().join(id.to_string());
        let mut tries = 0;
        while let Err(e) = std::fs::remove_dir_all(&dir) {
            tries += 1;
            assert!(tries < 50, "cannot wipe member {id}: {e}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(super) fn member(&self, id: u64) -> &Member<TreeApplier> {
        self.slots[&id].member.as_ref().unwrap()
    }

    pub(super) fn shared(&self, id: u64) -> Arc<Member<TreeApplier>> {
        self.slots[&id].member.clone().unwrap()
    }

    pub(super) fn addrs(&self, ids: &[u64]) -> BTreeMap<u64, String> {
        ids.iter()
            .map(|id| (*id, self.slots[id].addr.to_string()))
            .collect()
    }

    pub(super) fn running(&self) -> Vec<u64> {
        self.slots
            .iter()
            .filter(|(id, s)| s.member.is_some() && !self.outcasts.contains(id))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Waits until `among` all follow one running leader that knows it leads, and returns it.
    pub(super) async fn leader(&self, among: &[u64]) -> u64 {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let seen: Vec<Option<u64>> = among
                .iter()
                .map(|id| self.member(*id).status().leader)
                .collect();
            if let Some(Some(l)) = seen.first().copied()
                && seen.iter().all(|x| *x == Some(l))
                && self.slots[&l].member.is_some()
                && self.member(l).status().role == Role::Leader
            {
                return l;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no agreed leader among {among:?}: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Proposes creates of `/n<i>` for every i in `range`, concurrently (so group commit and
    /// batching are exercised), each through whoever leads at the time. A proposal refused with
    /// NotLeader was never appended, so retrying it cannot duplicate it; an unknown outcome
    /// fails the test.
    pub(super) async fn propose_range(&self, range: std::ops::Range<u64>) -> Vec<i64> {
        let running = self.running();
        let one = |i: u64| {
            let running = running.clone();
            async move {
                loop {
                    let leader = self.leader(&running).await;
                    match self.member(leader).propose(create(i), i).await {
                        Ok(z) => return z,
                        Err(ConsensusError::NotLeader { .. }) => {
                            tokio::time::sleep(Duration::from_millis(50)).await
                        }
                        Err(e) => panic!("proposal {i}: {e}"),
                    }
                }
            }
        };
        futures::future::join_all(range.map(one)).await
    }

    /// Waits until every member in `ids` has applied up to `zxid`.
    pub(super) async fn applied_everywhere(&self, ids: &[u64], zxid: i64) {
        for id in ids {
            self.member(*id)
                .wait_until(WAIT, "apply", |s| s.applied >= zxid)
                .await
                .unwrap();
        }
    }

    pub(super) fn txns(&self, id: u64) -> Vec<Txn> {
        let s = self.slots[&id].applier.seen.lock().unwrap();
        s.items
            .iter()
            .filter_map(|c| match c {
                Committed::Txn { txn, .. } => Some(txn.clone()),
                _ => None,
            })
            .collect()
    }

    pub(super) fn digest(&self, id: u64) -> Vec<(String, Option<Vec<u8>>, String)> {
        digest(&self.slots[&id].applier.seen.lock().unwrap().tree)
    }

    pub(super) fn restores(&self, id: u64) -> usize {
        self.slots[&id].applier.seen.lock().unwrap().restores
    }

    pub(super) async fn shutdown_all(mut self) {
        for id in self.running() {
            self.stop(id).await;
        }
    }
}

pub(super) async fn bootstrapped(
    subnet: u8,
    ids: &[u64],
    tune: impl FnOnce(&mut Ensemble),
) -> (Ensemble, u64) {
    let mut e = Ensemble::new(subnet, ids);
    tune(&mut e);
    for id in ids {
        e.start(*id).await;
    }
    e.member(ids[0])
        .bootstrap(e.addrs(ids), WAIT)
        .await
        .unwrap();
    let leader = e.leader(ids).await;
    let open = Txn {
        zxid: 0,
        time: 0,
        body: TxnBody::CreateSession {
            session: SESSION,
            timeout: 30_000,
            password: Bytes::from_static(&[7; 16]),
        },
    };
    // Under a loaded machine the first leader may lose its lead, or its lease before a follower
    // has answered, before this commits (an outcome reported as unknown, or a refusal);
    // opening the same session again is harmless, so retry for as long as the test waits.
    let mut leader = leader;
    let deadline = tokio::time::Instant::now() + WAIT;
    let z = loop {
        match e.member(leader).propose(open.clone(), u64::MAX).await {
            Ok(z) => break z,
            Err(err) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%err, "opening the test session: retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                leader = e.leader(ids).await;
            }
            Err(err) => panic!("opening the test session: {err}"),
        }
    };
    e.applied_everywhere(ids, z).await;
    (e, leader)
}

/// Compares two members' trees, showing only what differs.
#[track_caller]
pub(super) fn assert_same_tree(e: &Ensemble, a: u64, b: u64) {
    let (da, db) = (e.digest(a), e.digest(b));
    if da != db {
        let only_a: Vec<_> = da.iter().filter(|x| !db.contains(x)).take(5).collect();
        let only_b: Vec<_> = db.iter().filter(|x| !da.contains(x)).take(5).collect();
        panic!(
            "trees of {a} ({} nodes) and {b} ({} nodes) differ:\n only {a}: {only_a:?}\n only {b}: {only_b:?}",
            da.len(),
            db.len()
        );
    }
}

pub(super) fn assert_strictly_increasing(zxids: &[i64]) {
    assert!(zxids.windows(2).all(|w| w[0] < w[1]), "{zxids:?}");
}
