//! The result of a run, as text for people and as one JSON object for scripts.

use std::fmt::Write as _;

use super::stats::{OpSummary, Summary};
use super::workload::Workload;

/// Everything a run reports: its parameters and its numbers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Connect string.
    pub server: String,
    /// The base node the run created (and deleted unless `kept`).
    pub base: String,
    /// Operation mix.
    pub workload: Workload,
    /// Sessions opened.
    pub sessions: usize,
    /// Requests in flight per session.
    pub outstanding: usize,
    /// Bytes per value written.
    pub value_size: usize,
    /// Keys created for get/set.
    pub keys: usize,
    /// Whether the base node and its keys were left on the server (`--keep`).
    pub kept: bool,
    /// Seconds spent creating the base node and its keys before the load started.
    pub setup_secs: f64,
    /// Seconds of warm-up not measured.
    pub warmup_secs: f64,
    /// Seconds measured.
    pub duration_secs: f64,
    /// CPU seconds (user and system) the tool itself used in the measured window; it shares
    /// the machine with what it measures. `None` when the run ended early.
    pub client_cpu_secs: Option<f64>,
    /// The same per completed operation, in microseconds.
    pub client_cpu_us_per_op: Option<f64>,
    /// The measurements.
    #[serde(flatten)]
    pub summary: Summary,
}

fn ms(micros: u64) -> String {
    format!("{:.3}", micros as f64 / 1000.0)
}

fn op_line(name: &str, s: &OpSummary) -> String {
    let l = &s.latency_us;
    format!(
        "{name:<7} {:>10} ops {:>12.1} ops/s   p50 {}  p90 {}  p99 {}  p99.9 {}  max {} ms",
        s.ops,
        s.ops_per_sec,
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.p999),
        ms(l.max)
    )
}

impl Report {
    /// Human-readable report, several lines ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        let workload = serde_json::to_value(self.workload)
            .ok()
            .and_then(|v| v.as_str().map(String::from));
        let _ = writeln!(
            text,
            "zk bench: server {} workload {} sessions {} outstanding {} value-size {} keys {}",
            self.server,
            workload.unwrap_or_default(),
            self.sessions,
            self.outstanding,
            self.value_size,
            self.keys
        );
        let _ = writeln!(
            text,
            "created {} keys in {:.1} s",
            self.keys, self.setup_secs
        );
        let _ = writeln!(
            text,
            "measured {:.1} s after {:.1} s warm-up",
            self.duration_secs, self.warmup_secs
        );
        if let (Some(secs), Some(per_op)) = (self.client_cpu_secs, self.client_cpu_us_per_op) {
            let _ = writeln!(text, "client CPU {secs:.2} s, {per_op:.1} us per operation");
        }
        let _ = writeln!(text, "{}", op_line("total", &self.summary.total));
        for (name, s) in &self.summary.by_op {
            let _ = writeln!(text, "{}", op_line(name, s));
        }
        let _ = writeln!(text, "errors {}", self.summary.errors);
        if self.summary.sessions_resumed + self.summary.sessions_abandoned > 0 {
            let _ = writeln!(
                text,
                "sessions resumed after a lost connection {}, ended early {}",
                self.summary.sessions_resumed, self.summary.sessions_abandoned
            );
        }
        for (kind, n) in &self.summary.error_kinds {
            let _ = writeln!(text, "  {kind}: {n}");
        }
        if self.kept {
            let _ = writeln!(text, "kept {} and its keys on the server", self.base);
        }
        text
    }

    /// One JSON object on one line.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::bench::stats::Recorder;
    use crate::bench::workload::Op;

    fn report() -> Report {
        let mut r = Recorder::new().unwrap();
        r.record(Op::Get, Duration::from_micros(1500));
        r.record(Op::Set, Duration::from_micros(2500));
        r.record_error(Op::Set, "BadVersion");
        Report {
            server: "127.0.0.1:2181".into(),
            base: "/zk-bench-0000000000000001".into(),
            workload: Workload::Mixed,
            sessions: 2,
            outstanding: 4,
            value_size: 100,
            keys: 10,
            kept: false,
            setup_secs: 0.5,
            warmup_secs: 1.0,
            duration_secs: 2.0,
            client_cpu_secs: Some(0.5),
            client_cpu_us_per_op: Some(250_000.0),
            summary: r.summarize(Duration::from_secs(2)).unwrap(),
        }
    }

    #[test]
    fn json_has_the_fields_scripts_read() {
        let json: serde_json::Value = serde_json::from_str(&report().to_json().unwrap()).unwrap();
        assert_eq!(json["workload"], "mixed");
        assert_eq!(json["base"], "/zk-bench-0000000000000001");
        assert_eq!(json["total"]["ops"], 2);
        assert_eq!(json["total"]["ops_per_sec"], 1.0);
        for key in ["p50", "p90", "p99", "p99.9", "max", "mean"] {
            assert!(json["total"]["latency_us"][key].is_number(), "{key}");
        }
        assert_eq!(json["by_op"]["get"]["ops"], 1);
        assert_eq!(json["errors"], 1);
        assert_eq!(json["error_kinds"]["set: BadVersion"], 1);
        assert_eq!(json["kept"], false);
        assert_eq!(json["setup_secs"], 0.5);
        assert_eq!(json["client_cpu_us_per_op"], 250_000.0);
    }

    #[test]
    fn text_lists_totals_ops_and_errors() {
        let text = report().to_text();
        assert!(text.starts_with(
            "zk bench: server 127.0.0.1:2181 workload mixed sessions 2 outstanding 4"
        ));
        assert!(text.contains("total "));
        assert!(text.contains("\nget "));
        assert!(text.contains("\nset "));
        assert!(text.contains("errors 1\n  set: BadVersion: 1\n"));
        assert!(text.contains("p50 1.500"), "{text}");
        assert!(text.contains("created 10 keys in 0.5 s\n"), "{text}");
        assert!(
            text.contains("client CPU 0.50 s, 250000.0 us per operation\n"),
            "{text}"
        );
        assert!(!text.contains("kept"), "{text}");
    }

    #[test]
    fn text_says_when_the_nodes_were_kept() {
        let mut r = report();
        r.kept = true;
        assert!(
            r.to_text()
                .contains("kept /zk-bench-0000000000000001 and its keys on the server\n")
        );
    }
}
