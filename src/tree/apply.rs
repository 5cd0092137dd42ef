//! Applying committed transactions to the tree, with ZooKeeper's checks in ZooKeeper's order
//! (PrepRequestProcessor) so that error codes match what clients expect.
//!
//! A multi is applied op by op with an undo log; if an op fails, the earlier ones are rolled
//! back and no watch fires, which gives ZooKeeper's all-or-nothing result layout.

use std::sync::Arc;

use bytes::Bytes;

use super::acl;
use super::acl_table::AclId;
use super::datatree::{DataTree, SessionEntry};
use super::name_data::NameData;
use super::node::{
    CONTAINER_OWNER, CreateMode, MAX_TTL, Node, NodeStat, OwnerKind, owner_kind, ttl_owner,
};
use super::path;
use super::txn::{Op, Txn, TxnBody};
use crate::proto::records::{Acl, Id, Stat};
use crate::proto::{ErrorCode, ZkResult, opcode};

/// Watch event types (Watcher.Event.EventType).
pub mod event {
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
}

/// A change watchers may care about. The ACL is the node's (the parent's for child events):
/// a watcher that may not read it is not told, as ZooKeeper 3.9.2+ filters deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: i32,
    pub path: String,
    pub acl: Arc<[Acl]>,
}

/// The successful result of one write op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpOk {
    Created {
        opcode: i32,
        path: String,
        stat: Stat,
    },
    Deleted,
    DataSet(Stat),
    AclSet(Stat),
    Checked,
}

/// Everything applying one transaction produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The ReplyHeader error: the first failure, or OK.
    pub err: Option<ErrorCode>,
    /// Per-op results in multi layout: OK before the failure, its code, RUNTIMEINCONSISTENCY after.
    pub results: Vec<ZkResult<OpOk>>,
    pub events: Vec<Event>,
}

enum Undo {
    Created(String),
    Deleted(String, Node),
    Data(String, NameData, NodeStat),
    Acl(String, AclId, NodeStat),
    ParentStat(String, NodeStat),
}

/// The parent as ZooKeeper computes it for create/delete: text before the last slash, where
/// an empty parent means the root.
fn parent_for_write(p: &str) -> ZkResult<&str> {
    match p.rfind('/') {
        None => Err(ErrorCode::BAD_ARGUMENTS),
        Some(_) if p.contains('\0') => Err(ErrorCode::BAD_ARGUMENTS),
        Some(0) => Ok("/"),
        Some(i) => Ok(&p[..i]),
    }
}

fn check_version(current: i32, expected: i32) -> ZkResult<i32> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BAD_VERSION);
    }
    Ok(current.wrapping_add(1))
}

fn is_special(p: &str) -> bool {
    matches!(
        p,
        super::datatree::ROOT
            | super::datatree::ZOOKEEPER
            | super::datatree::QUOTA
            | super::datatree::CONFIG
    )
}

impl DataTree {
    /// Applies one committed transaction.
    pub fn apply(&mut self, txn: &Txn) -> Outcome {
        self.last_zxid = self.last_zxid.max(txn.zxid);
        let mut out = Outcome::default();
        match &txn.body {
            TxnBody::CreateSession {
                session,
                timeout,
                password,
            } => {
                self.sessions
                    .entry(*session)
                    .or_insert_with(|| SessionEntry {
                        timeout: *timeout,
                        password: password.clone(),
                        ephemerals: Default::default(),
                    });
            }
            TxnBody::CloseSession { session } => {
                self.close_session(*session, txn.zxid, &mut out.events);
            }
            TxnBody::Reap { path: p } => {
                let reapable = self.get(p).is_some_and(|n| {
                    n.num_children() == 0
                        && matches!(
                            owner_kind(n.stat.ephemeral_owner),
                            OwnerKind::Container | OwnerKind::Ttl(_)
                        )
                });
                if reapable {
                    let mut undo = Vec::new();
                    self.delete_unchecked(p, txn.zxid, &mut undo, &mut out.events);
                } else {
                    out.err = Some(ErrorCode::NOT_EMPTY);
                }
            }
            TxnBody::Ops {
                session,
                auth,
                multi,
                ops,
            } => {
                if !self.sessions.contains_key(session) {
                    out.err = Some(ErrorCode::SESSION_EXPIRED);
                    return out;
                }
                self.apply_ops(*session, auth, *multi, ops, txn, &mut out);
            }
        }
        out
    }

