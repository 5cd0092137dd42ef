//! openraft's state machine (`RaftStateMachine`) as a thin adapter: committed entries become
//! `Committed` items for the `Applier` (the server core), and snapshots are the applier's tree
//! image plus the Raft position it stands for, kept on disk by snapstore.rs.
//!
//! The tree lives in memory, so after a restart the applied position is the newest snapshot's;
//! openraft then re-applies the log from there (up to the saved commit point).

use std::io::{self, Cursor};
use std::path::PathBuf;

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use tracing::info;

use super::applier::{Applier, Committed, Members};
use super::snapstore;
use super::types::{
    Applied, EntryPayload, LogId, Membership, Snapshot, SnapshotData, SnapshotMeta,
    StoredMembership, TypeConfig,
};
use super::zxid;

pub struct StateMachine<A: Applier> {
    applier: A,
    dir: PathBuf,
    last_applied: Option<LogId>,
    membership: StoredMembership,
}

/// Turns openraft's membership into ours.
pub fn members_of(m: &Membership) -> Members {
    Members {
        voter_sets: m
            .get_joint_config()
            .iter()
            .map(|set| set.iter().copied().collect())
            .collect(),
        learners: m.learner_ids().collect(),
        addrs: m.nodes().map(|(id, n)| (*id, n.addr.clone())).collect(),
    }
}

fn index_of(l: &Option<LogId>) -> u64 {
    l.as_ref().map_or(0, |l| l.index)
}

impl<A: Applier> StateMachine<A> {
    /// Loads the newest snapshot in `dir` into `applier`, which must hold the empty state.
    pub async fn open(dir: PathBuf, applier: A) -> io::Result<StateMachine<A>> {
        std::fs::create_dir_all(&dir)?;
        let mut sm = StateMachine {
            applier,
            dir,
            last_applied: None,
            membership: StoredMembership::default(),
        };
        if let Some((meta, image)) = snapstore::newest(&sm.dir)? {
            info!(
                zxid = zxid::of_index(index_of(&meta.last_log_id)),
                "restoring from snapshot"
            );
            sm.applier.restore(image).await?;
            sm.last_applied = meta.last_log_id;
            sm.membership = meta.last_membership;
        }
        Ok(sm)
    }
}

/// A snapshot captured at a consistent point, written to disk when openraft asks.
pub struct Builder {
    dir: PathBuf,
    meta: SnapshotMeta,
    /// The applier's image, or why it could not produce one.
    image: Result<Vec<u8>, String>,
}

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let image = std::mem::replace(&mut self.image, Err("snapshot already built".into()))
            .map_err(io::Error::other)?;
        let dir = self.dir.clone();
        let meta = self.meta.clone();
        // File I/O off the async workers.
        let image = tokio::task::spawn_blocking(move || {
            snapstore::save(&dir, &meta, &image).map(|_| image)
        })
        .await
        .map_err(io::Error::other)??;
        info!(
            zxid = zxid::of_index(index_of(&self.meta.last_log_id)),
            bytes = image.len(),
            "snapshot written"
        );
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: Cursor::new(image),
        })
    }
}

impl<A: Applier> RaftStateMachine<TypeConfig> for StateMachine<A> {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = Builder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<S>(&mut self, mut entries: S) -> Result<(), io::Error>
    where
        S: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + Send,
    {
        let mut batch = Vec::new();
        let mut replies = Vec::new();
        let mut last = None;
        while let Some((entry, responder)) = entries.try_next().await? {
            let zxid = zxid::of_index(entry.log_id.index);
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(p) => {
                    let (from, tag) = (p.from, p.tag);
                    let mut txn = p.into_txn();
                    txn.zxid = zxid;
                    batch.push(Committed::Txn { txn, from, tag });
                }
                EntryPayload::Membership(m) => {
                    batch.push(Committed::Members {
                        zxid,
                        members: members_of(&m),
                    });
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                }
            }
            if let Some(r) = responder {
                replies.push((r, zxid));
            }
            last = Some(entry.log_id);
        }
        if !batch.is_empty() {
            self.applier.apply(batch).await?;
        }
        if last.is_some() {
            self.last_applied = last;
        }
        for (r, zxid) in replies {
            r.send(Applied { zxid });
        }
        Ok(())
    }

    async fn try_create_snapshot_builder(&mut self, _force: bool) -> Option<Builder> {
        let b = self.get_snapshot_builder().await;
        if let Err(e) = &b.image {
            tracing::error!(error = %e, "could not capture a snapshot image");
            return None;
        }
        Some(b)
    }

    async fn get_snapshot_builder(&mut self) -> Builder {
        Builder {
            dir: self.dir.clone(),
            meta: SnapshotMeta {
                last_log_id: self.last_applied,
                last_membership: self.membership.clone(),
            },
            image: self.applier.snapshot().await.map_err(|e| e.to_string()),
        }
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotData,
    ) -> Result<(), io::Error> {
        let image = snapshot.into_inner();
        let dir = self.dir.clone();
        let m = meta.clone();
        // Durable first: if the member crashes after restoring, it restarts from this file.
        let image =
            tokio::task::spawn_blocking(move || snapstore::save(&dir, &m, &image).map(|_| image))
                .await
                .map_err(io::Error::other)??;
        self.applier.restore(image).await?;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        info!(
            zxid = zxid::of_index(index_of(&meta.last_log_id)),
            "installed snapshot from the leader"
        );
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let dir = self.dir.clone();
        let found = tokio::task::spawn_blocking(move || snapstore::newest(&dir))
            .await
            .map_err(io::Error::other)??;
        Ok(found.map(|(meta, image)| Snapshot {
            meta,
            snapshot: Cursor::new(image),
        }))
    }
}
