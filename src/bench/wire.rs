//! The few pieces of ZooKeeper's client protocol the load sessions speak: the handshake,
//! length-prefixed requests appended to a send buffer, and reply headers.
//!
//! A general client sends each request on its own and wakes a waiter per reply, which costs
//! the load generator about a syscall per request and per reply (measured: 24–28 µs of CPU
//! per operation with the zookeeper-client crate, a third of what our members spend). The
//! load sessions instead append every request a batch of replies makes due to one buffer and
//! read many replies per read, so the tool takes little of the CPU it shares with the servers.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proto::frame::{Frame, FrameError, next_frame};
use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::proto::records::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader};

/// Largest reply accepted: a getData of a full `jute.maxbuffer` value plus its Stat and header.
pub const MAX_REPLY: usize = 2 << 20;

/// Password bytes a new session sends: ZooKeeper expects 16.
const NEW_SESSION_PASSWORD: [u8; 16] = [0; 16];

/// Why a connection cannot carry the session (any of them ends the connection, not the run).
#[derive(Debug, Error)]
pub enum WireError {
    /// The socket failed or the server closed it.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("timed out")]
    Timeout,
    /// A reply does not parse.
    #[error("bad reply: {0}")]
    Decode(#[from] DecodeError),
    /// A reply has an impossible length.
    #[error("bad reply frame: {0}")]
    Frame(#[from] FrameError),
    /// A reply does not answer the request it should (ZooKeeper answers in request order).
    #[error("reply for xid {got}, expected xid {expected}")]
    OutOfOrder {
        /// xid of the reply.
        got: i32,
        /// xid of the oldest request without a reply.
        expected: i32,
    },
    /// A reply arrived while no request was in flight.
    #[error("reply for xid {0} with no request in flight")]
    Unexpected(i32),
    /// The server says the session is gone.
    #[error("session expired")]
    Expired,
}

/// Appends one request (length, header, body) to `out` without an intermediate buffer.
pub fn push_request<R: Record>(out: &mut Vec<u8>, xid: i32, op: i32, body: &R) {
    let mut w = Writer {
        buf: std::mem::take(out),
    };
    let at = w.buf.len();
    w.buf.extend_from_slice(&[0; 4]);
    RequestHeader { xid, op }.write(&mut w);
    body.write(&mut w);
    let len = (w.buf.len() - at - 4) as i32;
    w.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    *out = w.buf;
}

/// A request that has only a header (ping, closeSession).
pub struct NoBody;

impl Record for NoBody {
    fn read(_: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(NoBody)
    }
    fn write(&self, _: &mut Writer) {}
}

/// Takes the next whole reply from `buf` and returns its header; the body is not needed.
pub fn next_reply(buf: &mut BytesMut) -> Result<Option<ReplyHeader>, WireError> {
    match next_frame(buf, false, MAX_REPLY)? {
        Some(Frame::Packet(body)) => Ok(Some(ReplyHeader::read(&mut Reader::new(&body))?)),
        // Only the first frame of a server's connection may be a four-letter word.
        Some(Frame::FourLetter(_)) | None => Ok(None),
    }
}

/// A session the server accepted.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// Session id.
    pub id: i64,
    /// Session password.
    pub password: Bytes,
}

/// Opens a connection to `host` and creates the session, or resumes `resume` on it.
///
/// `last_zxid` is the newest zxid the session has seen: a member behind it refuses the
/// session, as it must, and the caller tries the next host.
pub async fn handshake(
    host: &str,
    resume: Option<&Credentials>,
    last_zxid: i64,
    session_timeout: Duration,
    wait: Duration,
) -> Result<(TcpStream, Credentials), WireError> {
    tokio::time::timeout(wait, async {
        let mut stream = TcpStream::connect(host).await?;
        stream.set_nodelay(true)?;
        let request = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: last_zxid,
            time_out: i32::try_from(session_timeout.as_millis()).unwrap_or(i32::MAX),
            session_id: resume.map_or(0, |c| c.id),
            passwd: Some(
                resume.map_or(Bytes::from_static(&NEW_SESSION_PASSWORD), |c| {
                    c.password.clone()
                }),
            ),
        };
        let mut w = Writer::new();
        request.write(&mut w);
        // readOnly = false: only a quorum member may serve the benchmark.
        w.bool(false);
        let mut framed = Vec::with_capacity(w.buf.len() + 4);
        framed.extend_from_slice(&(w.buf.len() as i32).to_be_bytes());
        framed.extend_from_slice(&w.buf);
        stream.write_all(&framed).await?;
        let len = stream.read_i32().await?;
        let len = usize::try_from(len)
            .ok()
            .filter(|l| *l <= MAX_REPLY)
            .ok_or(FrameError::BadLength {
                len: i64::from(len),
                max: MAX_REPLY,
            })?;
        let mut body = vec![0; len];
        stream.read_exact(&mut body).await?;
        // The trailing readOnly byte is optional; the record before it is all that matters.
        let mut r = Reader::new(&body);
        let response = ConnectResponse::read(&mut r)?;
        if response.time_out <= 0 {
            return Err(WireError::Expired);
        }
        Ok((
            stream,
            Credentials {
                id: response.session_id,
                password: response.passwd.unwrap_or_default(),
            },
        ))
    })
    .await
    .unwrap_or(Err(WireError::Timeout))
}

