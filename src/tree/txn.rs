//! Transactions: the deterministic, already-decided form of a write. Every member applies the
//! same Txn sequence to its tree and reaches the same state, so the log holds Txns, not requests.

use bytes::Bytes;

use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::proto::records::{Acl, Id};

/// One write operation inside a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        /// The client's opcode (create, create2, createContainer, createTTL): shapes the result.
        opcode: i32,
        path: String,
        data: Option<Bytes>,
        acl: Vec<Acl>,
        flags: i32,
        ttl: i64,
    },
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Option<Bytes>,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    Check {
        path: String,
        version: i32,
    },
}

/// What a transaction does to the replicated state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    /// A new session, decided by the member that accepted the connection.
    CreateSession {
        session: i64,
        timeout: i32,
        password: Bytes,
    },
    /// A client's closeSession, or an expiry decided by the leader.
    CloseSession { session: i64 },
    /// Client writes. `multi` selects ZooKeeper's multi result layout even for one op.
    Ops {
        session: i64,
        /// The caller's identities at the time of the request; ACLs are checked at apply time.
        auth: Vec<Id>,
        multi: bool,
        ops: Vec<Op>,
    },
    /// Removal of an emptied container or an expired TTL node; re-checked when applied.
    Reap { path: String },
}

/// A transaction with the log position (zxid) and leader time it was committed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub zxid: i64,
    pub time: i64,
    pub body: TxnBody,
}

const T_CREATE_SESSION: i32 = 1;
const T_CLOSE_SESSION: i32 = 2;
const T_OPS: i32 = 3;
const T_REAP: i32 = 4;

const O_CREATE: i32 = 1;
const O_DELETE: i32 = 2;
const O_SET_DATA: i32 = 3;
const O_SET_ACL: i32 = 4;
const O_CHECK: i32 = 5;

impl Op {
    fn write(&self, w: &mut Writer) {
        match self {
            Op::Create {
                opcode,
                path,
                data,
                acl,
                flags,
                ttl,
            } => {
                w.i32(O_CREATE);
                w.i32(*opcode);
                w.string(path);
                data.write(w);
                acl.write(w);
                w.i32(*flags);
                w.i64(*ttl);
            }
            Op::Delete { path, version } => {
                w.i32(O_DELETE);
                w.string(path);
                w.i32(*version);
            }
            Op::SetData {
                path,
                data,
                version,
            } => {
                w.i32(O_SET_DATA);
                w.string(path);
                data.write(w);
                w.i32(*version);
            }
            Op::SetAcl { path, acl, version } => {
                w.i32(O_SET_ACL);
                w.string(path);
                acl.write(w);
                w.i32(*version);
            }
            Op::Check { path, version } => {
                w.i32(O_CHECK);
                w.string(path);
                w.i32(*version);
            }
        }
    }

    fn read(r: &mut Reader<'_>) -> Result<Op, DecodeError> {
        Ok(match r.i32()? {
            O_CREATE => Op::Create {
                opcode: r.i32()?,
                path: String::read(r)?,
                data: Record::read(r)?,
                acl: Record::read(r)?,
                flags: r.i32()?,
                ttl: r.i64()?,
            },
            O_DELETE => Op::Delete {
                path: String::read(r)?,
                version: r.i32()?,
            },
            O_SET_DATA => Op::SetData {
                path: String::read(r)?,
                data: Record::read(r)?,
                version: r.i32()?,
            },
            O_SET_ACL => Op::SetAcl {
                path: String::read(r)?,
                acl: Record::read(r)?,
                version: r.i32()?,
            },
            O_CHECK => Op::Check {
                path: String::read(r)?,
                version: r.i32()?,
            },
            other => {
                return Err(DecodeError::Unknown {
                    what: "txn op",
                    value: other,
                });
            }
        })
    }
}

impl Txn {
    /// The log's byte form of a transaction.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64);
        w.i64(self.zxid);
        w.i64(self.time);
        match &self.body {
            TxnBody::CreateSession {
                session,
                timeout,
                password,
            } => {
                w.i32(T_CREATE_SESSION);
                w.i64(*session);
                w.i32(*timeout);
                w.buffer(Some(password));
            }
            TxnBody::CloseSession { session } => {
                w.i32(T_CLOSE_SESSION);
                w.i64(*session);
            }
            TxnBody::Ops {
                session,
                auth,
                multi,
                ops,
            } => {
                w.i32(T_OPS);
                w.i64(*session);
                auth.write(&mut w);
                w.bool(*multi);
                w.i32(ops.len() as i32);
                for op in ops {
                    op.write(&mut w);
                }
            }
            TxnBody::Reap { path } => {
                w.i32(T_REAP);
                w.string(path);
            }
        }
        w.buf
    }

    pub fn decode(buf: &[u8]) -> Result<Txn, DecodeError> {
        let r = &mut Reader::new(buf);
        let zxid = r.i64()?;
        let time = r.i64()?;
        let body = match r.i32()? {
            T_CREATE_SESSION => TxnBody::CreateSession {
                session: r.i64()?,
                timeout: r.i32()?,
                password: Option::<Bytes>::read(r)?.unwrap_or_default(),
            },
            T_CLOSE_SESSION => TxnBody::CloseSession { session: r.i64()? },
            T_OPS => {
                let session = r.i64()?;
                let auth = Vec::<Id>::read(r)?;
                let multi = r.bool()?;
                let n = r.vec_len(4)?.unwrap_or(0);
                // The count is untrusted: grow as ops actually decode.
                let mut ops = Vec::with_capacity(n.min(16));
                for _ in 0..n {
                    ops.push(Op::read(r)?);
                }
                TxnBody::Ops {
                    session,
                    auth,
                    multi,
                    ops,
                }
            }
            T_REAP => TxnBody::Reap {
                path: String::read(r)?,
            },
            other => {
                return Err(DecodeError::Unknown {
                    what: "txn type",
                    value: other,
                });
            }
        };
        r.finish()?;
        Ok(Txn { zxid, time, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_body_round_trips() {
        let bodies = vec![
            TxnBody::CreateSession {
                session: 7,
                timeout: 30000,
                password: Bytes::from_static(&[1; 16]),
            },
            TxnBody::CloseSession { session: 7 },
            TxnBody::Reap { path: "/c".into() },
            TxnBody::Ops {
                session: 7,
                auth: vec![Id {
                    scheme: "ip".into(),
                    id: "127.0.0.1".into(),
                }],
                multi: true,
                ops: vec![
                    Op::Create {
                        opcode: 15,
                        path: "/a".into(),
                        data: None,
                        acl: crate::tree::acl::open_acl(),
                        flags: 2,
                        ttl: 0,
                    },
                    Op::Delete {
                        path: "/a".into(),
                        version: -1,
                    },
                    Op::SetData {
                        path: "/b".into(),
                        data: Some(Bytes::from_static(b"x")),
                        version: 3,
                    },
                    Op::SetAcl {
                        path: "/b".into(),
                        acl: vec![],
                        version: 0,
                    },
                    Op::Check {
                        path: "/b".into(),
                        version: 1,
                    },
                ],
            },
        ];
        for body in bodies {
            let t = Txn {
                zxid: 42,
                time: 1000,
                body,
            };
            assert_eq!(Txn::decode(&t.encode()).unwrap(), t);
        }
    }
}
