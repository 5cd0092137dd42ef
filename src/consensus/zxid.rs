//! How a committed log position becomes a ZooKeeper zxid.
//!
//! The zxid of a transaction is its Raft log index. Every member holds the same entry at the same
//! index once it is committed, and indexes only grow, so the zxid is identical everywhere and
//! strictly increasing in apply order, which is all ZooKeeper clients rely on (they compare
//! `lastZxidSeen`, never decode the epoch). Entries that are not transactions (a new leader's
//! blank entry, membership changes) use up an index, so zxids can skip values; ZooKeeper's
//! own zxids jump at every epoch change too. The ZooKeeper layout `epoch << 32 | counter` was
//! rejected: it needs the first index of each term to compute, which a member that installed a
//! snapshot may never have seen.

/// The zxid of the entry at `index`. Indexes beyond `i64::MAX` cannot occur (one entry per
/// nanosecond would take 292 years), so they saturate rather than wrap negative.
pub fn of_index(index: u64) -> i64 {
    i64::try_from(index).unwrap_or(i64::MAX)
}

/// The log index holding `zxid`, if it can be one.
pub fn to_index(zxid: i64) -> Option<u64> {
    u64::try_from(zxid).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_entry_is_zxid_one_and_zero_means_nothing_applied() {
        assert_eq!(of_index(1), 1);
        assert_eq!(of_index(0), 0);
        assert_eq!(to_index(-1), None);
    }

    proptest! {
        #[test]
        fn strictly_increasing_and_reversible(a in 0u64..(i64::MAX as u64), b in 0u64..(i64::MAX as u64)) {
            prop_assert_eq!(a < b, of_index(a) < of_index(b));
            prop_assert_eq!(to_index(of_index(a)), Some(a));
        }
    }
}
