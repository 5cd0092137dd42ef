//! What can go wrong when the server asks consensus for something, in terms the server acts on:
//! forward to the leader, report an unknown outcome (ZooKeeper's ConnectionLoss), or stop.

use std::io;

use openraft::error::{ClientWriteError, Fatal, InitializeError, RaftError};
use thiserror::Error;

use super::types::TypeConfig;

#[derive(Debug, Error)]
pub enum ConsensusError {
    /// This member is not the leader; `leader` is who is, when known (id, quorum address).
    #[error("not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<(u64, String)> },
    /// Leadership changed while the proposal was in flight: it may or may not be committed.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// A membership change was refused (for example another one is in progress).
    #[error("membership change refused: {0}")]
    Membership(String),
    /// The ensemble was already initialized, or this member cannot initialize it.
    #[error("cannot bootstrap: {0}")]
    Bootstrap(String),
    /// Replication on this member has stopped (storage failure or shutdown).
    #[error("consensus stopped: {0}")]
    Stopped(String),
    /// A client's reconfig was refused by the leader; nothing changed.
    #[error("reconfig refused: {0}")]
    Reconfig(crate::config::reconfig::ReconfigRefusal),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<Fatal<TypeConfig>> for ConsensusError {
    fn from(f: Fatal<TypeConfig>) -> Self {
        ConsensusError::Stopped(f.to_string())
    }
}

impl From<RaftError<TypeConfig, ClientWriteError<TypeConfig>>> for ConsensusError {
    fn from(e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> Self {
        match e {
            RaftError::Fatal(f) => f.into(),
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                ConsensusError::NotLeader {
                    leader: f
                        .leader_id
                        .zip(f.leader_node.map(|n| n.quorum_addr().to_string())),
                }
            }
            RaftError::APIError(ClientWriteError::LogEntryDiscarded(f)) => {
                ConsensusError::Unknown(f.to_string())
            }
            RaftError::APIError(ClientWriteError::ChangeMembershipError(c)) => {
                ConsensusError::Membership(c.to_string())
            }
            RaftError::APIError(ClientWriteError::PreconditionFailed(p)) => {
                ConsensusError::Membership(p.to_string())
            }
        }
    }
}

impl From<RaftError<TypeConfig, InitializeError<TypeConfig>>> for ConsensusError {
    fn from(e: RaftError<TypeConfig, InitializeError<TypeConfig>>) -> Self {
        match e {
            RaftError::Fatal(f) => f.into(),
            RaftError::APIError(i) => ConsensusError::Bootstrap(i.to_string()),
        }
    }
}
