//! End-to-end test of `zk bench` against the server named by `ZK_TEST_CONNECT`; skipped
//! (with the reason printed) when it is not set.

use std::process::Command;

fn server() -> Option<String> {
    match std::env::var("ZK_TEST_CONNECT") {
        Ok(s) if !s.is_empty() => Some(s),
        _ => {
            eprintln!(
                "skipped: ZK_TEST_CONNECT is not set (host:port of a ZooKeeper-compatible server)"
            );
            None
        }
    }
}

fn bench(server: &str, workload: &str) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["bench", "--server", server, "--workload", workload])
        .args([
            "--sessions",
            "2",
            "--outstanding",
            "2",
            "--duration",
            "1",
            "--warmup",
            "0.2",
        ])
        .args(["--keys", "20", "--value-size", "64", "--json"])
        .output()
        .expect("run zk bench");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn base_is_gone(server: &str, base: &str) -> bool {
    let out = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["cli", "--server", server, "stat", base])
        .output()
        .expect("run zk cli");
    String::from_utf8_lossy(&out.stderr) == format!("Node does not exist: {base}\n")
}

#[test]
fn every_workload_runs_reports_and_cleans_up() {
    let Some(server) = server() else { return };
    for workload in ["get", "set", "create-delete", "mixed"] {
        let report = bench(&server, workload);
        assert_eq!(report["workload"], workload);
        assert!(report["total"]["ops"].as_u64().unwrap_or(0) > 0, "{report}");
        assert_eq!(report["errors"], 0, "{report}");
        for key in ["p50", "p90", "p99", "p99.9", "max"] {
            assert!(
                report["total"]["latency_us"][key].as_u64().is_some(),
                "{key}: {report}"
            );
        }
        let base = report["base"].as_str().unwrap_or_default();
        assert!(base.starts_with("/zk-bench-"), "{report}");
        assert!(base_is_gone(&server, base), "{base} left behind");
    }
}

#[test]
fn mixed_is_mostly_reads() {
    let Some(server) = server() else { return };
    let report = bench(&server, "mixed");
    let gets = report["by_op"]["get"]["ops"].as_f64().unwrap_or(0.0);
    let sets = report["by_op"]["set"]["ops"].as_f64().unwrap_or(0.0);
    assert!(gets > 0.0, "{report}");
    // With fewer operations the 90/10 split is too noisy to check.
    if gets + sets >= 200.0 {
        let share = gets / (gets + sets);
        assert!((0.8..0.97).contains(&share), "get share {share}: {report}");
    }
}

#[test]
fn refuses_bad_arguments_without_touching_the_server() {
    let out = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["bench", "--server", "127.0.0.1:1", "--sessions", "0"])
        .output()
        .expect("run zk bench");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--sessions and --outstanding must be at least 1")
    );
}

#[test]
fn keep_leaves_the_keys_on_the_server() {
    let Some(server) = server() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["bench", "--server", &server, "--workload", "get"])
        .args(["--sessions", "1", "--outstanding", "1", "--duration", "0.2"])
        .args(["--warmup", "0", "--keys", "30", "--value-size", "10"])
        .args(["--keep", "--json"])
        .output()
        .expect("run zk bench");
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(report["kept"], true, "{report}");
    let base = report["base"].as_str().unwrap_or_default().to_string();
    let ls = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["cli", "--server", &server, "stat", &base])
        .output()
        .expect("run zk cli");
    let stat = String::from_utf8_lossy(&ls.stdout);
    assert!(stat.contains("numChildren = 30"), "{stat}");
    let rm = Command::new(env!("CARGO_BIN_EXE_zk"))
        .args(["cli", "--server", &server, "deleteall", &base])
        .output()
        .expect("run zk cli");
    assert!(rm.status.success(), "{rm:?}");
    assert!(base_is_gone(&server, &base), "{base} not removed");
}
