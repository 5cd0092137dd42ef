//! What an ensemble member reports through srvr/stat/mntr/conf: its role from replication's
//! status, the configured members, and on the leader how far each other member has caught up
//! and how many are in sync — the numbers the operator's rollout gate reads.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::core::{Core, Log};
use super::fourlw::model::{
    HostPort, LeaderStats, LearnerInfo, LearnerType, PeerState, QuorumInfo, QuorumMember, ZabState,
};
use super::fourlw::replication::{ReplicationInput, ReplicationView, SyncKind};
use crate::config::dynamic::{DynamicConfig, quorum_addr};
use crate::config::server_spec::Role as ConfigRole;
use crate::consensus::member::{Role, Status};

fn learner_type(role: ConfigRole) -> LearnerType {
    match role {
        ConfigRole::Participant => LearnerType::Participant,
        ConfigRole::Observer => LearnerType::Observer,
    }
}

/// The leader's view of every other member. A member counts as live while it acknowledged
/// within `syncLimit` ticks, as ZooKeeper's leader judges its learners.
fn replication_view(
    status: &Status,
    observers: &BTreeSet<u64>,
    window: Duration,
) -> ReplicationView {
    ReplicationView::of(&ReplicationInput {
        leader: status.id,
        committed: status.committed,
        voters: &status.members.voters(),
        learners: &status.members.learners,
        observers,
        matched: &status.replicated,
        heard: &status.heard,
        window,
    })
}

/// `/commands/observers` rows: what the leader knows of each observer's link.
fn observer_rows(status: &Status, view: &ReplicationView) -> Vec<LearnerInfo> {
    view.members
        .iter()
        .filter(|m| m.kind == SyncKind::Observer)
        .map(|m| LearnerInfo {
            remote_address: status.members.addrs.get(&m.id).cloned().unwrap_or_default(),
            sid: i64::try_from(m.id).unwrap_or(i64::MAX),
            last_zxid: m.matched_zxid,
            ..LearnerInfo::default()
        })
        .collect()
}

impl Core {
    /// The committed membership as `/zookeeper/config` holds it; zoo.cfg's servers (version 0)
    /// until the first membership entry has been applied (or when a data directory from before
    /// reconfig was restored from a snapshot that lacks it).
    fn committed_config(&self) -> DynamicConfig {
        match DynamicConfig::parse(&String::from_utf8_lossy(self.tree.config_data())) {
            Ok(c) if !c.servers.is_empty() => c,
            _ => DynamicConfig {
                servers: self.cfg.servers.iter().map(|s| (s.id, s.clone())).collect(),
                version: 0,
            },
        }
    }

    /// `None` on a standalone member.
    pub(super) fn quorum_info(&self, now: Instant) -> Option<QuorumInfo> {
        let Log::Ensemble(e) = &self.log else {
            return None;
        };
        let status = e.status();
        let config = self.committed_config();
        let me = config
            .servers
            .get(&self.cfg.my_id)
            .or_else(|| self.cfg.servers.iter().find(|s| s.id == self.cfg.my_id))?;
        let members: Vec<QuorumMember> = config
            .servers
            .values()
            .map(|s| QuorumMember {
                id: s.id,
                host: s.host.clone(),
                quorum_port: s.quorum_port,
                election_port: s.election_port,
                learner_type: learner_type(s.role),
                client: s.client_addr.clone().map(|(h, p)| HostPort::new(h, p)),
            })
            .collect();
        let observers: BTreeSet<u64> = self
            .cfg
            .servers
            .iter()
            .filter(|s| s.role == ConfigRole::Observer)
            .map(|s| s.id)
            .collect();
        let window = Duration::from_millis(
            u64::from(self.cfg.sync_limit).saturating_mul(u64::from(self.cfg.tick_time)),
        );
        let leader = (status.role == Role::Leader).then(|| {
            let view = replication_view(&status, &observers, window);
            LeaderStats {
                learners: view.learners(window),
                synced_followers: view.synced(SyncKind::Follower),
                synced_non_voting_followers: view.synced(SyncKind::NonVotingFollower),
                pending_syncs: e.pending_syncs(),
                uptime_ms: e
                    .leading_since()
                    .map_or(0, |t| now.duration_since(t).as_millis() as u64),
                observers: observer_rows(&status, &view),
                replication: view,
                ..LeaderStats::default()
            }
        });
        Some(QuorumInfo {
            learner_type: learner_type(me.role),
            peer_state: match status.role {
                Role::Leader => PeerState::Leading,
                Role::Follower => PeerState::Following,
                Role::Learner => PeerState::Observing,
                Role::Candidate | Role::Stopped => PeerState::Looking,
            },
            zab_state: if status.leader.is_some() {
                ZabState::Broadcast
            } else {
                ZabState::Election
            },
            init_limit: self.cfg.init_limit,
            sync_limit: self.cfg.sync_limit,
            quorum_address: HostPort::new(me.host.clone(), me.quorum_port),
            election_address: HostPort::new(me.host.clone(), me.election_port),
            client_address: Some(HostPort::new(
                self.cfg.client_port_address.to_string(),
                self.cfg.client_port,
            )),
            members,
            config_version: config.version,
            leader_id: status.leader.map_or(-1, |l| l as i64),
            leader_address: status
                .leader
                .and_then(|l| status.members.addrs.get(&l))
                .map(|v| quorum_addr(v).to_string()),
            synced_observers: leader
                .as_ref()
                .map(|l| l.replication.synced(SyncKind::Observer)),
            leader,
            ..QuorumInfo::default()
        })
    }
}
