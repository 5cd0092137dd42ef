//! The replicated log's small state beside the segments: this member's id, the vote it cast,
//! the last committed and the last purged log id. One file, `raft.meta`, replaced atomically
//! (temporary name, fsync, rename, directory fsync) so a crash leaves the old or the new one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::types::{LogId, Vote};

const MAGIC: u32 = 0x5a4b_524d; // "ZKRM"
pub const FILE: &str = "raft.meta";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The myid that owns this directory; a directory is never reused under another id.
    pub member: u64,
    /// Random, chosen when the directory is created: tells a restarted member (same data) from
    /// a rebuilt one (data lost). Never zero.
    pub incarnation: u64,
    pub vote: Option<Vote>,
    pub committed: Option<LogId>,
    pub purged: Option<LogId>,
    /// Index of the first entry of a log that began past `purged` (openraft may start an empty
    /// log at any index); recovery expects the segments to start there.
    pub log_start: Option<u64>,
}

pub fn encode(meta: &Meta) -> io::Result<Vec<u8>> {
    let body = postcard::to_stdvec(meta).map_err(io::Error::other)?;
    let mut out = Vec::with_capacity(body.len() + 12);
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_be_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

pub fn decode(buf: &[u8]) -> io::Result<Meta> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{FILE}: {what}"));
    let word = |at: usize| -> io::Result<u32> {
        let b: [u8; 4] = buf
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| bad("truncated"))?;
        Ok(u32::from_be_bytes(b))
    };
    if word(0)? != MAGIC {
        return Err(bad("not a zk raft meta file"));
    }
    let len = word(4)? as usize;
    let crc = word(8)?;
    let body = buf.get(12..12 + len).ok_or_else(|| bad("truncated"))?;
    if crc32c::crc32c(body) != crc {
        return Err(bad("checksum mismatch"));
    }
    postcard::from_bytes(body).map_err(|e| bad(&e.to_string()))
}

/// The saved state, or None for a directory that never held one.
pub fn read(dir: &Path) -> io::Result<Option<Meta>> {
    match fs::read(dir.join(FILE)) {
        Ok(buf) => decode(&buf).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub fn write(dir: &Path, meta: &Meta, fsync: bool) -> io::Result<()> {
    let bytes = encode(meta)?;
    let tmp = dir.join(format!(".{FILE}.tmp"));
    let mut f = File::create(&tmp)?;
    f.write_all(&bytes)?;
    if fsync {
        f.sync_all()?;
    }
    drop(f);
    fs::rename(&tmp, dir.join(FILE))?;
    if fsync {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::record::tests::log_id;

    #[test]
    fn survives_a_round_trip_and_detects_damage() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read(d.path()).unwrap(), None);
        let m = Meta {
            member: 3,
            incarnation: 0xfeed,
            vote: Some(Vote::new_committed(4, 2)),
            committed: Some(log_id(4, 2, 17)),
            purged: Some(log_id(1, 1, 5)),
            log_start: Some(9),
        };
        write(d.path(), &m, true).unwrap();
        assert_eq!(read(d.path()).unwrap(), Some(m));
        let mut bytes = fs::read(d.path().join(FILE)).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        fs::write(d.path().join(FILE), &bytes).unwrap();
        assert!(read(d.path()).is_err());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err());
        }
    }
}
