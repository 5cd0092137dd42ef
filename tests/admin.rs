//! The admin surface as an operator's tools see it: four-letter words on the client port,
//! the AdminServer's `/commands` JSON and the Prometheus `/metrics` endpoint of a real
//! `zk server` process started from a zoo.cfg on loopback ports.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `zk server`, killed when dropped.
struct Server {
    child: Child,
    client: u16,
    admin: u16,
    metrics: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts a server whose zoo.cfg has the usual loopback settings plus `extra` lines.
    fn start(extra: &str) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let [client, admin, metrics] = common::free_ports_on("127.0.0.1");
        let data = dir.path().join("data");
        let cfg = format!(
            "tickTime=2000\ndataDir={}\nclientPort={client}\nclientPortAddress=127.0.0.1\n\
             admin.serverPort={admin}\nadmin.serverAddress=127.0.0.1\n\
             metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider\n\
             metricsProvider.httpPort={metrics}\nmetricsProvider.httpHost=127.0.0.1\n{extra}",
            data.display()
        );
        let cfg_path = dir.path().join("zoo.cfg");
        std::fs::write(&cfg_path, cfg).expect("write zoo.cfg");
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_zk"))
            .arg("server")
            .arg("--config")
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start zk server");
        let mut server = Server {
            child,
            client,
            admin,
            metrics,
            dir,
        };
        server.wait_until_serving();
        server
    }

    /// Waits until `srvr` (always whitelisted) answers.
    fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("zk server exited with {status}:\n{}", self.log());
            }
            if try_word(self.client, b"srvr").is_some_and(|s| s.starts_with("Zookeeper version")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("zk server did not start serving:\n{}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn word(&self, word: &str) -> String {
        self.raw_word(word.as_bytes())
    }

    fn raw_word(&self, bytes: &[u8]) -> String {
        try_word(self.client, bytes)
            .unwrap_or_else(|| panic!("no answer to {bytes:?}:\n{}", self.log()))
    }
}

/// Sends the bytes on a fresh connection and reads until the server closes it.
fn try_word(port: u16, bytes: &[u8]) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(bytes).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// A minimal HTTP/1.1 GET: (status code, content type, body).
fn http_get(port: u16, path: &str) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP port");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("send request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP head and body");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

fn value_of<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key))
}

#[test]
fn four_letter_words_answer_in_zookeepers_formats() {
    let server = Server::start("4lw.commands.whitelist=*\n");
    assert_eq!(server.word("ruok"), "imok");
    assert_eq!(server.word("isro"), "rw");

    let srvr = server.word("srvr");
    assert!(srvr.starts_with("Zookeeper version: 3.9"), "{srvr}");
    assert!(srvr.contains("\nMode: standalone\n"), "{srvr}");
    assert!(srvr.contains("\nNode count: "), "{srvr}");

    let mntr = server.word("mntr");
    assert!(mntr.contains("zk_server_state\tstandalone\n"), "{mntr}");
    let nodes: u64 = value_of(&mntr, "zk_znode_count\t")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no zk_znode_count in\n{mntr}"));
    assert!(nodes >= 1);

    // The asking connection is listed, as ZooKeeper lists it.
    let cons = server.word("cons");
    assert!(cons.contains("(queued=0,recved=1,sent=0)"), "{cons}");

    // gtmk/stmk: the trace mask round-trips (stmk carries an 8-byte big-endian long).
    assert_eq!(server.word("gtmk"), "306");
    let mut stmk = b"stmk".to_vec();
    stmk.extend_from_slice(&250i64.to_be_bytes());
    assert_eq!(server.raw_word(&stmk), "250");
    assert_eq!(server.word("gtmk"), "250");

    assert_eq!(server.word("srst"), "Server stats reset.\n");
    let after = server.word("srvr");
    assert!(after.contains("\nReceived: 1\nSent: 0\n"), "{after}");
}

#[test]
fn words_outside_the_whitelist_are_refused() {
    // No 4lw.commands.whitelist: ZooKeeper's default, srvr only.
    let server = Server::start("");
    assert_eq!(
        server.word("ruok"),
        "ruok is not executed because it is not in the whitelist.\n"
    );
    assert_eq!(
        server.word("isro"),
        "isro is not executed because it is not in the whitelist.\n"
    );
    assert!(server.word("srvr").contains("Mode: standalone"));

    let server = Server::start("4lw.commands.whitelist=ruok, mntr\n");
    assert_eq!(server.word("ruok"), "imok");
    assert_eq!(
        server.word("dump"),
        "dump is not executed because it is not in the whitelist.\n"
    );
}

