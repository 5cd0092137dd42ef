//! `zk bench` against a 3-member ensemble of real `zk server` processes while one member is
//! SIGKILLed: the load session on that member must be resumed on another member (same session,
//! as a ZooKeeper client does) and the run must finish, report and clean up. The load sessions
//! speak the wire protocol themselves, so this is their failover test.
//! Loopback net 80 belongs to this test.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::ensemble::{Ensemble, client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_sessions_resume_on_another_member_when_theirs_dies() {
    let mut ens = Ensemble::start(80, 3, 0);
    let leader = ens.wait_for_leader(Duration::from_secs(30));
    let victim = (leader + 1) % 3;
    // Three sessions over three hosts in turn: exactly one is on the victim.
    let bench = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["bench", "--server", &ens.connect_string()])
        .args(["--workload", "create-delete", "--sessions", "3"])
        .args(["--outstanding", "4", "--duration", "4", "--warmup", "0.5"])
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start zk bench");
    tokio::time::sleep(Duration::from_millis(2000)).await;
    ens.members[victim].kill();
    let out = tokio::task::spawn_blocking(move || bench.wait_with_output())
        .await
        .expect("join")
        .expect("zk bench output");
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["sessions_resumed"], 1, "{report}");
    assert_eq!(report["sessions_abandoned"], 0, "{report}");
    assert!(
        report["total"]["ops"].as_u64().unwrap_or(0) > 100,
        "{report}"
    );
    // A create or delete in flight when the member died fails with ConnectionLoss; a delete
    // retried after it may find its node gone, a create may find it made. Nothing else.
    let kinds = report["error_kinds"].as_object().expect("error kinds");
    for kind in kinds.keys() {
        assert!(
            [
                "create: ConnectionLoss",
                "delete: ConnectionLoss",
                "create: NodeExists",
                "delete: NoNode",
            ]
            .contains(&kind.as_str()),
            "{kind}: {report}"
        );
    }
    let base = report["base"].as_str().expect("base").to_string();
    let survivor = ens.members[leader].addr();
    let c = client(&survivor).await;
    assert_eq!(
        c.check_stat(&base).await.expect("stat base"),
        None,
        "{base} left behind"
    );
}
