//! ZooKeeper's dynamic configuration text, the data of `/zookeeper/config`, the reply to
//! `reconfig`/`getConfig` and the tail of `conf`: one `server.N=host:quorumPort:electionPort:role
//! [;clientHost:clientPort]` line per member, then `version=<hex>`. Clients (zkCli, kazoo,
//! Curator's `EnsembleTracker`) parse this text to find the ensemble, so it must match exactly.
//!
//! The ensemble stores each member's line (without the role, which follows from voter/learner)
//! as the member's address in the replicated membership; see [`member_value`].

use std::collections::BTreeMap;
use std::fmt::Write;

use thiserror::Error;

use super::server_spec::{Role, ServerSpec, SpecError};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DynamicConfigError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("invalid dynamic config line `{0}`")]
    Line(String),
    #[error("server {0} is listed twice")]
    Duplicate(u64),
}

/// The ensemble's membership as ZooKeeper describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicConfig {
    pub servers: BTreeMap<u64, ServerSpec>,
    /// zxid of the committed membership change (0 for the configuration an ensemble was formed
    /// with, as ZooKeeper's static configurations).
    pub version: i64,
}

impl DynamicConfig {
    /// The text ZooKeeper stores in `/zookeeper/config` (no newline after the version).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for s in self.servers.values() {
            out.push_str(&s.to_config_line());
            out.push('\n');
        }
        // Java's Long.toHexString: a negative version prints as its two's complement.
        let _ = write!(out, "version={:x}", self.version as u64);
        out
    }

    /// Reads the text back (what a client or another member holds).
    pub fn parse(text: &str) -> Result<DynamicConfig, DynamicConfigError> {
        let mut cfg = DynamicConfig::default();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| DynamicConfigError::Line(line.to_string()))?;
            let key = key.trim();
            if key == "version" {
                cfg.version = u64::from_str_radix(value.trim(), 16)
                    .map_err(|_| DynamicConfigError::Line(line.to_string()))?
                    as i64;
                continue;
            }
            let spec = parse_server(key, value)?;
            if cfg.servers.insert(spec.id, spec.clone()).is_some() {
                return Err(DynamicConfigError::Duplicate(spec.id));
            }
        }
        Ok(cfg)
    }

    /// Participants' ids.
    pub fn voters(&self) -> Vec<u64> {
        self.of_role(Role::Participant)
    }

    /// Observers' ids.
    pub fn observers(&self) -> Vec<u64> {
        self.of_role(Role::Observer)
    }

    fn of_role(&self, role: Role) -> Vec<u64> {
        self.servers
            .values()
            .filter(|s| s.role == role)
            .map(|s| s.id)
            .collect()
    }

    /// Builds the configuration from the replicated membership: `values` maps each member to
    /// what [`member_value`] stored for it. Data directories written before the line was stored
    /// hold only `host:quorumPort`; such a member's line is completed from zoo.cfg (`known`)
    /// when it is listed there, else shown with election port 0.
    pub fn from_members(
        voters: &[u64],
        values: &BTreeMap<u64, String>,
        known: &[ServerSpec],
        version: i64,
    ) -> DynamicConfig {
        let servers = values
            .iter()
            .map(|(id, value)| {
                let role = if voters.contains(id) {
                    Role::Participant
                } else {
                    Role::Observer
                };
                let spec = ServerSpec::parse(*id, value)
                    .ok()
                    .or_else(|| known.iter().find(|s| s.id == *id).cloned())
                    .unwrap_or_else(|| bare_spec(*id, value));
                (*id, ServerSpec { role, ..spec })
            })
            .collect();
        DynamicConfig { servers, version }
    }
}

/// A member known only by `host:quorumPort` (or something unparseable).
fn bare_spec(id: u64, value: &str) -> ServerSpec {
    let addr = quorum_addr(value);
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "0"));
    ServerSpec {
        id,
        host: host.to_string(),
        quorum_port: port.parse().unwrap_or(0),
        election_port: 0,
        role: Role::Participant,
        client_addr: None,
    }
}

