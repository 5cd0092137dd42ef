//! A znode as the tree stores it, and the kinds of node ZooKeeper encodes in ephemeralOwner.

use super::acl_table::AclId;
use super::name_data::{NameData, NameTooLong};
use super::nodes::Links;
use crate::proto::records::Stat;

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
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
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

/// One znode. Its name lives with its data; where it sits in the tree (parent, siblings,
/// children) is kept by the node store in `links`, so a node costs no hash table of its own.
#[derive(Debug, Clone)]
pub struct Node {
    pub(super) name_data: NameData,
    pub(super) acl: AclId,
    pub stat: NodeStat,
    pub(super) links: Links,
}

impl Node {
    pub fn new(
        name: &str,
        data: Option<&[u8]>,
        acl: AclId,
        stat: NodeStat,
    ) -> Result<Node, NameTooLong> {
        Ok(Node {
            name_data: NameData::new(name, data)?,
            acl,
            stat,
            links: Links::default(),
        })
    }

    /// The last path segment ("" for the root).
    pub fn name(&self) -> &str {
        self.name_data.name()
    }

    /// `None` when the client created it with a null buffer (getData gives null back).
    pub fn data(&self) -> Option<&[u8]> {
        self.name_data.data()
    }

    pub fn data_len(&self) -> usize {
        self.name_data.data_len()
    }

    pub fn num_children(&self) -> usize {
        self.links.num_children as usize
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
                .wrapping_sub(self.links.num_children as i32),
            aversion: s.aversion,
            // Containers and TTL nodes report no owner, as DataNode.copyStat does.
            ephemeral_owner: match owner_kind(s.ephemeral_owner) {
                OwnerKind::Session(id) => id,
                _ => 0,
            },
            data_length: self.data_len() as i32,
            num_children: self.links.num_children as i32,
            pzxid: s.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slab slot is most of a znode's fixed cost; this keeps a change from growing it by
    /// accident (1,000,000 znodes × 8 bytes is 8 MB).
    #[test]
    fn a_slab_slot_stays_small() {
        assert_eq!(std::mem::size_of::<Option<Node>>(), 104);
    }

    #[test]
    fn owner_encodings_round_trip() {
        assert_eq!(owner_kind(0), OwnerKind::Persistent);
        assert_eq!(owner_kind(i64::MIN), OwnerKind::Container);
        assert_eq!(owner_kind(ttl_owner(5000)), OwnerKind::Ttl(5000));
        assert_eq!(
            owner_kind(0x0100_0000_0000_0001),
            OwnerKind::Session(0x0100_0000_0000_0001)
        );
    }
}
