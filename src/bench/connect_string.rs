//! The connect string the load sessions dial: `host:port[,host:port...][/chroot]`, as every
//! ZooKeeper client reads it.
//!
//! The load sessions speak the wire protocol themselves (see `wire`), so they need the hosts
//! and the chroot separately: each session is placed on one host and resumes on the next one
//! when its connection is lost, and every path it sends carries the chroot.

use thiserror::Error;

/// ZooKeeper's client port, used when a host names none.
const DEFAULT_PORT: u16 = 2181;

/// Why a connect string names no server.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConnectStringError {
    /// Nothing before the chroot.
    #[error("connect string {0:?} names no host")]
    NoHost(String),
    /// A host entry is empty or its port is not a number.
    #[error("connect string {whole:?}: bad host {host:?}")]
    BadHost {
        /// The whole connect string.
        whole: String,
        /// The entry that is wrong.
        host: String,
    },
    /// The chroot is not an absolute path without a trailing slash.
    #[error("connect string {0:?}: the chroot must be an absolute path without a trailing '/'")]
    BadChroot(String),
}

/// A parsed connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    /// `host:port` entries, in the order given.
    pub hosts: Vec<String>,
    /// Prefix of every path, empty without a chroot (or with `/`).
    pub chroot: String,
}

impl ConnectString {
    /// Parses `host:port[,host:port...][/chroot]`; a host without a port gets 2181.
    pub fn parse(whole: &str) -> Result<Self, ConnectStringError> {
        let (list, chroot) = match whole.find('/') {
            Some(at) => (&whole[..at], &whole[at..]),
            None => (whole, ""),
        };
        let chroot = match chroot {
            "" | "/" => String::new(),
            c if c.ends_with('/') || c.contains("//") => {
                return Err(ConnectStringError::BadChroot(whole.to_string()));
            }
            c => c.to_string(),
        };
        if list.trim().is_empty() {
            return Err(ConnectStringError::NoHost(whole.to_string()));
        }
        let hosts = list
            .split(',')
            .map(|host| host_with_port(whole, host.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ConnectString { hosts, chroot })
    }
}

/// `host` with its port checked, or with 2181 added when it has none. An IPv6 literal must be
/// bracketed (`[::1]:2181`), as in ZooKeeper's own connect strings.
fn host_with_port(whole: &str, host: &str) -> Result<String, ConnectStringError> {
    let bad = || ConnectStringError::BadHost {
        whole: whole.to_string(),
        host: host.to_string(),
    };
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => {
            let close = rest.find(']').ok_or_else(bad)?;
            let port = match &rest[close + 1..] {
                "" => None,
                after => Some(after.strip_prefix(':').ok_or_else(bad)?),
            };
            (&host[..close + 2], port)
        }
        None => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    if name.is_empty() || name == "[]" {
        return Err(bad());
    }
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad())?,
        None => DEFAULT_PORT,
    };
    Ok(format!("{name}:{port}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ConnectString {
        ConnectString::parse(s).unwrap()
    }

    #[test]
    fn hosts_keep_their_order_and_ports() {
        let c = parse("127.0.7.1:2181,127.0.7.2:2182, localhost:3000");
        assert_eq!(
            c.hosts,
            ["127.0.7.1:2181", "127.0.7.2:2182", "localhost:3000"]
        );
        assert_eq!(c.chroot, "");
    }

    #[test]
    fn a_missing_port_is_the_client_port() {
        assert_eq!(parse("zk-0,zk-1:2182").hosts, ["zk-0:2181", "zk-1:2182"]);
        assert_eq!(parse("[::1]").hosts, ["[::1]:2181"]);
        assert_eq!(parse("[::1]:2190").hosts, ["[::1]:2190"]);
    }

    #[test]
    fn the_chroot_follows_the_hosts() {
        assert_eq!(parse("a:1,b:2/apps/x").chroot, "/apps/x");
        assert_eq!(parse("a:1/").chroot, "");
        assert_eq!(
            ConnectString::parse("a:1/x/"),
            Err(ConnectStringError::BadChroot("a:1/x/".into()))
        );
        assert!(ConnectString::parse("a:1/x//y").is_err());
    }

    #[test]
    fn bad_hosts_are_named() {
        assert_eq!(
            ConnectString::parse("/x"),
            Err(ConnectStringError::NoHost("/x".into()))
        );
        for bad in ["a:1,,b:2", "a:port", "a:70000", ":2181", "::1"] {
            assert!(
                matches!(
                    ConnectString::parse(bad),
                    Err(ConnectStringError::BadHost { .. })
                ),
                "{bad}"
            );
        }
    }
}
