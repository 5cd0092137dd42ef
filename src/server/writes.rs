//! Writes: a request becomes a transaction proposed to the log; once durable it is applied,
//! watches fire, and the reply goes out (PrepRequestProcessor + FinalRequestProcessor).

use std::time::Instant;

use tracing::warn;

use super::core::{Core, Log, Origin, Pending, Queued};
use super::reply::{self, reply_record};
use super::watches::ConnId;
use crate::proto::ErrorCode;
use crate::proto::jute::{Record, Writer};
use crate::proto::opcode as op;
use crate::proto::records::*;
use crate::proto::request::{MultiOp, Request};
use crate::tree::{Op, OpOk, Outcome, TxnBody, acl};

/// The transaction op of a create: only createTTL carries a TTL (others get -1, which is how
/// ZooKeeper tells them apart).
fn create_op(opcode: i32, req: CreateRequest, ttl: i64) -> Op {
    Op::Create {
        opcode,
        path: req.path,
        data: req.data,
        acl: req.acl,
        flags: req.flags,
        ttl: if opcode == op::CREATE_TTL { ttl } else { -1 },
    }
}

fn multi_op(o: MultiOp) -> Op {
    match o {
        MultiOp::Create {
            op: header,
            req,
            ttl,
        } => {
            // Inside a multi the kind of create follows the flags, as MultiOperationRecord does.
            let opcode = match req.flags {
                5 | 6 => op::CREATE_TTL,
                4 => op::CREATE_CONTAINER,
                _ => header,
            };
            let ttl = if header == op::CREATE_TTL { ttl } else { -1 };
            Op::Create {
                opcode,
                path: req.path,
                data: req.data,
                acl: req.acl,
                flags: req.flags,
                ttl,
            }
        }
        MultiOp::Delete(d) => Op::Delete {
            path: d.path,
            version: d.version,
        },
        MultiOp::SetData(s) => Op::SetData {
            path: s.path,
            data: s.data,
            version: s.version,
        },
        MultiOp::Check(c) => Op::Check {
            path: c.path,
            version: c.version,
        },
        // Reads cannot be in a write multi (the decoder refuses them); keep it a no-op check.
        MultiOp::GetData(r) | MultiOp::GetChildren(r) => Op::Check {
            path: r.path,
            version: -1,
        },
    }
}

fn multi_result(w: &mut Writer, r: &Result<OpOk, ErrorCode>) {
    let header = |w: &mut Writer, op: i32, err: i32| {
        MultiHeader {
            op,
            done: false,
            err,
        }
        .write(w)
    };
    match r {
        Ok(OpOk::Created { opcode, path, stat }) => {
            if *opcode == op::CREATE {
                header(w, op::CREATE, 0);
                CreateResponse { path: path.clone() }.write(w);
            } else {
                header(w, op::CREATE2, 0);
                Create2Response {
                    path: path.clone(),
                    stat: stat.clone(),
                }
                .write(w);
            }
        }
        Ok(OpOk::Deleted) => header(w, op::DELETE, 0),
        Ok(OpOk::DataSet(stat)) => {
            header(w, op::SET_DATA, 0);
            stat.write(w);
        }
        Ok(OpOk::AclSet(stat)) => {
            header(w, op::SET_ACL, 0);
            stat.write(w);
        }
        Ok(OpOk::Checked) => header(w, op::CHECK, 0),
        Err(e) => {
            header(w, op::ERROR, e.0);
            ErrorResponse { err: e.0 }.write(w);
        }
    }
}

/// The reply to a client write once its transaction is applied.
fn ops_reply(xid: i32, zxid: i64, multi: bool, out: &Outcome) -> Vec<u8> {
    if let Some(e) = out.err {
        return reply::reply(xid, zxid, e.0, None);
    }
    if multi {
        return reply::reply(
            xid,
            zxid,
            0,
            Some(&|w: &mut Writer| {
                for r in &out.results {
                    multi_result(w, r);
                }
                MultiHeader {
                    op: -1,
                    done: true,
                    err: -1,
                }
                .write(w);
            }),
        );
    }
    match out.results.first() {
        Some(Ok(OpOk::Created { opcode, path, stat })) => {
            if *opcode == op::CREATE {
                reply_record(xid, zxid, &CreateResponse { path: path.clone() })
            } else {
                reply_record(
                    xid,
                    zxid,
                    &Create2Response {
                        path: path.clone(),
                        stat: stat.clone(),
                    },
                )
            }
        }
        Some(Ok(OpOk::DataSet(stat))) | Some(Ok(OpOk::AclSet(stat))) => {
            reply_record(xid, zxid, &StatResponse { stat: stat.clone() })
        }
        Some(Err(e)) => reply::reply(xid, zxid, e.0, None),
        _ => reply::reply(xid, zxid, 0, None),
    }
}

