//! Bad input on the client port, sent over a raw TCP socket to the real server: oversize and
//! negative frame lengths, garbage headers, malformed bodies, unknown opcodes, odd handshakes,
//! connection limits, half frames, notification ordering and session expiry. Frames are built
//! with the crate's own proto encoders; bystanders are zookeeper-client sessions, an
//! independent client implementation. Every assertion is about what a client can observe.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Server, client};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use zk::proto::ErrorCode;
use zk::proto::frame::{DEFAULT_MAX_BUFFER, next_frame, with_length};
use zk::proto::jute::{Reader, Record, Writer, decode, encode};
use zk::proto::opcode as op;
use zk::proto::records::*;
use zk::proto::request::decode_request;
use zookeeper_client::{Acls, CreateMode, SessionState};

/// How long a test waits for something the server should do promptly.
const PROMPT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// A raw client: bytes in, bytes out, no protocol smarts.

/// What became of a read.
#[derive(Debug, PartialEq, Eq)]
enum Got {
    /// One whole frame body (without its length prefix).
    Frame(Vec<u8>),
    /// The server closed the connection (EOF or reset).
    Closed,
}

struct Raw {
    s: TcpStream,
}

impl Raw {
    async fn connect(server: &Server) -> Raw {
        let s = TcpStream::connect(server.addr())
            .await
            .expect("tcp connect");
        s.set_nodelay(true).expect("nodelay");
        Raw { s }
    }

    /// Writes bytes; a failure means the server already closed the socket, which callers check
    /// by reading.
    async fn send(&mut self, bytes: &[u8]) {
        let _ = self.s.write_all(bytes).await;
    }

    async fn send_frame(&mut self, body: &[u8]) {
        self.send(&with_length(body)).await;
    }

    /// Reads one frame, or observes the close; panics if neither happens within `PROMPT`.
    async fn read(&mut self) -> Got {
        match timeout(PROMPT, self.read_inner()).await {
            Ok(g) => g,
            Err(_) => panic!("no frame and no close within {PROMPT:?}"),
        }
    }

    async fn read_inner(&mut self) -> Got {
        let mut len = [0u8; 4];
        if self.s.read_exact(&mut len).await.is_err() {
            return Got::Closed;
        }
        let len = i32::from_be_bytes(len);
        assert!(len >= 0, "server sent a negative frame length {len}");
        let mut body = vec![0u8; len as usize];
        if self.s.read_exact(&mut body).await.is_err() {
            panic!("server closed in the middle of a {len}-byte frame");
        }
        Got::Frame(body)
    }

    /// Asserts that the server closes the connection without sending anything more.
    async fn expect_closed(&mut self, why: &str) {
        match self.read().await {
            Got::Closed => {}
            Got::Frame(f) => panic!(
                "{why}: expected the server to close, got a {}-byte frame",
                f.len()
            ),
        }
    }

    /// Sends a ConnectRequest; `readonly` appends the optional trailing byte.
    async fn send_connect(
        &mut self,
        session_id: i64,
        passwd: &[u8],
        last_zxid_seen: i64,
        time_out: i32,
        readonly: bool,
    ) {
        let mut w = Writer::new();
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen,
            time_out,
            session_id,
            passwd: Some(Bytes::copy_from_slice(passwd)),
        }
        .write(&mut w);
        if readonly {
            w.bool(false);
        }
        self.send_frame(&w.buf).await;
    }

    /// Reads a ConnectResponse; returns it and the raw body length (36 or 37).
    async fn read_connect_response(&mut self) -> (ConnectResponse, usize) {
        match self.read().await {
            Got::Frame(body) => {
                let r = decode::<ConnectResponse>(&body).expect("a ConnectResponse");
                (r, body.len())
            }
            Got::Closed => panic!("closed instead of answering the handshake"),
        }
    }

    /// A new session with the default (readOnly-byte) handshake.
    async fn session(server: &Server, time_out: i32) -> (Raw, ConnectResponse) {
        let mut raw = Raw::connect(server).await;
        raw.send_connect(0, &[0; 16], 0, time_out, true).await;
        let (resp, _) = raw.read_connect_response().await;
        assert!(
            resp.session_id != 0 && resp.time_out > 0,
            "session refused: {resp:?}"
        );
        (raw, resp)
    }

    /// Sends `RequestHeader{xid, op}` followed by `body`.
    async fn request(&mut self, xid: i32, opcode: i32, body: &[u8]) {
        let mut w = Writer::new();
        RequestHeader { xid, op: opcode }.write(&mut w);
        w.buf.extend_from_slice(body);
        self.send_frame(&w.buf).await;
    }

    /// Reads one reply: its header and the bytes after it.
    async fn reply(&mut self) -> (ReplyHeader, Vec<u8>) {
        match self.read().await {
            Got::Frame(body) => split_reply(&body),
            Got::Closed => panic!("connection closed while a reply was expected"),
        }
    }

    /// getData without a watch; returns the reply header and, on success, data and stat.
    async fn get_data(&mut self, xid: i32, path: &str) -> (ReplyHeader, Option<GetDataResponse>) {
        self.request(
            xid,
            op::GET_DATA,
            &encode(&PathWatchRequest {
                path: path.into(),
                watch: false,
            }),
        )
        .await;
        let (h, rest) = self.reply().await;
        let body = (h.err == 0).then(|| decode::<GetDataResponse>(&rest).expect("GetDataResponse"));
        (h, body)
    }
}

