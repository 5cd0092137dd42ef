//! A znode as the tree stores it, and the kinds of node ZooKeeper encodes in ephemeralOwner.

use std::collections::HashSet;
use std::sync::Arc;

use crate::proto::records::{Acl, Stat};

/// ephemeralOwner of a container node (Long.MIN_VALUE).
pub const CONTAINER_OWNER: i64 = i64::MIN;
/// The high byte that marks a TTL node's ephemeralOwner (EphemeralType.TTL).
const TTL_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;
/// Largest TTL ZooKeeper accepts: what fits below the marker byte and its reserved bits.
pub const MAX_TTL: i64 = 0x0000_00ff_ffff_ffff;

/// The creation flags of ZooKeeper's CreateMode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    pub fn from_flags(flags: i32) -> Option<CreateMode> {
        Some(match flags {
            0 => CreateMode::Persistent,
            1 => CreateMode::Ephemeral,
            2 => CreateMode::PersistentSequential,
            3 => CreateMode::EphemeralSequential,
            4 => CreateMode::Container,
            5 => CreateMode::PersistentWithTtl,
            6 => CreateMode::PersistentSequentialWithTtl,
            _ => return None,
        })
    }

    pub fn flags(self) -> i32 {
        self as i32
    }

    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }

    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

/// What kind of node an ephemeralOwner value denotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    Persistent,
    Container,
    Ttl(i64),
    Session(i64),
}

pub fn owner_kind(owner: i64) -> OwnerKind {
    if owner == 0 {
        OwnerKind::Persistent
    } else if owner == CONTAINER_OWNER {
        OwnerKind::Container
    } else if owner & TTL_MASK == TTL_MASK {
        OwnerKind::Ttl(owner & MAX_TTL)
    } else {
        OwnerKind::Session(owner)
    }
}

pub fn ttl_owner(ttl: i64) -> i64 {
    TTL_MASK | (ttl & MAX_TTL)
}

/// The Stat fields a node keeps; dataLength and numChildren are derived when a Stat is built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeStat {
    pub czxid: i64,
    pub mzxid: i64,
    pub pzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub ephemeral_owner: i64,
    pub version: i32,
    /// Creates of children so far (ZooKeeper's stored cversion); Stat shows a derived value.
    pub cversion: i32,
    pub aversion: i32,
}

/// One znode. Children are stored by name so listing them costs nothing extra.
#[derive(Debug, Clone)]
pub struct Node {
    /// `None` when the client created it with a null buffer (getData gives null back).
    pub data: Option<Box<[u8]>>,
    pub acl: Arc<[Acl]>,
    pub stat: NodeStat,
    pub children: HashSet<Box<str>>,
}

impl Node {
    pub fn data_len(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.len())
    }

    pub fn stat(&self) -> Stat {
        let s = &self.stat;
        Stat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            ctime: s.ctime,
            mtime: s.mtime,
            version: s.version,
            // Clients see every child change: creates are stored, deletes are inferred.
            cversion: s
                .cversion
                .wrapping_mul(2)
                .wrapping_sub(self.children.len() as i32),
            aversion: s.aversion,
            // Containers and TTL nodes report no owner, as DataNode.copyStat does.
            ephemeral_owner: match owner_kind(s.ephemeral_owner) {
                OwnerKind::Session(id) => id,
                _ => 0,
            },
            data_length: self.data_len() as i32,
            num_children: self.children.len() as i32,
            pzxid: s.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_encodings_round_trip() {
        assert_eq!(owner_kind(0), OwnerKind::Persistent);
        assert_eq!(owner_kind(i64::MIN), OwnerKind::Container);
        assert_eq!(owner_kind(ttl_owner(5000)), OwnerKind::Ttl(5000));
        assert_eq!(owner_kind(0x0100_0000_0000_0001), OwnerKind::Session(0x0100_0000_0000_0001));
    }
}
