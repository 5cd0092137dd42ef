//! The DataTree: every znode plus the replicated session table. It changes only through
//! `apply` (see apply.rs) so that members fed the same Txns hold the same tree.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use thiserror::Error;

use super::acl;
use super::acl_table::{AclId, AclTable};
use super::name_data::{NameData, NameTooLong};
use super::node::{Node, NodeStat, OwnerKind, owner_kind};
use super::nodes::{LinkError, NodeId, NodeStore};
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
    pub(super) nodes: NodeStore,
    pub(super) sessions: BTreeMap<i64, SessionEntry>,
    pub(super) containers: HashSet<String>,
    pub(super) ttls: HashSet<String>,
    pub(super) acls: AclTable,
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
            nodes: NodeStore::default(),
            sessions: BTreeMap::new(),
            containers: HashSet::new(),
            ttls: HashSet::new(),
            acls: AclTable::default(),
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
        // System nodes are attached directly, as ZooKeeper does, so they do not bump cversions.
        for (p, a) in [
            (ROOT, open),
            (ZOOKEEPER, open),
            (QUOTA, open),
            (CONFIG, read),
        ] {
            let mut stat = NodeStat::default();
            if p == CONFIG {
                // ZooKeeper sets this ACL with version -1, which it stores as the aversion.
                stat.aversion = -1;
            }
            if let Ok(node) = Node::new(path::name(p), Some(&[]), a, stat) {
                // Cannot fail: each parent was inserted just before.
                let _ = t.insert_node(p, node);
            }
        }
        t
    }

    /// Shares identical ACL lists between nodes, as ZooKeeper's ACL cache does.
    pub fn intern_acl(&mut self, acl: Vec<Acl>) -> AclId {
        self.acls.intern(acl)
    }

    /// The ACL list behind an id a node holds.
    pub fn acl(&self, id: AclId) -> &Arc<[Acl]> {
        self.acls.get(id)
    }

    /// Forgets ACL lists no node uses any more.
    pub fn purge_acls(&mut self) {
        let mut used = vec![false; self.acls.capacity()];
        for n in self.nodes.iter() {
            if let Some(u) = used.get_mut(n.acl as usize) {
                *u = true;
            }
        }
        self.acls
            .retain(|id| used.get(id as usize).copied().unwrap_or(false));
    }

    pub fn get(&self, path: &str) -> Option<NodeRef<'_>> {
        let id = self.nodes.lookup(path)?;
        self.node_ref(id)
    }

    fn node_ref(&self, id: NodeId) -> Option<NodeRef<'_>> {
        let node = self.nodes.node(id)?;
        Some(NodeRef {
            tree: self,
            id,
            node,
        })
    }

    pub(super) fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let id = self.nodes.lookup(path)?;
        self.nodes.node_mut(id)
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

    /// Number of descendants of `path` (getAllChildrenNumber).
    pub fn descendant_count(&self, path_: &str) -> usize {
        let mut count = 0;
        let mut stack: Vec<NodeId> = self.nodes.lookup(path_).into_iter().collect();
        while let Some(id) = stack.pop() {
            for c in self.nodes.children(id) {
                count += 1;
                stack.push(c);
            }
        }
        count
    }

    /// Adds a node under its existing parent and into the session/container/TTL indexes. The
    /// node's name must be the last segment of `p`; the parent's Stat is the caller's business.
    pub(super) fn insert_node(&mut self, p: &str, node: Node) -> Result<(), TreeError> {
        let data_len = node.data_len();
        let owner = node.stat.ephemeral_owner;
        if p == ROOT {
            self.nodes.insert_root(node)?;
        } else {
            let parent = self
                .nodes
                .lookup(path::parent(p))
                .ok_or(LinkError::NoParent)?;
            self.nodes.insert(parent, node)?;
        }
        match owner_kind(owner) {
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
        self.data_size += (p.len() + data_len) as u64;
        Ok(())
    }

    /// Removes a childless node from its parent and every index.
    pub(super) fn remove_node(&mut self, p: &str) -> Option<Node> {
        let id = self.nodes.lookup(p)?;
        let node = self.nodes.remove(id).ok()?;
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

    /// Replaces a node's data, keeping the size accounting right, and returns the old name and
    /// data block (for undo).
    pub(super) fn replace_data(&mut self, p: &str, data: Option<&[u8]>) -> Option<NameData> {
        let node = self.get_mut(p)?;
        let new = node.name_data.with_data(data);
        self.put_name_data(p, new)
    }

    /// Puts back a name and data block `replace_data` returned.
    pub(super) fn put_name_data(&mut self, p: &str, name_data: NameData) -> Option<NameData> {
        let node = self.get_mut(p)?;
        let old = std::mem::replace(&mut node.name_data, name_data);
        let new_len = node.data_len() as u64;
        self.data_size = self.data_size.saturating_sub(old.data_len() as u64) + new_len;
        Some(old)
    }
}

/// Why a node could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TreeError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error(transparent)]
    Name(#[from] NameTooLong),
}

/// A node as readers see it: its fields plus what needs the tree (ACL list, children).
#[derive(Debug, Clone, Copy)]
pub struct NodeRef<'a> {
    tree: &'a DataTree,
    id: NodeId,
    node: &'a Node,
}

impl<'a> NodeRef<'a> {
    pub fn acl(&self) -> &'a Arc<[Acl]> {
        self.tree.acls.get(self.node.acl)
    }

    /// Children names, sorted so replies are stable.
    pub fn children(&self) -> Vec<String> {
        let nodes = &self.tree.nodes;
        let mut v: Vec<String> = nodes
            .children(self.id)
            .filter_map(|c| nodes.node(c))
            .map(|c| c.name().to_string())
            .collect();
        v.sort_unstable();
        v
    }
}

impl Deref for NodeRef<'_> {
    type Target = Node;

    fn deref(&self) -> &Node {
        self.node
    }
}
