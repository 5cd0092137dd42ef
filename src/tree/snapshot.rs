//! The snapshot form of a DataTree: sessions, shared ACL lists and every node, parents before
//! children, so loading is a single pass. Files and checksums are the storage layer's concern.

use super::datatree::{DataTree, ROOT, SessionEntry};
use super::node::{Node, NodeStat};
use super::nodes::NodeId;
use super::path;
use crate::proto::jute::{DecodeError, Reader, Record, Writer};
use crate::proto::records::Acl;

const MAGIC: i32 = 0x5a4b_534e; // "ZKSN"
const VERSION: i32 = 1;

impl DataTree {
    /// Serializes the whole tree: ACL lists in interning order, then nodes depth first, each
    /// node's children in sibling order, so loading the output and writing it again gives the
    /// same bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut w =
            Writer::with_capacity(self.approximate_data_size() as usize + self.node_count() * 80);
        w.i32(MAGIC);
        w.i32(VERSION);
        w.i64(self.last_zxid);
        w.i32(self.sessions.len() as i32);
        for (id, s) in &self.sessions {
            w.i64(*id);
            w.i32(s.timeout);
            w.buffer(Some(&s.password));
        }
        // Only lists some node uses are written, numbered in interning order.
        let mut acl_index = vec![-1i32; self.acls.capacity()];
        for n in self.nodes.iter() {
            if let Some(i) = acl_index.get_mut(n.acl as usize) {
                *i = 0;
            }
        }
        let mut lists = Vec::new();
        for (id, list) in self.acls.iter() {
            if let Some(i) = acl_index.get_mut(id as usize).filter(|i| **i == 0) {
                *i = lists.len() as i32;
                lists.push(list);
            }
        }
        w.i32(lists.len() as i32);
        for a in &lists {
            a.to_vec().write(&mut w);
        }
        w.i32(self.nodes.len() as i32);
        // One path buffer for the walk: when a node is popped, its parent's path is still the
        // buffer's prefix of the recorded length, since everything written in between lies
        // below that parent.
        let mut path_buf = String::new();
        let mut stack: Vec<(NodeId, usize)> =
            self.nodes.root().map(|r| (r, 0)).into_iter().collect();
        while let Some((id, parent_len)) = stack.pop() {
            let Some(n) = self.nodes.node(id) else {
                continue;
            };
            path_buf.truncate(parent_len);
            if parent_len > 1 {
                path_buf.push('/');
            }
            if parent_len == 0 {
                path_buf.push_str(ROOT);
            } else {
                path_buf.push_str(n.name());
            }
            w.string(&path_buf);
            w.buffer(n.data());
            w.i32(acl_index.get(n.acl as usize).copied().unwrap_or(0).max(0));
            let s = &n.stat;
            for v in [
                s.czxid,
                s.mzxid,
                s.pzxid,
                s.ctime,
                s.mtime,
                s.ephemeral_owner,
            ] {
                w.i64(v);
            }
            for v in [s.version, s.cversion, s.aversion] {
                w.i32(v);
            }
            let len = path_buf.len();
            stack.extend(self.nodes.children(id).map(|c| (c, len)));
        }
        w.buf
    }

    /// Rebuilds a tree from `snapshot` output.
    pub fn from_snapshot(buf: &[u8]) -> Result<DataTree, DecodeError> {
        let r = &mut Reader::new(buf);
        let magic = r.i32()?;
        let version = r.i32()?;
        if magic != MAGIC || version != VERSION {
            return Err(DecodeError::Unknown {
                what: "snapshot format",
                value: version,
            });
        }
        let mut t = DataTree::empty();
        t.last_zxid = r.i64()?;
        let n = r.vec_len(12)?.unwrap_or(0);
        for _ in 0..n {
            let id = r.i64()?;
            let timeout = r.i32()?;
            let password = bytes::Bytes::copy_from_slice(r.buffer()?.unwrap_or_default());
            t.sessions.insert(
                id,
                SessionEntry {
                    timeout,
                    password,
                    ephemerals: Default::default(),
                },
            );
        }
        let n = r.vec_len(4)?.unwrap_or(0);
        let mut acls = Vec::with_capacity(n);
        for _ in 0..n {
            acls.push(t.intern_acl(Vec::<Acl>::read(r)?));
        }
        let n = r.vec_len(64)?.unwrap_or(0);
        for _ in 0..n {
            let p = String::read(r)?;
            let data = r.buffer()?;
            let acl_i = r.i32()?;
            let acl = acls
                .get(acl_i as usize)
                .copied()
                .ok_or(DecodeError::BadLength(acl_i))?;
            let stat = NodeStat {
                czxid: r.i64()?,
                mzxid: r.i64()?,
                pzxid: r.i64()?,
                ctime: r.i64()?,
                mtime: r.i64()?,
                ephemeral_owner: r.i64()?,
                version: r.i32()?,
                cversion: r.i32()?,
                aversion: r.i32()?,
            };
            // A snapshot is untrusted input too: a bad or repeated path would corrupt the tree.
            if path::validate(&p, false).is_err() || t.get(&p).is_some() {
                return Err(DecodeError::Unknown {
                    what: "snapshot node with an invalid or repeated path at index",
                    value: t.node_count() as i32,
                });
            }
            if p != ROOT && t.get(path::parent(&p)).is_none() {
                return Err(DecodeError::Unknown {
                    what: "snapshot node without parent at index",
                    value: t.node_count() as i32,
                });
            }
            let node =
                Node::new(path::name(&p), data, acl, stat).map_err(|_| DecodeError::Unknown {
                    what: "snapshot node with a too long name at index",
                    value: t.node_count() as i32,
                })?;
            let index = t.node_count() as i32;
            t.insert_node(&p, node).map_err(|_| DecodeError::Unknown {
                what: "snapshot node that cannot be linked at index",
                value: index,
            })?;
        }
        r.finish()?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::txn::{Op, Txn, TxnBody};

    #[test]
    fn snapshot_round_trips_nodes_sessions_and_indexes() {
        let mut t = DataTree::new();
        t.apply(&Txn {
            zxid: 1,
            time: 5,
            body: TxnBody::CreateSession {
                session: 9,
                timeout: 4000,
                password: bytes::Bytes::from_static(&[7; 16]),
            },
        });
        let create = |path: &str, flags| Op::Create {
            opcode: if flags == 4 { 19 } else { 1 },
            path: path.into(),
            data: Some(bytes::Bytes::from_static(b"v")),
            acl: crate::tree::acl::open_acl(),
            flags,
            ttl: -1,
        };
        let out = t.apply(&Txn {
            zxid: 2,
            time: 6,
            body: TxnBody::Ops {
                session: 9,
                auth: vec![],
                multi: true,
                ops: vec![create("/a", 0), create("/a/e", 1), create("/c", 4)],
            },
        });
        assert_eq!(out.err, None);
        let copy = DataTree::from_snapshot(&t.snapshot()).unwrap();
        assert_eq!(copy.snapshot().len(), t.snapshot().len());
        assert_eq!(copy.node_count(), t.node_count());
        assert_eq!(copy.last_zxid(), 2);
        assert_eq!(copy.session(9).map(|s| s.ephemerals.len()), Some(1));
        assert_eq!(copy.containers().count(), 1);
        assert_eq!(
            copy.get("/a").map(|n| n.stat()),
            t.get("/a").map(|n| n.stat())
        );
        assert_eq!(copy.approximate_data_size(), t.approximate_data_size());
    }
}
