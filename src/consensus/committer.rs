//! Group commit for a standalone member: a dedicated thread appends whatever transactions have
//! queued up while the previous fsync ran, fsyncs once, and reports the highest durable zxid.
//! Throughput grows with load instead of being capped at one fsync per write.
//!
//! With an ensemble the same role is played by the replicated log; the server core only sees
//! "append these" and "durable up to zxid".

use std::sync::mpsc;
use std::thread;

use tokio::sync::mpsc::UnboundedSender;
use tracing::error;

use super::wal::Wal;

/// What the committer reports back.
#[derive(Debug)]
pub enum Committed {
    /// Every transaction up to and including this zxid is durable.
    Upto(i64),
    /// The log cannot be written; the server must stop rather than acknowledge anything more.
    Failed(String),
}

enum Cmd {
    Append(i64, Vec<u8>),
    /// Start a new segment so that older ones can be purged once a snapshot covers them.
    Roll,
}

/// Handle for queueing encoded transactions.
pub struct Committer {
    tx: mpsc::Sender<Cmd>,
}

impl Committer {
    /// Starts the writer thread around an opened log.
    pub fn spawn(mut wal: Wal, report: UnboundedSender<Committed>) -> std::io::Result<Committer> {
        let (tx, rx) = mpsc::channel::<Cmd>();
        thread::Builder::new()
            .name("zk-log-writer".into())
            .spawn(move || {
                let mut batch = Vec::new();
                while let Ok(first) = rx.recv() {
                    let mut roll = false;
                    let mut next = Some(first);
                    while let Some(cmd) = next.take() {
                        match cmd {
                            Cmd::Append(z, b) => batch.push((z, b)),
                            Cmd::Roll => roll = true,
                        }
                        if batch.len() < 4096 {
                            next = rx.try_recv().ok();
                        }
                    }
                    if batch.is_empty() && !roll {
                        continue;
                    }
                    let last = batch.last().map(|(z, _)| *z).unwrap_or(wal.last_zxid());
                    let written = wal.append(&batch).and_then(|_| if roll { wal.roll() } else { Ok(()) });
                    if let Err(e) = written {
                        error!(error = %e, "transaction log write failed");
                        let _ = report.send(Committed::Failed(e.to_string()));
                        return;
                    }
                    batch.clear();
                    if report.send(Committed::Upto(last)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Committer { tx })
    }

    /// Queues one transaction; zxids must be consecutive.
    pub fn append(&self, zxid: i64, bytes: Vec<u8>) -> bool {
        self.tx.send(Cmd::Append(zxid, bytes)).is_ok()
    }

    /// Asks for a new log segment after what is queued so far.
    pub fn roll(&self) -> bool {
        self.tx.send(Cmd::Roll).is_ok()
    }
}
