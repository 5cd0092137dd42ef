//! The `reconfig` request (opcode 16) as a pure decision: from the current configuration and
//! what the client asked, the configuration to move to, or the ZooKeeper error that refuses it.
//! The leader runs this before it touches the membership, so a refused request changes nothing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::dynamic::{DynamicConfig, parse_server};
use super::server_spec::Role;

/// A client's reconfig request, as the member that received it forwards it to the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconfigAsk {
    /// `server.N=spec` entries separated by commas (incremental).
    pub joining: String,
    /// Member ids separated by commas (incremental).
    pub leaving: String,
    /// The whole new membership, entries separated by commas or newlines (non-incremental);
    /// when set, `joining` and `leaving` are ignored, as in ZooKeeper.
    pub new_members: String,
    /// The configuration version the client based its request on; -1 for any.
    pub from_version: i64,
    /// Whether the client may write `/zookeeper/config` (super user, the WRITE permission, or
    /// `skipACL`). Decided where its credentials are, on the member holding its connection.
    pub authorized: bool,
    /// The receiving member's `standaloneEnabled`: ZooKeeper then insists on at least two
    /// participants, so an ensemble never shrinks into a standalone server.
    pub standalone_enabled: bool,
}

/// Why a reconfig was refused; each is one of ZooKeeper's error codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
pub enum ReconfigRefusal {
    /// ReconfigInProgress (-14).
    #[error("another reconfiguration is in progress")]
    InProgress,
    /// BadVersion (-103).
    #[error("the configuration version is {current:#x}, not {asked:#x}")]
    BadVersion { current: i64, asked: i64 },
    /// BadArguments (-8).
    #[error("{0}")]
    BadArguments(String),
    /// NoAuth (-102).
    #[error("not allowed to change the configuration")]
    NoAuth,
    /// NewConfigNoQuorum (-13).
    #[error("the new configuration has no connected and synced quorum")]
    NoQuorum,
}

fn bad(why: impl Into<String>) -> ReconfigRefusal {
    ReconfigRefusal::BadArguments(why.into())
}

/// The configuration `ask` leads to from `current` (its version is left at `current`'s; the
/// committed change gives the new one).
pub fn target(
    current: &DynamicConfig,
    ask: &ReconfigAsk,
    standalone_enabled: bool,
) -> Result<DynamicConfig, ReconfigRefusal> {
    if ask.from_version != -1 && ask.from_version != current.version {
        return Err(ReconfigRefusal::BadVersion {
            current: current.version,
            asked: ask.from_version,
        });
    }
    let mut next = if ask.new_members.trim().is_empty() {
        incremental(current, ask)?
    } else {
        replacement(current, &ask.new_members)?
    };
    let voters = next.voters().len();
    if standalone_enabled && voters < 2 {
        return Err(bad(
            "the new configuration must include at least 2 participants",
        ));
    }
    if voters < 1 {
        return Err(bad("the new configuration must include a participant"));
    }
    check_addresses(current, &next)?;
    if !ask.authorized {
        return Err(ReconfigRefusal::NoAuth);
    }
    next.version = current.version;
    Ok(next)
}

fn incremental(
    current: &DynamicConfig,
    ask: &ReconfigAsk,
) -> Result<DynamicConfig, ReconfigRefusal> {
    let mut next = current.clone();
    for leaving in ask
        .leaving
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let id: u64 = leaving
            .parse()
            .map_err(|_| bad(format!("`{leaving}` is not a server id")))?;
        // An id that is not a member is ignored, as ZooKeeper does.
        next.servers.remove(&id);
    }
    for joiner in ask
        .joining
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let (key, value) = joiner
            .split_once('=')
            .filter(|(_, v)| !v.contains('='))
            .ok_or_else(|| bad(format!("`{joiner}` is not server.N=spec")))?;
        let spec = parse_server(key, value).map_err(|e| bad(e.to_string()))?;
        if spec.client_addr.is_none() {
            return Err(bad(format!(
                "`{joiner}` needs quorum, election and client ports"
            )));
        }
        next.servers.insert(spec.id, spec);
    }
    Ok(next)
}

fn replacement(current: &DynamicConfig, text: &str) -> Result<DynamicConfig, ReconfigRefusal> {
    let mut next = DynamicConfig {
        version: current.version,
        ..DynamicConfig::default()
    };
    for entry in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
    {
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| bad(format!("`{entry}` is not key=value")))?;
        if key.trim() == "version" {
            continue;
        }
        let spec = parse_server(key, value).map_err(|e| bad(e.to_string()))?;
        if next.servers.insert(spec.id, spec).is_some() {
            return Err(bad(format!("`{key}` is listed twice")));
        }
    }
    Ok(next)
}

/// Two members may not share a quorum or election address, and a member keeps its quorum
/// address: the ensemble knows a member by its id and where it was admitted, and moving it
/// means removing it and adding it back under a new id.
fn check_addresses(current: &DynamicConfig, next: &DynamicConfig) -> Result<(), ReconfigRefusal> {
    let mut seen = std::collections::BTreeMap::new();
    for s in next.servers.values() {
        for addr in [
            format!("{}:{}", s.host, s.quorum_port),
            format!("{}:{}", s.host, s.election_port),
        ] {
            if let Some(other) = seen.insert(addr.clone(), s.id)
                && other != s.id
            {
                return Err(bad(format!("servers {other} and {} both use {addr}", s.id)));
            }
        }
        if let Some(old) = current.servers.get(&s.id)
            && (old.host != s.host || old.quorum_port != s.quorum_port)
        {
            return Err(bad(format!(
                "server {} cannot move from {}:{} to {}:{}; remove it and add it under a new id",
                s.id, old.host, old.quorum_port, s.host, s.quorum_port
            )));
        }
    }
    Ok(())
}

