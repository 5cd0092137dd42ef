//! Typed client requests: one variant per opcode, decoded from a packet after its header.

use super::jute::{DecodeError, Reader, Record};
use super::opcode as op;
use super::records::*;

/// One operation inside a multi or multiRead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// create, create2, createContainer or createTTL; `op` says which (it shapes the result).
    Create {
        op: i32,
        req: CreateRequest,
        ttl: i64,
    },
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetData(PathWatchRequest),
    GetChildren(PathWatchRequest),
}

impl MultiOp {
    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetData(_) | MultiOp::GetChildren(_))
    }
}

/// A decoded request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create {
        op: i32,
        req: CreateRequest,
        ttl: i64,
    },
    Delete(DeleteRequest),
    Exists(PathWatchRequest),
    GetData(PathWatchRequest),
    SetData(SetDataRequest),
    GetAcl(PathRequest),
    SetAcl(SetAclRequest),
    GetChildren(PathWatchRequest),
    GetChildren2(PathWatchRequest),
    Sync(PathRequest),
    Ping,
    Check(CheckVersionRequest),
    Multi(Vec<MultiOp>),
    MultiRead(Vec<MultiOp>),
    Reconfig(ReconfigRequest),
    CheckWatches(WatchesRequest),
    RemoveWatches(WatchesRequest),
    Auth(AuthPacket),
    /// setWatches and setWatches2; the former has empty persistent lists.
    SetWatches(SetWatches2),
    Sasl(SaslRequest),
    GetEphemerals(PathRequest),
    GetAllChildrenNumber(PathRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
    /// An opcode this server does not speak; answered with UNIMPLEMENTED, session kept.
    Unknown(i32),
    /// A body that could not be decoded (never produced by `decode_request`; the connection
    /// substitutes it so the MARSHALLINGERROR answer keeps its place among the replies).
    Undecodable,
}

impl Request {
    /// True for requests that change replicated state and so go through the log.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::Create { .. }
                | Request::Delete(_)
                | Request::SetData(_)
                | Request::SetAcl(_)
                | Request::Multi(_)
                | Request::Reconfig(_)
                | Request::CloseSession
        )
    }
}

fn create(r: &mut Reader<'_>, code: i32) -> Result<(CreateRequest, i64), DecodeError> {
    if code == op::CREATE_TTL {
        let t = CreateTtlRequest::read(r)?;
        Ok((
            CreateRequest {
                path: t.path,
                data: t.data,
                acl: t.acl,
                flags: t.flags,
            },
            t.ttl,
        ))
    } else {
        Ok((CreateRequest::read(r)?, 0))
    }
}

fn multi(r: &mut Reader<'_>, reads: bool) -> Result<Vec<MultiOp>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let h = MultiHeader::read(r)?;
        if h.done {
            break;
        }
        let o = match h.op {
            op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
                let (req, ttl) = create(r, h.op)?;
                MultiOp::Create { op: h.op, req, ttl }
            }
            op::DELETE => MultiOp::Delete(DeleteRequest::read(r)?),
            op::SET_DATA => MultiOp::SetData(SetDataRequest::read(r)?),
            op::CHECK => MultiOp::Check(CheckVersionRequest::read(r)?),
            op::GET_DATA => MultiOp::GetData(PathWatchRequest::read(r)?),
            op::GET_CHILDREN => MultiOp::GetChildren(PathWatchRequest::read(r)?),
            other => {
                return Err(DecodeError::Unknown {
                    what: "multi operation",
                    value: other,
                });
            }
        };
        // ZooKeeper refuses to mix reads and writes in one multi.
        if o.is_read() != reads {
            return Err(DecodeError::Unknown {
                what: "operation kind in multi",
                value: h.op,
            });
        }
        ops.push(o);
    }
    Ok(ops)
}

