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

/// A short, stable name for an error, used to group failures in the report.
pub fn error_name(error: &ZkError) -> String {
    let debug = format!("{error:?}");
    debug
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(error_name(&ZkError::ConnectionLoss), "ConnectionLoss");
        assert_eq!(error_name(&ZkError::BadArguments(&"x")), "BadArguments");
        assert_eq!(
            error_name(&ZkError::UnexpectedErrorCode(-999)),
            "UnexpectedErrorCode"
        );
    }
}
