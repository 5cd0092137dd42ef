//! Splits a shell line into words the way zkCli does.
//!
//! zkCli matches `\s*([^"']\S*|"[^"]*"|'[^']*')\s*` repeatedly and strips the quotes of a
//! quoted word. That means quotes only group when they enclose a whole word, there is no
//! escaping, and an unmatched quote character is skipped. Users paste lines written for
//! zkCli, so we reproduce those rules rather than POSIX shell quoting.

/// Java's `\s`: space, tab, newline, vertical tab, form feed, carriage return.
fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// Splits `line` into words; an empty result means "nothing to run".
pub fn tokenize(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut pos = 0;
    while pos < chars.len() {
        while pos < chars.len() && is_java_space(chars[pos]) {
            pos += 1;
        }
        let Some(&first) = chars.get(pos) else {
            break;
        };
        if first == '"' || first == '\'' {
            match chars[pos + 1..].iter().position(|&c| c == first) {
                Some(len) => {
                    words.push(chars[pos + 1..pos + 1 + len].iter().collect());
                    pos += len + 2;
                }
                // An unmatched quote starts no word; the regex search resumes after it.
                None => pos += 1,
            }
        } else {
            let start = pos;
            while pos < chars.len() && !is_java_space(chars[pos]) {
                pos += 1;
            }
            words.push(chars[start..pos].iter().collect());
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    fn t(line: &str) -> Vec<String> {
        tokenize(line)
    }

    #[test]
    fn splits_on_whitespace() {
        assert_eq!(t("  ls   -s\t/a  "), ["ls", "-s", "/a"]);
        assert!(t("").is_empty());
        assert!(t("   ").is_empty());
    }

    #[test]
    fn quoted_words_keep_spaces_and_lose_quotes() {
        assert_eq!(t(r#"set /a "with space""#), ["set", "/a", "with space"]);
        assert_eq!(
            t("create '/q q' 'single quoted'"),
            ["create", "/q q", "single quoted"]
        );
        assert_eq!(t(r#"set /a """#), ["set", "/a", ""]);
    }

    #[test]
    fn quotes_inside_a_word_are_kept() {
        assert_eq!(t(r#"set /a x"y"#), ["set", "/a", r#"x"y"#]);
        assert_eq!(t(r#"set /a {"k":1}"#), ["set", "/a", r#"{"k":1}"#]);
    }

    #[test]
    fn a_closing_quote_ends_the_word() {
        assert_eq!(t(r#""b c"d"#), ["b c", "d"]);
    }

    #[test]
    fn an_unmatched_quote_is_skipped() {
        assert_eq!(t(r#"ls "unterminated"#), ["ls", "unterminated"]);
        assert_eq!(t("get 'x"), ["get", "x"]);
    }
}