/// Decodes the body of a request whose header carried opcode `code`.
pub fn decode_request(code: i32, body: &[u8]) -> Result<Request, DecodeError> {
    let r = &mut Reader::new(body);
    Ok(match code {
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => {
            let (req, ttl) = create(r, code)?;
            Request::Create { op: code, req, ttl }
        }
        op::DELETE => Request::Delete(DeleteRequest::read(r)?),
        op::EXISTS => Request::Exists(PathWatchRequest::read(r)?),
        op::GET_DATA => Request::GetData(PathWatchRequest::read(r)?),
        op::SET_DATA => Request::SetData(SetDataRequest::read(r)?),
        op::GET_ACL => Request::GetAcl(PathRequest::read(r)?),
        op::SET_ACL => Request::SetAcl(SetAclRequest::read(r)?),
        op::GET_CHILDREN => Request::GetChildren(PathWatchRequest::read(r)?),
        op::GET_CHILDREN2 => Request::GetChildren2(PathWatchRequest::read(r)?),
        op::SYNC => Request::Sync(PathRequest::read(r)?),
        op::PING => Request::Ping,
        op::CHECK => Request::Check(CheckVersionRequest::read(r)?),
        op::MULTI => Request::Multi(multi(r, false)?),
        op::MULTI_READ => Request::MultiRead(multi(r, true)?),
        op::RECONFIG => Request::Reconfig(ReconfigRequest::read(r)?),
        op::CHECK_WATCHES => Request::CheckWatches(WatchesRequest::read(r)?),
        op::REMOVE_WATCHES => Request::RemoveWatches(WatchesRequest::read(r)?),
        op::AUTH => Request::Auth(AuthPacket::read(r)?),
        op::SET_WATCHES => {
            let s = SetWatches::read(r)?;
            Request::SetWatches(SetWatches2 {
                relative_zxid: s.relative_zxid,
                data_watches: s.data_watches,
                exist_watches: s.exist_watches,
                child_watches: s.child_watches,
                ..Default::default()
            })
        }
        op::SET_WATCHES2 => Request::SetWatches(SetWatches2::read(r)?),
        op::SASL => Request::Sasl(SaslRequest::read(r)?),
        op::GET_EPHEMERALS => Request::GetEphemerals(PathRequest::read(r)?),
        op::GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber(PathRequest::read(r)?),
        op::ADD_WATCH => Request::AddWatch(AddWatchRequest::read(r)?),
        op::WHO_AM_I => Request::WhoAmI,
        op::CLOSE_SESSION => Request::CloseSession,
        other => Request::Unknown(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::jute::Writer;

    type OpWriter<'a> = (i32, &'a dyn Fn(&mut Writer));

    fn multi_body(ops: &[OpWriter<'_>]) -> Vec<u8> {
        let mut w = Writer::new();
        for (code, f) in ops {
            MultiHeader {
                op: *code,
                done: false,
                err: -1,
            }
            .write(&mut w);
            f(&mut w);
        }
        MultiHeader {
            op: -1,
            done: true,
            err: -1,
        }
        .write(&mut w);
        w.buf
    }

    #[test]
    fn multi_decodes_each_operation() {
        let body = multi_body(&[
            (op::CHECK, &|w| {
                CheckVersionRequest {
                    path: "/a".into(),
                    version: 1,
                }
                .write(w)
            }),
            (op::DELETE, &|w| {
                DeleteRequest {
                    path: "/a".into(),
                    version: -1,
                }
                .write(w)
            }),
        ]);
        let req = decode_request(op::MULTI, &body).unwrap();
        let Request::Multi(ops) = req else {
            panic!("not a multi")
        };
        assert_eq!(ops.len(), 2);
    }

    #[test]
    fn multi_refuses_mixed_reads_and_writes() {
        let body = multi_body(&[(op::GET_DATA, &|w| {
            PathWatchRequest {
                path: "/a".into(),
                watch: false,
            }
            .write(w)
        })]);
        assert!(decode_request(op::MULTI, &body).is_err());
        assert!(decode_request(op::MULTI_READ, &body).is_ok());
    }

    #[test]
    fn unknown_opcodes_decode_as_unknown() {
        assert_eq!(decode_request(999, &[]), Ok(Request::Unknown(999)));
    }
}
