//! The seam between replication and the server: committed entries leave consensus here, in log
//! order, each with its zxid, and snapshots are taken from and restored into whatever holds the
//! tree. The server core implements `Applier`; consensus never sees the tree itself.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;

use crate::tree::Txn;

/// The ensemble's membership as of some zxid: member id to quorum address (`host:port`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Participants (ZooKeeper) = voters (Raft). During a change both the old and the new set
    /// must agree (joint consensus), so there may be two.
    pub voter_sets: Vec<Vec<u64>>,
    /// Observers (ZooKeeper) = learners (Raft).
    pub learners: Vec<u64>,
    pub addrs: BTreeMap<u64, String>,
}

impl Members {
    /// Every voter of every set, once.
    pub fn voters(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.voter_sets.iter().flatten().copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    pub fn is_joint(&self) -> bool {
        self.voter_sets.len() > 1
    }
}

/// One committed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// A transaction; `txn.zxid` is already the one derived from its log position. `from` and
    /// `tag` are what the proposing member passed to `Member::propose`.
    Txn { txn: Txn, from: u64, tag: u64 },
    /// The membership changed at this zxid (what `/zookeeper/config` will show).
    Members { zxid: i64, members: Members },
}

impl Committed {
    pub fn zxid(&self) -> i64 {
        match self {
            Committed::Txn { txn, .. } => txn.zxid,
            Committed::Members { zxid, .. } => *zxid,
        }
    }
}

/// Implemented by whatever owns the replicated tree (the server core, or a test double).
/// Calls arrive one at a time, never concurrently.
pub trait Applier: Send + Sync + 'static {
    /// Applies committed items in order. Returning an error stops this member's replication:
    /// skipping an entry would make its tree diverge from the others.
    fn apply(&mut self, batch: Vec<Committed>) -> impl Future<Output = io::Result<()>> + Send;

    /// An image of the state after everything applied so far (`DataTree::snapshot`).
    fn snapshot(&mut self) -> impl Future<Output = io::Result<Vec<u8>>> + Send;

    /// Replaces the whole state with an image from `snapshot` (possibly another member's).
    fn restore(&mut self, image: Vec<u8>) -> impl Future<Output = io::Result<()>> + Send;
}
