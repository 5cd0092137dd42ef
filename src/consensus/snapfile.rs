//! Snapshot files: `<dataDir>/version-zk1/snapshot.<zxid, 16 hex digits>`, each
//! `[magic u32][len u64][crc32c u32][tree bytes]`, written to a temporary name, fsync'd and
//! renamed so a crash leaves either the old set of snapshots or the new one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const MAGIC: u32 = 0x5a4b_5346; // "ZKSF"

/// Snapshots present, oldest first.
pub fn list(dir: &Path) -> io::Result<Vec<(i64, PathBuf)>> {
    let mut v = Vec::new();
    if !dir.exists() {
        return Ok(v);
    }
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(hex) = name.strip_prefix("snapshot.") {
            if let Ok(z) = i64::from_str_radix(hex, 16) {
                v.push((z, e.path()));
            }
        }
    }
    v.sort();
    Ok(v)
}

/// Writes a snapshot durably.
pub fn write(dir: &Path, zxid: i64, tree: &[u8]) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let name = format!("snapshot.{zxid:016x}");
    let tmp = dir.join(format!(".{name}.tmp"));
    let dst = dir.join(name);
    let mut f = File::create(&tmp)?;
    f.write_all(&MAGIC.to_be_bytes())?;
    f.write_all(&(tree.len() as u64).to_be_bytes())?;
    f.write_all(&crc32c::crc32c(tree).to_be_bytes())?;
    f.write_all(tree)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, &dst)?;
    File::open(dir)?.sync_all()?;
    Ok(dst)
}

/// Reads a snapshot, checking its checksum.
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let buf = fs::read(path)?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {what}", path.display()));
    if buf.len() < 16 || buf[0..4] != MAGIC.to_be_bytes() {
        return Err(bad("not a zk snapshot"));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&buf[4..12]);
    let len = u64::from_be_bytes(len) as usize;
    let crc = u32::from_be_bytes([buf[12], buf[13], buf[14], buf[15]]);
    let body = buf.get(16..16 + len).ok_or_else(|| bad("truncated"))?;
    if crc32c::crc32c(body) != crc {
        return Err(bad("checksum mismatch"));
    }
    Ok(body.to_vec())
}

/// Deletes all but the newest `keep` snapshots and the log segments only they needed
/// (ZooKeeper's autopurge). Returns how many files were removed.
pub fn purge(snap_dir: &Path, log_dir: &Path, keep: usize) -> io::Result<usize> {
    let snaps = list(snap_dir)?;
    if snaps.len() <= keep {
        return Ok(0);
    }
    let oldest_kept = snaps[snaps.len() - keep].0;
    let mut removed = 0;
    for (_, p) in &snaps[..snaps.len() - keep] {
        fs::remove_file(p)?;
        removed += 1;
    }
    let segs = super::wal::segments(log_dir)?;
    for (i, (_, p)) in segs.iter().enumerate() {
        // A segment is needed if it may hold a zxid above the oldest kept snapshot.
        if let Some((next_first, _)) = segs.get(i + 1) {
            if *next_first <= oldest_kept + 1 {
                fs::remove_file(p)?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_detect_corruption() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), 0x10, b"tree").unwrap();
        assert_eq!(read(&p).unwrap(), b"tree");
        assert_eq!(list(d.path()).unwrap()[0].0, 0x10);
        let mut b = fs::read(&p).unwrap();
        b[17] ^= 1;
        fs::write(&p, b).unwrap();
        assert!(read(&p).is_err());
    }

    #[test]
    fn purge_keeps_the_newest_and_the_logs_they_need() {
        let d = tempfile::tempdir().unwrap();
        for z in [10, 20, 30, 40] {
            write(d.path(), z, b"t").unwrap();
        }
        for first in [1, 15, 25, 35] {
            fs::write(d.path().join(format!("log.{first:016x}")), b"").unwrap();
        }
        assert_eq!(purge(d.path(), d.path(), 3).unwrap(), 2);
        let snaps: Vec<i64> = list(d.path()).unwrap().iter().map(|s| s.0).collect();
        assert_eq!(snaps, vec![20, 30, 40]);
        let logs: Vec<i64> = super::super::wal::segments(d.path()).unwrap().iter().map(|s| s.0).collect();
        assert_eq!(logs, vec![15, 25, 35]);
    }
}