#[test]
fn admin_server_answers_commands_as_json() {
    let server = Server::start("");
    let (status, content_type, body) = http_get(server.admin, "/commands/ruok");
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(json["command"], "ruok");
    assert!(json["error"].is_null(), "{body}");

    // Aliases answer under the primary name.
    let (_, _, body) = http_get(server.admin, "/commands/srvr");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(json["command"], "server_stats");
    assert_eq!(json["server_stats"]["server_state"], "standalone");

    let (_, _, body) = http_get(server.admin, "/commands/mntr");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert!(
        json["znode_count"].as_u64().is_some_and(|n| n >= 1),
        "{body}"
    );

    let (status, _, body) = http_get(server.admin, "/commands/no_such_command");
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
    assert_eq!(json["error"], "Unknown command: no_such_command");

    let (status, _, index) = http_get(server.admin, "/commands");
    assert_eq!(status, 200);
    assert!(
        index.contains("<a href=\"/commands/monitor\">monitor</a>"),
        "{index}"
    );
}

#[test]
fn prometheus_endpoint_uses_zookeepers_metric_names() {
    let server = Server::start("");
    let (status, content_type, body) = http_get(server.metrics, "/metrics");
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(
        body.contains("# TYPE znode_count gauge\nznode_count "),
        "{body}"
    );
    assert!(body.contains("\nnum_alive_connections "), "{body}");
    let (status, _, _) = http_get(server.metrics, "/elsewhere");
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sessions_ephemerals_and_watches_show_up() {
    let server = Server::start("4lw.commands.whitelist=*\n");
    let client = zookeeper_client::Client::connect(&format!("127.0.0.1:{}", server.client))
        .await
        .expect("connect a ZooKeeper client");
    let ephemeral =
        zookeeper_client::CreateMode::Ephemeral.with_acls(zookeeper_client::Acls::anyone_all());
    client
        .create("/registered", b"here", &ephemeral)
        .await
        .expect("create an ephemeral node");
    let (_, _, _watcher) = client
        .get_and_watch_data("/registered")
        .await
        .expect("get data with a watch");
    let sid = format!("0x{:x}", client.session_id().0);

    let words = tokio::task::spawn_blocking(move || {
        let words =
            ["cons", "dump", "wchc", "wchp", "wchs", "crst", "cons"].map(|w| server.word(w));
        (words, server)
    });
    let (words, _server) = words.await.expect("four-letter words");
    let [cons, dump, wchc, wchp, wchs, crst, cons_after] = words;

    assert!(cons.contains(&format!(",sid={sid},lop=GETD,")), "{cons}");
    assert!(dump.contains(&format!("{sid}:\n\t/registered\n")), "{dump}");
    assert!(dump.contains("Sessions with Ephemerals (1):"), "{dump}");
    assert_eq!(wchc, format!("{sid}\n\t/registered\n\n"));
    assert_eq!(wchp, format!("/registered\n\t{sid}\n\n"));
    assert_eq!(wchs, "1 connections watching 1 paths\nTotal watches:1\n");
    assert_eq!(crst, "Connection stats reset.\n");
    assert!(cons_after.contains(",lop=NA,"), "{cons_after}");
    drop(client);
}

#[test]
fn a_taken_admin_port_is_a_startup_error() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = format!(
        "tickTime=2000\ndataDir={}\nclientPort={}\nclientPortAddress=127.0.0.1\n\
         admin.serverPort={port}\nadmin.serverAddress=127.0.0.1\n",
        Path::new(dir.path()).join("data").display(),
        common::free_port()
    );
    let cfg_path = dir.path().join("zoo.cfg");
    std::fs::write(&cfg_path, cfg).expect("write zoo.cfg");
    let out = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["server", "--config"])
        .arg(&cfg_path)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run zk server");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("binding the AdminServer to 127.0.0.1:{port}")),
        "{stderr}"
    );
}
