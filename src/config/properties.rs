//! The key=value reading of Java properties files and `-Dkey=value` JVM flags, which is all
//! zoo.cfg and SERVER_JVMFLAGS use in practice.

use std::collections::BTreeMap;

/// Parses properties text: `#`/`!` comments, `key=value` or `key: value` or `key value`,
/// whitespace trimmed. Later keys win, as in java.util.Properties.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line
            .find(['=', ':'])
            .into_iter()
            .chain(line.find(char::is_whitespace))
            .min();
        let (k, v) = match split {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, ""),
        };
        let v = v.trim_start();
        let v = v.strip_prefix(['=', ':']).unwrap_or(v);
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    out
}

/// Extracts `-Dkey=value` pairs from JVM flags such as SERVER_JVMFLAGS.
pub fn jvm_flags(flags: &str) -> BTreeMap<String, String> {
    flags
        .split_whitespace()
        .filter_map(|f| f.strip_prefix("-D"))
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_forms() {
        let p = parse("# c\ntickTime=2000\n dataDir : /d \nclientPort 2181\nserver.1=h:1:2;3\n");
        assert_eq!(p["tickTime"], "2000");
        assert_eq!(p["dataDir"], "/d");
        assert_eq!(p["clientPort"], "2181");
        assert_eq!(p["server.1"], "h:1:2;3");
    }

    #[test]
    fn jvm_flag_pairs() {
        let f = jvm_flags("-Xmx1g -Dzookeeper.DigestAuthenticationProvider.superDigest=super:abc= -Dx");
        assert_eq!(f["zookeeper.DigestAuthenticationProvider.superDigest"], "super:abc=");
        assert_eq!(f["x"], "");
    }
}
