//! ZooKeeper's check order, as clients observe it through error codes (facts read from
//! PrepRequestProcessor in ZooKeeper 3.9.5), and multi atomicity.

use bytes::Bytes;
use proptest::prelude::*;

use super::acl::{self, open_acl};
use super::txn::{Op, Txn, TxnBody};
use super::{DataTree, Outcome};
use crate::proto::records::{Acl, Id};
use crate::proto::{ErrorCode, opcode};

const S: i64 = 0x0100_0000_0000_0001;

fn tree() -> DataTree {
    let mut t = DataTree::new();
    t.apply(&Txn {
        zxid: 1,
        time: 1,
        body: TxnBody::CreateSession {
            session: S,
            timeout: 30_000,
            password: Bytes::from_static(&[0; 16]),
        },
    });
    t
}

fn run(t: &mut DataTree, multi: bool, ops: Vec<Op>) -> Outcome {
    let zxid = t.last_zxid() + 1;
    t.apply(&Txn {
        zxid,
        time: zxid * 10,
        body: TxnBody::Ops {
            session: S,
            auth: vec![Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into(),
            }],
            multi,
            ops,
        },
    })
}

fn create(path: &str, flags: i32, opcode: i32, acl: Vec<Acl>) -> Op {
    Op::Create {
        opcode,
        path: path.into(),
        data: Some(Bytes::from_static(b"d")),
        acl,
        flags,
        ttl: -1,
    }
}

fn one(t: &mut DataTree, op: Op) -> Option<ErrorCode> {
    run(t, false, vec![op]).err
}

#[test]
fn create_checks_in_zookeepers_order() {
    let mut t = tree();
    assert_eq!(
        one(&mut t, create("/", 0, opcode::CREATE, open_acl())),
        Some(ErrorCode::NODE_EXISTS)
    );
    // The parent is looked up before the final path is validated.
    assert_eq!(
        one(&mut t, create("/a/", 0, opcode::CREATE, open_acl())),
        Some(ErrorCode::NO_NODE)
    );
    assert_eq!(
        one(&mut t, create("/a", 0, opcode::CREATE, open_acl())),
        None
    );
    assert_eq!(
        one(&mut t, create("/a/", 0, opcode::CREATE, open_acl())),
        Some(ErrorCode::BAD_ARGUMENTS)
    );
    // Invalid ACLs are refused before the parent is looked up.
    assert_eq!(
        one(&mut t, create("/x/y", 0, opcode::CREATE, vec![])),
        Some(ErrorCode::INVALID_ACL)
    );
    assert_eq!(
        one(&mut t, create("/a", 9, opcode::CREATE, open_acl())),
        Some(ErrorCode::BAD_ARGUMENTS)
    );
    // TTL needs extendedTypesEnabled, then a ttl in range.
    assert_eq!(
        one(&mut t, create("/t", 5, opcode::CREATE_TTL, open_acl())),
        Some(ErrorCode::UNIMPLEMENTED)
    );
    t.extended_types = true;
    assert_eq!(
        one(&mut t, create("/t", 5, opcode::CREATE_TTL, open_acl())),
        Some(ErrorCode::BAD_ARGUMENTS)
    );
}

#[test]
fn only_the_container_opcode_makes_containers() {
    let mut t = tree();
    one(&mut t, create("/plain", 4, opcode::CREATE2, open_acl()));
    one(
        &mut t,
        create("/box", 4, opcode::CREATE_CONTAINER, open_acl()),
    );
    assert_eq!(
        t.containers().cloned().collect::<Vec<_>>(),
        vec!["/box".to_string()]
    );
}

#[test]
fn delete_checks_parent_acl_first_and_version_before_emptiness() {
    let mut t = tree();
    let no_delete = vec![Acl {
        perms: acl::ALL & !acl::DELETE,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }];
    one(&mut t, create("/p", 0, opcode::CREATE, no_delete));
    let del = |p: &str, v| Op::Delete {
        path: p.into(),
        version: v,
    };
    assert_eq!(one(&mut t, del("/p/missing", -1)), Some(ErrorCode::NO_AUTH));
    one(&mut t, create("/q", 0, opcode::CREATE, open_acl()));
    one(&mut t, create("/q/c", 0, opcode::CREATE, open_acl()));
    assert_eq!(one(&mut t, del("/q", 5)), Some(ErrorCode::BAD_VERSION));
    assert_eq!(one(&mut t, del("/q", 0)), Some(ErrorCode::NOT_EMPTY));
    assert_eq!(
        one(&mut t, del("/zookeeper/quota", -1)),
        Some(ErrorCode::BAD_ARGUMENTS)
    );
}

#[test]
fn set_acl_validates_the_list_before_the_node() {
    let mut t = tree();
    let op = Op::SetAcl {
        path: "/missing".into(),
        acl: vec![],
        version: -1,
    };
    assert_eq!(one(&mut t, op), Some(ErrorCode::INVALID_ACL));
}

