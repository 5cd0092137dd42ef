//! Jute, ZooKeeper's binary record encoding: big-endian integers, length-prefixed strings,
//! buffers and vectors where a length of -1 means null.
//!
//! Decoding never trusts a length: every count is checked against the bytes that remain, so a
//! hostile frame cannot make the server allocate more than the frame itself.

use bytes::{BufMut, Bytes};
use thiserror::Error;

/// Why a record could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record truncated: needed {needed} more bytes")]
    Truncated { needed: usize },
    #[error("invalid length {0}")]
    BadLength(i32),
    #[error("string is not valid UTF-8")]
    BadUtf8,
    #[error("{0} trailing bytes after the record")]
    Trailing(usize),
    #[error("unknown {what} {value}")]
    Unknown { what: &'static str, value: i32 },
}

/// A cursor over one received frame.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails unless the whole frame was consumed; ZooKeeper ignores trailing bytes in a few
    /// places, so callers decide whether to call this.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(DecodeError::Trailing(n)),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        Ok(self.take(1)?[0] != 0)
    }

    /// A length prefix: `None` for null (-1), an error for other negatives or for lengths
    /// larger than what remains times `min_item` (each item needs at least that many bytes).
    fn len(&mut self, min_item: usize) -> Result<Option<usize>, DecodeError> {
        let n = self.i32()?;
        if n == -1 {
            return Ok(None);
        }
        if n < 0 {
            return Err(DecodeError::BadLength(n));
        }
        let n = n as usize;
        if n.saturating_mul(min_item) > self.remaining() {
            return Err(DecodeError::BadLength(n as i32));
        }
        Ok(Some(n))
    }

    pub fn buffer(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.len(1)? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    pub fn string(&mut self) -> Result<Option<String>, DecodeError> {
        match self.buffer()? {
            None => Ok(None),
            Some(b) => std::str::from_utf8(b)
                .map(|s| Some(s.to_owned()))
                .map_err(|_| DecodeError::BadUtf8),
        }
    }

    /// A vector's element count; `None` for a null vector.
    pub fn vec_len(&mut self, min_item: usize) -> Result<Option<usize>, DecodeError> {
        self.len(min_item.max(1))
    }
}

/// Encoding side; appends to a growable buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }

    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    pub fn i32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    pub fn i64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.put_u8(v as u8);
    }

    pub fn buffer(&mut self, v: Option<&[u8]>) {
        match v {
            None => self.i32(-1),
            Some(b) => {
                self.i32(b.len() as i32);
                self.buf.extend_from_slice(b);
            }
        }
    }

    pub fn string(&mut self, v: &str) {
        self.buffer(Some(v.as_bytes()));
    }

    pub fn into_bytes(self) -> Bytes {
        Bytes::from(self.buf)
    }
}

/// A jute record: something with a fixed field order on the wire.
pub trait Record: Sized {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    fn write(&self, w: &mut Writer);
    /// The fewest bytes one encoded value can take; bounds vector counts.
    const MIN_SIZE: usize = 1;
}

impl Record for i32 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.i32()
    }
    fn write(&self, w: &mut Writer) {
        w.i32(*self)
    }
    const MIN_SIZE: usize = 4;
}

impl Record for i64 {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.i64()
    }
    fn write(&self, w: &mut Writer) {
        w.i64(*self)
    }
    const MIN_SIZE: usize = 8;
}

impl Record for bool {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bool()
    }
    fn write(&self, w: &mut Writer) {
        w.bool(*self)
    }
}

/// A `ustring`; null decodes as empty, as ZooKeeper's records treat it.
impl Record for String {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.string()?.unwrap_or_default())
    }
    fn write(&self, w: &mut Writer) {
        w.string(self)
    }
    const MIN_SIZE: usize = 4;
}

/// A `buffer` that keeps the difference between null and empty (getData returns what was set).
impl Record for Option<Bytes> {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(r.buffer()?.map(Bytes::copy_from_slice))
    }
    fn write(&self, w: &mut Writer) {
        w.buffer(self.as_deref())
    }
    const MIN_SIZE: usize = 4;
}

