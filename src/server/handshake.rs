//! Session establishment and authentication: ConnectRequest handling and auth packets.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use rand::RngCore;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use super::core::{Conn, Core, Origin, Out};
use super::reply;
use super::watches::ConnId;
use crate::proto::ErrorCode;
use crate::proto::jute::Record;
use crate::proto::records::{AuthPacket, ConnectRequest, ConnectResponse, Id};
use crate::tree::{TxnBody, acl};

/// Encodes a ConnectResponse, with the readOnly byte only for clients that sent one; it is
/// set when this member serves the session read-only.
pub(super) fn connect_response(
    timeout: i32,
    session: i64,
    passwd: Bytes,
    has_readonly: bool,
    read_only: bool,
) -> Vec<u8> {
    reply::frame(|w| {
        ConnectResponse {
            protocol_version: 0,
            time_out: timeout,
            session_id: session,
            passwd: Some(passwd),
        }
        .write(w);
        if has_readonly {
            w.bool(read_only);
        }
    })
}

impl Core {
    pub(super) fn connect(
        &mut self,
        conn: ConnId,
        req: ConnectRequest,
        (has_readonly, read_only): (bool, bool),
        remote: SocketAddr,
        out: mpsc::UnboundedSender<Out>,
    ) {
        if req.last_zxid_seen > self.tree.last_zxid() {
            // The client has seen a newer state than ours: it must try another member.
            info!(
                %remote,
                client_zxid = format_args!("{:#x}", req.last_zxid_seen),
                our_zxid = format_args!("{:#x}", self.tree.last_zxid()),
                "refusing a client that is ahead of this server"
            );
            let _ = out.send(Out::Close);
            return;
        }
        let timeout = self.cfg.negotiate_timeout(req.time_out);
        self.conns.insert(
            conn,
            Conn {
                out,
                session: None,
                auth: vec![Id {
                    scheme: "ip".into(),
                    id: remote.ip().to_string(),
                }],
                remote,
                stats: Default::default(),
                established: SystemTime::now(),
                timeout,
                has_readonly,
            },
        );
        self.stats.packets_received += 1;
        if self.connect_without_quorum(conn, &req, read_only) {
            return;
        }
        if req.session_id == 0 {
            let session = self.ids.allocate();
            let mut password = [0u8; 16];
            rand::rng().fill_bytes(&mut password);
            self.propose(
                TxnBody::CreateSession {
                    session,
                    timeout,
                    password: Bytes::copy_from_slice(&password),
                },
                Origin::Connect { conn },
            );
            return;
        }
        let session = req.session_id;
        let valid = self
            .tree
            .session(session)
            .is_some_and(|s| req.passwd.as_deref() == Some(&s.password[..]))
            && self.tracker.is_live(session);
        if !valid {
            debug!(
                session = format_args!("{session:#x}"),
                "refusing an unknown or expired session, or a wrong password"
            );
            self.refuse_session(conn, has_readonly, false);
            return;
        }
        self.take_over(conn, session, timeout);
        self.accept(conn, session, timeout);
    }

    /// Answers a reconnect to an unknown or expired session, or with a wrong password: session
    /// id and timeout 0, which clients report as an expired session.
    pub(super) fn refuse_session(&mut self, conn: ConnId, has_readonly: bool, read_only: bool) {
        let frame = connect_response(0, 0, Bytes::from_static(&[0; 16]), has_readonly, read_only);
        self.send(conn, frame);
        self.close_conn(conn);
    }

    /// Moves a session whose reconnect proved the password to `conn`. Only such a reconnect
    /// takes the session over from an older connection (ZooKeeper closes the old one first,
    /// letting a wrong password kick it).
    pub(super) fn take_over(&mut self, conn: ConnId, session: i64, timeout: i32) {
        if let Some(old) = self.sessions.get(&session).and_then(|q| q.conn)
            && old != conn
        {
            self.close_conn(old);
        }
        self.tracker.touch(session, Instant::now(), Some(timeout));
    }

    /// Attaches a connection to its session and sends the handshake answer, in the format
    /// (with or without the readOnly byte) the client used.
    fn accept(&mut self, conn: ConnId, session: i64, timeout: i32) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.session = Some(session);
        let has_readonly = c.has_readonly;
        self.sessions.entry(session).or_default().conn = Some(conn);
        let passwd = self
            .tree
            .session(session)
            .map(|s| s.password.clone())
            .unwrap_or_default();
        self.send(
            conn,
            connect_response(timeout, session, passwd, has_readonly, false),
        );
    }

    /// Completes a new session once its CreateSession is durable.
    pub(super) fn session_created(&mut self, conn: ConnId, session: i64, timeout: i32) {
        self.tracker.add(session, timeout, Instant::now());
        self.accept(conn, session, timeout);
    }

    /// An auth packet: digest adds `digest:user:hash` (and `super` when it matches the super
    /// digest); anything else fails and, as in ZooKeeper, closes the connection.
    pub(super) fn auth(&mut self, conn: ConnId, xid: i32, a: AuthPacket) {
        let auth = a.auth.as_deref().map(String::from_utf8_lossy);
        let ok = match (a.scheme.as_str(), auth) {
            ("digest", Some(up)) => {
                let d = acl::digest(&up);
                let mut ids = vec![Id {
                    scheme: "digest".into(),
                    id: d.clone(),
                }];
                if self.cfg.super_digest.as_deref() == Some(d.as_str()) {
                    ids.push(Id {
                        scheme: "super".into(),
                        id: String::new(),
                    });
                }
                if let Some(c) = self.conns.get_mut(&conn) {
                    for id in ids {
                        if !c.auth.contains(&id) {
                            c.auth.push(id);
                        }
                    }
                }
                true
            }
            ("ip", _) => true,
            _ => false,
        };
        if ok {
            self.send(conn, reply::reply(xid, 0, 0, None));
        } else {
            warn!(conn, scheme = %a.scheme, "authentication failed");
            self.stats.auth_failed += 1;
            self.send(conn, reply::reply(xid, 0, ErrorCode::AUTH_FAILED.0, None));
            self.close_conn(conn);
        }
    }
}
