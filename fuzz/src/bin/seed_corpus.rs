//! Writes a small seed corpus of valid encodings into fuzz/corpus/<target>/, so the fuzzers
//! start from real frames instead of discovering the format byte by byte:
//!
//!     cargo run --bin seed_corpus            (from fuzz/)
//!
//! The corpus directory is not committed; rerun this after a format change.

use std::path::Path;

use bytes::Bytes;
use zk::proto::frame::with_length;
use zk::proto::jute::{Record, Writer, encode};
use zk::proto::opcode as op;
use zk::proto::records::*;
use zk::tree::{DataTree, Op, Txn, TxnBody};

fn open_acl() -> Vec<Acl> {
    vec![Acl { perms: 31, id: Id { scheme: "world".into(), id: "anyone".into() } }]
}

fn create(path: &str, flags: i32) -> CreateRequest {
    CreateRequest { path: path.into(), data: Some(Bytes::from_static(b"data")), acl: open_acl(), flags }
}

fn multi(ops: &[(i32, Vec<u8>)]) -> Vec<u8> {
    let mut w = Writer::new();
    for (code, body) in ops {
        MultiHeader { op: *code, done: false, err: -1 }.write(&mut w);
        w.buf.extend_from_slice(body);
    }
    MultiHeader { op: -1, done: true, err: -1 }.write(&mut w);
    w.buf
}

/// Request bodies by opcode.
fn bodies() -> Vec<(i32, Vec<u8>)> {
    let pw = |path: &str| encode(&PathWatchRequest { path: path.into(), watch: true });
    let path = |p: &str| encode(&PathRequest { path: p.into() });
    let names = vec!["/a".to_string(), "/b/c".to_string()];
    vec![
        (op::CREATE, encode(&create("/a", 0))),
        (op::CREATE2, encode(&create("/a/s-", 3))),
        (op::CREATE_CONTAINER, encode(&create("/c", 4))),
        (
            op::CREATE_TTL,
            encode(&CreateTtlRequest { path: "/t".into(), data: None, acl: open_acl(), flags: 5, ttl: 1000 }),
        ),
        (op::DELETE, encode(&DeleteRequest { path: "/a".into(), version: -1 })),
        (op::EXISTS, pw("/a")),
        (op::GET_DATA, pw("/a")),
        (op::SET_DATA, encode(&SetDataRequest { path: "/a".into(), data: Some(Bytes::from_static(b"x")), version: 3 })),
        (op::GET_ACL, path("/a")),
        (op::SET_ACL, encode(&SetAclRequest { path: "/a".into(), acl: open_acl(), version: 0 })),
        (op::GET_CHILDREN, pw("/")),
        (op::GET_CHILDREN2, pw("/")),
        (op::SYNC, path("/")),
        (op::PING, vec![]),
        (op::CHECK, encode(&CheckVersionRequest { path: "/a".into(), version: 1 })),
        (
            op::MULTI,
            multi(&[
                (op::CREATE, encode(&create("/m", 0))),
                (op::CHECK, encode(&CheckVersionRequest { path: "/m".into(), version: 0 })),
                (op::SET_DATA, encode(&SetDataRequest { path: "/m".into(), data: None, version: -1 })),
                (op::DELETE, encode(&DeleteRequest { path: "/m".into(), version: -1 })),
            ]),
        ),
        (op::MULTI_READ, multi(&[(op::GET_DATA, pw("/a")), (op::GET_CHILDREN, pw("/"))])),
        (
            op::RECONFIG,
            encode(&ReconfigRequest {
                joining_servers: "server.2=127.0.0.2:2888:3888;2181".into(),
                leaving_servers: "3".into(),
                new_members: String::new(),
                cur_config_id: -1,
            }),
        ),
        (op::CHECK_WATCHES, encode(&WatchesRequest { path: "/a".into(), watcher_type: 3 })),
        (op::REMOVE_WATCHES, encode(&WatchesRequest { path: "/a".into(), watcher_type: 1 })),
        (op::AUTH, encode(&AuthPacket { auth_type: 0, scheme: "digest".into(), auth: Some(Bytes::from_static(b"u:p")) })),
        (
            op::SET_WATCHES,
            encode(&SetWatches {
                relative_zxid: 5,
                data_watches: names.clone(),
                exist_watches: names.clone(),
                child_watches: names.clone(),
            }),
        ),
        (
            op::SET_WATCHES2,
            encode(&SetWatches2 {
                relative_zxid: 5,
                data_watches: names.clone(),
                exist_watches: vec![],
                child_watches: names.clone(),
                persistent_watches: names.clone(),
                persistent_recursive_watches: names,
            }),
        ),
        (op::SASL, encode(&SaslRequest { token: Some(Bytes::from_static(b"token")) })),
        (op::GET_EPHEMERALS, path("/")),
        (op::GET_ALL_CHILDREN_NUMBER, path("/")),
        (op::ADD_WATCH, encode(&AddWatchRequest { path: "/a".into(), mode: 1 })),
        (op::WHO_AM_I, vec![]),
        (op::CLOSE_SESSION, vec![]),
    ]
}