/// A `vector`; null decodes as empty.
impl<T: Record> Record for Vec<T> {
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.vec_len(T::MIN_SIZE)?.unwrap_or(0);
        let mut v = Vec::with_capacity(capacity_for::<T>(n, r.remaining()));
        for _ in 0..n {
            v.push(T::read(r)?);
        }
        Ok(v)
    }
    fn write(&self, w: &mut Writer) {
        w.i32(self.len() as i32);
        for x in self {
            x.write(w);
        }
    }
    const MIN_SIZE: usize = 4;
}

/// How many elements to reserve for a vector that claims `n`: never more than the bytes that
/// remain could hold in memory, so a count that lies costs nothing (a record's wire minimum is
/// far smaller than its size in memory); a truthful count grows the vector as elements decode.
fn capacity_for<T>(n: usize, remaining: usize) -> usize {
    n.min(remaining / std::mem::size_of::<T>().max(1))
}

/// Declares a jute record: a struct whose fields are encoded in declaration order.
#[macro_export]
macro_rules! jute_record {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }
        impl $crate::proto::jute::Record for $name {
            fn read(r: &mut $crate::proto::jute::Reader<'_>) -> Result<Self, $crate::proto::jute::DecodeError> {
                Ok(Self { $($field: $crate::proto::jute::Record::read(r)?),* })
            }
            #[allow(unused_variables)]
            fn write(&self, w: &mut $crate::proto::jute::Writer) {
                $($crate::proto::jute::Record::write(&self.$field, w);)*
            }
        }
    };
}

/// Decodes one record from a whole buffer.
pub fn decode<T: Record>(buf: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(buf);
    T::read(&mut r)
}

/// Encodes one record into a fresh buffer.
pub fn encode<T: Record>(v: &T) -> Vec<u8> {
    let mut w = Writer::new();
    v.write(&mut w);
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_buffers_differ() {
        let mut w = Writer::new();
        w.buffer(None);
        w.buffer(Some(b""));
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.buffer().unwrap(), None);
        assert_eq!(r.buffer().unwrap(), Some(&b""[..]));
        r.finish().unwrap();
    }

    #[test]
    fn huge_vector_count_is_rejected_without_allocating() {
        let mut w = Writer::new();
        w.i32(i32::MAX);
        let r: Result<Vec<String>, _> = decode(&w.buf);
        assert_eq!(r, Err(DecodeError::BadLength(i32::MAX)));
    }

    #[test]
    fn vector_preallocation_is_bounded_by_the_bytes_that_remain() {
        use crate::proto::records::Acl;
        // An ACL needs 12 bytes on the wire but 56 in memory: a frame of N bytes claiming N/12
        // ACLs used to reserve 4.7 times its own size before the first element was read.
        for remaining in [0usize, 11, 12, 1000, 0xfffff] {
            let n = remaining / 12;
            let reserved = capacity_for::<Acl>(n, remaining) * std::mem::size_of::<Acl>();
            assert!(reserved <= remaining, "{reserved} > {remaining}");
        }
        assert_eq!(capacity_for::<u8>(10, 100), 10);
        assert_eq!(capacity_for::<()>(10, 0), 0);
        // Truthful vectors still decode whole.
        let acls = vec![Acl::default(); 100];
        assert_eq!(decode::<Vec<Acl>>(&encode(&acls)).unwrap(), acls);
    }

    #[test]
    fn negative_lengths_other_than_null_are_errors() {
        let mut w = Writer::new();
        w.i32(-2);
        assert_eq!(decode::<String>(&w.buf), Err(DecodeError::BadLength(-2)));
    }

    #[test]
    fn truncated_integers_are_errors() {
        assert!(matches!(
            decode::<i64>(&[1, 2, 3]),
            Err(DecodeError::Truncated { needed: 5 })
        ));
    }
}
