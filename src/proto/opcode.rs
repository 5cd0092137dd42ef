//! Operation codes and the special xids of ZooKeeper's client protocol (ZooDefs.OpCode).

pub const NOTIFICATION: i32 = 0;
pub const CREATE: i32 = 1;
pub const DELETE: i32 = 2;
pub const EXISTS: i32 = 3;
pub const GET_DATA: i32 = 4;
pub const SET_DATA: i32 = 5;
pub const GET_ACL: i32 = 6;
pub const SET_ACL: i32 = 7;
pub const GET_CHILDREN: i32 = 8;
pub const SYNC: i32 = 9;
pub const PING: i32 = 11;
pub const GET_CHILDREN2: i32 = 12;
pub const CHECK: i32 = 13;
pub const MULTI: i32 = 14;
pub const CREATE2: i32 = 15;
pub const RECONFIG: i32 = 16;
pub const CHECK_WATCHES: i32 = 17;
pub const REMOVE_WATCHES: i32 = 18;
pub const CREATE_CONTAINER: i32 = 19;
pub const DELETE_CONTAINER: i32 = 20;
pub const CREATE_TTL: i32 = 21;
pub const MULTI_READ: i32 = 22;
pub const AUTH: i32 = 100;
pub const SET_WATCHES: i32 = 101;
pub const SASL: i32 = 102;
pub const GET_EPHEMERALS: i32 = 103;
pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
pub const SET_WATCHES2: i32 = 105;
pub const ADD_WATCH: i32 = 106;
pub const WHO_AM_I: i32 = 107;
pub const CREATE_SESSION: i32 = -10;
pub const CLOSE_SESSION: i32 = -11;
pub const ERROR: i32 = -1;

pub const NOTIFICATION_XID: i32 = -1;
pub const PING_XID: i32 = -2;
pub const AUTH_XID: i32 = -4;
pub const SET_WATCHES_XID: i32 = -8;

/// ZooKeeper's name for an opcode, as `cons` and the logs print it.
pub fn name(op: i32) -> &'static str {
    match op {
        NOTIFICATION => "notification",
        CREATE => "create",
        DELETE => "delete",
        EXISTS => "exists",
        GET_DATA => "getData",
        SET_DATA => "setData",
        GET_ACL => "getACL",
        SET_ACL => "setACL",
        GET_CHILDREN => "getChildren",
        SYNC => "sync",
        PING => "ping",
        GET_CHILDREN2 => "getChildren2",
        CHECK => "check",
        MULTI => "multi",
        CREATE2 => "create2",
        RECONFIG => "reconfig",
        CHECK_WATCHES => "checkWatches",
        REMOVE_WATCHES => "removeWatches",
        CREATE_CONTAINER => "createContainer",
        DELETE_CONTAINER => "deleteContainer",
        CREATE_TTL => "createTtl",
        MULTI_READ => "multiRead",
        AUTH => "auth",
        SET_WATCHES => "setWatches",
        SASL => "sasl",
        GET_EPHEMERALS => "getEphemerals",
        GET_ALL_CHILDREN_NUMBER => "getAllChildrenNumber",
        SET_WATCHES2 => "setWatches2",
        ADD_WATCH => "addWatch",
        WHO_AM_I => "whoAmI",
        CREATE_SESSION => "createSession",
        CLOSE_SESSION => "closeSession",
        ERROR => "error",
        _ => "unknown",
    }
}
