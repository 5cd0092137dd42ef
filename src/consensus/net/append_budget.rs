//! How much one AppendEntries frame carries. openraft sends a follower one request at a time and
//! waits for its answer (which includes the follower's fsync), so the entries per request bound
//! how fast a follower can follow: with a fixed small count the whole ensemble stalls at roughly
//! count ÷ round trip, however many writes wait. The count openraft may put in a request is
//! therefore large (`MAX_PAYLOAD_ENTRIES`), and this module cuts a request to a byte budget that
//! keeps the frame under the transport's limit even when transactions are as large as
//! `jute.maxbuffer` allows. A cut request is answered as a partial success, and openraft sends
//! the rest next.

use openraft::raft::AppendEntriesRequest;

use super::frame::MAX_FRAME;
use crate::consensus::types::{Entry, EntryPayload, LogId, TypeConfig};

/// Entries openraft may put in one AppendEntries request (`Config::max_payload_entries`).
pub const MAX_PAYLOAD_ENTRIES: u64 = 4096;

/// Bytes of entries per frame; the rest of `MAX_FRAME` is slack for the envelope.
pub const APPEND_BYTES: usize = MAX_FRAME / 2;

/// An upper bound of what `entry` adds to a frame.
fn frame_bytes(entry: &Entry) -> usize {
    const ENVELOPE: usize = 64;
    match &entry.payload {
        EntryPayload::Normal(p) => p.encoded_len() + ENVELOPE,
        EntryPayload::Blank => ENVELOPE,
        EntryPayload::Membership(_) => postcard::to_allocvec(entry)
            .map(|v| v.len() + ENVELOPE)
            .unwrap_or(APPEND_BYTES),
    }
}

/// Keeps the longest prefix of the request's entries that fits in `budget` bytes (at least one
/// entry, so a request always makes progress). Returns the request and, when entries were cut,
/// the log id of the last entry kept: the follower's success then means only that much.
pub fn fit(
    mut rpc: AppendEntriesRequest<TypeConfig>,
    budget: usize,
) -> (AppendEntriesRequest<TypeConfig>, Option<LogId>) {
    let mut used = 0usize;
    let mut keep = 0usize;
    for e in &rpc.entries {
        used = used.saturating_add(frame_bytes(e));
        if keep > 0 && used > budget {
            break;
        }
        keep += 1;
    }
    if keep == rpc.entries.len() {
        return (rpc, None);
    }
    rpc.entries.truncate(keep);
    let last = rpc.entries.last().map(|e| e.log_id);
    (rpc, last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::record::tests::{log_id, txn_entry};
    use crate::consensus::types::{Proposal, Vote};
    use crate::tree::{Txn, TxnBody};

    fn big_entry(index: u64, bytes: usize) -> Entry {
        Entry {
            log_id: log_id(1, 1, index),
            payload: EntryPayload::Normal(Proposal::new(
                Txn {
                    zxid: 0,
                    time: 0,
                    body: TxnBody::Reap {
                        path: format!("/{}", "x".repeat(bytes)),
                    },
                },
                1,
                index,
            )),
        }
    }

    fn request(entries: Vec<Entry>) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: Vote::new_committed(1, 1),
            prev_log_id: Some(log_id(1, 1, 0)),
            leader_commit: None,
            entries,
        }
    }

    #[test]
    fn small_entries_all_go() {
        let entries: Vec<Entry> = (1..=500).map(|i| txn_entry(1, i, 7)).collect();
        let (rpc, cut) = fit(request(entries.clone()), APPEND_BYTES);
        assert_eq!(rpc.entries, entries);
        assert_eq!(cut, None);
    }

    #[test]
    fn large_entries_are_cut_to_the_budget_and_the_frame_limit() {
        let entries: Vec<Entry> = (1..=10).map(|i| big_entry(i, 1000)).collect();
        let (rpc, cut) = fit(request(entries), 3500);
        assert_eq!(rpc.entries.len(), 3);
        assert_eq!(cut, Some(log_id(1, 1, 3)));
        // Whatever is kept serializes under the transport's frame limit.
        let entries: Vec<Entry> = (1..=80).map(|i| big_entry(i, 1 << 20)).collect();
        let (rpc, cut) = fit(request(entries), APPEND_BYTES);
        assert!(cut.is_some());
        assert!(postcard::to_allocvec(&rpc).unwrap().len() < MAX_FRAME);
    }

    #[test]
    fn one_entry_always_goes() {
        let (rpc, cut) = fit(request(vec![big_entry(1, 5000), big_entry(2, 5)]), 100);
        assert_eq!(rpc.entries.len(), 1);
        assert_eq!(cut, Some(log_id(1, 1, 1)));
        let (rpc, cut) = fit(request(vec![big_entry(1, 5000)]), 100);
        assert_eq!(rpc.entries.len(), 1);
        assert_eq!(cut, None);
    }
}
