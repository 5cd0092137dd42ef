//! The DataTree: every znode plus the replicated session table. It changes only through
//! `apply` (see apply.rs) so that members fed the same Txns hold the same tree.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;

use super::acl;
use super::node::{Node, NodeStat, OwnerKind, owner_kind};
use super::path;
use crate::proto::records::Acl;

pub const ROOT: &str = "/";
pub const ZOOKEEPER: &str = "/zookeeper";
pub const QUOTA: &str = "/zookeeper/quota";
pub const CONFIG: &str = "/zookeeper/config";

/// A session as every member knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    pub timeout: i32,
    pub password: Bytes,
    /// Paths of the session's ephemeral nodes, ordered so closing a session is deterministic.
    pub ephemerals: BTreeSet<String>,
}

/// The replicated state machine's data.
#[derive(Debug)]
pub struct DataTree {
    pub(super) nodes: HashMap<Box<str>, Node>,
    pub(super) sessions: BTreeMap<i64, SessionEntry>,
    pub(super) containers: HashSet<String>,
    pub(super) ttls: HashSet<String>,
    acls: HashSet<Arc<[Acl]>>,
    pub(super) last_zxid: i64,
    pub(super) data_size: u64,
    /// TTL nodes are accepted only when `extendedTypesEnabled` is set, as in ZooKeeper.
    pub extended_types: bool,
}

impl Default for DataTree {
    fn default() -> Self {
        Self::new()
    }
}

impl DataTree {
    /// A tree without even a root, for loading a snapshot into.
    pub(super) fn empty() -> DataTree {
        DataTree {
            nodes: HashMap::new(),
            sessions: BTreeMap::new(),
            containers: HashSet::new(),
            ttls: HashSet::new(),
            acls: HashSet::new(),
            last_zxid: 0,
            data_size: 0,
            extended_types: false,
        }
    }

    /// A fresh tree with ZooKeeper's system nodes.
    pub fn new() -> DataTree {
        let mut t = DataTree::empty();
        let open = t.intern_acl(acl::open_acl());
        let read = t.intern_acl(acl::read_acl());
        let root = t.blank(open.clone());
        t.insert_node(ROOT, root);
        // System nodes are attached directly, as ZooKeeper does, so they do not bump cversions.
        for (p, a) in [(ZOOKEEPER, open.clone()), (QUOTA, open), (CONFIG, read)] {
            let mut node = t.blank(a);
            if p == CONFIG {
                // ZooKeeper sets this ACL with version -1, which it stores as the aversion.
                node.stat.aversion = -1;
            }
            t.insert_node(p, node);
        }
        t
    }

    fn blank(&self, acl: Arc<[Acl]>) -> Node {
        Node {
            data: Some(Box::default()),
            acl,
            stat: NodeStat::default(),
            children: HashSet::new(),
        }
    }

    /// Shares identical ACL lists between nodes, as ZooKeeper's ACL cache does.
    pub fn intern_acl(&mut self, acl: Vec<Acl>) -> Arc<[Acl]> {
        if let Some(a) = self.acls.get(acl.as_slice()) {
            return a.clone();
        }
        let a: Arc<[Acl]> = acl.into();
        self.acls.insert(a.clone());
        a
    }

    /// Forgets ACL lists no node uses any more.
    pub fn purge_acls(&mut self) {
        self.acls.retain(|a| Arc::strong_count(a) > 1);
    }

    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    pub(super) fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        self.nodes.get_mut(path)
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Sum of path and data lengths, ZooKeeper's approximate_data_size.
    pub fn approximate_data_size(&self) -> u64 {
        self.data_size
    }

    pub fn sessions(&self) -> &BTreeMap<i64, SessionEntry> {
        &self.sessions
    }

    pub fn session(&self, id: i64) -> Option<&SessionEntry> {
        self.sessions.get(&id)
    }

    pub fn ephemeral_count(&self) -> usize {
        self.sessions.values().map(|s| s.ephemerals.len()).sum()
    }

    pub fn containers(&self) -> impl Iterator<Item = &String> {
        self.containers.iter()
    }

    pub fn ttls(&self) -> impl Iterator<Item = &String> {
        self.ttls.iter()
    }

    /// Children names of a node, sorted so replies are stable.
    pub fn children(&self, node: &Node) -> Vec<String> {
        let mut v: Vec<String> = node.children.iter().map(|c| c.to_string()).collect();
        v.sort_unstable();
        v
    }

    /// Number of descendants of `path` (getAllChildrenNumber).
    pub fn descendant_count(&self, path_: &str) -> usize {
        let mut count = 0;
        let mut stack = vec![path_.to_string()];
        while let Some(p) = stack.pop() {
            if let Some(n) = self.nodes.get(p.as_str()) {
                for c in &n.children {
                    count += 1;
                    stack.push(path::join(&p, c));
                }
            }
        }
        count
    }

    /// Adds a node under its (existing) parent and into the session/container/TTL indexes.
    /// The parent's Stat is the caller's business.
    pub(super) fn insert_node(&mut self, p: &str, node: Node) {
        if p != ROOT {
            let parent = path::parent(p);
            if let Some(parent) = self.nodes.get_mut(parent) {
                parent.children.insert(path::name(p).into());
            }
        }
        match owner_kind(node.stat.ephemeral_owner) {
            OwnerKind::Persistent => {}
            OwnerKind::Container => {
                self.containers.insert(p.to_string());
            }
            OwnerKind::Ttl(_) => {
                self.ttls.insert(p.to_string());
            }
            OwnerKind::Session(s) => {
                if let Some(sess) = self.sessions.get_mut(&s) {
                    sess.ephemerals.insert(p.to_string());
                }
            }
        }
        self.data_size += (p.len() + node.data_len()) as u64;
        self.nodes.insert(p.into(), node);
    }

    /// Removes a node (which must have no children) from its parent and every index.
    pub(super) fn remove_node(&mut self, p: &str) -> Option<Node> {
        let node = self.nodes.remove(p)?;
        if let Some(parent) = self.nodes.get_mut(path::parent(p)) {
            parent.children.remove(path::name(p));
        }
        match owner_kind(node.stat.ephemeral_owner) {
            OwnerKind::Persistent => {}
            OwnerKind::Container => {
                self.containers.remove(p);
            }
            OwnerKind::Ttl(_) => {
                self.ttls.remove(p);
            }
            OwnerKind::Session(s) => {
                if let Some(sess) = self.sessions.get_mut(&s) {
                    sess.ephemerals.remove(p);
                }
            }
        }
        self.data_size = self
            .data_size
            .saturating_sub((p.len() + node.data_len()) as u64);
        Some(node)
    }

    /// Replaces a node's data, keeping the size accounting right.
    pub(super) fn replace_data(
        &mut self,
        p: &str,
        data: Option<Box<[u8]>>,
    ) -> Option<Option<Box<[u8]>>> {
        let node = self.nodes.get_mut(p)?;
        let old = std::mem::replace(&mut node.data, data);
        let new_len = node.data_len() as u64;
        let old_len = old.as_ref().map_or(0, |d| d.len()) as u64;
        self.data_size = self.data_size.saturating_sub(old_len) + new_len;
        Some(old)
    }
}
