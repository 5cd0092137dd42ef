//! The cluster's name resolution: one hosts file, bind-mounted over /etc/hosts in every pod and
//! in `tests/k8s/in`, listing the DNS names cluster DNS would give each pod.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

const HEADER: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/// The names cluster DNS gives a pod: with `hostname` and `subdomain` (a StatefulSet pod behind
/// its headless Service) `<hostname>.<subdomain>.<namespace>.svc.cluster.local` and its shorter
/// search-path forms; a pod without a subdomain has no DNS name of its own.
pub fn pod_names(hostname: Option<&str>, subdomain: Option<&str>, namespace: &str) -> Vec<String> {
    match (hostname, subdomain) {
        (Some(h), Some(s)) if !h.is_empty() && !s.is_empty() => vec![
            format!("{h}.{s}.{namespace}.svc.cluster.local"),
            format!("{h}.{s}.{namespace}.svc"),
            format!("{h}.{s}.{namespace}"),
        ],
        _ => Vec::new(),
    }
}

/// Renders the file: fixed header, then one line per pod, ordered by address so rewrites are
/// stable.
pub fn render(entries: &BTreeMap<String, (String, Vec<String>)>) -> String {
    let mut lines: Vec<(&str, &[String])> = entries
        .values()
        .filter(|(_, names)| !names.is_empty())
        .map(|(ip, names)| (ip.as_str(), names.as_slice()))
        .collect();
    lines.sort();
    let mut out = String::from(HEADER);
    for (ip, names) in lines {
        out.push_str(ip);
        out.push('\t');
        out.push_str(&names.join(" "));
        out.push('\n');
    }
    out
}

/// The live file: pod uid → (address, names). Written in place (same inode), because it is
/// bind-mounted into running pods and a rename would leave them with the old copy.
pub struct Hosts {
    path: PathBuf,
    entries: Mutex<BTreeMap<String, (String, Vec<String>)>>,
}

impl Hosts {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub fn set(&self, uid: &str, ip: &str, names: Vec<String>) -> std::io::Result<()> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.insert(uid.to_string(), (ip.to_string(), names));
        self.write(&e)
    }

    pub fn remove(&self, uid: &str) -> std::io::Result<()> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if e.remove(uid).is_some() {
            self.write(&e)?;
        }
        Ok(())
    }

    fn write(&self, e: &BTreeMap<String, (String, Vec<String>)>) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .create(true)
            .open(&self.path)?;
        f.write_all(render(e).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statefulset_pod_names() {
        let n = pod_names(Some("zk-0"), Some("zk-hl"), "prod");
        assert_eq!(n[0], "zk-0.zk-hl.prod.svc.cluster.local");
        assert_eq!(n[2], "zk-0.zk-hl.prod");
        assert!(pod_names(Some("zk-0"), None, "prod").is_empty());
    }

    #[test]
    fn render_is_sorted_and_skips_nameless() {
        let mut m = BTreeMap::new();
        m.insert("u2".into(), ("10.244.0.3".into(), vec!["b.s.ns".into()]));
        m.insert(
            "u1".into(),
            ("10.244.0.2".into(), vec!["a.s.ns".into(), "a.s".into()]),
        );
        m.insert("u3".into(), ("10.244.0.4".into(), vec![]));
        let out = render(&m);
        assert!(out.starts_with(HEADER));
        let body: Vec<&str> = out[HEADER.len()..].lines().collect();
        assert_eq!(body, ["10.244.0.2\ta.s.ns a.s", "10.244.0.3\tb.s.ns"]);
    }
}