fn split_reply(body: &[u8]) -> (ReplyHeader, Vec<u8>) {
    let mut r = Reader::new(body);
    let h = ReplyHeader::read(&mut r).expect("a ReplyHeader");
    (h, body[body.len() - r.remaining()..].to_vec())
}

fn create_body(path: &str, data: &[u8], flags: i32) -> Vec<u8> {
    encode(&CreateRequest {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data)),
        acl: vec![Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }],
        flags,
    })
}

fn persistent() -> zookeeper_client::CreateOptions<'static> {
    CreateMode::Persistent.with_acls(Acls::anyone_all())
}

/// A bystander session with a node it owns; `check_bystander` proves both survived.
async fn bystander(s: &Server, path: &str) -> zookeeper_client::Client {
    let c = client(s).await;
    c.create(path, b"intact", &persistent())
        .await
        .expect("bystander create");
    c
}

async fn check_bystander(c: &zookeeper_client::Client, path: &str) {
    assert_eq!(c.state(), SessionState::SyncConnected);
    let (data, stat) = c.get_data(path).await.expect("bystander read");
    assert_eq!(data, b"intact");
    let stat2 = c
        .set_data(path, b"intact", Some(stat.version))
        .await
        .expect("bystander write");
    assert_eq!(stat2.version, stat.version + 1);
}

/// Polls `f` until it returns true or `PROMPT` runs out.
async fn eventually<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + PROMPT;
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

// ---------------------------------------------------------------------------------------------
// (a) oversize frames

#[tokio::test]
async fn oversize_frame_closes_only_that_connection() {
    let s = Server::start();
    let c = bystander(&s, "/keep").await;
    let (mut victim, _) = Raw::session(&s, 4000).await;
    let (mut neighbour, _) = Raw::session(&s, 4000).await;

    // One byte over jute.maxbuffer, after the handshake: the header alone is enough to refuse.
    victim
        .send(&((DEFAULT_MAX_BUFFER + 1) as i32).to_be_bytes())
        .await;
    victim.send(&[0u8; 64]).await;
    victim
        .expect_closed("oversize frame after the handshake")
        .await;

    // The same as the very first frame (in place of a ConnectRequest).
    let mut first = Raw::connect(&s).await;
    first.send(&i32::MAX.to_be_bytes()).await;
    first.expect_closed("oversize first frame").await;

    check_bystander(&c, "/keep").await;
    let (h, d) = neighbour.get_data(7, "/keep").await;
    assert_eq!((h.xid, h.err), (7, 0));
    assert_eq!(d.and_then(|d| d.data).as_deref(), Some(&b"intact"[..]));
}

#[tokio::test]
async fn configured_jute_maxbuffer_is_the_limit() {
    const MAX: usize = 1000;
    let s = Server::start_with(&["jute.maxbuffer=1000"]);
    let c = bystander(&s, "/keep").await;
    let (mut raw, _) = Raw::session(&s, 4000).await;
    raw.request(1, op::CREATE, &create_body("/big", b"", 0))
        .await;
    assert_eq!(raw.reply().await.0.err, 0);

    // A setData whose frame is exactly MAX bytes is served...
    let fixed = 8 + encode(&SetDataRequest {
        path: "/big".into(),
        data: Some(Bytes::new()),
        version: -1,
    })
    .len();
    let data = vec![b'x'; MAX - fixed];
    let body = encode(&SetDataRequest {
        path: "/big".into(),
        data: Some(Bytes::from(data.clone())),
        version: -1,
    });
    raw.request(2, op::SET_DATA, &body).await;
    let (h, _) = raw.reply().await;
    assert_eq!((h.xid, h.err), (2, 0));
    let (_, d) = raw.get_data(3, "/big").await;
    assert_eq!(d.and_then(|d| d.data).map(|b| b.len()), Some(data.len()));

    // ...and one byte more closes the connection.
    let body = encode(&SetDataRequest {
        path: "/big".into(),
        data: Some(Bytes::from(vec![b'y'; data.len() + 1])),
        version: -1,
    });
    raw.request(4, op::SET_DATA, &body).await;
    raw.expect_closed("frame one byte over the configured jute.maxbuffer")
        .await;

    check_bystander(&c, "/keep").await;
    let (data_now, _) = c.get_data("/big").await.unwrap();
    assert_eq!(
        data_now, data,
        "the refused setData must not have been applied"
    );
}

