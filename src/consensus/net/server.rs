//! The quorum-port listener: accepts connections from other members, checks the greeting (the
//! right protocol, addressed to this member, the data incarnation it was admitted with), and
//! hands each request to the local Raft node. Raft RPCs are answered in order; forwarded writes
//! and read-index requests run concurrently and are answered as they finish, tagged with their
//! id. A misbehaving peer only loses its own connection.

use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use openraft::ReadPolicy;
use openraft::error::{LinearizableReadError, RaftError};
use openraft::type_config::async_runtime::WatchReceiver;
use tokio::io::{BufReader, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::frame::{self, FrameError, Outcome, PROTOCOL, Request, Response};
use crate::consensus::applier::Applier;
use crate::consensus::reconfig;
use crate::consensus::submit::{local_outcome, submit_local};
use crate::consensus::types::{LogId, Proposal, Raft, Snapshot, SnapshotMeta, Vote};
use crate::consensus::zxid;

/// Largest snapshot accepted from a leader.
const MAX_SNAPSHOT: u64 = 16 * 1024 * 1024 * 1024;
/// Replies queued for one connection's writer before its reader waits.
const REPLY_QUEUE: usize = 4096;

/// Where touched sessions received from other members go (the leader's core).
pub type TouchSink = mpsc::Sender<Vec<i64>>;
/// Where the ids of members whose connection to this one ended go (see `leader_watch`).
pub type LostSink = mpsc::UnboundedSender<u64>;

/// What the quorum listener shares with the rest of the member, besides Raft itself.
#[derive(Clone)]
pub struct Sinks {
    pub touches: TouchSink,
    pub syncs: PendingSyncs,
    pub lost: LostSink,
    /// This member's id and the address its own connections leave from.
    pub me: (u64, Option<std::net::IpAddr>),
    /// Held while a reconfig runs here, so that only one does at a time.
    pub reconfig_gate: Arc<Mutex<()>>,
    /// Set when a reconfig removed this member.
    pub removed: Arc<AtomicBool>,
}

/// How many `sync` read-index requests forwarded by other members are waiting here for the
/// leader's commit point to be confirmed (ZooKeeper's `pending_syncs`).
#[derive(Clone, Debug, Default)]
pub struct PendingSyncs(Arc<AtomicU64>);

impl PendingSyncs {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one request until the returned guard is dropped, however its task ends.
    fn enter(&self) -> PendingSync {
        self.0.fetch_add(1, Ordering::Relaxed);
        PendingSync(self.0.clone())
    }
}

struct PendingSync(Arc<AtomicU64>);

impl Drop for PendingSync {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves until the task is dropped; connection tasks live in a JoinSet so they end with it.
pub async fn serve<A: Applier>(
    listener: TcpListener,
    me: u64,
    incarnation: u64,
    raft: Raft<A>,
    sinks: Sinks,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (raft, sinks) = (raft.clone(), sinks.clone());
                    conns.spawn(async move {
                        match handle(stream, peer, (me, incarnation), raft, sinks).await {
                            Ok(()) | Err(FrameError::Closed) => {}
                            Err(e) => debug!(%peer, error = %e, "quorum connection ended"),
                        }
                    });
                }
                Err(e) => {
                    warn!(error = %e, "quorum port accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn refuse(
    w: &mut BufWriter<OwnedWriteHalf>,
    peer: SocketAddr,
    why: String,
) -> Result<(), FrameError> {
    warn!(%peer, why, "refused a quorum connection");
    frame::write(w, &Response::Refused(why)).await
}

async fn handle<A: Applier>(
    stream: TcpStream,
    peer: SocketAddr,
    (me, mine): (u64, u64),
    raft: Raft<A>,
    sinks: Sinks,
) -> Result<(), FrameError> {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let (mut r, mut w) = (BufReader::new(r), BufWriter::new(w));
    match frame::read_limited::<_, Request>(&mut r, frame::MAX_GREETING).await? {
        Request::Hello {
            protocol,
            from,
            to,
            incarnation,
        } if protocol == PROTOCOL && to == me => {
            if incarnation != 0 && incarnation != mine {
                let why = format!(
                    "member {me} was admitted with data incarnation {incarnation:#x} but now has {mine:#x}: its data was lost; re-add it under a new id"
                );
                return refuse(&mut w, peer, why).await;
            }
            frame::write(&mut w, &Response::Welcome { incarnation: mine }).await?;
            if incarnation == 0 {
                return Ok(());
            }
            debug!(%peer, from, "member connected");
            let lost = sinks.lost.clone();
            let ended = serve_member(r, w, raft, sinks).await;
            let _ = lost.send(from);
            ended
        }
        Request::Hello { protocol, to, .. } => {
            let why = format!(
                "this is member {me} speaking protocol {PROTOCOL:#x}; you asked for member {to} with {protocol:#x}"
            );
            refuse(&mut w, peer, why).await
        }
        _ => refuse(&mut w, peer, "expected a greeting".into()).await,
    }
}

/// Answers a greeted member's requests until the connection ends.
async fn serve_member<A: Applier>(
    mut r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    mut w: BufWriter<OwnedWriteHalf>,
    raft: Raft<A>,
    sinks: Sinks,
) -> Result<(), FrameError> {
    let Sinks {
        touches,
        syncs,
        me,
        reconfig_gate,
        removed,
        ..
    } = sinks;
    let (tx, mut rx) = mpsc::channel::<Response>(REPLY_QUEUE);
    let writer = async move {
        while let Some(first) = rx.recv().await {
            frame::write_unflushed(&mut w, &first).await?;
            while let Ok(more) = rx.try_recv() {
                frame::write_unflushed(&mut w, &more).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut w).await?;
        }
        Ok::<(), FrameError>(())
    };
    let reader = async {
        // Forwarded writes in flight; dropped (and with them the tasks) with the connection.
        let mut inflight = JoinSet::new();
        let (proposals, ordered) = mpsc::unbounded_channel();
        inflight.spawn(proposals_in_order(raft.clone(), ordered, tx.clone()));
        loop {
            // Reading a frame is not cancel-safe, so finished tasks are reaped between frames
            // rather than raced against the read.
            let req = frame::read::<_, Request>(&mut r).await?;
            while inflight.try_join_next().is_some() {}
            let reply = match req {
                Request::Propose { id, proposal } => {
                    if proposals.send((id, proposal)).is_err() {
                        return Ok(());
                    }
                    continue;
                }
                Request::Touch { sessions } => {
                    // Advisory: when the core is behind, a later batch carries the news.
                    let _ = touches.try_send(sessions);
                    continue;
                }
                Request::ReadIndex { id } => {
                    let (raft, tx) = (raft.clone(), tx.clone());
                    let pending = syncs.enter();
                    inflight.spawn(async move {
                        let _pending = pending;
                        let outcome =
                            read_outcome(raft.ensure_linearizable(ReadPolicy::ReadIndex).await);
                        let _ = tx.send(Response::ReadIndex { id, outcome }).await;
                    });
                    continue;
                }
                Request::Removed { by } => {
                    warn!(by, "removed from the ensemble by a reconfig");
                    removed.store(true, Ordering::SeqCst);
                    continue;
                }
                Request::Reconfig { id, ask } => {
                    let (raft, tx, gate) = (raft.clone(), tx.clone(), reconfig_gate.clone());
                    inflight.spawn(async move {
                        let outcome = reconfig::on_leader(&raft, me, &gate, ask).await;
                        let _ = tx.send(Response::Reconfigured { id, outcome }).await;
                    });
                    continue;
                }
                Request::SnapshotBegin { vote, meta, len } => {
                    if len > MAX_SNAPSHOT {
                        let _ = tx
                            .send(Response::Refused("snapshot too large".into()))
                            .await;
                        return Ok(());
                    }
                    let mut data = Vec::new();
                    while (data.len() as u64) < len {
                        match frame::read::<_, Request>(&mut r).await? {
                            Request::SnapshotChunk(c) if (data.len() + c.len()) as u64 <= len => {
                                data.extend_from_slice(&c)
                            }
                            _ => {
                                let _ = tx
                                    .send(Response::Refused("bad snapshot chunk".into()))
                                    .await;
                                return Ok(());
                            }
                        }
                    }
                    let committed = raft.metrics().borrow_watched().local_committed;
                    if let Err(why) = plausible_snapshot(&vote, &meta, committed.as_ref()) {
                        let _ = tx.send(Response::Refused(why)).await;
                        return Ok(());
                    }
                    let snapshot = Snapshot {
                        meta,
                        snapshot: Cursor::new(data),
                    };
                    match raft.install_full_snapshot(vote, snapshot).await {
                        Ok(resp) => Response::Snapshot(resp),
                        Err(e) => Response::Refused(e.to_string()),
                    }
                }
                other => rpc(&raft, other).await,
            };
            if tx.send(reply).await.is_err() {
                return Ok(());
            }
        }
    };
    tokio::select! {
        r = reader => r,
        w = writer => w,
    }
}

/// Hands a connection's forwarded proposals to Raft in the order they arrived (each is queued
/// at the Raft core before the next), so one client session's writes through a follower are
/// appended in request order; their outcomes are awaited concurrently, which keeps group commit.
async fn proposals_in_order<A: Applier>(
    raft: Raft<A>,
    mut proposals: mpsc::UnboundedReceiver<(u64, Proposal)>,
    replies: mpsc::Sender<Response>,
) {
    let mut inflight = FuturesUnordered::new();
    loop {
        tokio::select! {
            p = proposals.recv() => match p {
                Some((id, proposal)) => match submit_local(&raft, proposal).await {
                    Ok(outcome) => inflight.push(async move { (id, local_outcome(outcome).await) }),
                    Err(e) => {
                        let outcome = Outcome::Unknown(e.to_string());
                        if replies.send(Response::Proposed { id, outcome }).await.is_err() {
                            return;
                        }
                    }
                },
                None => return,
            },
            Some((id, outcome)) = inflight.next(), if !inflight.is_empty() => {
                if replies.send(Response::Proposed { id, outcome }).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Turns away a snapshot no protocol-following leader can send, which openraft would answer by
/// panicking its core (a forged or corrupted transfer): one whose last entry belongs to a later
/// leadership than the sender's vote, or one that claims a committed slot with another entry.
fn plausible_snapshot(
    vote: &Vote,
    meta: &SnapshotMeta,
    committed: Option<&LogId>,
) -> Result<(), String> {
    let Some(last) = meta.last_log_id.as_ref() else {
        return Ok(());
    };
    if last.leader_id > *vote.leader_id() {
        return Err(format!(
            "snapshot at {last} is beyond the sender's vote {vote}"
        ));
    }
    if let Some(c) = committed
        && last > c
        && last.index <= c.index
    {
        return Err(format!(
            "snapshot at {last} contradicts the committed entry {c}"
        ));
    }
    Ok(())
}

/// Raft's own RPCs, answered in order.
async fn rpc<A: Applier>(raft: &Raft<A>, req: Request) -> Response {
    match req {
        Request::Append(rpc) => match raft.append_entries(rpc).await {
            Ok(resp) => Response::Append(resp),
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::Vote(rpc) => match raft.vote(rpc).await {
            Ok(resp) => Response::Vote(resp),
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::PreVote(rpc) => match raft.pre_vote(rpc).await {
            Ok(resp) => Response::Vote(resp),
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::TransferLeader(req) => match raft.handle_transfer_leader(req).await {
            Ok(Ok(())) => Response::TransferLeader,
            Ok(Err(e)) => Response::Refused(e.to_string()),
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::Initialized => match raft.is_initialized().await {
            Ok(yes) => Response::Initialized(yes),
            Err(e) => Response::Refused(e.to_string()),
        },
        Request::Hello { .. } => Response::Refused("already greeted".into()),
        Request::SnapshotChunk(_) => Response::Refused("chunk outside a snapshot".into()),
        Request::SnapshotBegin { .. }
        | Request::Propose { .. }
        | Request::ReadIndex { .. }
        | Request::Reconfig { .. }
        | Request::Removed { .. }
        | Request::Touch { .. } => Response::Refused("not an in-order request".into()),
    }
}

fn read_outcome(
    r: Result<
        openraft::raft::linearizable_read::ReadLogId<crate::consensus::types::TypeConfig>,
        RaftError<
            crate::consensus::types::TypeConfig,
            LinearizableReadError<crate::consensus::types::TypeConfig>,
        >,
    >,
) -> Outcome {
    match r {
        Ok(read) => Outcome::Zxid(zxid::of_index(read.index())),
        Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(_))) => Outcome::NotLeader,
        Err(e) => Outcome::Unknown(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::record::tests::log_id;
    use crate::consensus::types::StoredMembership;

    fn meta(term: u64, node: u64, index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(log_id(term, node, index)),
            last_membership: StoredMembership::default(),
        }
    }

    #[test]
    fn snapshots_a_real_leader_could_not_send_are_refused() {
        let vote = Vote::new_committed(5, 2);
        assert!(plausible_snapshot(&vote, &meta(5, 2, 40), None).is_ok());
        assert!(plausible_snapshot(&vote, &meta(4, 1, 40), Some(&log_id(4, 1, 30))).is_ok());
        // From a later term than the sender's own.
        assert!(plausible_snapshot(&vote, &meta(6, 3, 40), None).is_err());
        // A different entry in a slot this member already has committed.
        assert!(plausible_snapshot(&vote, &meta(5, 2, 30), Some(&log_id(4, 1, 30))).is_err());
        // Older than what is committed: harmless, openraft ignores it.
        assert!(plausible_snapshot(&vote, &meta(3, 1, 20), Some(&log_id(4, 1, 30))).is_ok());
    }
}
