//! `/metrics` in the text exposition ZooKeeper's `PrometheusMetricsProvider` serves.
//!
//! ZooKeeper registers every metric with Prometheus simpleclient 0.9 using the metric name
//! as both name and help text, no prefix, and serves `TextFormat.write004`: `# HELP`/`# TYPE`
//! lines, sample values as Java doubles (`5.0`, `1.2345678E7`, `NaN`), labels written with a
//! trailing comma (`{quantile="0.5",}`). Counters keep their plain names (no `_total`; that
//! suffix came with simpleclient 0.10). With `exportJvmInfo` on (the default) the standard
//! `process_*` collector is exported too; we export those of its metrics we can fill, and
//! none of the `jvm_*` ones.

use std::fmt::Write as _;

use super::java::go_double;
use super::model::{AdminSnapshot, SummaryDetail};
use super::monitor;

/// Content type of text format 0.0.4 (`TextFormat.CONTENT_TYPE_004`).
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

fn family(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, value: f64) {
    let _ = writeln!(out, "{name} {}", go_double(value));
}

/// The whole exposition: ZooKeeper's gauges (registration order), counters, summaries,
/// then the process collector.
pub fn prometheus_text(snap: &AdminSnapshot) -> String {
    let mut out = String::new();
    for (name, value) in monitor::gauges(snap) {
        if let Some(v) = value.as_f64() {
            family(&mut out, name, name, "gauge");
            sample(&mut out, name, v);
        }
    }
    for (metric, value) in snap.metrics.sorted_counters() {
        let name = metric.name();
        family(&mut out, name, name, "counter");
        sample(&mut out, name, value as f64);
    }
    for (metric, s) in snap.metrics.sorted_summaries() {
        let name = metric.name();
        family(&mut out, name, name, "summary");
        let quantiles: &[(&str, f64)] = match metric.detail() {
            SummaryDetail::Basic => &[("0.5", s.p50)],
            SummaryDetail::Advanced => &[("0.5", s.p50), ("0.9", s.p90), ("0.99", s.p99)],
        };
        for (q, v) in quantiles {
            // An empty sliding window reports NaN in simpleclient.
            let v = if s.count == 0 { f64::NAN } else { *v };
            let _ = writeln!(out, "{name}{{quantile=\"{q}\",}} {}", go_double(v));
        }
        sample(&mut out, &format!("{name}_count"), s.count as f64);
        sample(&mut out, &format!("{name}_sum"), s.sum as f64);
    }
    process(&mut out, snap);
    out
}

/// simpleclient_hotspot `StandardExports`, for the values the core supplies.
fn process(out: &mut String, snap: &AdminSnapshot) {
    let p = &snap.process;
    if let Some(cpu) = p.cpu_seconds {
        let name = "process_cpu_seconds_total";
        family(
            out,
            name,
            "Total user and system CPU time spent in seconds.",
            "counter",
        );
        sample(out, name, cpu);
    }
    if let Some(start) = p.start_time_ms {
        let name = "process_start_time_seconds";
        family(
            out,
            name,
            "Start time of the process since unix epoch in seconds.",
            "gauge",
        );
        sample(out, name, start as f64 / 1000.0);
    }
    if let Some(n) = p.open_fds {
        let name = "process_open_fds";
        family(out, name, "Number of open file descriptors.", "gauge");
        sample(out, name, n as f64);
    }
    if let Some(n) = p.max_fds {
        let name = "process_max_fds";
        family(
            out,
            name,
            "Maximum number of open file descriptors.",
            "gauge",
        );
        sample(out, name, n as f64);
    }
    if let Some(n) = p.virtual_memory_bytes {
        let name = "process_virtual_memory_bytes";
        family(out, name, "Virtual memory size in bytes.", "gauge");
        sample(out, name, n as f64);
    }
    if let Some(n) = p.resident_memory_bytes {
        let name = "process_resident_memory_bytes";
        family(out, name, "Resident memory size in bytes.", "gauge");
        sample(out, name, n as f64);
    }
}

#[cfg(test)]
mod tests {
    //! Expected text follows PrometheusMetricsProvider (name = help, no prefix) rendered by
    //! simpleclient 0.9 `TextFormat.write004` with `Collector.doubleToGoString` values.

    use super::*;
    use crate::server::fourlw::fixture;