// ---------------------------------------------------------------------------------------------
// (b) negative lengths, (c) garbage headers, (j) half frames

#[tokio::test]
async fn negative_length_closes_the_connection() {
    let s = Server::start();
    let c = bystander(&s, "/keep").await;

    let mut before_handshake = Raw::connect(&s).await;
    before_handshake.send(&(-1i32).to_be_bytes()).await;
    before_handshake
        .expect_closed("negative length as the first frame")
        .await;

    for len in [-1i32, -2, i32::MIN] {
        let (mut raw, _) = Raw::session(&s, 4000).await;
        raw.send(&len.to_be_bytes()).await;
        raw.expect_closed("negative length after the handshake")
            .await;
    }
    check_bystander(&c, "/keep").await;
}

#[tokio::test]
async fn garbage_header_after_handshake_closes_only_that_connection() {
    let s = Server::start();
    let c = bystander(&s, "/keep").await;
    let (mut neighbour, _) = Raw::session(&s, 4000).await;
    // Frames too short to hold a RequestHeader (xid + type = 8 bytes).
    for garbage in [&b""[..], &b"\x01"[..], &b"\xde\xad\xbe\xef\x00\x01\x02"[..]] {
        let (mut raw, _) = Raw::session(&s, 4000).await;
        raw.send_frame(garbage).await;
        raw.expect_closed("a frame shorter than a RequestHeader")
            .await;
    }
    check_bystander(&c, "/keep").await;
    let (h, _) = neighbour.get_data(1, "/keep").await;
    assert_eq!((h.xid, h.err), (1, 0));
}

#[tokio::test]
async fn half_a_frame_then_disconnect_disturbs_no_one() {
    let s = Server::start();
    let c = bystander(&s, "/keep").await;
    let (mut neighbour, _) = Raw::session(&s, 4000).await;

    // Half a ConnectRequest.
    let mut raw = Raw::connect(&s).await;
    raw.send(&45i32.to_be_bytes()).await;
    raw.send(&[0u8; 20]).await;
    drop(raw);

    // Half a request after a handshake, from a session that also owns an ephemeral.
    let (mut raw, _) = Raw::session(&s, 4000).await;
    raw.request(1, op::CREATE, &create_body("/half-eph", b"", 1))
        .await;
    assert_eq!(raw.reply().await.0.err, 0);
    let full = {
        let mut w = Writer::new();
        RequestHeader {
            xid: 2,
            op: op::SET_DATA,
        }
        .write(&mut w);
        SetDataRequest {
            path: "/keep".into(),
            data: Some(Bytes::from_static(b"clobbered")),
            version: -1,
        }
        .write(&mut w);
        with_length(&w.buf)
    };
    raw.send(&full[..full.len() / 2]).await;
    drop(raw);

    // Half a length prefix.
    let (mut raw, _) = Raw::session(&s, 4000).await;
    raw.send(&[0, 0]).await;
    drop(raw);

    sleep(Duration::from_millis(200)).await;
    check_bystander(&c, "/keep").await;
    let (h, d) = neighbour.get_data(3, "/keep").await;
    assert_eq!((h.xid, h.err), (3, 0));
    assert_ne!(d.and_then(|d| d.data).as_deref(), Some(&b"clobbered"[..]));
    assert_eq!(common::four_letter(s.port, "ruok").unwrap(), "imok");
}

// ---------------------------------------------------------------------------------------------
// (d) malformed bodies, (e) unknown opcodes