    fn apply_ops(
        &mut self,
        session: i64,
        auth: &[Id],
        multi: bool,
        ops: &[Op],
        txn: &Txn,
        out: &mut Outcome,
    ) {
        let mut undo = Vec::new();
        let mut events = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            match self.apply_op(session, auth, op, txn, &mut undo, &mut events) {
                Ok(r) => out.results.push(Ok(r)),
                Err(code) => {
                    self.rollback(undo);
                    // A failed multi still answers OK in its header; the codes are per op.
                    out.err = (!multi).then_some(code);
                    out.results = (0..ops.len())
                        .map(|j| {
                            Err(match j.cmp(&i) {
                                std::cmp::Ordering::Less => ErrorCode::OK,
                                std::cmp::Ordering::Equal => code,
                                std::cmp::Ordering::Greater => ErrorCode::RUNTIME_INCONSISTENCY,
                            })
                        })
                        .collect();
                    if !multi {
                        out.results.truncate(1);
                    }
                    return;
                }
            }
        }
        out.events = events;
    }

    fn apply_op(
        &mut self,
        session: i64,
        auth: &[Id],
        op: &Op,
        txn: &Txn,
        undo: &mut Vec<Undo>,
        events: &mut Vec<Event>,
    ) -> ZkResult<OpOk> {
        match op {
            Op::Create {
                opcode,
                path: p,
                data,
                acl: requested,
                flags,
                ttl,
            } => self.create(
                session, auth, *opcode, p, data, requested, *flags, *ttl, txn, undo, events,
            ),
            Op::Delete { path: p, version } => {
                let parent = parent_for_write(p)?;
                if is_special(p) {
                    return Err(ErrorCode::BAD_ARGUMENTS);
                }
                let parent_node = self.get(parent).ok_or(ErrorCode::NO_NODE)?;
                if !acl::allowed(parent_node.acl(), acl::DELETE, auth) {
                    return Err(ErrorCode::NO_AUTH);
                }
                let node = self.get(p).ok_or(ErrorCode::NO_NODE)?;
                check_version(node.stat.version, *version)?;
                if node.num_children() != 0 {
                    return Err(ErrorCode::NOT_EMPTY);
                }
                self.delete_unchecked(p, txn.zxid, undo, events);
                Ok(OpOk::Deleted)
            }
            Op::SetData {
                path: p,
                data,
                version,
            } => {
                path::validate(p, false)?;
                let node = self.get(p).ok_or(ErrorCode::NO_NODE)?;
                if !acl::allowed(node.acl(), acl::WRITE, auth) {
                    return Err(ErrorCode::NO_AUTH);
                }
                let new_version = check_version(node.stat.version, *version)?;
                let old_stat = node.stat;
                let node_acl = node.acl().clone();
                let old = self
                    .replace_data(p, data.as_deref())
                    .ok_or(ErrorCode::NO_NODE)?;
                undo.push(Undo::Data(p.clone(), old, old_stat));
                let node = self.get_mut(p).ok_or(ErrorCode::NO_NODE)?;
                node.stat.version = new_version;
                node.stat.mzxid = txn.zxid;
                node.stat.mtime = txn.time;
                let stat = node.stat();
                events.push(Event {
                    kind: event::NODE_DATA_CHANGED,
                    path: p.clone(),
                    acl: node_acl,
                });
                Ok(OpOk::DataSet(stat))
            }
            Op::SetAcl {
                path: p,
                acl: requested,
                version,
            } => {
                path::validate(p, false)?;
                let fixed = acl::fixup(requested, auth)?;
                let node = self.get(p).ok_or(ErrorCode::NO_NODE)?;
                if !acl::allowed(node.acl(), acl::ADMIN, auth) {
                    return Err(ErrorCode::NO_AUTH);
                }
                let new_version = check_version(node.stat.aversion, *version)?;
                let interned = self.intern_acl(fixed);
                let node = self.get_mut(p).ok_or(ErrorCode::NO_NODE)?;
                undo.push(Undo::Acl(p.clone(), node.acl, node.stat));
                node.acl = interned;
                node.stat.aversion = new_version;
                Ok(OpOk::AclSet(node.stat()))
            }
            Op::Check { path: p, version } => {
                path::validate(p, false)?;
                let node = self.get(p).ok_or(ErrorCode::NO_NODE)?;
                if !acl::allowed(node.acl(), acl::READ, auth) {
                    return Err(ErrorCode::NO_AUTH);
                }
                check_version(node.stat.version, *version)?;
                Ok(OpOk::Checked)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        session: i64,
        auth: &[Id],
        opcode: i32,
        p: &str,
        data: &Option<Bytes>,
        requested: &[Acl],
        flags: i32,
        ttl: i64,
        txn: &Txn,
        undo: &mut Vec<Undo>,
        events: &mut Vec<Event>,
    ) -> ZkResult<OpOk> {
        let mode = CreateMode::from_flags(flags).ok_or(ErrorCode::BAD_ARGUMENTS)?;
        if mode.is_ttl() && !self.extended_types {
            return Err(ErrorCode::UNIMPLEMENTED);
        }
        // Only createTTL carries a ttl; every other create arrives here with -1.
        // createTTL with a non-TTL mode is refused too (Apache ZooKeeper lets a negative ttl
        // through here and then fails applying it).
        let ttl_ok = if mode.is_ttl() {
            ttl > 0 && ttl <= MAX_TTL
        } else {
            ttl < 0 && opcode != opcode::CREATE_TTL
        };
        if !ttl_ok {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        let parent = parent_for_write(p)?;
        let fixed = acl::fixup(requested, auth)?;
        let parent_node = self.get(parent).ok_or(ErrorCode::NO_NODE)?;
        if !acl::allowed(parent_node.acl(), acl::CREATE, auth) {
            return Err(ErrorCode::NO_AUTH);
        }
        let parent_stat = parent_node.stat;
        let parent_acl = parent_node.acl().clone();
        // The suffix is the parent's count of creates, printed as Java's %010d would.
        let actual = if mode.is_sequential() {
            format!("{p}{:010}", parent_stat.cversion)
        } else {
            p.to_string()
        };
        path::validate(&actual, false)?;
        if self.get(&actual).is_some() {
            return Err(ErrorCode::NODE_EXISTS);
        }
        if matches!(
            owner_kind(parent_stat.ephemeral_owner),
            OwnerKind::Session(_)
        ) {
            return Err(ErrorCode::NO_CHILDREN_FOR_EPHEMERALS);
        }
        // A top-level create is a container only through the createContainer opcode, as in
        // ZooKeeper (create with the container flag makes a plain node).
        let owner = if opcode == opcode::CREATE_CONTAINER {
            CONTAINER_OWNER
        } else if mode.is_ephemeral() {
            session
        } else if mode.is_ttl() {
            ttl_owner(ttl)
        } else {
            0
        };
        let acl = self.intern_acl(fixed);
        let node = Node::new(
            path::name(&actual),
            data.as_deref(),
            acl,
            NodeStat {
                czxid: txn.zxid,
                mzxid: txn.zxid,
                pzxid: txn.zxid,
                ctime: txn.time,
                mtime: txn.time,
                ephemeral_owner: owner,
                version: 0,
                cversion: 0,
                aversion: 0,
            },
        )
        .map_err(|_| ErrorCode::BAD_ARGUMENTS)?;
        let stat = node.stat();
        let node_acl = self.acl(acl).clone();
        undo.push(Undo::ParentStat(parent.to_string(), parent_stat));
        if let Some(pn) = self.get_mut(parent) {
            // The stored cversion counts creates and sticks at i32::MAX, as DataTree.createNode
            // only ever raises it.
            let next = parent_stat.cversion.wrapping_add(1);
            if next > pn.stat.cversion {
                pn.stat.cversion = next;
                pn.stat.pzxid = txn.zxid;
            }
        }
        if self.insert_node(&actual, node).is_err() {
            // Unreachable after the checks above; undo the parent's Stat all the same.
            return Err(ErrorCode::NO_NODE);
        }
        undo.push(Undo::Created(actual.clone()));
        events.push(Event {
            kind: event::NODE_CREATED,
            path: actual.clone(),
            acl: node_acl,
        });
        events.push(Event {
            kind: event::NODE_CHILDREN_CHANGED,
            path: parent.to_string(),
            acl: parent_acl,
        });
        Ok(OpOk::Created {
            opcode,
            path: actual,
            stat,
        })
    }

    /// Deletes a childless node and updates its parent, recording how to undo it.
    fn delete_unchecked(
        &mut self,
        p: &str,
        zxid: i64,
        undo: &mut Vec<Undo>,
        events: &mut Vec<Event>,
    ) {
        let parent = path::parent(p).to_string();
        let mut parent_acl = None;
        if let Some(pn) = self.get_mut(&parent) {
            parent_acl = Some(pn.acl);
            undo.push(Undo::ParentStat(parent.clone(), pn.stat));
            if zxid > pn.stat.pzxid {
                pn.stat.pzxid = zxid;
            }
        }
        let parent_acl = parent_acl.map(|a| self.acl(a).clone());
        if let Some(node) = self.remove_node(p) {
            let acl = self.acl(node.acl).clone();
            undo.push(Undo::Deleted(p.to_string(), node));
            events.push(Event {
                kind: event::NODE_DELETED,
                path: p.to_string(),
                acl: acl.clone(),
            });
            events.push(Event {
                kind: event::NODE_CHILDREN_CHANGED,
                path: parent,
                acl: parent_acl.unwrap_or(acl),
            });
        }
    }

    fn rollback(&mut self, undo: Vec<Undo>) {
        for u in undo.into_iter().rev() {
            match u {
                Undo::Created(p) => {
                    self.remove_node(&p);
                }
                Undo::Deleted(p, node) => {
                    // Cannot fail: the parent was restored or never removed.
                    let _ = self.insert_node(&p, node);
                }
                Undo::Data(p, name_data, stat) => {
                    self.put_name_data(&p, name_data);
                    if let Some(n) = self.get_mut(&p) {
                        n.stat = stat;
                    }
                }
                Undo::Acl(p, acl, stat) => {
                    if let Some(n) = self.get_mut(&p) {
                        n.acl = acl;
                        n.stat = stat;
                    }
                }
                Undo::ParentStat(p, stat) => {
                    if let Some(n) = self.get_mut(&p) {
                        n.stat = stat;
                    }
                }
            }
        }
    }

    fn close_session(&mut self, session: i64, zxid: i64, events: &mut Vec<Event>) {
        let Some(entry) = self.sessions.get(&session) else {
            return;
        };
        let ephemerals: Vec<String> = entry.ephemerals.iter().cloned().collect();
        let mut undo = Vec::new();
        for p in ephemerals {
            self.delete_unchecked(&p, zxid, &mut undo, events);
        }
        self.sessions.remove(&session);
    }
}
