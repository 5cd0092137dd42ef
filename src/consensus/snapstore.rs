//! Raft snapshots on disk: the same `snapshot.<zxid>` files as standalone (snapfile.rs, with its
//! checksum and atomic rename), whose body is `[meta length u32][postcard(meta)][tree image]`;
//! the meta says which log position and membership the image stands for.

use std::io;
use std::path::{Path, PathBuf};

use tracing::warn;

use super::snapfile;
use super::types::SnapshotMeta;
use super::zxid;

/// Snapshots kept besides the newest, as a fallback if the newest fails its checksum.
const KEEP: usize = 2;

fn bad(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

pub fn encode(meta: &SnapshotMeta, image: &[u8]) -> io::Result<Vec<u8>> {
    let m = postcard::to_stdvec(meta).map_err(bad)?;
    let mut out = Vec::with_capacity(4 + m.len() + image.len());
    out.extend_from_slice(&(m.len() as u32).to_be_bytes());
    out.extend_from_slice(&m);
    out.extend_from_slice(image);
    Ok(out)
}

pub fn decode(mut body: Vec<u8>) -> io::Result<(SnapshotMeta, Vec<u8>)> {
    let len: [u8; 4] = body
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("snapshot shorter than its header"))?;
    let len = u32::from_be_bytes(len) as usize;
    let m = body
        .get(4..4 + len)
        .ok_or_else(|| bad("snapshot meta truncated"))?;
    let meta: SnapshotMeta = postcard::from_bytes(m).map_err(bad)?;
    let image = body.split_off(4 + len);
    Ok((meta, image))
}

/// Writes a snapshot durably and drops all but the newest few.
pub fn save(dir: &Path, meta: &SnapshotMeta, image: &[u8]) -> io::Result<PathBuf> {
    let at = zxid::of_index(meta.last_log_id.as_ref().map_or(0, |l| l.index));
    let path = snapfile::write(dir, at, &encode(meta, image)?)?;
    let all = snapfile::list(dir)?;
    if all.len() > KEEP {
        for (_, old) in &all[..all.len() - KEEP] {
            std::fs::remove_file(old)?;
        }
    }
    Ok(path)
}

/// The newest snapshot that reads back intact.
pub fn newest(dir: &Path) -> io::Result<Option<(SnapshotMeta, Vec<u8>)>> {
    for (_, path) in snapfile::list(dir)?.into_iter().rev() {
        match snapfile::read(&path).and_then(decode) {
            Ok(s) => return Ok(Some(s)),
            Err(e) => warn!(path = %path.display(), error = %e, "skipping unreadable snapshot"),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consensus::record::tests::log_id;
    use crate::consensus::types::StoredMembership;

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(log_id(2, 1, index)),
            last_membership: StoredMembership::default(),
        }
    }

    #[test]
    fn the_newest_intact_snapshot_wins_and_old_ones_are_dropped() {
        let d = tempfile::tempdir().unwrap();
        assert!(newest(d.path()).unwrap().is_none());
        for i in [10, 20, 30] {
            save(d.path(), &meta(i), format!("tree{i}").as_bytes()).unwrap();
        }
        assert_eq!(snapfile::list(d.path()).unwrap().len(), KEEP);
        let (m, image) = newest(d.path()).unwrap().unwrap();
        assert_eq!((m, image), (meta(30), b"tree30".to_vec()));
        // Damage the newest: the one before it is used.
        let p = d.path().join(format!("snapshot.{:016x}", 30));
        let mut b = std::fs::read(&p).unwrap();
        let last = b.len() - 1;
        b[last] ^= 1;
        std::fs::write(&p, b).unwrap();
        assert_eq!(newest(d.path()).unwrap().unwrap().0, meta(20));
    }

    #[test]
    fn short_or_garbled_bodies_are_errors() {
        let body = encode(&meta(5), b"x").unwrap();
        for cut in 0..body.len() - 1 {
            let _ = decode(body[..cut].to_vec());
        }
        assert!(decode(vec![0, 0, 0, 200, 1]).is_err());
    }
}
