//! Forwarding from a follower or observer to the leader: writes a client sent to this member,
//! and `sync` read-index requests. One pipelined connection to the current leader carries them
//! all, each tagged with an id and answered as soon as the leader is done with it, so a member
//! forwarding many writes is not limited to one round trip at a time.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};
use tracing::debug;

use super::client::{Conn, greet};
use super::frame::{self, Outcome, Request, Response};
use crate::config::reconfig::ReconfigAsk;
use crate::consensus::types::{NodeInfo, Proposal};

/// Requests queued for the link's writer before callers wait.
const QUEUE: usize = 4096;

pub enum Ask {
    Propose(Proposal),
    ReadIndex,
    /// Sessions that showed life on this member; not answered.
    Touch(Vec<i64>),
    /// A client's reconfig.
    Reconfig(ReconfigAsk),
}

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Outcome>>>>;

struct Link {
    leader: u64,
    incarnation: u64,
    tx: mpsc::Sender<(Ask, oneshot::Sender<Outcome>)>,
}

pub struct Forwarder {
    me: u64,
    /// This member's own address, which the link leaves from (see `dial`).
    source: Option<IpAddr>,
    link: AsyncMutex<Option<Link>>,
}

/// What a forwarded request whose link to the leader failed before the answer came ended with.
pub fn lost_leader() -> Outcome {
    Outcome::Unknown("connection to the leader was lost".into())
}

impl Forwarder {
    pub fn new(me: u64, source: Option<IpAddr>) -> Forwarder {
        Forwarder {
            me,
            source,
            link: AsyncMutex::new(None),
        }
    }

    /// Sends `ask` to `leader` and waits for its outcome.
    pub async fn call(&self, leader: u64, node: &NodeInfo, ask: Ask) -> Outcome {
        match self.send(leader, node, ask).await {
            Ok(answer) => answer.await.unwrap_or_else(|_| lost_leader()),
            Err(refused) => refused,
        }
    }

    /// Queues `ask` on the link to `leader` and returns where its outcome will arrive. Asks
    /// queued one after the other reach the leader in that order.
    pub async fn send(
        &self,
        leader: u64,
        node: &NodeInfo,
        ask: Ask,
    ) -> Result<oneshot::Receiver<Outcome>, Outcome> {
        let (reply, answer) = oneshot::channel();
        self.enqueue(leader, node, ask, reply).await?;
        Ok(answer)
    }

    /// Sends `ask` to `leader` without waiting for anything; false if it could not be queued.
    pub async fn tell(&self, leader: u64, node: &NodeInfo, ask: Ask) -> bool {
        let (reply, _) = oneshot::channel();
        self.enqueue(leader, node, ask, reply).await.is_ok()
    }

    /// Queues `ask` on the link to `leader`, (re)connecting first if needed. An error means
    /// nothing was sent, so nothing was appended.
    async fn enqueue(
        &self,
        leader: u64,
        node: &NodeInfo,
        ask: Ask,
        reply: oneshot::Sender<Outcome>,
    ) -> Result<(), Outcome> {
        let mut link = self.link.lock().await;
        let current = link.as_ref().is_some_and(|l| {
            l.leader == leader && l.incarnation == node.incarnation && !l.tx.is_closed()
        });
        if !current {
            match greet(
                self.me,
                self.source,
                leader,
                node.quorum_addr(),
                node.incarnation,
            )
            .await
            {
                Ok((conn, _)) => {
                    let (tx, rx) = mpsc::channel(QUEUE);
                    tokio::spawn(run(conn, rx));
                    *link = Some(Link {
                        leader,
                        incarnation: node.incarnation,
                        tx,
                    });
                }
                Err(e) => {
                    *link = None;
                    debug!(error = %e, "cannot reach the leader to forward");
                    return Err(Outcome::NotLeader);
                }
            }
        }
        let Some(l) = link.as_ref() else {
            return Err(Outcome::NotLeader);
        };
        if l.tx.send((ask, reply)).await.is_err() {
            *link = None;
            return Err(Outcome::NotLeader);
        }
        Ok(())
    }
}

/// Hands each reply to whoever waits for its id; returns when the connection fails.
async fn read_replies(
    r: &mut tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>,
    waiters: Waiters,
) -> Result<(), frame::FrameError> {
    loop {
        let (id, outcome) = match frame::read::<_, Response>(r).await? {
            Response::Proposed { id, outcome }
            | Response::ReadIndex { id, outcome }
            | Response::Reconfigured { id, outcome } => (id, outcome),
            _ => return Err(frame::FrameError::Closed),
        };
        let waiter = waiters.lock().ok().and_then(|mut w| w.remove(&id));
        if let Some(tx) = waiter {
            let _ = tx.send(outcome);
        }
    }
}

/// Drives one link until the connection fails or the forwarder drops it; whatever is still
/// waiting then has an unknown outcome.
async fn run(conn: Conn, mut rx: mpsc::Receiver<(Ask, oneshot::Sender<Outcome>)>) {
    let Conn { mut r, mut w } = conn;
    let waiters: Waiters = Arc::default();
    let writer = {
        let waiters = waiters.clone();
        async move {
            let mut next = 0u64;
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                for (ask, reply) in batch {
                    let req = match ask {
                        Ask::Touch(sessions) => Request::Touch { sessions },
                        ask => {
                            next += 1;
                            let id = next;
                            if let Ok(mut w) = waiters.lock() {
                                w.insert(id, reply);
                            }
                            match ask {
                                Ask::Propose(proposal) => Request::Propose { id, proposal },
                                Ask::Reconfig(ask) => Request::Reconfig { id, ask },
                                _ => Request::ReadIndex { id },
                            }
                        }
                    };
                    frame::write_unflushed(&mut w, &req).await?;
                }
                tokio::io::AsyncWriteExt::flush(&mut w).await?;
            }
            Ok::<(), frame::FrameError>(())
        }
    };
    let reader = read_replies(&mut r, waiters.clone());
    let ended = tokio::select! {
        r = reader => r,
        w = writer => w,
    };
    if let Err(e) = ended {
        debug!(error = %e, "forwarding link to the leader closed");
    }
    if let Ok(mut w) = waiters.lock() {
        for (_, tx) in w.drain() {
            let _ = tx.send(lost_leader());
        }
    }
}
