//! The operator's own Prometheus metrics: how often it reconciles, how often that fails and
//! why, and how long it takes. Rendered by hand in the text exposition format, because a
//! handful of counters does not need a metrics framework.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the duration histogram, in seconds.
const BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Default)]
pub struct Metrics {
    reconciliations: AtomicU64,
    failures: Mutex<BTreeMap<&'static str, u64>>,
    /// Count per bucket (not cumulative), plus the overflow bucket.
    durations: Mutex<([u64; BUCKETS.len() + 1], f64)>,
    leader: AtomicBool,
}

impl Metrics {
    pub fn reconciled(&self, took: Duration) {
        self.reconciliations.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        let at = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        if let Ok(mut d) = self.durations.lock() {
            d.0[at] += 1;
            d.1 += secs;
        }
    }

    pub fn failed(&self, reason: &'static str) {
        if let Ok(mut f) = self.failures.lock() {
            *f.entry(reason).or_default() += 1;
        }
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP zk_operator_reconciliations_total Reconciliations run, failed or not.\n",
        );
        out.push_str("# TYPE zk_operator_reconciliations_total counter\n");
        out.push_str(&format!(
            "zk_operator_reconciliations_total {}\n",
            self.reconciliations.load(Ordering::Relaxed)
        ));
        out.push_str(
            "# HELP zk_operator_reconcile_errors_total Failed reconciliations by reason.\n",
        );
        out.push_str("# TYPE zk_operator_reconcile_errors_total counter\n");
        if let Ok(f) = self.failures.lock() {
            for (reason, n) in f.iter() {
                out.push_str(&format!(
                    "zk_operator_reconcile_errors_total{{reason=\"{reason}\"}} {n}\n"
                ));
            }
        }
        out.push_str(
            "# HELP zk_operator_reconcile_duration_seconds Time one reconciliation took.\n",
        );
        out.push_str("# TYPE zk_operator_reconcile_duration_seconds histogram\n");
        if let Ok(d) = self.durations.lock() {
            let mut cumulative = 0;
            for (i, b) in BUCKETS.iter().enumerate() {
                cumulative += d.0[i];
                out.push_str(&format!(
                    "zk_operator_reconcile_duration_seconds_bucket{{le=\"{b}\"}} {cumulative}\n"
                ));
            }
            cumulative += d.0[BUCKETS.len()];
            out.push_str(&format!(
                "zk_operator_reconcile_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}\n"
            ));
            out.push_str(&format!(
                "zk_operator_reconcile_duration_seconds_sum {}\n",
                d.1
            ));
            out.push_str(&format!(
                "zk_operator_reconcile_duration_seconds_count {cumulative}\n"
            ));
        }
        out.push_str("# HELP zk_operator_leader Whether this replica holds the leader Lease.\n");
        out.push_str("# TYPE zk_operator_leader gauge\n");
        out.push_str(&format!(
            "zk_operator_leader {}\n",
            u8::from(self.leader.load(Ordering::Relaxed))
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative_and_errors_are_labelled() {
        let m = Metrics::default();
        m.reconciled(Duration::from_millis(5));
        m.reconciled(Duration::from_millis(300));
        m.reconciled(Duration::from_secs(60));
        m.failed("ApiError");
        m.failed("ApiError");
        m.set_leader(true);
        let text = m.render();
        assert!(text.contains("zk_operator_reconciliations_total 3\n"));
        assert!(text.contains("zk_operator_reconcile_errors_total{reason=\"ApiError\"} 2\n"));
        assert!(text.contains("_bucket{le=\"0.01\"} 1\n"));
        assert!(text.contains("_bucket{le=\"0.5\"} 2\n"));
        assert!(text.contains("_bucket{le=\"10\"} 2\n"));
        assert!(text.contains("_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("_count 3\n"));
        assert!(text.contains("zk_operator_leader 1\n"));
    }
}
