//! A znode's name and data in one allocation. With 100-byte values most of a znode's memory is
//! its data; keeping the name in the same block saves a second heap chunk (and its malloc
//! header and rounding) per node.

use thiserror::Error;

/// A name too long to store: more than 2^31 bytes cannot come from a client frame, so this only
/// guards untrusted snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("znode name of {0} bytes is too long")]
pub struct NameTooLong(pub usize);

/// A header, then the bytes of the name, then the bytes of the data. The header is the name's
/// length times two, plus one when the data is null rather than empty (getData then answers
/// null, as ZooKeeper does for a node created with a null buffer), as a LEB128 varint: one
/// byte for names under 64 bytes. Keeping it inside the block, not beside the pointer, keeps a
/// slab slot 8 bytes smaller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameData {
    bytes: Box<[u8]>,
}

const MAX_NAME: usize = 1 << 31;

fn build(name: &[u8], data: Option<&[u8]>) -> Box<[u8]> {
    let data_bytes = data.unwrap_or_default();
    let mut bytes = Vec::with_capacity(5 + name.len() + data_bytes.len());
    let mut header = (name.len() as u64) << 1 | u64::from(data.is_none());
    loop {
        let low = (header & 0x7f) as u8;
        header >>= 7;
        if header == 0 {
            bytes.push(low);
            break;
        }
        bytes.push(low | 0x80);
    }
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(data_bytes);
    bytes.into_boxed_slice()
}

impl NameData {
    pub fn new(name: &str, data: Option<&[u8]>) -> Result<NameData, NameTooLong> {
        if name.len() >= MAX_NAME {
            return Err(NameTooLong(name.len()));
        }
        Ok(NameData {
            bytes: build(name.as_bytes(), data),
        })
    }

    /// The same name with other data.
    pub fn with_data(&self, data: Option<&[u8]>) -> NameData {
        NameData {
            bytes: build(self.name_bytes(), data),
        }
    }

    /// (header length, name length, data is null)
    fn header(&self) -> (usize, usize, bool) {
        let mut value = 0u64;
        for (i, b) in self.bytes.iter().enumerate().take(5) {
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return (i + 1, (value >> 1) as usize, value & 1 == 1);
            }
        }
        (self.bytes.len(), 0, true)
    }

    pub fn name_bytes(&self) -> &[u8] {
        let (start, len, _) = self.header();
        self.bytes.get(start..start + len).unwrap_or_default()
    }

    /// The name; it was a `&str` when stored, so this only fails on a broken invariant.
    pub fn name(&self) -> &str {
        std::str::from_utf8(self.name_bytes()).unwrap_or_default()
    }

    pub fn data(&self) -> Option<&[u8]> {
        let (start, len, null) = self.header();
        if null {
            return None;
        }
        Some(self.bytes.get(start + len..).unwrap_or_default())
    }

    pub fn data_len(&self) -> usize {
        let (start, len, _) = self.header();
        self.bytes.len().saturating_sub(start + len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn null_and_empty_data_differ() {
        let null = NameData::new("a", None).unwrap();
        let empty = NameData::new("a", Some(b"")).unwrap();
        assert_eq!(null.data(), None);
        assert_eq!(empty.data(), Some(&b""[..]));
        assert_eq!(null.data_len(), 0);
        assert_eq!(empty.with_data(None), null);
        assert_eq!(null.with_data(Some(b"")), empty);
    }

    proptest! {
        #[test]
        fn name_and_data_come_back(name in "\\PC{0,20}|[a-z]{60,200}", data in proptest::option::of(prop::collection::vec(any::<u8>(), 0..64)), other in proptest::option::of(prop::collection::vec(any::<u8>(), 0..64))) {
            let nd = NameData::new(&name, data.as_deref()).unwrap();
            prop_assert_eq!(nd.name(), name.as_str());
            prop_assert_eq!(nd.data(), data.as_deref());
            prop_assert_eq!(nd.data_len(), data.as_ref().map_or(0, Vec::len));
            let changed = nd.with_data(other.as_deref());
            prop_assert_eq!(changed.name(), name.as_str());
            prop_assert_eq!(changed.data(), other.as_deref());
        }
    }
}
