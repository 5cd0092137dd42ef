//! The replicated log's writer thread: the one place that touches the segment files and the
//! meta file, so a vote and the entries around it reach the disk in the order Raft issued them.
//! Appends that queue up while an fsync runs are written together and fsync'd once (group
//! commit), then every caller waiting on them is told they are durable.

use std::io;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::error;

use super::metafile::{self, Meta};
use super::types::TypeConfig;
use super::wal::Wal;

type Flushed = openraft::storage::IOFlushed<TypeConfig>;
pub type Reply = oneshot::Sender<io::Result<()>>;

/// How long a newer committed log id may wait before it is written on its own. Losing it in a
/// crash only means re-learning the commit point from the leader.
const COMMITTED_LAG: Duration = Duration::from_millis(200);

pub enum Cmd {
    Append(Vec<(i64, Vec<u8>)>, Flushed),
    Truncate(i64, Reply),
    /// Meta (with the new purge point or log start) is written before any segment is deleted.
    /// Nobody waits for it: a failure stops the writer, and every later command fails.
    Purge(i64, Meta),
    /// Durable before the reply: votes.
    SaveMeta(Meta, Reply),
    /// Written lazily: committed log ids.
    SaveMetaLazily(Meta),
}

pub struct Writer {
    tx: mpsc::Sender<Cmd>,
}

/// Resolves (with an error, as its sender is dropped) once the writer thread has exited: the
/// log is closed, its directory unlocked.
pub type Closed = oneshot::Receiver<()>;

fn closed() -> io::Error {
    io::Error::other("log writer stopped after an earlier failure")
}

impl Writer {
    /// `lock` is the directory's lock file; the thread holds it until it exits, so a restarted
    /// member cannot open the log while the previous writer may still write.
    pub fn spawn(
        mut wal: Wal,
        dir: PathBuf,
        fsync: bool,
        lock: std::fs::File,
    ) -> io::Result<(Writer, Closed)> {
        let (tx, rx) = mpsc::channel::<Cmd>();
        let (closed_tx, closed) = oneshot::channel::<()>();
        thread::Builder::new()
            .name("zk-raft-log".into())
            .spawn(move || {
                // Dropped last (declared first), after the lock and the log are released.
                let _closed = closed_tx;
                let _lock = lock;
                let mut lazy: Option<Meta> = None;
                let mut lazy_since = Instant::now();
                loop {
                    let first = match rx.recv_timeout(COMMITTED_LAG) {
                        Ok(c) => c,
                        Err(RecvTimeoutError::Timeout) => {
                            if let Some(m) = lazy.take()
                                && let Err(e) = metafile::write(&dir, &m, fsync)
                            {
                                error!(error = %e, "raft meta write failed");
                                return;
                            }
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => {
                            // Closing down: keep the newest commit point for the restart.
                            if let Some(m) = lazy.take()
                                && let Err(e) = metafile::write(&dir, &m, fsync)
                            {
                                error!(error = %e, "raft meta write failed");
                            }
                            if let Err(e) = wal.close() {
                                error!(error = %e, "closing the raft log failed");
                            }
                            return;
                        }
                    };
                    let mut cmds = vec![first];
                    while cmds.len() < 4096
                        && let Ok(c) = rx.try_recv()
                    {
                        cmds.push(c);
                    }
                    if let Err(e) = run(&mut wal, &dir, fsync, cmds, &mut lazy, &mut lazy_since) {
                        error!(error = %e, "raft log write failed; this member stops writing");
                        return;
                    }
                }
            })?;
        Ok((Writer { tx }, closed))
    }

    pub fn send(&self, cmd: Cmd) -> io::Result<()> {
        self.tx.send(cmd).map_err(|_| closed())
    }

    /// Sends a command that replies, and waits for the reply.
    pub async fn call(&self, make: impl FnOnce(Reply) -> Cmd) -> io::Result<()> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await.map_err(|_| closed())?
    }
}

/// Executes a batch in order; consecutive appends share one write and one fsync.
fn run(
    wal: &mut Wal,
    dir: &std::path::Path,
    fsync: bool,
    cmds: Vec<Cmd>,
    lazy: &mut Option<Meta>,
    lazy_since: &mut Instant,
) -> io::Result<()> {
    let mut records: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut waiting: Vec<Flushed> = Vec::new();
    let flush = |wal: &mut Wal, records: &mut Vec<(i64, Vec<u8>)>, waiting: &mut Vec<Flushed>| {
        let r = wal.append(records);
        records.clear();
        let failed = r.as_ref().err().map(|e| e.to_string());
        for cb in waiting.drain(..) {
            cb.io_completed(match &failed {
                None => Ok(()),
                Some(e) => Err(io::Error::other(e.clone())),
            });
        }
        r
    };
    let mut result = Ok(());
    for cmd in cmds {
        if result.is_err() {
            fail(cmd);
            continue;
        }
        match cmd {
            Cmd::Append(mut recs, cb) => {
                records.append(&mut recs);
                waiting.push(cb);
            }
            Cmd::SaveMetaLazily(m) => {
                if lazy.is_none() {
                    *lazy_since = Instant::now();
                }
                *lazy = Some(m);
            }
            other => {
                result = flush(wal, &mut records, &mut waiting).and_then(|_| match other {
                    Cmd::Truncate(seq, reply) => answer(reply, wal.truncate_after(seq)),
                    Cmd::Purge(seq, meta) => {
                        *lazy = None;
                        metafile::write(dir, &meta, fsync)
                            .and_then(|_| wal.purge_through(seq).map(|_| ()))
                    }
                    Cmd::SaveMeta(meta, reply) => {
                        *lazy = None;
                        answer(reply, metafile::write(dir, &meta, fsync))
                    }
                    Cmd::Append(..) | Cmd::SaveMetaLazily(_) => Ok(()),
                });
            }
        }
    }
    if result.is_ok() {
        result = flush(wal, &mut records, &mut waiting);
    }
    if result.is_ok()
        && lazy_since.elapsed() >= COMMITTED_LAG
        && let Some(m) = lazy.take()
    {
        result = metafile::write(dir, &m, fsync);
    }
    result
}

/// Reports the outcome to the caller and passes it on, so one failure stops the writer.
fn answer(reply: Reply, r: io::Result<()>) -> io::Result<()> {
    let copy = r
        .as_ref()
        .map(|_| ())
        .map_err(|e| io::Error::other(e.to_string()));
    let _ = reply.send(copy);
    r
}

fn fail(cmd: Cmd) {
    match cmd {
        Cmd::Append(_, cb) => cb.io_completed(Err(closed())),
        Cmd::Truncate(_, r) | Cmd::SaveMeta(_, r) => {
            let _ = r.send(Err(closed()));
        }
        Cmd::Purge(..) | Cmd::SaveMetaLazily(_) => {}
    }
}
