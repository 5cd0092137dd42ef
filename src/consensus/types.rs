//! The openraft type configuration: what a log entry carries and how members are named. Only
//! this module and its siblings in `consensus` name openraft types; the server sees `Txn`s,
//! zxids and member ids.

use std::fmt;
use std::io::Cursor;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::tree::Txn;

/// A proposed write: one decided transaction, and who proposed it. Its zxid is not known when
/// it is proposed; the log position assigns it (see `zxid`), so the field is ignored on the way
/// in. `from` and `tag` come back with the committed transaction on every member, so the member
/// holding the client's connection recognises its own request and answers it.
#[derive(Clone, PartialEq, Eq)]
pub struct Proposal {
    pub txn: Txn,
    /// The member that accepted the request.
    pub from: u64,
    /// That member's own identifier for the request.
    pub tag: u64,
}

impl fmt::Debug for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proposal(from={}, tag={})", self.from, self.tag)
    }
}

impl fmt::Display for Proposal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The transaction travels in its own log encoding, so the wire and the WAL share one format.
#[derive(Serialize, Deserialize)]
struct ProposalWire<'a> {
    #[serde(borrow)]
    txn: std::borrow::Cow<'a, [u8]>,
    from: u64,
    tag: u64,
}

impl Serialize for Proposal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ProposalWire {
            txn: std::borrow::Cow::Owned(self.txn.encode()),
            from: self.from,
            tag: self.tag,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Proposal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Proposal, D::Error> {
        let w = ProposalWire::deserialize(d)?;
        let txn =
            Txn::decode(&w.txn).map_err(|e| serde::de::Error::custom(format!("bad txn: {e}")))?;
        Ok(Proposal {
            txn,
            from: w.from,
            tag: w.tag,
        })
    }
}

/// How the ensemble knows a member: where to reach it, and which incarnation of its data
/// directory it was admitted with. A member whose disk was wiped comes back with a new
/// incarnation and is refused by the others until it is re-added (under a new id): it has lost
/// entries it may have acknowledged, so it must not vote or count toward a quorum.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The member's server line without its role,
    /// `host:quorumPort:electionPort[;clientHost:clientPort]` (see
    /// `config::dynamic::member_value`), so every member can show `/zookeeper/config`. Data
    /// directories from before reconfig hold only `host:quorumPort`; both start with the
    /// quorum address, so the field keeps its name and encoding.
    pub addr: String,
    pub incarnation: u64,
}

impl NodeInfo {
    /// Where the member listens for the others (`host:quorumPort`).
    pub fn quorum_addr(&self) -> &str {
        crate::config::dynamic::quorum_addr(&self.addr)
    }
}

impl fmt::Display for NodeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{:x}", self.addr, self.incarnation)
    }
}

/// What `client_write` reports once the proposal is applied: the zxid it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub zxid: i64,
}

openraft::declare_raft_types!(
    /// Node id is the ZooKeeper myid; node info is the member's quorum address and incarnation.
    pub TypeConfig:
        D = Proposal,
        R = Applied,
        NodeId = u64,
        Node = NodeInfo,
);

pub type Entry =
    openraft::Entry<CommittedLeaderId, openraft::EntryPayload<Proposal, u64, NodeInfo>>;
pub type EntryPayload = openraft::EntryPayload<Proposal, u64, NodeInfo>;
pub type CommittedLeaderId = openraft::type_config::alias::CommittedLeaderIdOf<TypeConfig>;
pub type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::type_config::alias::VoteOf<TypeConfig>;
pub type Membership = openraft::Membership<u64, NodeInfo>;
pub type StoredMembership = openraft::type_config::alias::StoredMembershipOf<TypeConfig>;
pub type SnapshotMeta = openraft::type_config::alias::SnapshotMetaOf<TypeConfig>;
/// Snapshots travel and install as whole byte images (the tree is in memory anyway).
pub type SnapshotData = Cursor<Vec<u8>>;
pub type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, SnapshotData>;
/// A Raft node whose state machine feeds applier `A`.
pub type Raft<A> = openraft::Raft<TypeConfig, super::statemachine::StateMachine<A>>;
