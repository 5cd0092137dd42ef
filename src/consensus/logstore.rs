//! The replicated log as openraft sees it (`RaftLogStorage`): entries kept in memory from the
//! last purge point on, for replication to followers, and on disk in the WAL segment format for
//! recovery. Disk work happens on the writer thread (logwriter.rs); this side only keeps the
//! in-memory view and queues commands in Raft's order.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use tracing::info;

use super::logwriter::{Closed, Cmd, Writer};
use super::metafile::{self, Meta};
use super::record;
use super::types::{Entry, LogId, TypeConfig, Vote};
use super::wal::Wal;

#[derive(Default)]
struct State {
    entries: BTreeMap<u64, Entry>,
    meta: Meta,
}

/// Cheap to clone; clones share one log.
#[derive(Clone)]
pub struct LogStore {
    state: Arc<Mutex<State>>,
    writer: Arc<Writer>,
    closed: Arc<Mutex<Option<Closed>>>,
}

/// What openraft's replication tasks read through.
#[derive(Clone)]
pub struct LogReader {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding this lock cannot leave the map half-updated (every update is a
    // single insert/split), so a poisoned lock is still usable.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn bad_data(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// The sequence number just before the first entry the segments must hold.
fn base_seq(meta: &Meta) -> i64 {
    let purged = meta.purged.as_ref().map_or(0, |l| record::seq_of(l.index));
    let start = meta.log_start.map_or(0, |i| record::seq_of(i) - 1);
    purged.max(start)
}

/// Takes the directory's exclusive lock: two writers on one log would corrupt it. A previous
/// writer of this process may still be finishing its queue, so wait a little for it.
fn lock_dir(dir: &Path, attempts: usize) -> io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_FILE))?;
    for attempt in 0..attempts {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // SAFETY: flock only reads the descriptor, which `f` keeps open.
        let rc = unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&f),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        };
        if rc == 0 {
            return Ok(f);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::WouldBlock,
        format!("{} is in use by another zk process", dir.display()),
    ))
}

const LOCK_FILE: &str = "raft.lock";

impl LogStore {
    /// Recovers the log in `dir` (creating it if new) for member `member`.
    pub fn open(dir: &Path, member: u64, fsync: bool) -> io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let lock = lock_dir(dir, 100)?;
        let meta = match metafile::read(dir)? {
            Some(m) if m.member != member => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} belongs to member {}, not {member}; a data directory is never reused under another id",
                        dir.display(),
                        m.member
                    ),
                ));
            }
            Some(m) => m,
            None => {
                let m = Meta {
                    member,
                    incarnation: rand::random::<u64>() | 1,
                    ..Meta::default()
                };
                metafile::write(dir, &m, fsync)?;
                m
            }
        };
        let after = base_seq(&meta);
        let mut entries = BTreeMap::new();
        let wal = Wal::open_records(dir, after, fsync, |_, body| match record::decode(body) {
            Ok(e) => {
                entries.insert(e.log_id.index, e);
                true
            }
            Err(_) => false,
        })?;
        info!(
            member,
            entries = entries.len(),
            last = entries.keys().next_back().copied().unwrap_or(0),
            purged = after,
            "recovered replicated log"
        );
        let (writer, closed) = Writer::spawn(wal, PathBuf::from(dir), fsync, lock)?;
        Ok(LogStore {
            state: Arc::new(Mutex::new(State { entries, meta })),
            writer: Arc::new(writer),
            closed: Arc::new(Mutex::new(Some(closed))),
        })
    }
}

impl LogStore {
    /// Resolves once the last handle is gone and the log is closed (taken once).
    pub fn closed(&self) -> Option<Closed> {
        self.closed.lock().ok()?.take()
    }

    /// This data directory's incarnation (see `NodeInfo`).
    pub fn incarnation(&self) -> u64 {
        lock(&self.state).meta.incarnation
    }
}