/// Ids that are not members yet: each must be reached and catch up before it counts.
pub fn joins(current: &DynamicConfig, next: &DynamicConfig) -> Vec<u64> {
    next.servers
        .keys()
        .filter(|id| !current.servers.contains_key(id))
        .copied()
        .collect()
}

/// Ids that leave the ensemble altogether.
pub fn leaves(current: &DynamicConfig, next: &DynamicConfig) -> Vec<u64> {
    current
        .servers
        .keys()
        .filter(|id| !next.servers.contains_key(id))
        .copied()
        .collect()
}

/// Whether `id` votes in `cfg`.
pub fn votes(cfg: &DynamicConfig, id: u64) -> bool {
    cfg.servers
        .get(&id)
        .is_some_and(|s| s.role == Role::Participant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> DynamicConfig {
        DynamicConfig::parse(
            "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
             server.2=127.0.0.2:2888:3888:participant;0.0.0.0:2181\n\
             server.3=127.0.0.3:2888:3888:participant;0.0.0.0:2181\nversion=0",
        )
        .unwrap()
    }

    fn ask(joining: &str, leaving: &str, new_members: &str, from: i64) -> ReconfigAsk {
        ReconfigAsk {
            joining: joining.into(),
            leaving: leaving.into(),
            new_members: new_members.into(),
            from_version: from,
            authorized: true,
            standalone_enabled: true,
        }
    }

    #[test]
    fn incremental_adds_and_removes() {
        let cur = three();
        let next = target(
            &cur,
            &ask(
                "server.4=127.0.0.4:2888:3888:participant;2181, server.5=127.0.0.5:2888:3888:observer;127.0.0.5:2181",
                "1",
                "",
                -1,
            ),
            true,
        )
        .unwrap();
        assert_eq!(next.voters(), vec![2, 3, 4]);
        assert_eq!(next.observers(), vec![5]);
        assert_eq!(joins(&cur, &next), vec![4, 5]);
        assert_eq!(leaves(&cur, &next), vec![1]);
        assert!(votes(&next, 4) && !votes(&next, 5) && !votes(&next, 1));
        // Re-listing a member with another role changes its role.
        let demoted = target(
            &cur,
            &ask("server.3=127.0.0.3:2888:3888:observer;2181", "", "", 0),
            true,
        )
        .unwrap();
        assert_eq!(demoted.voters(), vec![1, 2]);
        // Unknown leaving ids are ignored.
        assert_eq!(
            target(&cur, &ask("", "9", "", -1), true).unwrap().servers,
            cur.servers
        );
    }

    #[test]
    fn non_incremental_replaces_the_membership() {
        let cur = three();
        let next = target(
            &cur,
            &ask(
                "ignored",
                "ignored",
                "server.1=127.0.0.1:2888:3888:participant;2181\nserver.2=127.0.0.2:2888:3888;2181,version=5",
                -1,
            ),
            true,
        )
        .unwrap();
        assert_eq!(next.voters(), vec![1, 2]);
        assert_eq!(next.version, 0);
    }

    #[test]
    fn refusals_match_zookeepers_errors() {
        let cur = DynamicConfig {
            version: 0x1_0000_0005,
            ..three()
        };
        assert_eq!(
            target(&cur, &ask("", "1", "", 4), true),
            Err(ReconfigRefusal::BadVersion {
                current: 0x1_0000_0005,
                asked: 4
            })
        );
        assert!(target(&cur, &ask("", "1", "", 0x1_0000_0005), true).is_ok());
        let bad_args = |a: ReconfigAsk| {
            matches!(
                target(&cur, &a, true),
                Err(ReconfigRefusal::BadArguments(_))
            )
        };
        assert!(
            bad_args(ask("server.4=h:1:2", "", "", -1)),
            "no client port"
        );
        assert!(bad_args(ask("server.4", "", "", -1)));
        assert!(bad_args(ask("server.4=h:x:2;2181", "", "", -1)));
        assert!(bad_args(ask("", "one", "", -1)));
        assert!(bad_args(ask("", "1,2", "", -1)), "one participant left");
        assert!(bad_args(ask(
            "",
            "",
            "server.1=a:1:2;3\nserver.2=b:1:2:observer;3",
            -1
        )));
        assert!(
            bad_args(ask("server.4=127.0.0.1:2888:3889;2181", "", "", -1)),
            "shared address"
        );
        assert!(
            bad_args(ask("server.2=10.0.0.9:2888:3888;2181", "", "", -1)),
            "moved"
        );
        assert!(target(&cur, &ask("", "1,2", "", -1), false).is_ok());
        assert!(target(&cur, &ask("", "1,2,3", "", -1), false).is_err());
        let mut anon = ask("", "1", "", -1);
        anon.authorized = false;
        assert_eq!(target(&cur, &anon, true), Err(ReconfigRefusal::NoAuth));
    }
}
