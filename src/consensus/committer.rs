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

/// Handle for queueing encoded transactions.
pub struct Committer {
    tx: mpsc::Sender<(i64, Vec<u8>)>,
}

impl Committer {
    /// Starts the writer thread around an opened log.
    pub fn spawn(mut wal: Wal, report: UnboundedSender<Committed>) -> std::io::Result<Committer> {
        let (tx, rx) = mpsc::channel::<(i64, Vec<u8>)>();
        thread::Builder::new()
            .name("zk-log-writer".into())
            .spawn(move || {
                let mut batch = Vec::new();
                while let Ok(first) = rx.recv() {
                    batch.push(first);
                    while let Ok(more) = rx.try_recv() {
                        batch.push(more);
                        if batch.len() >= 4096 {
                            break;
                        }
                    }
                    let last = batch.last().map(|(z, _)| *z).unwrap_or_default();
                    if let Err(e) = wal.append(&batch) {
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
        self.tx.send((zxid, bytes)).is_ok()
    }
}