#[tokio::test]
async fn malformed_body_gets_marshalling_error_and_the_session_goes_on() {
    let s = Server::start();
    let c = bystander(&s, "/keep").await;
    let (mut raw, hello) = Raw::session(&s, 4000).await;

    let truncated_string = {
        let mut w = Writer::new();
        w.i32(100); // claims a 100-byte path
        w.buf.extend_from_slice(b"/k");
        w.buf
    };
    let cases: Vec<(i32, Vec<u8>)> = vec![
        (op::GET_DATA, truncated_string.clone()),
        (op::GET_DATA, vec![]),
        (op::CREATE, truncated_string),
        (op::SET_DATA, {
            let mut w = Writer::new();
            w.string("/keep");
            w.i32(-7); // a negative buffer length other than -1 (null)
            w.buf
        }),
        (op::EXISTS, {
            let mut w = Writer::new();
            w.i32(2);
            w.buf.extend_from_slice(&[0xff, 0xfe]); // not UTF-8
            w.bool(false);
            w.buf
        }),
        (op::MULTI, {
            let mut w = Writer::new();
            MultiHeader {
                op: 999,
                done: false,
                err: -1,
            }
            .write(&mut w);
            w.buf
        }),
        (op::SET_ACL, {
            let mut w = Writer::new();
            w.string("/keep");
            w.i32(i32::MAX); // an ACL vector count no frame could hold
            w.buf
        }),
    ];
    for (i, (opcode, body)) in cases.into_iter().enumerate() {
        let xid = 100 + i as i32;
        raw.request(xid, opcode, &body).await;
        let (h, rest) = raw.reply().await;
        assert_eq!(
            (h.xid, h.err),
            (xid, ErrorCode::MARSHALLING_ERROR.0),
            "opcode {opcode}"
        );
        assert!(rest.is_empty());
        // The session is still usable on the same connection.
        let (h, d) = raw.get_data(xid + 1000, "/keep").await;
        assert_eq!((h.xid, h.err), (xid + 1000, 0));
        assert_eq!(d.and_then(|d| d.data).as_deref(), Some(&b"intact"[..]));
    }
    // Nothing was changed by the malformed writes.
    let (data, stat) = c.get_data("/keep").await.unwrap();
    assert_eq!((data.as_slice(), stat.version), (&b"intact"[..], 0));
    // And the session is alive on the server side too: a write under it works.
    raw.request(5000, op::CREATE, &create_body("/after-malformed", b"", 1))
        .await;
    let (h, _) = raw.reply().await;
    assert_eq!((h.xid, h.err), (5000, 0));
    let owner = c
        .check_stat("/after-malformed")
        .await
        .unwrap()
        .map(|s| s.ephemeral_owner);
    assert_eq!(owner, Some(hello.session_id));
}

#[tokio::test]
async fn unknown_opcode_and_top_level_check_are_unimplemented_and_keep_the_session() {
    let s = Server::start();
    let c = bystander(&s, "/keep").await;
    let (mut raw, _) = Raw::session(&s, 4000).await;
    let check = encode(&CheckVersionRequest {
        path: "/keep".into(),
        version: 0,
    });
    let cases: Vec<(i32, i32, Vec<u8>)> = vec![
        (11, 999, vec![]),
        (12, 999, b"whatever the body".to_vec()),
        (13, op::CHECK, check),
        (14, -12345, vec![1, 2, 3]),
    ];
    for (xid, opcode, body) in cases {
        raw.request(xid, opcode, &body).await;
        let (h, rest) = raw.reply().await;
        assert_eq!(
            (h.xid, h.err),
            (xid, ErrorCode::UNIMPLEMENTED.0),
            "opcode {opcode}"
        );
        assert!(rest.is_empty());
        let (h, d) = raw.get_data(xid + 100, "/keep").await;
        assert_eq!(
            (h.xid, h.err),
            (xid + 100, 0),
            "getData after opcode {opcode}"
        );
        assert_eq!(d.and_then(|d| d.data).as_deref(), Some(&b"intact"[..]));
    }
    check_bystander(&c, "/keep").await;
}

// ---------------------------------------------------------------------------------------------
// (f), (g), (h): handshakes

#[tokio::test]
async fn connect_response_mirrors_the_optional_readonly_byte() {
    let s = Server::start();
    let mut old = Raw::connect(&s).await;
    old.send_connect(0, &[0; 16], 0, 4000, false).await;
    let (resp, len) = old.read_connect_response().await;
    assert_eq!(
        len, 36,
        "a client without the readOnly byte gets a 36-byte ConnectResponse"
    );
    assert!(resp.session_id != 0);
    assert_eq!(resp.passwd.as_ref().map(|p| p.len()), Some(16));

    let mut new = Raw::connect(&s).await;
    new.send_connect(0, &[0; 16], 0, 4000, true).await;
    let (resp2, len) = new.read_connect_response().await;
    assert_eq!(
        len, 37,
        "a client with the readOnly byte gets a 37-byte ConnectResponse"
    );
    assert_ne!(resp2.session_id, resp.session_id);

    // Both sessions work.
    for (i, raw) in [&mut old, &mut new].into_iter().enumerate() {
        let (h, _) = raw.get_data(i as i32 + 1, "/").await;
        assert_eq!(h.err, 0);
    }
}

