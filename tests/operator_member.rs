//! A member started the way the operator starts it: the zoo.cfg and myid map the operator
//! renders, `zk server --myid-map … --member … --bind-address …`, read back through the
//! operator's own member query and the readiness endpoint the probe uses.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use zk::operator::crd::ZooKeeperEnsembleSpec;
use zk::operator::names::Names;
use zk::operator::{myid, observe, zoocfg};

struct Member(Child);

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn http_status(port: i32, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port as u16)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_member_runs_with_the_operators_config_and_guards_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let [client, quorum, election, admin, metrics] = common::free_ports_on("127.0.0.1");
    let spec: ZooKeeperEnsembleSpec = serde_json::from_value(serde_json::json!({
        "replicas": 1,
        "ports": {"client": client, "quorum": quorum, "election": election,
                  "admin": admin, "metrics": metrics}
    }))
    .unwrap();
    let names = Names {
        ensemble: "zk".into(),
        namespace: "test".into(),
        cluster_domain: "cluster.local".into(),
    };
    let ids = myid::assign(&names, &spec, None, &BTreeMap::new());
    let cfg = zoocfg::render(&spec, &names, &ids);
    let data = dir.path().join("data");
    // The one thing a pod sees differently: its volume is mounted at /data.
    let text = cfg
        .text
        .replace("dataDir=/data", &format!("dataDir={}", data.display()));
    std::fs::write(dir.path().join("zoo.cfg"), text).unwrap();
    std::fs::write(dir.path().join("myids"), ids.myid_map()).unwrap();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_zk"))
            .args(["server", "--config"])
            .arg(dir.path().join("zoo.cfg"))
            .arg("--myid-map")
            .arg(dir.path().join("myids"))
            .args(["--member", "zk-0", "--bind-address", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let member = Member(start());
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let report = loop {
        match observe::query(ip, spec.ports.admin as u16).await {
            Ok(r) => break r,
            Err(e) if Instant::now() > deadline => panic!("member never answered: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert_eq!(report.state, "standalone");
    assert_eq!(http_status(spec.ports.admin, "/zk/serving"), Some(200));
    assert_eq!(
        std::fs::read_to_string(data.join("myid")).unwrap().trim(),
        "1"
    );
    drop(member);

    // The operator's map now says zk-0 is server 5 (say its volume was replaced), but the
    // volume still holds server 1's data: the member must refuse it.
    std::fs::write(dir.path().join("myids"), "zk-0=5\n").unwrap();
    let out = start().wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to start on another member's data"),
        "{err}"
    );
}