/// Parses one `server.N` = `spec` pair (the key may carry spaces, as in a properties file).
pub fn parse_server(key: &str, value: &str) -> Result<ServerSpec, DynamicConfigError> {
    let line = || DynamicConfigError::Line(format!("{key}={value}"));
    let id = key
        .trim()
        .strip_prefix("server.")
        .ok_or_else(line)?
        .parse::<u64>()
        .map_err(|_| line())?;
    Ok(ServerSpec::parse(id, value.trim())?)
}

/// What the replicated membership stores as a member's address: its server line without the
/// role, `host:quorumPort:electionPort[;clientHost:clientPort]`, so `/zookeeper/config` can be
/// rebuilt on every member. The quorum address stays the prefix (see [`quorum_addr`]).
pub fn member_value(spec: &ServerSpec) -> String {
    let mut s = format!("{}:{}:{}", spec.host, spec.quorum_port, spec.election_port);
    if let Some((h, p)) = &spec.client_addr {
        let _ = write!(s, ";{h}:{p}");
    }
    s
}

/// `host:quorumPort` out of a stored member value (or a bare `host:quorumPort`, as older data
/// directories hold). A bracketed IPv6 host keeps its brackets.
pub fn quorum_addr(value: &str) -> &str {
    let spec = value.split(';').next().unwrap_or(value);
    let host_end = if spec.starts_with('[') {
        spec.find(']').map_or(0, |i| i + 1)
    } else {
        spec.find(':').unwrap_or(spec.len())
    };
    match spec[host_end..].strip_prefix(':') {
        Some(rest) => {
            let port_len = rest.find(':').unwrap_or(rest.len());
            &spec[..host_end + 1 + port_len]
        }
        None => spec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
        server.2=127.0.0.2:2888:3888:participant;127.0.0.2:2181\n\
        server.3=127.0.0.3:2888:3888:observer;0.0.0.0:2181\n\
        version=100000003";

    #[test]
    fn prints_and_parses_zookeepers_text() {
        let cfg = DynamicConfig::parse(TEXT).unwrap();
        assert_eq!(cfg.version, 0x1_0000_0003);
        assert_eq!(cfg.voters(), vec![1, 2]);
        assert_eq!(cfg.observers(), vec![3]);
        assert_eq!(
            cfg.servers[&2].client_addr,
            Some(("127.0.0.2".into(), 2181))
        );
        assert_eq!(cfg.to_text(), TEXT);
        let empty = DynamicConfig::default();
        assert_eq!(empty.to_text(), "version=0");
        assert!(matches!(
            DynamicConfig::parse("server.1=a:1:2\nserver.1=b:1:2"),
            Err(DynamicConfigError::Duplicate(1))
        ));
        assert!(DynamicConfig::parse("server.x=a:1:2").is_err());
        assert!(DynamicConfig::parse("version=zz").is_err());
        assert!(DynamicConfig::parse("nonsense").is_err());
    }

    #[test]
    fn member_values_keep_the_quorum_address_first() {
        let s = ServerSpec::parse(4, "10.0.0.4:2888:3888:observer;2181").unwrap();
        let v = member_value(&s);
        assert_eq!(v, "10.0.0.4:2888:3888;0.0.0.0:2181");
        assert_eq!(quorum_addr(&v), "10.0.0.4:2888");
        assert_eq!(quorum_addr("10.0.0.4:2888"), "10.0.0.4:2888");
        assert_eq!(quorum_addr("[::1]:2888:3888;[::1]:2181"), "[::1]:2888");
        assert_eq!(quorum_addr("zk-0.zk:2888"), "zk-0.zk:2888");
    }

    #[test]
    fn membership_becomes_config_lines_with_roles_from_voting() {
        let values: BTreeMap<u64, String> = [
            (1, "h1:2888:3888;0.0.0.0:2181".to_string()),
            (2, "h2:2888".to_string()),
            (3, "h3:2888".to_string()),
        ]
        .into();
        let known = [ServerSpec::parse(2, "h2:2888:3889;2182").unwrap()];
        let cfg = DynamicConfig::from_members(&[1, 2], &values, &known, 7);
        assert_eq!(
            cfg.to_text(),
            "server.1=h1:2888:3888:participant;0.0.0.0:2181\n\
             server.2=h2:2888:3889:participant;0.0.0.0:2182\n\
             server.3=h3:2888:0:observer\nversion=7"
        );
    }
}