#[tokio::test]
async fn connect_ahead_of_the_server_is_closed_without_a_response() {
    let s = Server::start();
    let c = bystander(&s, "/keep").await;
    let (_, stat) = c.get_data("/keep").await.unwrap();
    for ahead in [stat.mzxid + 1000, i64::MAX] {
        let mut raw = Raw::connect(&s).await;
        raw.send_connect(0, &[0; 16], ahead, 4000, true).await;
        raw.expect_closed("lastZxidSeen ahead of the server").await;
    }
    // A client exactly at the server's zxid is welcome.
    let mut raw = Raw::connect(&s).await;
    raw.send_connect(0, &[0; 16], stat.mzxid, 4000, true).await;
    let (resp, _) = raw.read_connect_response().await;
    assert!(resp.session_id != 0 && resp.time_out > 0);
    check_bystander(&c, "/keep").await;
}

#[tokio::test]
async fn wrong_password_is_refused_and_the_owner_keeps_its_connection() {
    let s = Server::start();

    // A raw owner: same socket before and after.
    let (mut owner, hello) = Raw::session(&s, 4000).await;
    let mut wrong = hello.passwd.clone().unwrap().to_vec();
    wrong[0] ^= 0xff;
    for passwd in [wrong.clone(), vec![], vec![0; 16]] {
        let mut thief = Raw::connect(&s).await;
        thief
            .send_connect(hello.session_id, &passwd, 0, 4000, true)
            .await;
        let (resp, len) = thief.read_connect_response().await;
        assert_eq!((resp.time_out, resp.session_id), (0, 0));
        assert_eq!(len, 37);
        thief.expect_closed("after refusing a wrong password").await;
    }
    let (h, d) = owner.get_data(1, "/").await;
    assert_eq!((h.xid, h.err), (1, 0));
    assert!(d.is_some());

    // A zookeeper-client owner does not even see a disconnect.
    let c = bystander(&s, "/keep").await;
    let mut states = c.state_watcher();
    let mut thief = Raw::connect(&s).await;
    thief
        .send_connect(c.session_id().0, &[7; 16], 0, 4000, false)
        .await;
    let (resp, len) = thief.read_connect_response().await;
    assert_eq!((resp.time_out, resp.session_id, len), (0, 0, 36));
    thief.expect_closed("after refusing a wrong password").await;
    check_bystander(&c, "/keep").await;
    assert!(
        timeout(Duration::from_millis(500), states.changed())
            .await
            .is_err(),
        "the owner's session state changed"
    );

    // The right password does take the session over (the old connection is closed).
    let mut heir = Raw::connect(&s).await;
    heir.send_connect(
        hello.session_id,
        hello.passwd.as_deref().unwrap(),
        0,
        4000,
        true,
    )
    .await;
    let (resp, _) = heir.read_connect_response().await;
    assert_eq!(resp.session_id, hello.session_id);
    owner
        .expect_closed("a reconnect with the right password moves the session")
        .await;
    let (h, _) = heir.get_data(2, "/").await;
    assert_eq!((h.xid, h.err), (2, 0));
}

// ---------------------------------------------------------------------------------------------
// (i) maxClientCnxns

