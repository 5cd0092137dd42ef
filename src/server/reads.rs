//! Requests answered from this member's tree (FinalRequestProcessor's read side): reads,
//! watch management, sync, ping and whoAmI. They run once every earlier request of the same
//! session has been answered.

use std::time::Instant;

use super::core::Core;
use super::reply::{self, reply_record};
use super::watches::{ConnId, STANDARD};
use crate::proto::jute::{Record, Writer};
use crate::proto::opcode as op;
use crate::proto::records::*;
use crate::proto::request::{MultiOp, Request};
use crate::proto::{ErrorCode, ZkResult};
use crate::tree::acl;
use crate::tree::apply::event;

/// ADD_WATCH modes.
const PERSISTENT_MODE: i32 = 0;
const PERSISTENT_RECURSIVE_MODE: i32 = 1;

/// ZooKeeper's node map also holds the root under "", so reads of an empty path see "/".
fn read_path(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

impl Core {
    fn auth_of(&self, conn: ConnId) -> &[Id] {
        self.conns.get(&conn).map_or(&[], |c| c.auth.as_slice())
    }

    fn may(&self, conn: ConnId, node_acl: &[Acl], perm: i32) -> bool {
        self.cfg.skip_acl || acl::allowed(node_acl, perm, self.auth_of(conn))
    }

    fn get_data(&mut self, conn: ConnId, path: &str, watch: bool) -> ZkResult<GetDataResponse> {
        let path = read_path(path);
        let node = self.tree.get(path).ok_or(ErrorCode::NO_NODE)?;
        if !self.may(conn, node.acl(), acl::READ) {
            return Err(ErrorCode::NO_AUTH);
        }
        let resp = GetDataResponse {
            data: node.data().map(bytes::Bytes::copy_from_slice),
            stat: node.stat(),
        };
        if watch {
            self.watches.add_data(path, conn, STANDARD);
        }
        Ok(resp)
    }

    fn get_children(
        &mut self,
        conn: ConnId,
        path: &str,
        watch: bool,
    ) -> ZkResult<(Vec<String>, Stat)> {
        let path = read_path(path);
        let node = self.tree.get(path).ok_or(ErrorCode::NO_NODE)?;
        if !self.may(conn, node.acl(), acl::READ) {
            return Err(ErrorCode::NO_AUTH);
        }
        let out = (node.children(), node.stat());
        if watch {
            self.watches.add_child(path, conn, STANDARD);
        }
        Ok(out)
    }

    fn exists(&mut self, conn: ConnId, path: &str, watch: bool) -> ZkResult<Stat> {
        let path = read_path(path);
        if path.contains('\0') {
            return Err(ErrorCode::BAD_ARGUMENTS);
        }
        match self.tree.get(path) {
            Some(node) => {
                if !self.may(conn, node.acl(), acl::READ) {
                    return Err(ErrorCode::NO_AUTH);
                }
                let stat = node.stat();
                if watch {
                    self.watches.add_data(path, conn, STANDARD);
                }
                Ok(stat)
            }
            None => {
                // An exists watch on a missing node waits for its creation.
                if watch {
                    self.watches.add_data(path, conn, STANDARD);
                }
                Err(ErrorCode::NO_NODE)
            }
        }
    }

    fn get_acl(&self, conn: ConnId, path: &str) -> ZkResult<GetAclResponse> {
        let path = read_path(path);
        let node = self.tree.get(path).ok_or(ErrorCode::NO_NODE)?;
        if !self.may(conn, node.acl(), acl::READ | acl::ADMIN) {
            return Err(ErrorCode::NO_AUTH);
        }
        let acl = if self.may(conn, node.acl(), acl::ADMIN) {
            node.acl().to_vec()
        } else {
            acl::redact(node.acl())
        };
        Ok(GetAclResponse {
            acl,
            stat: node.stat(),
        })
    }

    fn set_watches(&mut self, conn: ConnId, s: &SetWatches2) {
        let rel = s.relative_zxid;
        let mut events = Vec::new();
        for p in &s.data_watches {
            match self.tree.get(p) {
                None => events.push((event::NODE_DELETED, p)),
                Some(n) if n.stat.mzxid > rel => events.push((event::NODE_DATA_CHANGED, p)),
                Some(_) => self.watches.add_data(p, conn, STANDARD),
            }
        }
        for p in &s.exist_watches {
            match self.tree.get(p) {
                Some(_) => events.push((event::NODE_CREATED, p)),
                None => self.watches.add_data(p, conn, STANDARD),
            }
        }
        for p in &s.child_watches {
            match self.tree.get(p) {
                None => events.push((event::NODE_DELETED, p)),
                Some(n) if n.stat.pzxid > rel => events.push((event::NODE_CHILDREN_CHANGED, p)),
                Some(_) => self.watches.add_child(p, conn, STANDARD),
            }
        }
        for p in &s.persistent_watches {
            self.watches.add_persistent(p, conn, false);
        }
        for p in &s.persistent_recursive_watches {
            self.watches.add_persistent(p, conn, true);
        }
        for (kind, p) in events {
            // Events for what happened while disconnected carry no zxid (WatchedEvent.NO_ZXID).
            self.send(conn, reply::notification(-1, kind, p));
        }
    }

    fn multi_read(&mut self, conn: ConnId, ops: &[MultiOp]) -> Vec<u8> {
        let mut w = Writer::new();
        for o in ops {
            match o {
                // multiRead never registers watches: ZooKeeper drops the flag when decoding.
                MultiOp::GetData(r) => match self.get_data(conn, &r.path, false) {
                    Ok(resp) => {
                        MultiHeader {
                            op: op::GET_DATA,
                            done: false,
                            err: 0,
                        }
                        .write(&mut w);
                        resp.write(&mut w);
                    }
                    Err(e) => error_result(&mut w, e),
                },
                MultiOp::GetChildren(r) => match self.get_children(conn, &r.path, false) {
                    Ok((children, _)) => {
                        MultiHeader {
                            op: op::GET_CHILDREN,
                            done: false,
                            err: 0,
                        }
                        .write(&mut w);
                        GetChildrenResponse { children }.write(&mut w);
                    }
                    Err(e) => error_result(&mut w, e),
                },
                _ => error_result(&mut w, ErrorCode::MARSHALLING_ERROR),
            }
        }
        MultiHeader {
            op: -1,
            done: true,
            err: -1,
        }
        .write(&mut w);
        w.buf
    }

    /// Answers a read-side request.
    pub(super) fn read(&mut self, conn: ConnId, xid: i32, req: Request, received: Instant) {
        let zxid = self.tree.last_zxid();
        let frame = match req {
            Request::Ping => reply::reply(op::PING_XID, zxid, 0, None),
            Request::Exists(r) => result(
                xid,
                zxid,
                self.exists(conn, &r.path, r.watch)
                    .map(|stat| StatResponse { stat }),
            ),
            Request::GetData(r) => result(xid, zxid, self.get_data(conn, &r.path, r.watch)),
            Request::GetChildren(r) => result(
                xid,
                zxid,
                self.get_children(conn, &r.path, r.watch)
                    .map(|(children, _)| GetChildrenResponse { children }),
            ),
            Request::GetChildren2(r) => result(
                xid,
                zxid,
                self.get_children(conn, &r.path, r.watch)
                    .map(|(children, stat)| GetChildren2Response { children, stat }),
            ),
            Request::GetAcl(r) => result(xid, zxid, self.get_acl(conn, &r.path)),
            Request::Sync(r) => reply_record(xid, zxid, &PathRequest { path: r.path }),
            Request::GetAllChildrenNumber(r) => {
                let path = read_path(&r.path);
                let res = match self.tree.get(path) {
                    None => Err(ErrorCode::NO_NODE),
                    Some(n) if !self.may(conn, n.acl(), acl::READ) => Err(ErrorCode::NO_AUTH),
                    Some(_) => Ok(GetAllChildrenNumberResponse {
                        total_number: self.tree.descendant_count(path) as i32,
                    }),
                };
                result(xid, zxid, res)
            }
            Request::GetEphemerals(r) => {
                let session = self.conns.get(&conn).and_then(|c| c.session).unwrap_or(0);
                let prefix = r.path.trim();
                let ephemerals = self
                    .tree
                    .session(session)
                    .map(|s| {
                        s.ephemerals
                            .iter()
                            .filter(|p| {
                                prefix.is_empty() || prefix == "/" || p.starts_with(&r.path)
                            })
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                reply_record(xid, zxid, &GetEphemeralsResponse { ephemerals })
            }
            Request::WhoAmI => {
                let mut client_info: Vec<ClientInfo> = Vec::new();
                for id in self.auth_of(conn) {
                    let user = match id.scheme.as_str() {
                        "digest" => id.id.split(':').next().unwrap_or("").to_string(),
                        _ => id.id.clone(),
                    };
                    // One entry per identity: two digest ids of one user show twice.
                    client_info.push(ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        user,
                    });
                }
                reply_record(xid, zxid, &WhoAmIResponse { client_info })
            }
            Request::AddWatch(r) => match r.mode {
                PERSISTENT_MODE | PERSISTENT_RECURSIVE_MODE => {
                    self.watches
                        .add_persistent(&r.path, conn, r.mode == PERSISTENT_RECURSIVE_MODE);
                    reply_record(xid, zxid, &ErrorResponse { err: 0 })
                }
                _ => reply::reply(xid, zxid, ErrorCode::MARSHALLING_ERROR.0, None),
            },
            Request::CheckWatches(r) => {
                let e = self
                    .watches
                    .check(&r.path, conn, r.watcher_type)
                    .err()
                    .unwrap_or(ErrorCode::OK);
                reply::reply(xid, zxid, e.0, None)
            }
            Request::RemoveWatches(r) => {
                let e = self
                    .watches
                    .remove(&r.path, conn, r.watcher_type)
                    .err()
                    .unwrap_or(ErrorCode::OK);
                reply::reply(xid, zxid, e.0, None)
            }
            Request::SetWatches(s) => {
                self.set_watches(conn, &s);
                reply::reply(xid, zxid, 0, None)
            }
            Request::MultiRead(ops) => {
                let body = self.multi_read(conn, &ops);
                reply::reply(
                    xid,
                    zxid,
                    0,
                    Some(&|w: &mut Writer| w.buf.extend_from_slice(&body)),
                )
            }
            Request::Reconfig(_) => {
                let e = if self.cfg.reconfig_enabled {
                    ErrorCode::UNIMPLEMENTED
                } else {
                    ErrorCode::RECONFIG_DISABLED
                };
                reply::reply(xid, zxid, e.0, None)
            }
            Request::Undecodable => reply::reply(xid, zxid, ErrorCode::MARSHALLING_ERROR.0, None),
            // Top-level check, SASL (not configured) and unknown opcodes: UNIMPLEMENTED, but the
            // connection and session stay, as the project promises its clients.
            Request::Check(_) | Request::Sasl(_) | Request::Unknown(_) => {
                reply::reply(xid, -1, ErrorCode::UNIMPLEMENTED.0, None)
            }
            // Writes never reach here; answer defensively rather than panic.
            _ => reply::reply(xid, zxid, ErrorCode::UNIMPLEMENTED.0, None),
        };
        self.send(conn, frame);
        self.latency(conn, received, zxid);
    }
}

fn error_result(w: &mut Writer, e: ErrorCode) {
    MultiHeader {
        op: op::ERROR,
        done: false,
        err: e.0,
    }
    .write(w);
    ErrorResponse { err: e.0 }.write(w);
}

/// A reply carrying either the record or just the error code.
fn result<R: Record>(xid: i32, zxid: i64, r: ZkResult<R>) -> Vec<u8> {
    match r {
        Ok(body) => reply_record(xid, zxid, &body),
        Err(e) => reply::reply(xid, zxid, e.0, None),
    }
}
