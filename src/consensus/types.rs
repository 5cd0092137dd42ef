//! The openraft type configuration: what a log entry carries and how members are named. Only
//! this module and its siblings in `consensus` name openraft types; the server sees `Txn`s,
//! zxids and member ids.

use std::fmt;
use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::tree::Txn;

/// A proposed write: one decided transaction, and who proposed it. Its zxid is not known when
/// it is proposed; the log position assigns it (see `zxid`), so the field is ignored on the way
/// in. `from` and `tag` come back with the committed transaction on every member, so the member
/// holding the client's connection recognises its own request and answers it.
///
/// The leader holds every entry in memory and hands it to each follower's replication stream,
/// to its log writer and to its state machine; the transaction is therefore shared (cloning a
/// proposal copies no tree operation) and encoded once, when the proposal is made or received,
/// instead of once per follower and once for the disk.
#[derive(Clone, PartialEq, Eq)]
pub struct Proposal {
    txn: Arc<Txn>,
    /// `txn` in its log encoding (`Txn::encode`).
    encoded: Bytes,
    /// The member that accepted the request.
    pub from: u64,
    /// That member's own identifier for the request.
    pub tag: u64,
}

impl Proposal {
    pub fn new(txn: Txn, from: u64, tag: u64) -> Proposal {
        Proposal {
            encoded: Bytes::from(txn.encode()),
            txn: Arc::new(txn),
            from,
            tag,
        }
    }

    pub fn txn(&self) -> &Txn {
        &self.txn
    }

    /// Bytes the transaction takes in a frame or a log record.
    pub fn encoded_len(&self) -> usize {
        self.encoded.len()
    }

    /// The transaction itself, copied only if another holder (the in-memory log) still shares it.
    pub fn into_txn(self) -> Txn {
        Arc::unwrap_or_clone(self.txn)
    }
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
/// It is written as one byte string; postcard lays that out exactly as the sequence of `u8`
/// that earlier versions wrote (a varint length, then the bytes), so logs written by them
/// still read.
#[derive(Serialize)]
struct ProposalOut<'a> {
    txn: ByteStr<'a>,
    from: u64,
    tag: u64,
}

#[derive(Deserialize)]
struct ProposalIn<'a> {
    #[serde(borrow)]
    txn: std::borrow::Cow<'a, [u8]>,
    from: u64,
    tag: u64,
}

struct ByteStr<'a>(&'a [u8]);

impl Serialize for ByteStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl Serialize for Proposal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ProposalOut {
            txn: ByteStr(&self.encoded),
            from: self.from,
            tag: self.tag,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Proposal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Proposal, D::Error> {
        let w = ProposalIn::deserialize(d)?;
        let txn =
            Txn::decode(&w.txn).map_err(|e| serde::de::Error::custom(format!("bad txn: {e}")))?;
        Ok(Proposal {
            txn: Arc::new(txn),
            encoded: Bytes::from(w.txn.into_owned()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::TxnBody;

    /// What versions before the shared encoding wrote: the transaction as a sequence of `u8`.
    #[derive(Serialize)]
    struct Earlier {
        txn: Vec<u8>,
        from: u64,
        tag: u64,
    }

    fn txn() -> Txn {
        Txn {
            zxid: 0,
            time: 1_700_000_000_000,
            body: TxnBody::CreateSession {
                session: 0x1234,
                timeout: 30_000,
                password: Bytes::from(vec![9; 16]),
            },
        }
    }

    #[test]
    fn the_encoding_is_what_earlier_versions_wrote() {
        let p = Proposal::new(txn(), 3, 99);
        let earlier = Earlier {
            txn: txn().encode(),
            from: 3,
            tag: 99,
        };
        let bytes = postcard::to_allocvec(&p).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&earlier).unwrap());
        let back: Proposal = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.into_txn(), txn());
    }

    #[test]
    fn a_clone_shares_the_transaction() {
        let p = Proposal::new(txn(), 1, 1);
        let q = p.clone();
        assert!(Arc::ptr_eq(&p.txn, &q.txn));
        drop(p);
        assert_eq!(q.into_txn(), txn());
    }
}
