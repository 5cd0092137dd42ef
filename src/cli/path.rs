//! znode path validation with the messages of ZooKeeper's Java client (`PathUtils`).
//!
//! The client crate validates too, but with its own wording; checking first here lets the
//! shell print exactly what zkCli prints for a bad path.

/// Characters the Java client refuses (as UTF-16 code units; surrogates cannot occur in Rust).
fn is_invalid_char(c: char) -> bool {
    matches!(c, '\u{1}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{e000}'..='\u{f8ff}' | '\u{fff0}'..='\u{ffff}')
}

/// Checks a path; `sequential` allows a trailing `/` (the server appends the counter).
pub fn validate_path(path: &str, sequential: bool) -> Result<(), String> {
    if sequential {
        return validate_path(&format!("{path}1"), false);
    }
    let chars: Vec<char> = path.chars().collect();
    if chars.is_empty() {
        return Err("Path length must be > 0".into());
    }
    if chars[0] != '/' {
        return Err("Path must start with / character".into());
    }
    if chars.len() == 1 {
        return Ok(());
    }
    if chars[chars.len() - 1] == '/' {
        return Err("Path must not end with / character".into());
    }
    let ends_name = |i: usize| i + 1 == chars.len() || chars[i + 1] == '/';
    for i in 1..chars.len() {
        let (c, last) = (chars[i], chars[i - 1]);
        let reason = if c == '\0' {
            Some(format!("null character not allowed @{i}"))
        } else if c == '/' && last == '/' {
            Some(format!("empty node name specified @{i}"))
        } else if c == '.' && last == '.' {
            (i >= 2 && chars[i - 2] == '/' && ends_name(i))
                .then(|| format!("relative paths not allowed @{i}"))
        } else if c == '.' {
            (last == '/' && ends_name(i)).then(|| format!("relative paths not allowed @{i}"))
        } else if is_invalid_char(c) {
            Some(format!("invalid character @{i}"))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(format!("Invalid path string \"{path}\" caused by {reason}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_path;

    #[test]
    fn accepts_normal_paths() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/a.b",
            "/..a",
            "/a/...",
            "/q q",
            "/zookeeper/config",
        ] {
            assert_eq!(validate_path(p, false), Ok(()), "{p}");
        }
    }

    #[test]
    fn messages_match_zkcli() {
        assert_eq!(
            validate_path("", false).unwrap_err(),
            "Path length must be > 0"
        );
        assert_eq!(
            validate_path("a", false).unwrap_err(),
            "Path must start with / character"
        );
        assert_eq!(
            validate_path("/a/", false).unwrap_err(),
            "Path must not end with / character"
        );
        assert_eq!(
            validate_path("//a", false).unwrap_err(),
            "Invalid path string \"//a\" caused by empty node name specified @1"
        );
        assert_eq!(
            validate_path("/a/./b", false).unwrap_err(),
            "Invalid path string \"/a/./b\" caused by relative paths not allowed @3"
        );
        assert_eq!(
            validate_path("/a/..", false).unwrap_err(),
            "Invalid path string \"/a/..\" caused by relative paths not allowed @4"
        );
        assert_eq!(
            validate_path("/a\u{1}", false).unwrap_err(),
            "Invalid path string \"/a\u{1}\" caused by invalid character @2"
        );
        assert_eq!(
            validate_path("/a\0", false).unwrap_err(),
            "Invalid path string \"/a\0\" caused by null character not allowed @2"
        );
    }

    #[test]
    fn sequential_allows_trailing_slash() {
        assert_eq!(validate_path("/a/", true), Ok(()));
        assert!(validate_path("/a//", true).is_err());
    }
}
