//! A Raft log entry as a WAL record body: `[sequence i64 BE][postcard(entry)]`. The sequence is
//! what the segment layer (wal.rs) checks for gaps, so the replicated log keeps the standalone
//! log's checksums, torn-tail repair and gap detection. It is the log index plus one, because
//! openraft's first entry (the initial membership) sits at index 0 and the segment layer counts
//! from 1. A client transaction inside the entry stays in its own `Txn` encoding.

use thiserror::Error;

use super::types::Entry;

#[derive(Debug, Error)]
pub enum RecordError {
    #[error("log record shorter than its header")]
    Short,
    #[error("log record body does not decode: {0}")]
    Body(#[from] postcard::Error),
    #[error("log record {header} holds the entry for index {entry}")]
    Mismatch { header: i64, entry: u64 },
}

/// The segment-layer sequence number of the entry at `index`.
pub fn seq_of(index: u64) -> i64 {
    super::zxid::of_index(index).saturating_add(1)
}

pub fn encode(entry: &Entry) -> Result<Vec<u8>, RecordError> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&seq_of(entry.log_id.index).to_be_bytes());
    Ok(postcard::to_extend(entry, out)?)
}

pub fn decode(body: &[u8]) -> Result<Entry, RecordError> {
    let head: [u8; 8] = body
        .get(..8)
        .and_then(|h| h.try_into().ok())
        .ok_or(RecordError::Short)?;
    let header = i64::from_be_bytes(head);
    let entry: Entry = postcard::from_bytes(&body[8..])?;
    if seq_of(entry.log_id.index) != header {
        return Err(RecordError::Mismatch {
            header,
            entry: entry.log_id.index,
        });
    }
    Ok(entry)
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::consensus::types::{EntryPayload, LogId, Membership, Proposal};
    use crate::tree::{Txn, TxnBody};
    use proptest::prelude::*;

    pub fn log_id(term: u64, node: u64, index: u64) -> LogId {
        LogId {
            leader_id: openraft::impls::leader_id_adv::LeaderId {
                term,
                node_id: node,
            },
            index,
        }
    }

    pub fn txn_entry(term: u64, index: u64, session: i64) -> Entry {
        Entry {
            log_id: log_id(term, 1, index),
            payload: EntryPayload::Normal(Proposal::new(
                Txn {
                    zxid: 0,
                    time: 77,
                    body: TxnBody::CloseSession { session },
                },
                2,
                index * 3,
            )),
        }
    }

    #[test]
    fn every_payload_kind_round_trips() {
        let node = crate::consensus::types::NodeInfo {
            addr: "127.0.0.1:2888".into(),
            incarnation: 7,
        };
        let nodes: BTreeMap<u64, crate::consensus::types::NodeInfo> = [(1, node)].into();
        let membership = Membership::new(vec![BTreeSet::from([1])], nodes).unwrap();
        for e in [
            txn_entry(3, 9, 5),
            Entry {
                log_id: log_id(2, 4, 0),
                payload: EntryPayload::Blank,
            },
            Entry {
                log_id: log_id(2, 4, 2),
                payload: EntryPayload::Membership(membership),
            },
        ] {
            let body = encode(&e).unwrap();
            assert_eq!(&body[..8], &(e.log_id.index as i64 + 1).to_be_bytes());
            assert_eq!(decode(&body).unwrap(), e);
        }
    }

    #[test]
    fn a_record_filed_under_the_wrong_index_is_refused() {
        let mut body = encode(&txn_entry(1, 5, 1)).unwrap();
        body[7] = 7;
        assert!(matches!(
            decode(&body),
            Err(RecordError::Mismatch {
                header: 7,
                entry: 5
            })
        ));
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn transactions_survive(term in 1u64..1000, index in 1u64..1_000_000, session in any::<i64>()) {
            let e = txn_entry(term, index, session);
            prop_assert_eq!(decode(&encode(&e).unwrap()).unwrap(), e);
        }
    }
}
