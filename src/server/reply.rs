//! Encoding of outgoing frames: length prefix, ReplyHeader, optional body.

use crate::proto::jute::{Record, Writer};
use crate::proto::opcode::NOTIFICATION_XID;
use crate::proto::records::{ReplyHeader, WatcherEvent};

/// KeeperState.SyncConnected, the state carried by watch notifications.
pub const SYNC_CONNECTED: i32 = 3;

/// Builds a length-prefixed frame from a closure that writes the payload.
pub fn frame(body: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::with_capacity(64);
    w.i32(0);
    body(&mut w);
    let len = (w.buf.len() - 4) as i32;
    w.buf[..4].copy_from_slice(&len.to_be_bytes());
    w.buf
}

/// A reply: header plus an optional body record.
pub fn reply(xid: i32, zxid: i64, err: i32, body: Option<&dyn Fn(&mut Writer)>) -> Vec<u8> {
    frame(|w| {
        ReplyHeader { xid, zxid, err }.write(w);
        if let Some(b) = body {
            b(w);
        }
    })
}

/// A reply whose body is one record.
pub fn reply_record<R: Record>(xid: i32, zxid: i64, body: &R) -> Vec<u8> {
    frame(|w| {
        ReplyHeader { xid, zxid, err: 0 }.write(w);
        body.write(w);
    })
}

/// A watch notification (xid -1) carrying the zxid that triggered it (ZooKeeper 3.9).
pub fn notification(zxid: i64, event_type: i32, path: &str) -> Vec<u8> {
    frame(|w| {
        ReplyHeader {
            xid: NOTIFICATION_XID,
            zxid,
            err: 0,
        }
        .write(w);
        WatcherEvent {
            event_type,
            state: SYNC_CONNECTED,
            path: path.to_string(),
        }
        .write(w);
    })
}
