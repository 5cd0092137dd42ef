//! The quorum-port listener: accepts connections from other members, checks the greeting (the
//! right protocol, addressed to this member), and hands each request to the local Raft node.
//! A misbehaving peer only loses its own connection.

use std::io::Cursor;
use std::net::SocketAddr;

use tokio::io::{BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::frame::{self, FrameError, PROTOCOL, Request, Response};
use crate::consensus::applier::Applier;
use crate::consensus::types::{Raft, Snapshot};

/// Largest snapshot accepted from a leader.
const MAX_SNAPSHOT: u64 = 16 * 1024 * 1024 * 1024;

/// Serves until the task is dropped; connection tasks live in a JoinSet so they end with it.
pub async fn serve<A: Applier>(listener: TcpListener, me: u64, incarnation: u64, raft: Raft<A>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let raft = raft.clone();
                    conns.spawn(async move {
                        match handle(stream, peer, (me, incarnation), raft).await {
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

async fn handle<A: Applier>(
    stream: TcpStream,
    peer: SocketAddr,
    (me, mine): (u64, u64),
    raft: Raft<A>,
) -> Result<(), FrameError> {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let (mut r, mut w) = (BufReader::new(r), BufWriter::new(w));
    let refuse = async |w: &mut BufWriter<_>, why: String| {
        warn!(%peer, why, "refused a quorum connection");
        frame::write(w, &Response::Refused(why)).await
    };
    match frame::read::<_, Request>(&mut r).await? {
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
                return refuse(&mut w, why).await;
            }
            frame::write(&mut w, &Response::Welcome { incarnation: mine }).await?;
            if incarnation == 0 {
                return Ok(());
            }
            debug!(%peer, from, "member connected");
        }
        Request::Hello { protocol, to, .. } => {
            let why = format!(
                "this is member {me} speaking protocol {PROTOCOL:#x}; you asked for member {to} with {protocol:#x}"
            );
            return refuse(&mut w, why).await;
        }
        _ => return refuse(&mut w, "expected a greeting".into()).await,
    }
    loop {
        let reply = match frame::read::<_, Request>(&mut r).await? {
            Request::Hello { .. } => Response::Refused("already greeted".into()),
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
            Request::SnapshotBegin { vote, meta, len } => {
                if len > MAX_SNAPSHOT {
                    frame::write(&mut w, &Response::Refused("snapshot too large".into())).await?;
                    return Ok(());
                }
                let mut data = Vec::new();
                while (data.len() as u64) < len {
                    match frame::read::<_, Request>(&mut r).await? {
                        Request::SnapshotChunk(c) if (data.len() + c.len()) as u64 <= len => {
                            data.extend_from_slice(&c)
                        }
                        _ => {
                            frame::write(&mut w, &Response::Refused("bad snapshot chunk".into()))
                                .await?;
                            return Ok(());
                        }
                    }
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
            Request::SnapshotChunk(_) => Response::Refused("chunk outside a snapshot".into()),
            Request::TransferLeader(req) => match raft.handle_transfer_leader(req).await {
                Ok(Ok(())) => Response::TransferLeader,
                Ok(Err(e)) => Response::Refused(e.to_string()),
                Err(e) => Response::Refused(e.to_string()),
            },
        };
        frame::write(&mut w, &reply).await?;
    }
}