#[test]
fn sequential_counter_sticks_at_the_maximum() {
    let mut t = tree();
    one(&mut t, create("/s", 0, opcode::CREATE, open_acl()));
    if let Some(n) = t.get_mut("/s") {
        n.stat.cversion = i32::MAX;
    }
    let out = run(
        &mut t,
        false,
        vec![create("/s/n-", 2, opcode::CREATE, open_acl())],
    );
    assert!(
        matches!(&out.results[0], Ok(super::OpOk::Created { path, .. }) if path == "/s/n-2147483647")
    );
    // The next one gets the same name, hence NODEEXISTS, as in ZooKeeper.
    assert_eq!(
        one(&mut t, create("/s/n-", 2, opcode::CREATE, open_acl())),
        Some(ErrorCode::NODE_EXISTS)
    );
}

#[test]
fn failed_multi_reports_zookeepers_layout_and_no_events() {
    let mut t = tree();
    let out = run(
        &mut t,
        true,
        vec![
            create("/m", 0, opcode::CREATE, open_acl()),
            Op::Check {
                path: "/m".into(),
                version: 3,
            },
            create("/n", 0, opcode::CREATE, open_acl()),
        ],
    );
    assert_eq!(out.err, None, "a failed multi answers OK in its header");
    assert_eq!(
        out.results,
        vec![
            Err(ErrorCode::OK),
            Err(ErrorCode::BAD_VERSION),
            Err(ErrorCode::RUNTIME_INCONSISTENCY)
        ]
    );
    assert!(out.events.is_empty());
    assert!(t.get("/m").is_none());
}

fn arb_op() -> impl Strategy<Value = Op> {
    let path = prop::sample::select(vec!["/a", "/a/b", "/c", "/a/b/d", "/c/e"]);
    prop_oneof![
        (path.clone(), 0..4i32).prop_map(|(p, f)| create(p, f, opcode::CREATE2, open_acl())),
        (path.clone(), -1..2i32).prop_map(|(p, v)| Op::Delete {
            path: p.into(),
            version: v
        }),
        (path.clone(), -1..2i32).prop_map(|(p, v)| Op::SetData {
            path: p.into(),
            data: Some(Bytes::from_static(b"z")),
            version: v
        }),
        (path, -1..2i32).prop_map(|(p, v)| Op::Check {
            path: p.into(),
            version: v
        }),
    ]
}

proptest! {
    /// Whatever a multi contains, it either applies entirely or leaves no trace.
    #[test]
    fn multi_is_all_or_nothing(setup in prop::collection::vec(arb_op(), 0..8), ops in prop::collection::vec(arb_op(), 1..6)) {
        let mut t = tree();
        for op in setup {
            run(&mut t, false, vec![op]);
        }
        let before = t.snapshot();
        let (count, size) = (t.node_count(), t.approximate_data_size());
        let out = run(&mut t, true, ops.clone());
        if out.results.iter().any(|r| r.is_err()) {
            prop_assert_eq!(t.node_count(), count);
            prop_assert_eq!(t.approximate_data_size(), size);
            let after = DataTree::from_snapshot(&t.snapshot()).unwrap();
            let restored = DataTree::from_snapshot(&before).unwrap();
            for p in ["/", "/a", "/a/b", "/c", "/a/b/d", "/c/e"] {
                prop_assert_eq!(after.get(p).map(|n| (n.stat(), n.data().map(<[u8]>::to_vec))), restored.get(p).map(|n| (n.stat(), n.data().map(<[u8]>::to_vec))));
            }
        } else {
            prop_assert_eq!(out.results.len(), ops.len());
        }
    }

    /// Loading a snapshot and writing it again gives the same bytes, so members that load
    /// the same snapshot stay byte-identical, and the loaded tree answers like the original.
    #[test]
    fn snapshot_round_trip_is_byte_identical(ops in prop::collection::vec(arb_op(), 0..20)) {
        let mut t = tree();
        for op in ops {
            run(&mut t, false, vec![op]);
        }
        let bytes = t.snapshot();
        let copy = DataTree::from_snapshot(&bytes).unwrap();
        prop_assert_eq!(copy.snapshot(), bytes);
        prop_assert_eq!(copy.node_count(), t.node_count());
        prop_assert_eq!(copy.approximate_data_size(), t.approximate_data_size());
        for p in ["/", "/a", "/a/b", "/c", "/a/b/d", "/c/e", "/zookeeper/config"] {
            prop_assert_eq!(
                copy.get(p).map(|n| (n.stat(), n.data().map(<[u8]>::to_vec), n.children(), n.acl().to_vec())),
                t.get(p).map(|n| (n.stat(), n.data().map(<[u8]>::to_vec), n.children(), n.acl().to_vec()))
            );
        }
    }
}
