//! Where znodes live: a slab of nodes addressed by 4-byte ids, children as a doubly linked
//! sibling list threaded through the nodes, and one hash table from (parent id, name) to id.
//!
//! The layout is about memory. A map from full paths to inline nodes costs ~480 bytes per
//! 100-byte znode (the path twice, a hash set per parent, buckets as wide as a node); here a
//! node is one slab slot plus one name+data block plus a 4-byte table entry, and a path is
//! resolved one segment at a time.

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use thiserror::Error;

use super::node::Node;

/// Index of a node in the slab. Ids are reused after a delete, so they never leave this
/// member: snapshots, txns and replies name nodes by path.
pub type NodeId = u32;

/// "No node" in a link.
const NIL: NodeId = NodeId::MAX;

/// A node's place in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Links {
    pub(super) parent: NodeId,
    first_child: NodeId,
    next: NodeId,
    prev: NodeId,
    pub(super) num_children: u32,
}

impl Default for Links {
    fn default() -> Self {
        Links {
            parent: NIL,
            first_child: NIL,
            next: NIL,
            prev: NIL,
            num_children: 0,
        }
    }
}

/// Why a node could not be linked in or out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum LinkError {
    #[error("the parent does not exist")]
    NoParent,
    #[error("the node already exists")]
    Exists,
    #[error("the node has children")]
    NotEmpty,
    #[error("the tree is full")]
    Full,
    #[error("no such node")]
    Missing,
}

#[derive(Debug, Default)]
pub struct NodeStore {
    slots: Vec<Option<Node>>,
    free: Vec<NodeId>,
    /// Every node but the root, by `hash(parent, name)`; equality is checked on the node.
    index: HashTable<NodeId>,
    hasher: RandomState,
    root: Option<NodeId>,
    len: usize,
}

fn key_hash(hasher: &RandomState, parent: NodeId, name: &[u8]) -> u64 {
    hasher.hash_one((parent, name))
}

/// The hash of a stored node, for the table's rehashing.
fn slot_hash(hasher: &RandomState, slots: &[Option<Node>], id: NodeId) -> u64 {
    match slots.get(id as usize).and_then(Option::as_ref) {
        Some(n) => key_hash(hasher, n.links.parent, n.name_data.name_bytes()),
        None => 0,
    }
}

impl NodeStore {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn root(&self) -> Option<NodeId> {
        self.root
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }

    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.slots.get_mut(id as usize).and_then(Option::as_mut)
    }

    /// The child of `parent` called `name`.
    pub fn child(&self, parent: NodeId, name: &str) -> Option<NodeId> {
        let name = name.as_bytes();
        let hash = key_hash(&self.hasher, parent, name);
        self.index
            .find(hash, |&id| {
                self.node(id)
                    .is_some_and(|n| n.links.parent == parent && n.name_data.name_bytes() == name)
            })
            .copied()
    }

    /// The node at exactly `path`: "/" is the root, "/a/b" its child a's child b. Anything
    /// else (relative, trailing or doubled slashes) names no node, as no name is empty.
    pub fn lookup(&self, path: &str) -> Option<NodeId> {
        let mut id = self.root?;
        let rest = path.strip_prefix('/')?;
        if rest.is_empty() {
            return Some(id);
        }
        for segment in rest.split('/') {
            id = self.child(id, segment)?;
        }
        Some(id)
    }

    /// Children of `id`, most recently linked first.
    pub fn children(&self, id: NodeId) -> Children<'_> {
        Children {
            store: self,
            next: self.node(id).map_or(NIL, |n| n.links.first_child),
        }
    }

    fn alloc(&mut self, node: Node) -> Result<NodeId, LinkError> {
        if let Some(id) = self.free.pop()
            && let Some(slot) = self.slots.get_mut(id as usize)
        {
            *slot = Some(node);
            return Ok(id);
        }
        let id = NodeId::try_from(self.slots.len())
            .ok()
            .filter(|&id| id != NIL)
            .ok_or(LinkError::Full)?;
        self.slots.push(Some(node));
        Ok(id)
    }

    /// Makes `node` the root of an empty store.
    pub fn insert_root(&mut self, mut node: Node) -> Result<NodeId, LinkError> {
        if self.root.is_some() {
            return Err(LinkError::Exists);
        }
        node.links = Links::default();
        let id = self.alloc(node)?;
        self.root = Some(id);
        self.len += 1;
        Ok(id)
    }

    /// Links `node` (named by its own name) as the first child of `parent`.
    pub fn insert(&mut self, parent: NodeId, mut node: Node) -> Result<NodeId, LinkError> {
        let Some(first) = self.node(parent).map(|p| p.links.first_child) else {
            return Err(LinkError::NoParent);
        };
        if self.child(parent, node.name()).is_some() {
            return Err(LinkError::Exists);
        }
        let hash = key_hash(&self.hasher, parent, node.name_data.name_bytes());
        node.links = Links {
            parent,
            next: first,
            ..Links::default()
        };
        let id = self.alloc(node)?;
        if let Some(f) = self.node_mut(first) {
            f.links.prev = id;
        }
        if let Some(p) = self.node_mut(parent) {
            p.links.first_child = id;
            p.links.num_children += 1;
        }
        let (hasher, slots) = (&self.hasher, &self.slots);
        self.index
            .insert_unique(hash, id, |&i| slot_hash(hasher, slots, i));
        self.len += 1;
        Ok(id)
    }

    /// Unlinks a childless node and hands it back.
    pub fn remove(&mut self, id: NodeId) -> Result<Node, LinkError> {
        let Some(node) = self.node(id) else {
            return Err(LinkError::Missing);
        };
        if node.links.num_children > 0 {
            return Err(LinkError::NotEmpty);
        }
        let links = node.links;
        let hash = key_hash(&self.hasher, links.parent, node.name_data.name_bytes());
        if self.root == Some(id) {
            self.root = None;
        } else {
            if let Ok(entry) = self.index.find_entry(hash, |&i| i == id) {
                entry.remove();
            }
            if let Some(p) = self.node_mut(links.prev) {
                p.links.next = links.next;
            }
            if let Some(n) = self.node_mut(links.next) {
                n.links.prev = links.prev;
            }
            if let Some(p) = self.node_mut(links.parent) {
                if p.links.first_child == id {
                    p.links.first_child = links.next;
                }
                p.links.num_children -= 1;
            }
        }
        let node = self
            .slots
            .get_mut(id as usize)
            .and_then(Option::take)
            .ok_or(LinkError::Missing)?;
        self.free.push(id);
        self.len -= 1;
        Ok(node)
    }

    /// Every stored node, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Node> {
        self.slots.iter().flatten()
    }
}

/// Iterator over a node's children.
pub struct Children<'a> {
    store: &'a NodeStore,
    next: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        let id = self.next;
        self.next = self.store.node(id)?.links.next;
        Some(id)
    }
}

#[cfg(test)]
#[path = "nodes_tests.rs"]
mod tests;
