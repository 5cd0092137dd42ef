//! Why a shell command failed, worded as zkCli words it, with zkCli's exit codes.

use thiserror::Error;
use zookeeper_client::Error as ZkError;

use super::options::OptionsError;

/// A failed command. `Display` is the line zkCli prints on stderr.
#[derive(Debug, Error)]
pub enum CliError {
    /// Wrong words for a command; the text is the command's usage.
    #[error("{0}")]
    Usage(String),
    /// The option parser refused the words.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// A well-formed command whose arguments are not acceptable (zkCli's `MalformedCommandException`).
    #[error("{0}")]
    Malformed(String),
    /// A path the Java client would refuse before sending anything.
    #[error("{0}")]
    MalformedPath(String),
    /// An unknown command (zkCli doubles the wording, and so do we).
    #[error("Command not found: Command not found {0}")]
    CommandNotFound(String),
    /// No session (closed, expired, or never established); zkCli prints this on stdout.
    #[error("Not connected")]
    NotConnected,
    /// The server (or the session) answered with an error.
    #[error("{}", keeper_message(.error, .path.as_deref()))]
    Keeper {
        /// The error as the client crate reports it.
        error: ZkError,
        /// The path the request was about, when there was one.
        path: Option<String>,
    },
}

impl CliError {
    /// A server error about `path`.
    pub fn keeper(error: ZkError, path: &str) -> Self {
        CliError::Keeper {
            error,
            path: Some(path.to_string()),
        }
    }

    /// A server error about no particular path.
    pub fn keeper_no_path(error: ZkError) -> Self {
        CliError::Keeper { error, path: None }
    }

    /// The process exit code zkCli uses for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::CommandNotFound(_) => 127,
            _ => 1,
        }
    }
}

/// ZooKeeper's numeric error code for an error of the client crate, when it has one.
pub fn error_code(error: &ZkError) -> Option<i32> {
    Some(match error {
        ZkError::RuntimeInconsistent => -2,
        ZkError::ConnectionLoss => -4,
        ZkError::MarshallingError => -5,
        ZkError::Unimplemented => -6,
        ZkError::Timeout => -7,
        ZkError::BadArguments(_) => -8,
        ZkError::NoNode => -101,
        ZkError::NoAuth => -102,
        ZkError::BadVersion => -103,
        ZkError::NoChildrenForEphemerals => -108,
        ZkError::NodeExists => -110,
        ZkError::NotEmpty => -111,
        ZkError::SessionExpired => -112,
        ZkError::InvalidAcl => -114,
        ZkError::AuthFailed => -115,
        ZkError::SessionMoved => -118,
        ZkError::NotReadOnly => -119,
        ZkError::NoWatcher => -121,
        ZkError::ReconfigDisabled => -123,
        ZkError::QuotaExceeded => -125,
        ZkError::Throttled => -127,
        ZkError::UnexpectedErrorCode(code) => *code,
        _ => return None,
    })
}

/// Java's `KeeperException.getCodeMessage`, for errors zkCli prints generically.
fn code_message(error: &ZkError) -> Option<&'static str> {
    Some(match error {
        ZkError::RuntimeInconsistent => "RuntimeInconsistency",
        ZkError::ConnectionLoss => "ConnectionLoss",
        ZkError::MarshallingError => "MarshallingError",
        ZkError::Unimplemented => "Unimplemented",
        ZkError::Timeout => "OperationTimeout",
        ZkError::BadArguments(_) => "BadArguments",
        ZkError::NoNode => "NoNode",
        ZkError::NoAuth => "NoAuth",
        ZkError::BadVersion => "BadVersion",
        ZkError::NoChildrenForEphemerals => "NoChildrenForEphemerals",
        ZkError::NodeExists => "NodeExists",
        ZkError::NotEmpty => "Directory not empty",
        ZkError::SessionExpired => "Session expired",
        ZkError::InvalidAcl => "InvalidACL",
        ZkError::AuthFailed => "AuthFailed",
        ZkError::SessionMoved => "Session moved",
        ZkError::NotReadOnly => "Not a read-only call",
        ZkError::NoWatcher => "No such watcher",
        ZkError::ReconfigDisabled => "Reconfig is disabled",
        ZkError::QuotaExceeded => "Quota has exceeded",
        ZkError::Throttled => "Op throttled due to high load",
        _ => return None,
    })
}

/// `KeeperErrorCode = <message> for <path>`, Java's `KeeperException.getMessage`.
pub fn generic_keeper_message(error: &ZkError, path: Option<&str>) -> String {
    let Some(message) = code_message(error) else {
        return error.to_string();
    };
    match path {
        Some(p) if !p.is_empty() => format!("KeeperErrorCode = {message} for {p}"),
        _ => format!("KeeperErrorCode = {message}"),
    }
}

/// The text zkCli's `CliWrapperException` prints for a server error.
pub fn keeper_message(error: &ZkError, path: Option<&str>) -> String {
    let p = path.unwrap_or("null");
    match error {
        ZkError::NoNode => format!("Node does not exist: {p}"),
        ZkError::NoChildrenForEphemerals => format!("Ephemerals cannot have children: {p}"),
        ZkError::NodeExists => format!("Node already exists: {p}"),
        ZkError::NotEmpty => format!("Node not empty: {p}"),
        ZkError::NotReadOnly => format!("Not a read-only call: {p}"),
        ZkError::InvalidAcl => format!("Acl is not valid : {p}"),
        ZkError::NoAuth => format!("Insufficient permission : {p}"),
        ZkError::BadArguments(_) => format!("Arguments are not valid : {p}"),
        ZkError::BadVersion => format!("version No is not valid : {p}"),
        ZkError::QuotaExceeded => format!("Quota has exceeded : {p}"),
        other => generic_keeper_message(other, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_messages() {
        assert_eq!(
            CliError::keeper(ZkError::NoNode, "/x").to_string(),
            "Node does not exist: /x"
        );
        assert_eq!(
            CliError::keeper(ZkError::BadVersion, "/a").to_string(),
            "version No is not valid : /a"
        );
        assert_eq!(
            CliError::keeper(ZkError::NotEmpty, "/b").to_string(),
            "Node not empty: /b"
        );
        assert_eq!(
            CliError::keeper(ZkError::NoAuth, "/s").to_string(),
            "Insufficient permission : /s"
        );
        assert_eq!(
            CliError::keeper(ZkError::ConnectionLoss, "/a").to_string(),
            "KeeperErrorCode = ConnectionLoss for /a"
        );
        assert_eq!(
            CliError::keeper_no_path(ZkError::SessionExpired).to_string(),
            "KeeperErrorCode = Session expired"
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(CliError::CommandNotFound("foo".into()).exit_code(), 127);
        assert_eq!(
            CliError::CommandNotFound("foo".into()).to_string(),
            "Command not found: Command not found foo"
        );
        assert_eq!(CliError::keeper(ZkError::NoNode, "/x").exit_code(), 1);
    }

    #[test]
    fn numeric_codes() {
        assert_eq!(error_code(&ZkError::NoNode), Some(-101));
        assert_eq!(error_code(&ZkError::ClientClosed), None);
    }
}