/// Decodes a whole request; tests play the server with it.
#[cfg(test)]
pub fn decode_request<R: Record>(frame: &[u8]) -> Result<(RequestHeader, R), DecodeError> {
    let mut r = Reader::new(frame);
    let header = RequestHeader::read(&mut r)?;
    let body = R::read(&mut r)?;
    r.finish()?;
    Ok((header, body))
}

/// Decodes a request header alone.
#[cfg(test)]
pub fn request_header(frame: &[u8]) -> Result<RequestHeader, DecodeError> {
    crate::proto::jute::decode(frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::opcode;
    use crate::proto::records::{ReplyHeader, SetDataRequest};

    #[test]
    fn requests_are_length_prefixed_and_appended() {
        let mut out = vec![9];
        let body = SetDataRequest {
            path: "/k".into(),
            data: Some(Bytes::from_static(b"v")),
            version: -1,
        };
        push_request(&mut out, 7, opcode::SET_DATA, &body);
        push_request(&mut out, -2, opcode::PING, &NoBody);
        assert_eq!(out[0], 9);
        let mut buf = BytesMut::from(&out[1..]);
        let Some(Frame::Packet(first)) = next_frame(&mut buf, false, MAX_REPLY).unwrap() else {
            panic!("no first frame")
        };
        let (header, decoded) = decode_request::<SetDataRequest>(&first).unwrap();
        assert_eq!((header.xid, header.op), (7, opcode::SET_DATA));
        assert_eq!(decoded, body);
        let Some(Frame::Packet(ping)) = next_frame(&mut buf, false, MAX_REPLY).unwrap() else {
            panic!("no ping frame")
        };
        assert_eq!(ping.len(), 8);
        let header = request_header(&ping).unwrap();
        assert_eq!((header.xid, header.op), (-2, opcode::PING));
        assert!(buf.is_empty());
    }

    #[test]
    fn replies_come_out_whole_or_not_at_all() {
        let mut w = Writer::new();
        ReplyHeader {
            xid: 3,
            zxid: 0x100000001,
            err: -101,
        }
        .write(&mut w);
        w.buf.extend_from_slice(&[1, 2, 3]);
        let mut framed = (w.buf.len() as i32).to_be_bytes().to_vec();
        framed.extend_from_slice(&w.buf);
        let mut buf = BytesMut::from(&framed[..framed.len() - 1]);
        assert!(next_reply(&mut buf).unwrap().is_none());
        buf.extend_from_slice(&framed[framed.len() - 1..]);
        let header = next_reply(&mut buf).unwrap().unwrap();
        assert_eq!(
            (header.xid, header.zxid, header.err),
            (3, 0x100000001, -101)
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn oversize_replies_end_the_connection() {
        let mut buf = BytesMut::from(&((MAX_REPLY + 1) as i32).to_be_bytes()[..]);
        assert!(matches!(next_reply(&mut buf), Err(WireError::Frame(_))));
    }
}