#[tokio::test]
async fn max_client_cnxns_refuses_the_connection_over_the_limit() {
    const N: usize = 3;
    let s = Server::start_with(&["maxClientCnxns=3"]);
    let mut admitted = Vec::new();
    for _ in 0..N {
        admitted.push(Raw::session(&s, 4000).await.0);
    }
    let mut extra = Raw::connect(&s).await;
    extra.send_connect(0, &[0; 16], 0, 4000, true).await;
    extra
        .expect_closed("connection N+1 from the same address")
        .await;
    for (i, raw) in admitted.iter_mut().enumerate() {
        let (h, _) = raw.get_data(i as i32, "/").await;
        assert_eq!((h.xid, h.err), (i as i32, 0));
    }
    // Closing one frees its slot.
    drop(admitted.pop());
    let port = s.port;
    eventually("a freed slot admits a new connection", || async move {
        let Ok(st) = TcpStream::connect(("127.0.0.1", port)).await else {
            return false;
        };
        let mut raw = Raw { s: st };
        raw.send_connect(0, &[0; 16], 0, 4000, true).await;
        matches!(raw.read().await, Got::Frame(_))
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// (k) notification before the reply that caused it

#[tokio::test]
async fn watch_notification_precedes_the_set_data_reply() {
    let s = Server::start();
    let (mut raw, _) = Raw::session(&s, 4000).await;
    raw.request(1, op::CREATE, &create_body("/w", b"v0", 0))
        .await;
    assert_eq!(raw.reply().await.0.err, 0);
    raw.request(
        2,
        op::GET_DATA,
        &encode(&PathWatchRequest {
            path: "/w".into(),
            watch: true,
        }),
    )
    .await;
    assert_eq!(raw.reply().await.0.err, 0);
    let set = SetDataRequest {
        path: "/w".into(),
        data: Some(Bytes::from_static(b"v1")),
        version: -1,
    };
    raw.request(3, op::SET_DATA, &encode(&set)).await;

    let (first, event) = raw.reply().await;
    assert_eq!(
        first.xid,
        op::NOTIFICATION_XID,
        "the notification must come before the setData reply"
    );
    let event = decode::<WatcherEvent>(&event).unwrap();
    assert_eq!(
        (event.event_type, event.state, event.path.as_str()),
        (3, 3, "/w")
    );

    let (second, body) = raw.reply().await;
    assert_eq!((second.xid, second.err), (3, 0));
    let stat = decode::<StatResponse>(&body).unwrap().stat;
    assert_eq!(
        first.zxid, second.zxid,
        "the notification carries the zxid of the change"
    );
    assert_eq!(first.zxid, stat.mzxid);
    // One-shot: a second change fires nothing.
    raw.request(4, op::SET_DATA, &encode(&set)).await;
    assert_eq!(raw.reply().await.0.xid, 4);
}

// ---------------------------------------------------------------------------------------------
// (l) session expiry

#[tokio::test]
async fn silent_session_expires_and_cannot_be_resumed() {
    let s = Server::start();
    let c = client(&s).await;
    // tickTime=200: the server clamps to [400, 4000] ms.
    let (mut raw, hello) = Raw::session(&s, 1).await;
    assert_eq!(hello.time_out, 400);
    raw.request(1, op::CREATE, &create_body("/eph", b"", 1))
        .await;
    assert_eq!(raw.reply().await.0.err, 0);
    assert!(c.check_stat("/eph").await.unwrap().is_some());

    // No pings: the server expires the session and closes its connection.
    let started = Instant::now();
    raw.expect_closed("a session that stopped pinging").await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "closed after {:?}",
        started.elapsed()
    );
    let c = &c;
    eventually(
        "the expired session's ephemeral is deleted",
        || async move { c.check_stat("/eph").await.unwrap().is_none() },
    )
    .await;

    let mut again = Raw::connect(&s).await;
    again
        .send_connect(
            hello.session_id,
            hello.passwd.as_deref().unwrap(),
            0,
            4000,
            true,
        )
        .await;
    let (resp, _) = again.read_connect_response().await;
    assert_eq!(
        (resp.time_out, resp.session_id),
        (0, 0),
        "an expired session is answered as expired"
    );
    again.expect_closed("after the expired response").await;
}

#[tokio::test]
async fn pinging_session_outlives_its_timeout() {
    let s = Server::start();
    let (mut raw, hello) = Raw::session(&s, 400).await;
    assert_eq!(hello.time_out, 400);
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        raw.request(op::PING_XID, op::PING, &[]).await;
        let (h, _) = raw.reply().await;
        assert_eq!((h.xid, h.err), (op::PING_XID, 0));
        sleep(Duration::from_millis(100)).await;
    }
    let (h, _) = raw.get_data(1, "/").await;
    assert_eq!((h.xid, h.err), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// Ordering of error replies and pipelined handshakes: ZooKeeper answers a session's requests
// in the order they were sent, whatever the outcome.

#[tokio::test]
async fn marshalling_error_reply_keeps_request_order() {
    let s = Server::start();
    let (mut raw, _) = Raw::session(&s, 4000).await;
    raw.request(1, op::CREATE, &create_body("/order", b"", 0))
        .await;
    raw.request(2, op::GET_DATA, &[0, 0, 0, 100]).await;
    assert_eq!(
        raw.reply().await.0.xid,
        1,
        "replies must come in request order"
    );
    assert_eq!(raw.reply().await.0.xid, 2);
}

#[tokio::test]
async fn requests_pipelined_behind_the_handshake_are_answered() {
    // zookeeper-client sends its auth packets right behind the ConnectRequest, without waiting
    // for the ConnectResponse; ZooKeeper holds them until the session exists.
    let s = Server::start();
    let mut raw = Raw::connect(&s).await;
    raw.send_connect(0, &[0; 16], 0, 4000, true).await;
    let auth = AuthPacket {
        auth_type: 0,
        scheme: "digest".into(),
        auth: Some(Bytes::from_static(b"user:pw")),
    };
    raw.request(op::AUTH_XID, op::AUTH, &encode(&auth)).await;
    raw.request(
        1,
        op::GET_DATA,
        &encode(&PathWatchRequest {
            path: "/".into(),
            watch: false,
        }),
    )
    .await;
    let (resp, _) = raw.read_connect_response().await;
    assert!(resp.session_id != 0);
    let (h, _) = raw.reply().await;
    assert_eq!((h.xid, h.err), (op::AUTH_XID, 0));
    let (h, _) = raw.reply().await;
    assert_eq!((h.xid, h.err), (1, 0));
}

// ---------------------------------------------------------------------------------------------
// Random bytes through the decoders, on every build (the fuzz/ targets go deeper with
// libFuzzer). Decoding must return Ok or Err, never panic, and the memory it takes must follow
// the bytes it was given, not the lengths and counts those bytes claim. This test binary counts
// each thread's allocations to check the latter (same bound as fuzz/src/lib.rs).

mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// Live bytes a decoder may hold per input byte at its peak (a decoded `String` is 24 bytes
    /// where the wire has a 4-byte length, so this is a constant factor, not 1), plus a fixed
    /// allowance for small constant allocations.
    pub const FACTOR: usize = 16;
    pub const SLACK: usize = 4096;

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn add(n: isize) {
        let _ = ON.try_with(|on| {
            if on.get() {
                let live = LIVE.get() + n;
                LIVE.set(live);
                PEAK.set(PEAK.get().max(live));
            }
        });
    }

    pub struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(l) };
            if !p.is_null() {
                add(l.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            add(-(l.size() as isize));
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            let q = unsafe { System.realloc(p, l, new) };
            if !q.is_null() {
                add(new as isize - l.size() as isize);
            }
            q
        }
    }

    /// Runs `f` and panics if it held more than the bound for `input_len` bytes at any point.
    pub fn bounded<R>(what: &str, input_len: usize, f: impl FnOnce() -> R) -> R {
        LIVE.set(0);
        PEAK.set(0);
        ON.set(true);
        let r = f();
        ON.set(false);
        let peak = PEAK.get().max(0) as usize;
        let limit = FACTOR * input_len + SLACK;
        assert!(
            peak <= limit,
            "{what}: {input_len} input bytes took {peak} bytes of memory (bound {limit})"
        );
        r
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// Every decoder a peer or a file can reach, on one input.
fn decode_everything(op: i32, bytes: &[u8]) {
    use counting::bounded;
    let n = bytes.len();
    let _ = bounded("decode_request", n, || decode_request(op, bytes));
    let _ = bounded("ConnectRequest", n, || {
        let mut r = Reader::new(bytes);
        let req = ConnectRequest::read(&mut r).ok()?;
        Some((
            req,
            if r.remaining() > 0 {
                r.bool().ok()
            } else {
                None
            },
        ))
    });
    let _ = bounded("RequestHeader", n, || decode::<RequestHeader>(bytes));
    let _ = bounded("Txn::decode", n, || zk::tree::Txn::decode(bytes));
    let _ = bounded("DataTree::from_snapshot", n, || {
        zk::tree::DataTree::from_snapshot(bytes)
    });
    for mut first in [true, false] {
        let mut buf = bytes::BytesMut::from(bytes);
        bounded("next_frame", n, || {
            while let Ok(Some(_)) = next_frame(&mut buf, first, DEFAULT_MAX_BUFFER) {
                first = false;
            }
        });
    }
}

// Two findings of the fuzz targets outside src/proto, kept here as reproductions until fixed.

#[test]
fn txn_op_count_costs_no_memory_up_front() {
    let mut w = Writer::new();
    w.i64(1); // zxid
    w.i64(2); // time
    w.i32(3); // client writes
    w.i64(7); // session
    w.i32(0); // no auth ids
    w.bool(false);
    w.i32(1000); // ops claimed: as many as 4000 bytes could hold...
    w.buf.extend_from_slice(&[0; 4000]); // ...and none of them valid
    let _ = counting::bounded("Txn::decode", w.buf.len(), || zk::tree::Txn::decode(&w.buf));
}

#[test]
fn snapshot_with_an_invalid_path_is_refused() {
    // A node named "" under "/" makes the root its own child: writing the tree again loops
    // until memory runs out. Found by the `snapshot` fuzz target.
    let mut w = Writer::new();
    w.i32(0x5a4b_534e);
    w.i32(1);
    w.i64(0); // last zxid
    w.i32(0); // sessions
    w.i32(1); // one ACL list
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
    .write(&mut w);
    w.i32(2); // nodes
    for path in ["/", ""] {
        w.string(path);
        w.buffer(None);
        w.i32(0);
        for _ in 0..6 {
            w.i64(0);
        }
        for _ in 0..3 {
            w.i32(0);
        }
    }
    assert!(zk::tree::DataTree::from_snapshot(&w.buf).is_err());
}

fn opcodes() -> impl Strategy<Value = i32> {
    prop_oneof![
        prop::sample::select(vec![
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 100, 101,
            102, 103, 104, 105, 106, 107, -10, -11, -1
        ]),
        any::<i32>(),
    ]
}

/// Valid prefixes that end just before a length or count field, one per kind of vector or
/// buffer the decoders read: the interesting input is a lie told right there.
fn prefixes() -> Vec<(i32, Vec<u8>)> {
    let mut v = Vec::new();
    let mut w = Writer::new();
    w.string("/a");
    v.push((op::SET_ACL, w.buf.clone())); // ACL vector
    w.buffer(Some(b"data"));
    v.push((op::CREATE, w.buf)); // ACL vector after path and data
    v.push((op::SET_DATA, {
        let mut w = Writer::new();
        w.string("/a");
        w.buf
    })); // data buffer
    v.push((op::SET_WATCHES2, 5i64.to_be_bytes().to_vec())); // string vector
    v.push((op::AUTH, {
        let mut w = Writer::new();
        w.i32(0);
        w.string("digest");
        w.buf
    }));
    v.push((op::MULTI, {
        let mut w = Writer::new();
        MultiHeader {
            op: op::CREATE,
            done: false,
            err: -1,
        }
        .write(&mut w);
        w.string("/m");
        w.buffer(None);
        w.buf
    }));
    // A Txn of client writes, before its auth-id vector and, with an empty one, its op count.
    let mut w = Writer::new();
    w.i64(1);
    w.i64(2);
    w.i32(3);
    w.i64(7);
    v.push((-1, w.buf.clone()));
    w.i32(0);
    w.bool(true);
    v.push((-1, w.buf));
    // A snapshot before its session count, and (no sessions) before its ACL-list count.
    let mut w = Writer::new();
    w.i32(0x5a4b_534e);
    w.i32(1);
    w.i64(9);
    v.push((-1, w.buf.clone()));
    w.i32(0);
    v.push((-1, w.buf.clone()));
    w.i32(1);
    v.push((-1, w.buf)); // one ACL list: its ACL count
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_decoders(op in opcodes(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(op, &bytes);
    }

    /// Valid requests with bytes changed and the tail cut off: the decoders' interesting paths
    /// are past the first length field, which pure noise rarely gets through.
    #[test]
    fn mutated_valid_requests_never_panic_the_decoders(
        op in opcodes(),
        cut in 0usize..200,
        flip in prop::collection::vec((0usize..200, any::<u8>()), 0..4),
    ) {
        let mut w = Writer::new();
        MultiHeader { op: op::CREATE, done: false, err: -1 }.write(&mut w);
        w.buf.extend_from_slice(&create_body("/a/b", b"data", 3));
        MultiHeader { op: op::SET_DATA, done: false, err: -1 }.write(&mut w);
        SetDataRequest { path: "/a".into(), data: None, version: 2 }.write(&mut w);
        MultiHeader { op: -1, done: true, err: -1 }.write(&mut w);
        let mut bytes = w.buf;
        for (at, v) in flip {
            if let Some(b) = bytes.get_mut(at) {
                *b = v;
            }
        }
        bytes.truncate(cut);
        decode_everything(op, &bytes);
        decode_everything(op::MULTI, &bytes);
    }

    /// A count or length that claims more than the frame holds costs no memory up front.
    #[test]
    fn lying_counts_cost_no_memory(
        which in 0usize..64,
        count in prop_oneof![0i32..64, 64i32..0x10_0000, Just(i32::MAX), any::<i32>()],
        filler in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let prefixes = prefixes();
        let (op, mut bytes) = prefixes[which % prefixes.len()].clone();
        bytes.extend_from_slice(&count.to_be_bytes());
        bytes.extend_from_slice(&filler);
        decode_everything(op, &bytes);
    }
}
