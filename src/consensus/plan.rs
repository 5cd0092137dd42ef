//! From zoo.cfg to an ensemble member: which members vote (participants) and which only follow
//! (observers), where this one listens and keeps its data, and whether it is the one that forms
//! a brand-new ensemble. Pure, so the server's startup decision is unit-tested.

use std::collections::BTreeMap;
use std::path::PathBuf;

use thiserror::Error;

use super::member::{MemberConfig, Timing, VERSION_DIR};
use crate::config::ServerConfig;
use crate::config::dynamic::member_value;
use crate::config::server_spec::Role;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("myid {0} is not among the server.N lines")]
    NotListed(u64),
    #[error("no participant among the server.N lines")]
    NoParticipants,
}

/// How this process runs, decided from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// No ensemble: ZooKeeper runs standalone with no `server.N` line, or with exactly one and
    /// `standaloneEnabled=true`.
    Standalone,
    Ensemble(Box<Plan>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: u64,
    pub observer: bool,
    /// `host:quorumPort` this member listens on (resolved at start: it may be a DNS name).
    pub listen: String,
    /// Participants and observers, id → the member's server line without its role
    /// (`config::dynamic::member_value`), which the replicated membership keeps.
    pub voters: BTreeMap<u64, String>,
    pub observers: BTreeMap<u64, String>,
    /// Whether this member forms the ensemble when nobody has state yet: the lowest-id
    /// participant, so exactly one member does.
    pub bootstraps: bool,
    pub log_dir: PathBuf,
    pub snap_dir: PathBuf,
    pub fsync: bool,
    pub snapshot_every: u64,
    pub timing: Timing,
}

/// Entries kept in the log behind a snapshot, so a member that fell a little behind catches up
/// from the log rather than through a whole snapshot (ZooKeeper keeps 500 for its DIFF sync;
/// entries are small and this bounds the memory they take).
const KEEP_BEHIND_SNAPSHOT: u64 = 10_000;

impl Plan {
    /// The member's settings once `listen` has been resolved to an address.
    pub fn member_config(&self, listen: std::net::SocketAddr) -> MemberConfig {
        MemberConfig {
            id: self.id,
            listen,
            log_dir: self.log_dir.clone(),
            snap_dir: self.snap_dir.clone(),
            fsync: self.fsync,
            timing: self.timing,
            snapshot_every: self.snapshot_every,
            keep_behind_snapshot: KEEP_BEHIND_SNAPSHOT.min(self.snapshot_every),
        }
    }
}

pub fn plan(cfg: &ServerConfig) -> Result<Mode, PlanError> {
    if cfg.servers.is_empty() || (cfg.standalone_enabled && cfg.servers.len() == 1) {
        return Ok(Mode::Standalone);
    }
    let me = cfg
        .servers
        .iter()
        .find(|s| s.id == cfg.my_id)
        .ok_or(PlanError::NotListed(cfg.my_id))?;
    let addr = |s: &crate::config::server_spec::ServerSpec| format!("{}:{}", s.host, s.quorum_port);
    let of_role = |role: Role| -> BTreeMap<u64, String> {
        cfg.servers
            .iter()
            .filter(|s| s.role == role)
            .map(|s| (s.id, member_value(s)))
            .collect()
    };
    let voters = of_role(Role::Participant);
    let observers = of_role(Role::Observer);
    let first = *voters.keys().next().ok_or(PlanError::NoParticipants)?;
    Ok(Mode::Ensemble(Box::new(Plan {
        id: me.id,
        observer: me.role == Role::Observer,
        listen: addr(me),
        bootstraps: first == me.id,
        voters,
        observers,
        log_dir: cfg.data_log_dir.join(VERSION_DIR),
        snap_dir: cfg.data_dir.join(VERSION_DIR),
        fsync: cfg.force_sync,
        snapshot_every: cfg.snap_count,
        timing: Timing::default(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: &str, myid: u64) -> ServerConfig {
        let text = format!("tickTime=2000\ndataDir=/var/zk\nclientPort=2181\n{extra}");
        let mut c = ServerConfig::parse(&text, &BTreeMap::new()).unwrap();
        c.my_id = myid;
        c
    }

    const THREE_AND_AN_OBSERVER: &str = "server.3=zk-3:2888:3888\nserver.1=zk-1:2888:3888\n\
        server.2=zk-2:2888:3888;2181\nserver.7=zk-7:2888:3888:observer\n";

    #[test]
    fn no_servers_or_a_single_one_is_standalone() {
        assert_eq!(plan(&cfg("", 0)), Ok(Mode::Standalone));
        assert_eq!(
            plan(&cfg("server.1=a:2888:3888\n", 1)),
            Ok(Mode::Standalone)
        );
        // ZooKeeper runs a one-member ensemble when standalone mode is disabled.
        let one = cfg("standaloneEnabled=false\nserver.1=a:2888:3888\n", 1);
        assert!(matches!(plan(&one), Ok(Mode::Ensemble(p)) if p.bootstraps && p.voters.len() == 1));
    }

    #[test]
    fn participants_vote_observers_learn_and_the_lowest_id_bootstraps() {
        let Ok(Mode::Ensemble(p)) = plan(&cfg(THREE_AND_AN_OBSERVER, 2)) else {
            panic!()
        };
        assert_eq!(p.id, 2);
        assert!(!p.observer);
        assert_eq!(p.listen, "zk-2:2888");
        assert_eq!(p.voters.keys().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(
            p.observers.get(&7).map(String::as_str),
            Some("zk-7:2888:3888")
        );
        assert_eq!(
            p.voters.get(&2).map(String::as_str),
            Some("zk-2:2888:3888;0.0.0.0:2181")
        );
        assert!(!p.bootstraps);
        assert_eq!(p.log_dir, PathBuf::from("/var/zk").join(VERSION_DIR));
        let Ok(Mode::Ensemble(first)) = plan(&cfg(THREE_AND_AN_OBSERVER, 1)) else {
            panic!()
        };
        assert!(first.bootstraps);
        let Ok(Mode::Ensemble(obs)) = plan(&cfg(THREE_AND_AN_OBSERVER, 7)) else {
            panic!()
        };
        assert!(obs.observer && !obs.bootstraps);
        let m = obs.member_config("127.0.0.7:2888".parse().unwrap());
        assert_eq!((m.id, m.snapshot_every), (7, 100_000));
        assert_eq!(m.keep_behind_snapshot, 10_000);
        assert_eq!(m.snap_dir, PathBuf::from("/var/zk").join(VERSION_DIR));
    }

    #[test]
    fn a_member_must_be_listed_and_someone_must_vote() {
        assert_eq!(
            plan(&cfg(THREE_AND_AN_OBSERVER, 5)),
            Err(PlanError::NotListed(5))
        );
        let only_observers = "server.1=a:1:2:observer\nserver.2=b:1:2:observer\n";
        assert_eq!(
            plan(&cfg(only_observers, 1)),
            Err(PlanError::NoParticipants)
        );
    }
}
