//! An `Applier` for a state owner that is a task with a mailbox, like the server core: each
//! call becomes a message carrying a reply channel, so the tree stays owned by one task and
//! consensus waits for the core instead of touching its state.

use std::io;

use tokio::sync::{mpsc, oneshot};

use super::applier::{Applier, Committed};
use crate::tree::DataTree;

/// What the owning task receives; it must answer every request through its `reply`.
#[derive(Debug)]
pub enum ApplyRequest {
    Apply {
        batch: Vec<Committed>,
        reply: oneshot::Sender<io::Result<()>>,
    },
    Snapshot {
        reply: oneshot::Sender<io::Result<Vec<u8>>>,
    },
    Restore {
        image: Vec<u8>,
        reply: oneshot::Sender<io::Result<()>>,
    },
}

impl ApplyRequest {
    /// Answers from a bare tree, with no connections or watches to tell: what a member does while
    /// `Member::start` loads its snapshot, before its server core exists. A restored image keeps
    /// the tree's extended-types setting (it is configuration, not data).
    pub fn serve_bare(self, tree: &mut DataTree) {
        match self {
            ApplyRequest::Apply { batch, reply } => {
                for c in batch {
                    if let Committed::Txn { txn, .. } = c {
                        tree.apply(&txn);
                    }
                }
                let _ = reply.send(Ok(()));
            }
            ApplyRequest::Snapshot { reply } => {
                let _ = reply.send(Ok(tree.snapshot()));
            }
            ApplyRequest::Restore { image, reply } => {
                let r = match DataTree::from_snapshot(&image) {
                    Ok(mut t) => {
                        t.extended_types = tree.extended_types;
                        *tree = t;
                        Ok(())
                    }
                    Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                };
                let _ = reply.send(r);
            }
        }
    }
}

/// The consensus side of the mailbox.
#[derive(Clone)]
pub struct ChannelApplier {
    tx: mpsc::Sender<ApplyRequest>,
}

impl ChannelApplier {
    /// A mailbox of `depth` requests; the receiver goes to the owning task.
    pub fn new(depth: usize) -> (ChannelApplier, mpsc::Receiver<ApplyRequest>) {
        let (tx, rx) = mpsc::channel(depth.max(1));
        (ChannelApplier { tx }, rx)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<io::Result<T>>) -> ApplyRequest,
    ) -> io::Result<T> {
        let gone = || io::Error::other("the state owner stopped");
        let (reply, answer) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

impl Applier for ChannelApplier {
    async fn apply(&mut self, batch: Vec<Committed>) -> io::Result<()> {
        self.ask(|reply| ApplyRequest::Apply { batch, reply }).await
    }

    async fn snapshot(&mut self) -> io::Result<Vec<u8>> {
        self.ask(|reply| ApplyRequest::Snapshot { reply }).await
    }

    async fn restore(&mut self, image: Vec<u8>) -> io::Result<()> {
        self.ask(|reply| ApplyRequest::Restore { image, reply })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Txn, TxnBody};

    /// A stand-in for the core: owns a tree and serves the mailbox.
    async fn owner(mut rx: mpsc::Receiver<ApplyRequest>) -> DataTree {
        let mut tree = DataTree::new();
        while let Some(req) = rx.recv().await {
            req.serve_bare(&mut tree);
        }
        tree
    }

    fn open(session: i64, zxid: i64) -> Committed {
        Committed::Txn {
            txn: Txn {
                zxid,
                time: 0,
                body: TxnBody::CreateSession {
                    session,
                    timeout: 10_000,
                    password: bytes::Bytes::from_static(&[1; 16]),
                },
            },
            from: 1,
            tag: 0,
        }
    }

    #[tokio::test]
    async fn calls_reach_the_owner_in_order_and_fail_once_it_is_gone() {
        let (mut a, rx) = ChannelApplier::new(4);
        let task = tokio::spawn(owner(rx));
        a.apply(vec![open(7, 1)]).await.unwrap();
        let image = a.snapshot().await.unwrap();
        a.apply(vec![open(8, 2)]).await.unwrap();
        a.restore(image).await.unwrap();
        assert!(a.restore(b"not a tree".to_vec()).await.is_err());
        drop(a);
        let tree = task.await.unwrap();
        assert_eq!(tree.last_zxid(), 1);
        assert!(tree.session(7).is_some() && tree.session(8).is_none());

        let (mut orphan, rx) = ChannelApplier::new(1);
        drop(rx);
        assert!(orphan.apply(vec![]).await.is_err());
    }
}