fn connect(readonly: bool) -> Vec<u8> {
    let mut w = Writer::new();
    ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 7,
        time_out: 30000,
        session_id: 0x0100_0000_0000_0001,
        passwd: Some(Bytes::from_static(&[9; 16])),
    }
    .write(&mut w);
    if readonly {
        w.bool(false);
    }
    w.buf
}

fn txns() -> Vec<Txn> {
    let ops = vec![
        Op::Create {
            opcode: op::CREATE2,
            path: "/a".into(),
            data: Some(Bytes::from_static(b"v")),
            acl: open_acl(),
            flags: 0,
            ttl: -1,
        },
        Op::SetData { path: "/a".into(), data: None, version: -1 },
        Op::SetAcl { path: "/a".into(), acl: open_acl(), version: 0 },
        Op::Check { path: "/a".into(), version: 2 },
        Op::Delete { path: "/a".into(), version: -1 },
    ];
    let auth = vec![Id { scheme: "ip".into(), id: "127.0.0.1".into() }];
    [
        TxnBody::CreateSession { session: 7, timeout: 4000, password: Bytes::from_static(&[1; 16]) },
        TxnBody::Ops { session: 7, auth, multi: true, ops },
        TxnBody::Reap { path: "/c".into() },
        TxnBody::CloseSession { session: 7 },
    ]
    .into_iter()
    .enumerate()
    .map(|(i, body)| Txn { zxid: i as i64 + 1, time: 1_700_000_000_000, body })
    .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).expect("corpus dir");
    std::fs::write(dir.join(name), bytes).expect("corpus file");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut n = 0;
    let mut put = |target: &str, name: String, bytes: &[u8]| {
        write(&root.join(target), &name, bytes);
        n += 1;
    };

    for (i, (code, body)) in bodies().into_iter().enumerate() {
        let mut packet = encode(&RequestHeader { xid: i as i32 + 1, op: code });
        packet.extend_from_slice(&body);
        put("decode_request", format!("op{code}"), &packet);
        put("frame", format!("op{code}"), &with_length(&packet));
    }
    let mut session = with_length(&connect(true));
    for w in [b"ruok", b"mntr"] {
        put("frame", format!("{}", String::from_utf8_lossy(w)), w);
    }
    session.extend_from_slice(&with_length(&encode(&RequestHeader { xid: -2, op: op::PING })));
    put("frame", "session".into(), &session);
    put("connect_request", "with_readonly".into(), &connect(true));
    put("connect_request", "without_readonly".into(), &connect(false));

    let mut tree = DataTree::new();
    for (i, t) in txns().into_iter().enumerate() {
        put("txn", format!("txn{i}"), &t.encode());
        tree.apply(&t);
        put("snapshot", format!("after{i}"), &tree.snapshot());
    }
    println!("wrote {n} seed inputs under {}", root.display());
}
