//! Znode paths: ZooKeeper's validation rules (PathUtils.validatePath) and parent/name splitting.

use crate::proto::{ErrorCode, ZkResult};

/// Checks a path the way ZooKeeper does; a sequential create validates `path + "1"` so a
/// trailing slash is allowed there.
pub fn validate(path: &str, sequential: bool) -> ZkResult<()> {
    if sequential {
        let mut p = String::with_capacity(path.len() + 1);
        p.push_str(path);
        p.push('1');
        return validate_plain(&p);
    }
    validate_plain(path)
}

fn invalid_char(c: char) -> bool {
    let c = c as u32;
    c == 0
        || (0x01..=0x1f).contains(&c)
        || (0x7f..=0x9f).contains(&c)
        || (0xd800..=0xf8ff).contains(&c)
        || c >= 0xfff0
}

fn validate_plain(path: &str) -> ZkResult<()> {
    let bad = Err(ErrorCode::BAD_ARGUMENTS);
    if !path.starts_with('/') {
        return bad;
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') {
        return bad;
    }
    for segment in path[1..].split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return bad;
        }
        if segment.chars().any(invalid_char) {
            return bad;
        }
    }
    Ok(())
}

/// The parent of a validated non-root path (`/a` → `/`, `/a/b` → `/a`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last segment of a validated non-root path.
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Joins a parent path and a child name.
pub fn join(parent: &str, name: &str) -> String {
    let mut s = String::with_capacity(parent.len() + name.len() + 1);
    s.push_str(parent);
    if parent != "/" {
        s.push('/');
    }
    s.push_str(name);
    s
}

/// True if `path` is `base` or lies below it.
pub fn is_under(path: &str, base: &str) -> bool {
    base == "/"
        || path == base
        || (path.len() > base.len() && path.starts_with(base) && path.as_bytes()[base.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn zookeeper_rules() {
        for ok in ["/", "/a", "/a/b", "/a.b", "/..a", "/a/...", "/zookeeper", "/ä"] {
            assert!(validate(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "/a/", "//", "/a//b", "/.", "/..", "/a/./b", "/a/../b", "/a\0b", "/a\u{1}",
            "/\u{7f}", "/\u{e000}", "/\u{1F600}", "/\u{fff0}",
        ] {
            assert!(validate(bad, false).is_err(), "{bad:?}");
        }
        assert!(validate("/a/", true).is_ok());
        assert!(validate("/", true).is_ok());
    }

    #[test]
    fn parents_and_names() {
        assert_eq!(parent("/a"), "/");
        assert_eq!(parent("/a/b/c"), "/a/b");
        assert_eq!(name("/a/b"), "b");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
        assert!(is_under("/a/b", "/a"));
        assert!(!is_under("/ab", "/a"));
        assert!(is_under("/ab", "/"));
    }

    proptest! {
        #[test]
        fn join_inverts_parent_and_name(segs in proptest::collection::vec("[a-z0-9]{1,5}", 1..5)) {
            let path = format!("/{}", segs.join("/"));
            prop_assert!(validate(&path, false).is_ok());
            prop_assert_eq!(join(parent(&path), name(&path)), path);
        }
    }
}