/// The entries of `range` held in memory; the reader and the store answer alike.
fn entries_in<RB: RangeBounds<u64>>(state: &Mutex<State>, range: RB) -> Vec<Entry> {
    lock(state)
        .entries
        .range(range)
        .map(|(_, e)| e.clone())
        .collect()
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        Ok(entries_in(&self.state, range))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(lock(&self.state).meta.vote)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        Ok(entries_in(&self.state, range))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        Ok(lock(&self.state).meta.vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let s = lock(&self.state);
        let last_purged_log_id = s.meta.purged;
        let last_log_id = s
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        LogReader {
            state: self.state.clone(),
        }
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        let meta = {
            let mut s = lock(&self.state);
            s.meta.vote = Some(*vote);
            s.meta.clone()
        };
        self.writer.call(|r| Cmd::SaveMeta(meta, r)).await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        let meta = {
            let mut s = lock(&self.state);
            s.meta.committed = committed;
            s.meta.clone()
        };
        self.writer.send(Cmd::SaveMetaLazily(meta))
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(lock(&self.state).meta.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut records = Vec::new();
        {
            let mut s = lock(&self.state);
            let mut next = match s.entries.values().next_back() {
                Some(e) => record::seq_of(e.log_id.index) + 1,
                None => base_seq(&s.meta) + 1,
            };
            for e in entries {
                let seq = record::seq_of(e.log_id.index);
                if seq != next {
                    if !s.entries.is_empty() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("append of index {} would leave a hole", e.log_id.index),
                        ));
                    }
                    // An empty log starting further on: record where, before the entries.
                    s.meta.log_start = Some(e.log_id.index);
                    let meta = s.meta.clone();
                    self.writer.send(Cmd::Purge(seq - 1, meta))?;
                }
                next = seq + 1;
                records.push((
                    record::seq_of(e.log_id.index),
                    record::encode(&e).map_err(bad_data)?,
                ));
                s.entries.insert(e.log_id.index, e);
            }
        }
        self.writer.send(Cmd::Append(records, callback))
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let (first_gone, seq) = match last_log_id {
            Some(l) => (l.index + 1, record::seq_of(l.index)),
            None => (0, 0),
        };
        lock(&self.state).entries.split_off(&first_gone);
        self.writer.call(|r| Cmd::Truncate(seq, r)).await
    }

    /// Returns without waiting for the disk: openraft awaits this on its core task, and a
    /// purge of a snapshot interval's entries used to hold the core for 120–250 ms under load
    /// (freeing ~90,000 entries, then a metadata fsync), long enough for the leader's lease to
    /// lapse and its writes to be refused. The writer still records the purge before deleting
    /// any segment, in order with everything else, so a crash at any point leaves no hole; a
    /// failed purge stops the writer, which fails every later write.
    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        let seq = record::seq_of(log_id.index);
        let (purged, meta) = {
            let mut s = lock(&self.state);
            let kept = s.entries.split_off(&(log_id.index + 1));
            let purged = std::mem::replace(&mut s.entries, kept);
            s.meta.purged = Some(log_id);
            (purged, s.meta.clone())
        };
        self.writer.send(Cmd::Purge(seq, meta))?;
        // Freeing them is most of a purge's cost; it needs no lock and no order.
        tokio::task::spawn_blocking(move || drop(purged));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::record::tests::{log_id, txn_entry};
    use openraft::type_config::TypeConfigExt;

    async fn append(store: &mut LogStore, entries: Vec<Entry>) {
        let (tx, rx) = TypeConfig::oneshot();
        store.append(entries, IOFlushed::signal(tx)).await.unwrap();
        rx.await.unwrap().unwrap();
    }

    fn entries(term: u64, range: std::ops::RangeInclusive<u64>) -> Vec<Entry> {
        range.map(|i| txn_entry(term, i, i as i64)).collect()
    }

    async fn indexes(store: &mut LogStore) -> Vec<u64> {
        store
            .try_get_log_entries(..)
            .await
            .unwrap()
            .iter()
            .map(|e| e.log_id.index)
            .collect()
    }

    /// Drops the store and waits for its writer to let go of the directory.
    fn reopen(store: LogStore, dir: &Path) -> LogStore {
        drop(store);
        LogStore::open(dir, 1, true).unwrap()
    }

    #[tokio::test]
    async fn everything_raft_wrote_is_there_after_a_restart() {
        let d = tempfile::tempdir().unwrap();
        let mut s = LogStore::open(d.path(), 1, true).unwrap();
        append(&mut s, entries(1, 0..=9)).await;
        s.save_vote(&Vote::new_committed(2, 3)).await.unwrap();
        // A new leader replaces the uncommitted tail 7..=9.
        s.truncate_after(Some(log_id(1, 1, 6))).await.unwrap();
        append(&mut s, entries(2, 7..=8)).await;
        s.purge(log_id(1, 1, 3)).await.unwrap();
        s.save_committed(Some(log_id(2, 1, 8))).await.unwrap();

        let mut s = reopen(s, d.path());
        assert_eq!(indexes(&mut s).await, vec![4, 5, 6, 7, 8]);
        let terms: Vec<u64> = s
            .try_get_log_entries(6..=7)
            .await
            .unwrap()
            .iter()
            .map(|e| e.log_id.leader_id.term)
            .collect();
        assert_eq!(terms, vec![1, 2]);
        assert_eq!(
            s.read_vote().await.unwrap(),
            Some(Vote::new_committed(2, 3))
        );
        let state = s.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(1, 1, 3)));
        assert_eq!(state.last_log_id, Some(log_id(2, 1, 8)));
        // The commit point is written lazily, and at the latest when the writer closes.
        assert_eq!(s.read_committed().await.unwrap(), Some(log_id(2, 1, 8)));
    }

    #[tokio::test]
    async fn a_snapshot_past_the_end_restarts_the_log_there() {
        let d = tempfile::tempdir().unwrap();
        let mut s = LogStore::open(d.path(), 1, true).unwrap();
        append(&mut s, entries(1, 0..=4)).await;
        s.purge(log_id(3, 2, 50)).await.unwrap();
        append(&mut s, entries(3, 51..=52)).await;
        let mut s = reopen(s, d.path());
        assert_eq!(indexes(&mut s).await, vec![51, 52]);
        let state = s.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id.map(|l| l.index), Some(52));
    }

    #[tokio::test]
    async fn an_empty_log_may_start_anywhere_but_never_leave_a_hole() {
        let d = tempfile::tempdir().unwrap();
        let mut s = LogStore::open(d.path(), 1, true).unwrap();
        append(&mut s, entries(1, 5..=6)).await;
        let (tx, _rx) = TypeConfig::oneshot();
        let hole = s.append(entries(1, 8..=8), IOFlushed::signal(tx)).await;
        assert!(hole.is_err());
        let mut s = reopen(s, d.path());
        assert_eq!(indexes(&mut s).await, vec![5, 6]);
    }

    #[tokio::test]
    async fn a_directory_belongs_to_one_member_and_one_process() {
        let d = tempfile::tempdir().unwrap();
        let s = LogStore::open(d.path(), 1, true).unwrap();
        assert!(
            lock_dir(d.path(), 1).is_err(),
            "second writer while the first runs"
        );
        drop(s);
        let err = LogStore::open(d.path(), 2, true).err().unwrap();
        assert!(err.to_string().contains("belongs to member 1"), "{err}");
    }

    #[derive(Debug, Clone)]
    enum Step {
        /// Append this many entries of this term after the last one.
        Append(u8, u64),
        /// Keep entries up to the one this fraction of the way into the log.
        Truncate(u8),
        /// Purge up to this fraction of the way into the log; above 100 purges past the end.
        Purge(u8),
        Reopen,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            3 => (1u8..6, 1u64..4).prop_map(|(n, t)| Step::Append(n, t)),
            1 => (0u8..=100).prop_map(Step::Truncate),
            1 => (0u8..=130).prop_map(Step::Purge),
            1 => Just(Step::Reopen),
        ]
    }

    /// What a correct log holds: index → term, and the purge point.
    #[derive(Default)]
    struct Model {
        entries: BTreeMap<u64, u64>,
        purged: Option<(u64, u64)>,
    }

    impl Model {
        fn next(&self) -> u64 {
            match (self.entries.keys().next_back(), self.purged) {
                (Some(i), _) => i + 1,
                (None, Some((p, _))) => p + 1,
                (None, None) => 0,
            }
        }
        fn term_at(&self, i: u64) -> u64 {
            self.entries.get(&i).copied().unwrap_or(1)
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Any sequence of appends, truncations, purges and restarts leaves exactly the entries a
        /// model log holds, on disk as in memory.
        #[test]
        fn the_log_matches_a_model_through_any_sequence(steps in proptest::collection::vec(step(), 1..25)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let d = tempfile::tempdir().unwrap();
                let mut s = LogStore::open(d.path(), 1, false).unwrap();
                let mut m = Model::default();
                let mut term = 1;
                for st in steps {
                    match st {
                        Step::Append(n, t) => {
                            term = term.max(t);
                            let first = m.next();
                            let es: Vec<Entry> = (first..first + n as u64)
                                .map(|i| txn_entry(term, i, i as i64))
                                .collect();
                            for i in first..first + n as u64 {
                                m.entries.insert(i, term);
                            }
                            append(&mut s, es).await;
                        }
                        Step::Truncate(f) => {
                            let Some((&lo, &hi)) = m.entries.keys().next().zip(m.entries.keys().next_back()) else { continue };
                            let keep = lo + (hi - lo) * f as u64 / 100;
                            s.truncate_after(Some(log_id(m.term_at(keep), 1, keep))).await.unwrap();
                            m.entries.split_off(&(keep + 1));
                        }
                        Step::Purge(f) => {
                            let hi = m.entries.keys().next_back().copied().unwrap_or(m.next());
                            let lo = m.purged.map_or(0, |p| p.0);
                            let upto = lo + (hi.saturating_sub(lo)) * f as u64 / 100;
                            if m.purged.is_some_and(|p| upto <= p.0) { continue; }
                            let t = m.term_at(upto);
                            s.purge(log_id(t, 1, upto)).await.unwrap();
                            m.entries = m.entries.split_off(&(upto + 1));
                            m.purged = Some((upto, t));
                        }
                        Step::Reopen => s = reopen(s, d.path()),
                    }
                    let got: Vec<(u64, u64)> = s.try_get_log_entries(..).await.unwrap()
                        .iter().map(|e| (e.log_id.index, e.log_id.leader_id.term)).collect();
                    let want: Vec<(u64, u64)> = m.entries.iter().map(|(i, t)| (*i, *t)).collect();
                    assert_eq!(got, want);
                    let state = s.get_log_state().await.unwrap();
                    assert_eq!(state.last_purged_log_id.map(|l| l.index), m.purged.map(|p| p.0));
                    let last = m.entries.keys().next_back().copied().or(m.purged.map(|p| p.0));
                    assert_eq!(state.last_log_id.map(|l| l.index), last);
                }
                // And once more from disk alone.
                let mut s = reopen(s, d.path());
                let got: Vec<u64> = indexes(&mut s).await;
                assert_eq!(got, m.entries.keys().copied().collect::<Vec<_>>());
            });
        }
    }
}
