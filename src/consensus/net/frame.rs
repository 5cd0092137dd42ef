//! The quorum-port wire format between members: `[length u32 BE][postcard(message)]`.
//! Compact and schema-checked by the types on both ends; lengths are bounded before anything is
//! allocated, and a frame that does not decode is an error for that connection only.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::reconfig::{ReconfigAsk, ReconfigRefusal};
use crate::consensus::types::{Proposal, SnapshotMeta, TypeConfig, Vote};

/// Largest frame accepted: an append batch is capped well below this (see member.rs), and
/// snapshots travel in `SNAPSHOT_CHUNK` pieces.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;
pub const SNAPSHOT_CHUNK: usize = 1024 * 1024;
/// Identifies the protocol (and its version) in the greeting, so a stray client or an
/// incompatible build is turned away instead of misread.
pub const PROTOCOL: u32 = 0x5a4b_5231; // "ZKR1"

#[derive(Debug, Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes exceeds the {MAX_FRAME} byte limit")]
    TooLarge(usize),
    #[error("undecodable frame: {0}")]
    Decode(#[from] postcard::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What a member sends on a connection it opened.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Request {
    /// First frame of every connection: who calls, and whom it believes it reached (a pod that
    /// moved to an address another member used must not be mistaken for that member, nor a
    /// member whose data was wiped for the one that was admitted). `incarnation` 0 only asks
    /// for the member's incarnation, and the connection ends with the answer.
    Hello {
        protocol: u32,
        from: u64,
        to: u64,
        incarnation: u64,
    },
    Append(openraft::raft::AppendEntriesRequest<TypeConfig>),
    Vote(openraft::raft::VoteRequest<TypeConfig>),
    PreVote(openraft::raft::VoteRequest<TypeConfig>),
    /// Starts a snapshot transfer of `len` bytes, sent as `SnapshotChunk`s; one reply at the end.
    SnapshotBegin {
        vote: Vote,
        meta: SnapshotMeta,
        len: u64,
    },
    SnapshotChunk(Vec<u8>),
    TransferLeader(openraft::raft::TransferLeaderRequest<TypeConfig>),
    /// A write accepted by a follower or observer, for the leader to append. Answered out of
    /// order by `Proposed` with the same id, so a member's writes are pipelined.
    Propose {
        id: u64,
        proposal: Proposal,
    },
    /// `sync`: asks the leader for the zxid a read must wait for (a quorum-confirmed commit
    /// point). Answered by `ReadIndex` with the same id.
    ReadIndex {
        id: u64,
    },
    /// Sessions that showed life on the sending member (pings, requests), so the leader, which
    /// alone decides expiry, keeps them alive. Never written to the log; not answered.
    Touch {
        sessions: Vec<i64>,
    },
    /// A client's `reconfig`, for the leader to carry out. Answered by `Reconfigured` with the
    /// same id. (Appended last so the earlier variants keep their encoding.)
    Reconfig {
        id: u64,
        ask: ReconfigAsk,
    },
    /// Sent by the leader to a member a reconfig removed, once the change is committed: the
    /// leader stops replicating to it, so it would never learn otherwise. Not answered.
    Removed {
        by: u64,
    },
    /// Whether the member already belongs to an ensemble: a member about to form a new one
    /// asks the others first, so a server prepared to join an existing ensemble never forms
    /// its own. Answered by `Initialized`.
    Initialized,
}

/// How a forwarded request ended on the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Committed with this zxid / read index at this zxid.
    Zxid(i64),
    /// The receiver is not the leader; nothing was appended.
    NotLeader,
    /// It may or may not have been committed.
    Unknown(String),
    /// A reconfig the leader refused; nothing changed.
    Refused(ReconfigRefusal),
}

