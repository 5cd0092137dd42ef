//! Periodic work of the member that decides (the leader; a standalone member): expiring
//! sessions, reaping emptied containers and expired TTL nodes, snapshots and autopurge.

use std::time::{Duration, Instant, SystemTime};

use tracing::{info, warn};

use super::core::{Core, Log, Origin};
use crate::consensus::{snapfile, storage::Layout};
use crate::tree::TxnBody;
use crate::tree::node::{OwnerKind, owner_kind};

impl Core {
    pub(super) fn maintain(&mut self) {
        let now = Instant::now();
        if let Log::Ensemble(_) = self.log {
            // Raft takes the snapshots and purges the log; only the leader decides.
            if self.ensemble_tick(now) {
                self.decide(now);
            }
            return;
        }
        self.decide(now);
        if self.since_snapshot >= self.cfg.snap_count {
            self.snapshot();
        }
        let purge_every = Duration::from_secs(self.cfg.autopurge_purge_interval_hours * 3600);
        if !purge_every.is_zero() && now.duration_since(self.last_purge) >= purge_every {
            self.last_purge = now;
            self.purge();
        }
    }

    /// What only the deciding member does: expire sessions not touched within their timeout,
    /// reap containers and TTL nodes.
    fn decide(&mut self, now: Instant) {
        for session in self.tracker.take_expired(now) {
            info!(session = format_args!("{session:#x}"), "session expired");
            self.propose(TxnBody::CloseSession { session }, Origin::Internal);
        }
        let interval = Duration::from_millis(self.cfg.container_check_interval_ms);
        if now.duration_since(self.last_sweep) >= interval {
            self.last_sweep = now;
            self.sweep(interval);
        }
    }

    /// Proposes the removal of containers that lost their last child and of TTL nodes not
    /// modified within their TTL (ContainerManager), at most maxPerMinute per minute.
    fn sweep(&mut self, interval: Duration) {
        let now_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let budget = (self.cfg.container_max_per_minute as u128 * interval.as_millis() / 60_000)
            .max(1) as usize;
        let never_used = self.cfg.container_max_never_used_interval_ms as i64;
        let mut candidates = Vec::new();
        for p in self.tree.containers().chain(self.tree.ttls()) {
            if candidates.len() >= budget || self.reaping.contains(p) {
                continue;
            }
            let Some(n) = self.tree.get(p) else { continue };
            if n.num_children() != 0 {
                continue;
            }
            let elapsed = now_ms - n.stat.mtime;
            let due = match owner_kind(n.stat.ephemeral_owner) {
                OwnerKind::Container => {
                    n.stat.cversion > 0 || (never_used != 0 && elapsed > never_used)
                }
                OwnerKind::Ttl(ttl) => self.cfg.extended_types_enabled && ttl != 0 && elapsed > ttl,
                _ => false,
            };
            if due {
                candidates.push(p.clone());
            }
        }
        for path in candidates {
            self.reaping.insert(path.clone());
            self.propose(TxnBody::Reap { path }, Origin::Internal);
        }
    }

    fn layout(&self) -> Layout {
        Layout::new(&self.cfg.data_dir, &self.cfg.data_log_dir)
    }

    /// Serializes the tree now (a consistent point) and writes it in the background.
    pub(super) fn snapshot(&mut self) {
        if self.snapshotting.as_ref().is_some_and(|h| !h.is_finished()) {
            return;
        }
        self.since_snapshot = 0;
        self.tree.purge_acls();
        let started = Instant::now();
        let bytes = self.tree.snapshot();
        let zxid = self.tree.last_zxid();
        if let Log::Standalone(c) = &mut self.log {
            c.roll();
        }
        let dir = self.layout().snap_dir;
        let serialize_ms = started.elapsed().as_millis();
        let spawned = std::thread::Builder::new()
            .name("zk-snapshot".into())
            .spawn(move || match snapfile::write(&dir, zxid, &bytes) {
                Ok(p) => info!(path = %p.display(), bytes = bytes.len(), serialize_ms, "snapshot written"),
                Err(e) => warn!(error = %e, "snapshot failed; the log still has everything"),
            });
        match spawned {
            Ok(h) => self.snapshotting = Some(h),
            Err(e) => warn!(error = %e, "cannot start the snapshot writer"),
        }
    }

    fn purge(&mut self) {
        let l = self.layout();
        match snapfile::purge(
            &l.snap_dir,
            &l.log_dir,
            self.cfg.autopurge_snap_retain_count,
        ) {
            Ok(n) => info!(removed = n, "autopurge"),
            Err(e) => warn!(error = %e, "autopurge failed"),
        }
    }
}
