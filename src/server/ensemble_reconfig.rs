//! `reconfig` (opcode 16) on an ensemble member: the member holding the client's connection
//! decides what only it knows (whether the client may change `/zookeeper/config`), hands the
//! request to consensus, which has the leader carry it out, and answers — in the session's
//! order, like a `sync` — with the new `/zookeeper/config` data and Stat once it has applied
//! the new configuration. With `reconfigEnabled=false` the request never gets here (reads.rs
//! answers ReconfigDisabled).

use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::core::{Core, Log, Queued};
use super::ensemble::{Event, WaitingSync, ticket};
use super::reply;
use super::watches::ConnId;
use crate::config::reconfig::{ReconfigAsk, ReconfigRefusal};
use crate::consensus::error::ConsensusError;
use crate::proto::ErrorCode;
use crate::proto::records::GetDataResponse;
use crate::proto::request::Request;
use crate::tree::acl;
use crate::tree::datatree::CONFIG;

/// How long a reconfig may take, new members catching up included, before the client's
/// connection is closed (the outcome is then unknown to it, as with a lost leader).
const RECONFIG_TIMEOUT: Duration = Duration::from_secs(120);

/// ZooKeeper's error code for a refused reconfig.
pub fn refusal_code(r: &ReconfigRefusal) -> ErrorCode {
    match r {
        ReconfigRefusal::InProgress => ErrorCode::RECONFIG_IN_PROGRESS,
        ReconfigRefusal::BadVersion { .. } => ErrorCode::BAD_VERSION,
        ReconfigRefusal::BadArguments(_) => ErrorCode::BAD_ARGUMENTS,
        ReconfigRefusal::NoAuth => ErrorCode::NO_AUTH,
        ReconfigRefusal::NoQuorum => ErrorCode::NEW_CONFIG_NO_QUORUM,
    }
}

impl Core {
    /// Whether `session` waits for a reconfig.
    pub(super) fn reconfig_pending(&self, session: i64) -> bool {
        matches!(&self.log, Log::Ensemble(e) if e.reconfigs.values().any(|w| w.session == session))
    }

    /// Starts a client's reconfig; later requests of its session wait for the answer. `front`:
    /// it was held behind a `sync` and everything before it has been answered.
    pub(super) fn reconfig(
        &mut self,
        conn: ConnId,
        session: i64,
        xid: i32,
        req: Request,
        received: Instant,
        front: bool,
    ) {
        let Request::Reconfig(r) = &req else {
            return;
        };
        // ZooKeeper asks for WRITE on /zookeeper/config (read-only for everyone by default),
        // which the super user always has.
        let auth = self.conns.get(&conn).map_or(&[][..], |c| c.auth.as_slice());
        let authorized = self.cfg.skip_acl
            || self
                .tree
                .get(CONFIG)
                .is_some_and(|n| acl::allowed(n.acl(), acl::WRITE, auth));
        let ask = ReconfigAsk {
            joining: r.joining_servers.clone(),
            leaving: r.leaving_servers.clone(),
            new_members: r.new_members.clone(),
            from_version: r.cur_config_id,
            authorized,
            standalone_enabled: self.cfg.standalone_enabled,
        };
        let Log::Ensemble(e) = &mut self.log else {
            return;
        };
        let tag = e.tag();
        info!(
            session = format_args!("{session:#x}"),
            ?ask,
            "reconfig asked"
        );
        e.reconfigs.insert(
            tag,
            WaitingSync {
                conn,
                session,
                xid,
                req,
                received,
            },
        );
        let member = e.member.clone();
        let events = e.events.clone();
        tokio::spawn(async move {
            let result = member.reconfig(ask, RECONFIG_TIMEOUT).await;
            let _ = events.send(Event::Reconfigured { tag, result });
        });
        let q = &mut self.sessions.entry(session).or_default().queue;
        if front {
            q.push_front(Queued::Sync(ticket(tag)));
        } else {
            q.push_back(Queued::Sync(ticket(tag)));
        }
    }

    /// Answers a finished reconfig in its session's order: the new config and its Stat, the
    /// refusal's error code, or — when the outcome is unknown — a closed connection.
    pub(super) fn reconfigured(&mut self, tag: u64, result: Result<i64, ConsensusError>) {
        let Log::Ensemble(e) = &mut self.log else {
            return;
        };
        let Some(w) = e.reconfigs.remove(&tag) else {
            return;
        };
        let (frame, zxid) = match result {
            Ok(version) => {
                let Some(node) = self.tree.get(CONFIG) else {
                    return;
                };
                let body = GetDataResponse {
                    data: Some(bytes::Bytes::copy_from_slice(self.tree.config_data())),
                    stat: node.stat(),
                };
                (reply::reply_record(w.xid, version, &body), version)
            }
            Err(ConsensusError::Reconfig(r)) => {
                info!(refusal = %r, "reconfig refused");
                let zxid = self.tree.last_zxid();
                (reply::reply(w.xid, zxid, refusal_code(&r).0, None), zxid)
            }
            Err(error) => {
                warn!(error = %error, "reconfig outcome unknown");
                self.abandon(w.origin());
                return;
            }
        };
        let Some(slot) = self.waiting_slot(w.session, tag) else {
            return;
        };
        *slot = Queued::Answer {
            conn: w.conn,
            frame,
            zxid,
            received: w.received,
        };
        self.release_reads(w.session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_map_to_zookeepers_codes() {
        let codes: Vec<i32> = [
            ReconfigRefusal::InProgress,
            ReconfigRefusal::BadVersion {
                current: 1,
                asked: 2,
            },
            ReconfigRefusal::BadArguments("x".into()),
            ReconfigRefusal::NoAuth,
            ReconfigRefusal::NoQuorum,
        ]
        .iter()
        .map(|r| refusal_code(r).0)
        .collect();
        assert_eq!(codes, vec![-14, -103, -8, -102, -13]);
    }
}