impl Core {
    /// Turns a client write into a proposed transaction.
    pub(super) fn write(
        &mut self,
        conn: ConnId,
        session: i64,
        xid: i32,
        req: Request,
        received: Instant,
        front: bool,
    ) {
        let auth = self
            .conns
            .get(&conn)
            .map(|c| c.auth.clone())
            .unwrap_or_default();
        let (ops, multi) = match req {
            Request::Create { op, req, ttl } => (vec![create_op(op, req, ttl)], false),
            Request::Delete(d) => (
                vec![Op::Delete {
                    path: d.path,
                    version: d.version,
                }],
                false,
            ),
            Request::SetData(s) => (
                vec![Op::SetData {
                    path: s.path,
                    data: s.data,
                    version: s.version,
                }],
                false,
            ),
            Request::SetAcl(s) => (
                vec![Op::SetAcl {
                    path: s.path,
                    acl: s.acl,
                    version: s.version,
                }],
                false,
            ),
            Request::Multi(ops) => (ops.into_iter().map(multi_op).collect(), true),
            Request::CloseSession => {
                self.tracker.set_closing(session);
                let origin = Origin::Request {
                    conn,
                    session,
                    xid,
                    received,
                };
                let ticket = self.propose(TxnBody::CloseSession { session }, origin);
                self.queue_ticket(session, ticket, front);
                return;
            }
            Request::Reconfig(_)
                if self.cfg.reconfig_enabled && matches!(self.log, Log::Ensemble(_)) =>
            {
                return self.reconfig(conn, session, xid, req, received, front);
            }
            other => {
                // Not a logged write after all (reconfig on a standalone member, or disabled):
                // answer in order.
                self.sessions.entry(session).or_default();
                return self.read(conn, xid, other, received);
            }
        };
        let body = TxnBody::Ops {
            session,
            auth,
            multi,
            ops,
        };
        let ticket = self.propose(
            body,
            Origin::Request {
                conn,
                session,
                xid,
                received,
            },
        );
        self.queue_ticket(session, ticket, front);
    }

    /// Records a proposed write in its session's queue: at the back for a new request, at the
    /// front for one that was held behind a `sync` (everything before it is answered).
    fn queue_ticket(&mut self, session: i64, ticket: i64, front: bool) {
        let q = &mut self.sessions.entry(session).or_default().queue;
        if front {
            q.push_front(Queued::Write(ticket));
        } else {
            q.push_back(Queued::Write(ticket));
        }
    }

    /// Applies a durable transaction, fires watches and answers whoever waits for it.
    /// Notifies the watchers of `ev` that may read the node (ZooKeeper checks READ before it
    /// delivers a watch event).
    pub(super) fn fire(&mut self, zxid: i64, ev: &crate::tree::Event) {
        for conn in self.watches.trigger(ev.kind, &ev.path) {
            let allowed = self.cfg.skip_acl
                || self
                    .conns
                    .get(&conn)
                    .is_some_and(|c| acl::allowed(&ev.acl, acl::READ, &c.auth));
            if allowed {
                self.send(conn, reply::notification(zxid, ev.kind, &ev.path));
            }
        }
    }

    pub(super) fn commit(&mut self, p: Pending) {
        let zxid = p.txn.zxid;
        let ticket = p.ticket;
        let outcome = self.tree.apply(&p.txn);
        self.since_snapshot += 1;
        for ev in &outcome.events {
            self.fire(zxid, ev);
        }
        match (&p.txn.body, p.origin) {
            (
                TxnBody::CreateSession {
                    session, timeout, ..
                },
                Origin::Connect { conn, .. },
            ) => {
                self.session_created(conn, *session, *timeout);
            }
            (
                TxnBody::CreateSession {
                    session, timeout, ..
                },
                _,
            ) => {
                // Another member's session: this one may have to take it over on reconnect.
                self.tracker
                    .add(*session, *timeout, std::time::Instant::now());
            }
            (TxnBody::CloseSession { session }, origin) => {
                if let Origin::Request {
                    conn,
                    xid,
                    received,
                    ..
                } = origin
                {
                    self.send(conn, reply::reply(xid, zxid, 0, None));
                    self.update_latency(conn, received, zxid);
                }
                self.session_closed(*session);
            }
            (TxnBody::Reap { path }, _) => {
                self.reaping.remove(path);
            }
            (
                TxnBody::Ops { multi, .. },
                Origin::Request {
                    conn,
                    session,
                    xid,
                    received,
                    ..
                },
            ) => {
                if self.overtook_earlier_write(session, ticket) {
                    // Only an ensemble proposal retried across a leader change can commit
                    // ahead of an earlier write of its session. Replies must keep request
                    // order, so the client loses its connection (as on a lost leader) and
                    // learns the outcomes by reading.
                    warn!(
                        session = format_args!("{session:#x}"),
                        "a session's writes committed out of order; closing its connection"
                    );
                    if let Some(q) = self.sessions.get_mut(&session) {
                        q.queue.clear();
                    }
                    self.close_conn(conn);
                    return;
                }
                self.send(conn, ops_reply(xid, zxid, *multi, &outcome));
                self.update_latency(conn, received, zxid);
                if let Some(q) = self.sessions.get_mut(&session)
                    && matches!(q.queue.front(), Some(Queued::Write(t)) if *t == ticket)
                {
                    q.queue.pop_front();
                }
                self.release_reads(session);
            }
            _ => {}
        }
    }

    /// Whether the session still waits for an earlier write than the one with `ticket`.
    fn overtook_earlier_write(&self, session: i64, ticket: i64) -> bool {
        self.sessions.get(&session).is_some_and(|q| {
            !matches!(q.queue.front(), Some(Queued::Write(t)) if *t == ticket)
                && q.queue
                    .iter()
                    .any(|i| matches!(i, Queued::Write(t) if *t == ticket))
        })
    }

    /// Forgets a closed or expired session and closes its connection.
    pub(super) fn session_closed(&mut self, session: i64) {
        self.tracker.remove(session);
        if let Some(q) = self.sessions.remove(&session)
            && let Some(conn) = q.conn
        {
            self.close_conn(conn);
        }
    }
}
