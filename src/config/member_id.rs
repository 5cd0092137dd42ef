//! A member's server id handed down by whoever runs it (the operator), instead of being
//! guessed from a pod ordinal by a start script.
//!
//! The map is a file of `member=myid` lines (`zk server --myid-map FILE --member NAME`).
//! The id is then bound to the data directory through `dataDir/myid`: a data directory
//! that already belongs to another id is refused, because starting on it would make this
//! member claim writes it never acknowledged (and let another member's data be taken over).

use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MemberIdError {
    #[error("cannot read the myid map {path}: {source}")]
    ReadMap {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the myid map has no entry for member `{member}` (is the operator's ConfigMap up to date?)"
    )]
    Missing { member: String },
    #[error("the myid map's line `{line}` is not member=number")]
    BadLine { line: String },
    #[error(
        "{path} says this data belongs to server {found}, but this member is assigned server {assigned}; \
         refusing to start on another member's data"
    )]
    Mismatch {
        path: PathBuf,
        found: String,
        assigned: u64,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The id of `member` in a map's text. Blank lines and `#` comments are ignored.
pub fn lookup(map: &str, member: &str) -> Result<u64, MemberIdError> {
    for line in map.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || MemberIdError::BadLine {
            line: line.to_string(),
        };
        let (name, id) = line.split_once('=').ok_or_else(bad)?;
        let id: u64 = id.trim().parse().map_err(|_| bad())?;
        if name.trim() == member {
            return Ok(id);
        }
    }
    Err(MemberIdError::Missing {
        member: member.to_string(),
    })
}

/// Reads the map file and looks `member` up.
pub fn from_map_file(path: &Path, member: &str) -> Result<u64, MemberIdError> {
    let text = std::fs::read_to_string(path).map_err(|source| MemberIdError::ReadMap {
        path: path.to_path_buf(),
        source,
    })?;
    lookup(&text, member)
}

/// Binds `id` to `data_dir`: writes `myid` when there is none, accepts an equal one, and
/// refuses a different one.
pub fn bind_to_data_dir(data_dir: &Path, id: u64) -> Result<(), MemberIdError> {
    let path = data_dir.join("myid");
    match std::fs::read_to_string(&path) {
        Ok(found) => {
            if found.trim().parse::<u64>().ok() == Some(id) {
                Ok(())
            } else {
                Err(MemberIdError::Mismatch {
                    path,
                    found: found.trim().to_string(),
                    assigned: id,
                })
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_atomically(&path, id),
        Err(source) => Err(MemberIdError::Write { path, source }),
    }
}

/// Write to a temporary file, fsync, rename: a crash leaves either no myid or a whole one.
fn write_atomically(path: &Path, id: u64) -> Result<(), MemberIdError> {
    use std::io::Write;
    let err = |source| MemberIdError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(format!("{id}\n").as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_the_member_and_rejects_garbage() {
        let map = "# ids\nzk-0=1\n\nzk-1 = 7\n";
        assert_eq!(lookup(map, "zk-1").unwrap(), 7);
        assert!(matches!(
            lookup(map, "zk-2"),
            Err(MemberIdError::Missing { .. })
        ));
        assert!(matches!(
            lookup("zk-0=x\n", "zk-0"),
            Err(MemberIdError::BadLine { .. })
        ));
    }

    #[test]
    fn the_first_start_writes_myid_and_later_starts_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        bind_to_data_dir(&data, 3).unwrap();
        assert_eq!(std::fs::read_to_string(data.join("myid")).unwrap(), "3\n");
        bind_to_data_dir(&data, 3).unwrap();
        let e = bind_to_data_dir(&data, 4).unwrap_err();
        assert!(
            matches!(e, MemberIdError::Mismatch { assigned: 4, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("belongs to server 3"));
        assert_eq!(std::fs::read_to_string(data.join("myid")).unwrap(), "3\n");
    }

    #[test]
    fn a_myid_written_by_zookeeper_without_newline_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("myid"), "12").unwrap();
        bind_to_data_dir(dir.path(), 12).unwrap();
    }
}
