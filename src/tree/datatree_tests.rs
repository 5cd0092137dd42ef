//! The whole DataTree against a map of paths: lookups, child listings, counts, size accounting
//! and the session index stay consistent through creates, deletes, data changes and session
//! closes, whatever their order.

use std::collections::BTreeMap;

use bytes::Bytes;
use proptest::prelude::*;

use super::acl::open_acl;
use super::txn::{Op, Txn, TxnBody};
use super::{DataTree, path};
use crate::proto::opcode;

const S: i64 = 0x0100_0000_0000_0001;
const PATHS: [&str; 8] = [
    "/a", "/b", "/a/b", "/a/c", "/b/a", "/a/b/c", "/a/c/a", "/b/a/b",
];

#[derive(Debug, Clone)]
enum Step {
    Create(usize, bool, Option<Vec<u8>>),
    Delete(usize),
    Set(usize, Option<Vec<u8>>),
    CloseSession,
}

fn arb_data() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(prop::collection::vec(any::<u8>(), 0..6))
}

fn arb_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..PATHS.len(), any::<bool>(), arb_data()).prop_map(|(i, e, d)| Step::Create(i, e, d)),
        2 => (0..PATHS.len()).prop_map(Step::Delete),
        2 => (0..PATHS.len(), arb_data()).prop_map(|(i, d)| Step::Set(i, d)),
        1 => Just(Step::CloseSession),
    ]
}

/// What the model keeps per path: data and whether the test session owns it.
type Model = BTreeMap<String, (Option<Vec<u8>>, bool)>;

fn apply(t: &mut DataTree, body: TxnBody) -> Option<crate::proto::ErrorCode> {
    let zxid = t.last_zxid() + 1;
    t.apply(&Txn {
        zxid,
        time: zxid,
        body,
    })
    .err
}

fn op(t: &mut DataTree, op: Op) -> Option<crate::proto::ErrorCode> {
    apply(
        t,
        TxnBody::Ops {
            session: S,
            auth: vec![],
            multi: false,
            ops: vec![op],
        },
    )
}

fn open_session(t: &mut DataTree) {
    apply(
        t,
        TxnBody::CreateSession {
            session: S,
            timeout: 30_000,
            password: Bytes::from_static(&[0; 16]),
        },
    );
}

fn check(t: &DataTree, model: &Model) -> Result<(), TestCaseError> {
    // The four system nodes are there from the start.
    prop_assert_eq!(t.node_count(), model.len() + 4);
    let mut size = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"]
        .iter()
        .map(|p| p.len() as u64)
        .sum::<u64>();
    for p in PATHS {
        let node = t.get(p);
        prop_assert_eq!(node.is_some(), model.contains_key(p), "{}", p);
        let Some(node) = node else { continue };
        let (data, ephemeral) = &model[p];
        prop_assert_eq!(node.data(), data.as_deref());
        size += (p.len() + node.data_len()) as u64;
        prop_assert_eq!(node.stat().ephemeral_owner != 0, *ephemeral);
        let children: Vec<String> = model
            .keys()
            .filter(|c| path::parent(c) == p)
            .map(|c| path::name(c).to_string())
            .collect();
        prop_assert_eq!(node.num_children(), children.len());
        prop_assert_eq!(node.stat().num_children as usize, children.len());
        prop_assert_eq!(node.children(), children);
    }
    let root_children: Vec<String> = model
        .keys()
        .filter(|c| path::parent(c) == "/")
        .map(|c| path::name(c).to_string())
        .chain(["zookeeper".to_string()])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    prop_assert_eq!(t.get("/").map(|n| n.children()), Some(root_children));
    prop_assert_eq!(t.approximate_data_size(), size);
    prop_assert_eq!(t.descendant_count("/"), model.len() + 3);
    let owned: Vec<&String> = model.iter().filter(|(_, v)| v.1).map(|(k, _)| k).collect();
    let indexed: Vec<&String> = t
        .session(S)
        .map(|s| s.ephemerals.iter().collect())
        .unwrap_or_default();
    prop_assert_eq!(indexed, owned);
    Ok(())
}

proptest! {
    #[test]
    fn tree_matches_a_map_of_paths(steps in prop::collection::vec(arb_step(), 0..60)) {
        let mut t = DataTree::new();
        open_session(&mut t);
        let mut model = Model::new();
        for step in steps {
            match step {
                Step::Create(i, ephemeral, data) => {
                    let p = PATHS[i];
                    let parent = path::parent(p);
                    let err = op(&mut t, Op::Create {
                        opcode: opcode::CREATE,
                        path: p.into(),
                        data: data.clone().map(Bytes::from),
                        acl: open_acl(),
                        flags: i32::from(ephemeral),
                        ttl: -1,
                    });
                    let ok = !model.contains_key(p)
                        && (parent == "/" || model.get(parent).is_some_and(|v| !v.1));
                    prop_assert_eq!(err.is_none(), ok, "create {}", p);
                    if ok {
                        model.insert(p.to_string(), (data, ephemeral));
                    }
                }
                Step::Delete(i) => {
                    let p = PATHS[i];
                    let err = op(&mut t, Op::Delete { path: p.into(), version: -1 });
                    let ok = model.contains_key(p) && !model.keys().any(|c| path::parent(c) == p);
                    prop_assert_eq!(err.is_none(), ok, "delete {}", p);
                    if ok {
                        model.remove(p);
                    }
                }
                Step::Set(i, data) => {
                    let p = PATHS[i];
                    let err = op(&mut t, Op::SetData {
                        path: p.into(),
                        data: data.clone().map(Bytes::from),
                        version: -1,
                    });
                    prop_assert_eq!(err.is_none(), model.contains_key(p), "set {}", p);
                    if let Some(v) = model.get_mut(p) {
                        v.0 = data;
                    }
                }
                Step::CloseSession => {
                    apply(&mut t, TxnBody::CloseSession { session: S });
                    model.retain(|_, v| !v.1);
                    open_session(&mut t);
                }
            }
            check(&t, &model)?;
        }
    }
}
