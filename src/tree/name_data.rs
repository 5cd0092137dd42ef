//! A znode's name and data in one allocation. With 100-byte values most of a znode's memory is
//! its data; keeping the name in the same block saves a second heap chunk (and its malloc
//! header and rounding) per node.

use thiserror::Error;

/// Set in `NameData::name_len` when the data is null rather than empty (getData then answers
/// null, as ZooKeeper does for a node created with a null buffer).
const NULL_DATA: u32 = 1 << 31;

/// A name too long to store: more than 2^31 bytes cannot come from a client frame, so this only
/// guards untrusted snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("znode name of {0} bytes is too long")]
pub struct NameTooLong(pub usize);

/// The bytes of the name followed by the bytes of the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameData {
    bytes: Box<[u8]>,
    /// Length of the name prefix; the high bit is `NULL_DATA`.
    name_len: u32,
}

impl NameData {
    pub fn new(name: &str, data: Option<&[u8]>) -> Result<NameData, NameTooLong> {
        let len = u32::try_from(name.len())
            .ok()
            .filter(|l| l & NULL_DATA == 0)
            .ok_or(NameTooLong(name.len()))?;
        let data_bytes = data.unwrap_or_default();
        let mut bytes = Vec::with_capacity(name.len() + data_bytes.len());
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(data_bytes);
        Ok(NameData {
            bytes: bytes.into_boxed_slice(),
            name_len: if data.is_none() { len | NULL_DATA } else { len },
        })
    }

    /// The same name with other data.
    pub fn with_data(&self, data: Option<&[u8]>) -> NameData {
        let name = self.name_bytes();
        let data_bytes = data.unwrap_or_default();
        let mut bytes = Vec::with_capacity(name.len() + data_bytes.len());
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(data_bytes);
        let len = self.name_len & !NULL_DATA;
        NameData {
            bytes: bytes.into_boxed_slice(),
            name_len: if data.is_none() { len | NULL_DATA } else { len },
        }
    }

    fn split(&self) -> usize {
        (self.name_len & !NULL_DATA) as usize
    }

    pub fn name_bytes(&self) -> &[u8] {
        self.bytes.get(..self.split()).unwrap_or_default()
    }

    /// The name; it was a `&str` when stored, so this only fails on a broken invariant.
    pub fn name(&self) -> &str {
        std::str::from_utf8(self.name_bytes()).unwrap_or_default()
    }

    pub fn data(&self) -> Option<&[u8]> {
        if self.name_len & NULL_DATA != 0 {
            return None;
        }
        Some(self.bytes.get(self.split()..).unwrap_or_default())
    }

    pub fn data_len(&self) -> usize {
        self.bytes.len() - self.split()
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
        fn name_and_data_come_back(name in "\\PC{0,20}", data in proptest::option::of(prop::collection::vec(any::<u8>(), 0..64)), other in proptest::option::of(prop::collection::vec(any::<u8>(), 0..64))) {
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
