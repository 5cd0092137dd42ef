//! Framing on the client port: a 4-byte big-endian length and a jute body, except that the very
//! first four bytes of a connection may instead be a four-letter word such as `ruok`.

use bytes::{Buf, Bytes, BytesMut};
use thiserror::Error;

/// ZooKeeper's default `jute.maxbuffer`: 1 MiB minus one byte.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// One unit read off a client connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A four-letter admin word; the connection is answered and closed.
    FourLetter([u8; 4]),
    /// One length-prefixed packet body.
    Packet(Bytes),
}

/// Why a connection must be closed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("packet length {len} is outside 0..={max} (jute.maxbuffer)")]
    BadLength { len: i64, max: usize },
}

/// Takes the next complete frame from `buf`, or `None` when more bytes are needed.
///
/// `first` is true until the first frame of a connection has been taken: only then are the
/// leading bytes checked for a four-letter word (ZooKeeper reads them as an int and compares it
/// with the command codes; a ConnectRequest is never that long).
pub fn next_frame(
    buf: &mut BytesMut,
    first: bool,
    max_len: usize,
) -> Result<Option<Frame>, FrameError> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let head = [buf[0], buf[1], buf[2], buf[3]];
    if first && head.iter().all(u8::is_ascii_lowercase) {
        buf.advance(4);
        return Ok(Some(Frame::FourLetter(head)));
    }
    let len = i32::from_be_bytes(head);
    if len < 0 || len as usize > max_len {
        return Err(FrameError::BadLength {
            len: len as i64,
            max: max_len,
        });
    }
    let len = len as usize;
    if buf.len() < 4 + len {
        // No reservation for the declared length: four bytes must not buy jute.maxbuffer of
        // memory. The caller's read loop grows the buffer as the bytes actually arrive.
        return Ok(None);
    }
    buf.advance(4);
    Ok(Some(Frame::Packet(buf.split_to(len).freeze())))
}

/// Prefixes a body with its length.
pub fn with_length(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 4);
    v.extend_from_slice(&(body.len() as i32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut b = BytesMut::from(&[0u8, 0, 0, 3, 1, 2][..]);
        assert_eq!(next_frame(&mut b, false, 10), Ok(None));
        b.extend_from_slice(&[3, 0, 0]);
        assert_eq!(
            next_frame(&mut b, false, 10),
            Ok(Some(Frame::Packet(Bytes::from_static(&[1, 2, 3]))))
        );
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn four_letter_words_only_open_a_connection() {
        let mut b = BytesMut::from(&b"ruok"[..]);
        assert_eq!(
            next_frame(&mut b, true, 10),
            Ok(Some(Frame::FourLetter(*b"ruok")))
        );
        let mut b = BytesMut::from(&b"ruok"[..]);
        assert!(next_frame(&mut b, false, 10).is_err());
    }

    #[test]
    fn a_declared_length_alone_reserves_nothing() {
        let mut b = BytesMut::from(&(DEFAULT_MAX_BUFFER as i32).to_be_bytes()[..]);
        b.extend_from_slice(b"some");
        let cap = b.capacity();
        assert_eq!(next_frame(&mut b, false, DEFAULT_MAX_BUFFER), Ok(None));
        assert_eq!(b.capacity(), cap);
        assert_eq!(b.len(), 8);
    }

    #[test]
    fn oversize_and_negative_lengths_are_refused() {
        let mut b = BytesMut::from(&(11i32).to_be_bytes()[..]);
        assert!(next_frame(&mut b, false, 10).is_err());
        let mut b = BytesMut::from(&(-1i32).to_be_bytes()[..]);
        assert!(next_frame(&mut b, false, 10).is_err());
    }
}