/// The answer to a `Request`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum Response {
    Welcome {
        incarnation: u64,
    },
    Append(openraft::raft::AppendEntriesResponse<TypeConfig>),
    Vote(openraft::raft::VoteResponse<TypeConfig>),
    Snapshot(openraft::raft::SnapshotResponse<TypeConfig>),
    TransferLeader,
    Proposed {
        id: u64,
        outcome: Outcome,
    },
    ReadIndex {
        id: u64,
        outcome: Outcome,
    },
    /// The request was refused or failed on the receiving member.
    Refused(String),
    /// How a forwarded `Reconfig` ended: the zxid of the new configuration, or why not.
    Reconfigured {
        id: u64,
        outcome: Outcome,
    },
    Initialized(bool),
}

pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, FrameError> {
    let out = postcard::to_extend(msg, vec![0u8; 4])?;
    let len = out.len() - 4;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut out = out;
    out[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(out)
}

pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, FrameError> {
    Ok(postcard::from_bytes(body)?)
}

/// Writes one frame into a buffered writer without flushing, for batching replies.
pub async fn write_unflushed<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
) -> Result<(), FrameError> {
    w.write_all(&encode(msg)?).await?;
    Ok(())
}

pub async fn write<W: AsyncWrite + Unpin, T: Serialize>(
    w: &mut W,
    msg: &T,
) -> Result<(), FrameError> {
    let buf = encode(msg)?;
    w.write_all(&buf).await?;
    w.flush().await?;
    Ok(())
}

/// Largest greeting frame: the first frame of a connection is read with this bound, so a
/// stranger cannot make a member allocate `MAX_FRAME` bytes before saying who it is.
pub const MAX_GREETING: usize = 64 * 1024;

/// Reads one frame; a clean end of stream before a header is `Closed`.
pub async fn read<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut R,
) -> Result<T, FrameError> {
    read_limited(r, MAX_FRAME).await
}

/// `read` with a smaller bound than `MAX_FRAME`.
pub async fn read_limited<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>>(
    r: &mut R,
    max: usize,
) -> Result<T, FrameError> {
    let mut head = [0u8; 4];
    match r.read_exact(&mut head).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(head) as usize;
    if len > max.min(MAX_FRAME) {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    decode(&body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::record::tests::{log_id, txn_entry};
    use proptest::prelude::*;

    #[tokio::test]
    async fn requests_cross_a_pipe_intact() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        let req = Request::Append(openraft::raft::AppendEntriesRequest {
            vote: Vote::new_committed(3, 1),
            prev_log_id: Some(log_id(3, 1, 4)),
            leader_commit: Some(log_id(3, 1, 4)),
            entries: vec![txn_entry(3, 5, 9), txn_entry(3, 6, 10)],
        });
        write(&mut a, &req).await.unwrap();
        write(
            &mut a,
            &Request::Hello {
                protocol: PROTOCOL,
                from: 1,
                to: 2,
                incarnation: 5,
            },
        )
        .await
        .unwrap();
        drop(a);
        let got: Request = read(&mut b).await.unwrap();
        match (got, req) {
            (Request::Append(g), Request::Append(r)) => {
                assert_eq!(g.entries, r.entries);
                assert_eq!(g.vote, r.vote);
                assert_eq!(g.prev_log_id, r.prev_log_id);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            read::<_, Request>(&mut b).await.unwrap(),
            Request::Hello {
                protocol: PROTOCOL,
                from: 1,
                to: 2,
                incarnation: 5
            }
        ));
        assert!(matches!(
            read::<_, Request>(&mut b).await,
            Err(FrameError::Closed)
        ));
    }

    #[tokio::test]
    async fn an_oversized_length_is_refused_before_allocating() {
        let (mut a, mut b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, &u32::MAX.to_be_bytes())
            .await
            .unwrap();
        assert!(matches!(
            read::<_, Request>(&mut b).await,
            Err(FrameError::TooLarge(_))
        ));
    }

    proptest! {
        #[test]
        fn garbage_bodies_are_errors_not_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode::<Request>(&body);
            let _ = decode::<Response>(&body);
        }
    }
}
