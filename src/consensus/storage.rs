//! Recovery and layout of a member's on-disk state: the newest intact snapshot plus the log
//! after it. See docs/storage.md for the layout.

use std::io;
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use super::snapfile;
use super::wal::{self, Wal};
use crate::tree::DataTree;

/// Where a member keeps snapshots and log segments.
#[derive(Debug, Clone)]
pub struct Layout {
    pub snap_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Layout {
    pub fn new(data_dir: &Path, data_log_dir: &Path) -> Layout {
        Layout {
            snap_dir: data_dir.join(wal::VERSION_DIR),
            log_dir: data_log_dir.join(wal::VERSION_DIR),
        }
    }
}

/// Loads the newest snapshot that verifies (older ones are fallbacks) and replays the log on
/// top of it.
pub fn recover(layout: &Layout, fsync: bool, extended_types: bool) -> io::Result<(DataTree, Wal)> {
    std::fs::create_dir_all(&layout.snap_dir)?;
    std::fs::create_dir_all(&layout.log_dir)?;
    let mut tree = None;
    for (zxid, path) in snapfile::list(&layout.snap_dir)?.into_iter().rev() {
        match snapfile::read(&path).and_then(|b| {
            DataTree::from_snapshot(&b).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        }) {
            Ok(t) => {
                info!(zxid = format_args!("{zxid:#x}"), "loaded snapshot");
                tree = Some(t);
                break;
            }
            Err(e) => warn!(path = %path.display(), error = %e, "skipping unreadable snapshot"),
        }
    }
    let mut tree = tree.unwrap_or_default();
    tree.extended_types = extended_types;
    let mut replayed = 0u64;
    let wal = Wal::open(&layout.log_dir, tree.last_zxid(), fsync, |txn| {
        tree.apply(&txn);
        replayed += 1;
    })?;
    info!(
        replayed,
        zxid = format_args!("{:#x}", tree.last_zxid()),
        nodes = tree.node_count(),
        "recovered"
    );
    Ok((tree, wal))
}
