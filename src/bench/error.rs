//! Why a benchmark could not run.

use thiserror::Error;
use zookeeper_client::Error as ZkError;

use super::stats::StatsError;

/// A failure that stops the benchmark (failed requests during the run are counted instead).
#[derive(Debug, Error)]
pub enum BenchError {
    /// The arguments make no run.
    #[error("invalid arguments: {0}")]
    Args(String),
    /// A session could not be established.
    #[error("cannot connect to {server}: {source}")]
    Connect {
        /// Connect string.
        server: String,
        /// Client error.
        source: ZkError,
    },
    /// A load session could not be opened.
    #[error("cannot open a session on {server}: {source}")]
    Session {
        /// The host dialled.
        server: String,
        /// What went wrong.
        source: super::wire::WireError,
    },
    /// Creating or deleting the benchmark's nodes failed.
    #[error("{action} {path} failed: {source}")]
    Tree {
        /// What was being done.
        action: &'static str,
        /// The node.
        path: String,
        /// Client error.
        source: ZkError,
    },
    /// A setup or cleanup task died.
    #[error("task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Measurements could not be combined.
    #[error(transparent)]
    Stats(#[from] StatsError),
}