    #[test]
    fn gauges_are_families_with_java_double_values() {
        let out = prometheus_text(&fixture::standalone());
        assert!(out.starts_with(
            "# HELP avg_latency avg_latency\n# TYPE avg_latency gauge\navg_latency 1.6667\n\
             # HELP max_latency max_latency\n# TYPE max_latency gauge\nmax_latency 4.0\n"
        ));
        for line in [
            "znode_count 7.0\n",
            "watch_count 3.0\n",
            "ephemerals_count 2.0\n",
            "approximate_data_size 190.0\n",
            "num_alive_connections 2.0\n",
            "outstanding_requests 0.0\n",
            "global_sessions 2.0\n",
            "uptime 123456.0\n",
            "open_file_descriptor_count 42.0\n",
            "max_file_descriptor_count 1048576.0\n",
            "packets_received 11.0\n",
            "packets_sent 10.0\n",
            "min_latency 0.0\n",
            "last_client_response_size 48.0\n",
        ] {
            assert!(out.contains(line), "{line}");
        }
        // From 1e7 on, Java's Double.toString switches to scientific notation.
        let mut big = fixture::standalone();
        big.data.approximate_data_size = 12_345_678;
        assert!(prometheus_text(&big).contains("\napproximate_data_size 1.2345678E7\n"));
    }

    #[test]
    fn counters_keep_plain_names() {
        let out = prometheus_text(&fixture::standalone());
        assert!(out.contains(
            "# HELP commit_count commit_count\n# TYPE commit_count counter\ncommit_count 26.0\n\
             # HELP connection_rejected connection_rejected\n\
             # TYPE connection_rejected counter\nconnection_rejected 0.0\n"
        ));
    }

    #[test]
    fn summaries_have_quantiles_with_trailing_comma() {
        let out = prometheus_text(&fixture::standalone());
        assert!(out.contains(
            "# HELP fsynctime fsynctime\n# TYPE fsynctime summary\n\
             fsynctime{quantile=\"0.5\",} 4.0\nfsynctime_count 2.0\nfsynctime_sum 9.0\n"
        ));
        assert!(out.contains(
            "# HELP readlatency readlatency\n# TYPE readlatency summary\n\
             readlatency{quantile=\"0.5\",} 1.0\nreadlatency{quantile=\"0.9\",} 3.0\n\
             readlatency{quantile=\"0.99\",} 3.0\nreadlatency_count 4.0\nreadlatency_sum 6.0\n"
        ));
        let mut empty = fixture::standalone();
        empty.metrics.summaries = vec![(
            crate::server::fourlw::SummaryMetric::UpdateLatency,
            crate::server::fourlw::SummaryStats::default(),
        )];
        let out = prometheus_text(&empty);
        assert!(out.contains(
            "updatelatency{quantile=\"0.5\",} NaN\nupdatelatency{quantile=\"0.9\",} NaN\n\
             updatelatency{quantile=\"0.99\",} NaN\nupdatelatency_count 0.0\n\
             updatelatency_sum 0.0\n"
        ));
    }

    #[test]
    fn process_collector_uses_standard_names() {
        let out = prometheus_text(&fixture::standalone());
        assert!(out.ends_with(
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n\
             # TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.25\n\
             # HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n\
             # TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1.7E9\n\
             # HELP process_open_fds Number of open file descriptors.\n\
             # TYPE process_open_fds gauge\nprocess_open_fds 42.0\n\
             # HELP process_max_fds Maximum number of open file descriptors.\n\
             # TYPE process_max_fds gauge\nprocess_max_fds 1048576.0\n\
             # HELP process_virtual_memory_bytes Virtual memory size in bytes.\n\
             # TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes 1.073741824E9\n\
             # HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 3.145728E7\n"
        ));
    }

    #[test]
    fn leader_exports_replication_gauges() {
        let out = prometheus_text(&fixture::leader());
        for line in [
            "quorum_size 2.0\n",
            "learners 2.0\n",
            "synced_followers 1.0\n",
            "synced_observers 1.0\n",
            "pending_syncs 0.0\n",
            "leader_uptime 120000.0\n",
            "max_proposal_size 92.0\n",
        ] {
            assert!(out.contains(line), "{line}");
        }
    }

    #[test]
    fn every_sample_line_parses_as_name_value() {
        let out = prometheus_text(&fixture::leader());
        for line in out.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap_or_default();
            assert!(!name.is_empty(), "{line}");
            assert!(value == "NaN" || value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
