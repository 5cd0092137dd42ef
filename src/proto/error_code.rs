//! KeeperException.Code: the error codes a reply carries.

/// A ZooKeeper result code. Kept as a newtype over the wire value so unknown codes survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    pub const OK: ErrorCode = ErrorCode(0);
    pub const SYSTEM_ERROR: ErrorCode = ErrorCode(-1);
    pub const RUNTIME_INCONSISTENCY: ErrorCode = ErrorCode(-2);
    pub const DATA_INCONSISTENCY: ErrorCode = ErrorCode(-3);
    pub const CONNECTION_LOSS: ErrorCode = ErrorCode(-4);
    pub const MARSHALLING_ERROR: ErrorCode = ErrorCode(-5);
    pub const UNIMPLEMENTED: ErrorCode = ErrorCode(-6);
    pub const OPERATION_TIMEOUT: ErrorCode = ErrorCode(-7);
    pub const BAD_ARGUMENTS: ErrorCode = ErrorCode(-8);
    pub const UNKNOWN_SESSION: ErrorCode = ErrorCode(-12);
    pub const NEW_CONFIG_NO_QUORUM: ErrorCode = ErrorCode(-13);
    pub const RECONFIG_IN_PROGRESS: ErrorCode = ErrorCode(-14);
    pub const API_ERROR: ErrorCode = ErrorCode(-100);
    pub const NO_NODE: ErrorCode = ErrorCode(-101);
    pub const NO_AUTH: ErrorCode = ErrorCode(-102);
    pub const BAD_VERSION: ErrorCode = ErrorCode(-103);
    pub const NO_CHILDREN_FOR_EPHEMERALS: ErrorCode = ErrorCode(-108);
    pub const NODE_EXISTS: ErrorCode = ErrorCode(-110);
    pub const NOT_EMPTY: ErrorCode = ErrorCode(-111);
    pub const SESSION_EXPIRED: ErrorCode = ErrorCode(-112);
    pub const INVALID_CALLBACK: ErrorCode = ErrorCode(-113);
    pub const INVALID_ACL: ErrorCode = ErrorCode(-114);
    pub const AUTH_FAILED: ErrorCode = ErrorCode(-115);
    pub const SESSION_MOVED: ErrorCode = ErrorCode(-118);
    pub const NOT_READONLY: ErrorCode = ErrorCode(-119);
    pub const EPHEMERAL_ON_LOCAL_SESSION: ErrorCode = ErrorCode(-120);
    pub const NO_WATCHER: ErrorCode = ErrorCode(-121);
    pub const REQUEST_TIMEOUT: ErrorCode = ErrorCode(-122);
    pub const RECONFIG_DISABLED: ErrorCode = ErrorCode(-123);
    pub const SESSION_CLOSED_REQUIRE_SASL_AUTH: ErrorCode = ErrorCode(-124);
    pub const QUOTA_EXCEEDED: ErrorCode = ErrorCode(-125);
    pub const THROTTLED_OP: ErrorCode = ErrorCode(-127);

    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// KeeperException.Code's name for the code, as clients and reports print it; unknown
    /// codes are `None` so the caller can show the number instead.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::OK => "Ok",
            Self::SYSTEM_ERROR => "SystemError",
            Self::RUNTIME_INCONSISTENCY => "RuntimeInconsistency",
            Self::DATA_INCONSISTENCY => "DataInconsistency",
            Self::CONNECTION_LOSS => "ConnectionLoss",
            Self::MARSHALLING_ERROR => "MarshallingError",
            Self::UNIMPLEMENTED => "Unimplemented",
            Self::OPERATION_TIMEOUT => "OperationTimeout",
            Self::BAD_ARGUMENTS => "BadArguments",
            Self::UNKNOWN_SESSION => "UnknownSession",
            Self::NEW_CONFIG_NO_QUORUM => "NewConfigNoQuorum",
            Self::RECONFIG_IN_PROGRESS => "ReconfigInProgress",
            Self::API_ERROR => "ApiError",
            Self::NO_NODE => "NoNode",
            Self::NO_AUTH => "NoAuth",
            Self::BAD_VERSION => "BadVersion",
            Self::NO_CHILDREN_FOR_EPHEMERALS => "NoChildrenForEphemerals",
            Self::NODE_EXISTS => "NodeExists",
            Self::NOT_EMPTY => "NotEmpty",
            Self::SESSION_EXPIRED => "SessionExpired",
            Self::INVALID_CALLBACK => "InvalidCallback",
            Self::INVALID_ACL => "InvalidAcl",
            Self::AUTH_FAILED => "AuthFailed",
            Self::SESSION_MOVED => "SessionMoved",
            Self::NOT_READONLY => "NotReadOnly",
            Self::EPHEMERAL_ON_LOCAL_SESSION => "EphemeralOnLocalSession",
            Self::NO_WATCHER => "NoWatcher",
            Self::REQUEST_TIMEOUT => "RequestTimeout",
            Self::RECONFIG_DISABLED => "ReconfigDisabled",
            Self::SESSION_CLOSED_REQUIRE_SASL_AUTH => "SessionClosedRequireSaslAuth",
            Self::QUOTA_EXCEEDED => "QuotaExceeded",
            Self::THROTTLED_OP => "Throttled",
            _ => return None,
        })
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Shorthand for results of operations that fail with a ZooKeeper code.
pub type ZkResult<T> = Result<T, ErrorCode>;
