//! The monitoring key/value list shared by `mntr`, `/commands/monitor` and `/metrics`.
//!
//! ZooKeeper builds all three from the same sources: `ZooKeeperServer.dumpMonitorValues`
//! (version, state) followed by the metrics provider's dump (gauges, then counters, then
//! summaries). The gauge order here is their registration order in
//! `ZooKeeperServer.registerMetrics`, `QuorumZooKeeperServer` and `LeaderZooKeeperServer` —
//! the order an insertion-ordered map would give; ZooKeeper's own hash map order is
//! unspecified, and the docs tell scripts not to rely on it.

use super::full_version;
use super::model::{AdminSnapshot, Mode, SummaryDetail, SummaryMetric, SummaryStats};

/// A value as ZooKeeper's `MonitorCommand.print` distinguishes them: integers print
/// plainly, other numbers as Java doubles, the rest as text.
#[derive(Clone, Debug, PartialEq)]
pub enum MonitorValue {
    /// A Java `long`/`int`.
    Int(i64),
    /// A Java `double`.
    Double(f64),
    /// A string.
    Text(String),
}

impl MonitorValue {
    /// The value as a Prometheus sample (every ZooKeeper gauge is numeric).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            MonitorValue::Int(i) => Some(*i as f64),
            MonitorValue::Double(d) => Some(*d),
            MonitorValue::Text(_) => None,
        }
    }

    /// The value as JSON, as Jackson writes the boxed Java value.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            MonitorValue::Int(i) => serde_json::Value::from(*i),
            MonitorValue::Double(d) => serde_json::Value::from(*d),
            MonitorValue::Text(s) => serde_json::Value::from(s.as_str()),
        }
    }
}

fn int(v: u64) -> MonitorValue {
    MonitorValue::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// `dumpMonitorValues`: version, server state, and on quorum members the detailed peer
/// state (plus the observer master on observers).
pub fn server_values(snap: &AdminSnapshot) -> Vec<(String, MonitorValue)> {
    let mut v = vec![
        ("version".to_string(), MonitorValue::Text(full_version())),
        (
            "server_state".to_string(),
            MonitorValue::Text(snap.mode.as_str().to_string()),
        ),
    ];
    if let Some(q) = &snap.quorum {
        v.push((
            "peer_state".to_string(),
            MonitorValue::Text(q.detailed_peer_state()),
        ));
        if snap.mode == Mode::Observer
            && let Some(id) = q.observer_master_id
        {
            v.push(("observer_master_id".to_string(), MonitorValue::Int(id)));
        }
    }
    v
}

/// Registered gauges, in registration order, with ZooKeeper's names (no `zk_` prefix).
pub fn gauges(snap: &AdminSnapshot) -> Vec<(&'static str, MonitorValue)> {
    let s = &snap.stats;
    let d = &snap.data;
    let fd = |v: Option<u64>| v.map_or(MonitorValue::Int(-1), int);
    let mut g = vec![
        ("avg_latency", MonitorValue::Double(s.latency.avg())),
        ("max_latency", int(s.latency.max())),
        ("min_latency", int(s.latency.min())),
        ("packets_received", int(s.packets_received)),
        ("packets_sent", int(s.packets_sent)),
        ("num_alive_connections", int(s.alive_connections)),
        ("outstanding_requests", int(s.outstanding_requests)),
        ("uptime", int(s.uptime_ms)),
        ("znode_count", int(d.node_count)),
        ("watch_count", int(d.watch_count)),
        ("ephemerals_count", int(d.ephemerals_count)),
        ("approximate_data_size", int(d.approximate_data_size)),
        ("global_sessions", int(d.global_sessions)),
        ("local_sessions", int(d.local_sessions)),
        ("open_file_descriptor_count", fd(snap.process.open_fds)),
        ("max_file_descriptor_count", fd(snap.process.max_fds)),
        (
            "connection_drop_probability",
            MonitorValue::Double(s.connection_drop_probability),
        ),
        (
            "last_client_response_size",
            MonitorValue::Int(i64::from(s.client_response_size.last)),
        ),
        (
            "max_client_response_size",
            MonitorValue::Int(i64::from(s.client_response_size.max)),
        ),
        (
            "min_client_response_size",
            MonitorValue::Int(i64::from(s.client_response_size.min)),
        ),
        (
            "outstanding_tls_handshake",
            int(s.outstanding_tls_handshake),
        ),
        ("auth_failed_count", int(s.auth_failed_count)),
        (
            "non_mtls_remote_conn_count",
            int(s.non_mtls_remote_conn_count),
        ),
        (
            "non_mtls_local_conn_count",
            int(s.non_mtls_local_conn_count),
        ),
    ];
    if let Some(q) = &snap.quorum {
        g.push(("quorum_size", int(q.quorum_size())));
        match (&q.leader, snap.mode) {
            (Some(l), Mode::Leader) => {
                g.push(("learners", int(l.learners)));
                g.push(("synced_followers", int(l.synced_followers)));
                g.push((
                    "synced_non_voting_followers",
                    int(l.synced_non_voting_followers),
                ));
                if let Some(n) = q.synced_observers {
                    g.push(("synced_observers", int(n)));
                }
                g.push(("pending_syncs", int(l.pending_syncs)));
                g.push(("leader_uptime", int(l.uptime_ms)));
                g.push((
                    "last_proposal_size",
                    MonitorValue::Int(i64::from(l.proposal_sizes.last)),
                ));
                g.push((
                    "max_proposal_size",
                    MonitorValue::Int(i64::from(l.proposal_sizes.max)),
                ));
                g.push((
                    "min_proposal_size",
                    MonitorValue::Int(i64::from(l.proposal_sizes.min)),
                ));
            }
            (_, Mode::Follower) => {
                if let Some(n) = q.synced_observers {
                    g.push(("synced_observers", int(n)));
                }
            }
            _ => {}
        }
    }
    g
}

/// `AvgMinMaxCounter.values()` (+ `AvgMinMaxPercentileCounter` percentiles for advanced
/// summaries): `avg_x`, `min_x`, `max_x`, `cnt_x`, `sum_x`[, `p50_x`, `p95_x`, `p99_x`,
/// `p999_x`].
pub fn summary_values(metric: SummaryMetric, s: &SummaryStats) -> Vec<(String, MonitorValue)> {
    let name = metric.name();
    let (min, max) = if s.count == 0 { (0, 0) } else { (s.min, s.max) };
    let mut v = vec![
        (
            format!("avg_{name}"),
            MonitorValue::Double(super::java::avg_4dp(s.sum, s.count)),
        ),
        (format!("min_{name}"), int(min)),
        (format!("max_{name}"), int(max)),
        (format!("cnt_{name}"), int(s.count)),
        (format!("sum_{name}"), int(s.sum)),
    ];
    if metric.detail() == SummaryDetail::Advanced {
        // Math.round of the histogram percentile; an empty histogram reports 0.
        let pct = |p: f64| {
            if s.count == 0 || !p.is_finite() {
                MonitorValue::Int(0)
            } else {
                MonitorValue::Int(p.round() as i64)
            }
        };
        v.push((format!("p50_{name}"), pct(s.p50)));
        v.push((format!("p95_{name}"), pct(s.p95)));
        v.push((format!("p99_{name}"), pct(s.p99)));
        v.push((format!("p999_{name}"), pct(s.p999)));
    }
    v
}

/// The whole `mntr` list: server values, gauges, counters, summaries.
pub fn monitor_values(snap: &AdminSnapshot) -> Vec<(String, MonitorValue)> {
    let mut v = server_values(snap);
    v.extend(
        gauges(snap)
            .into_iter()
            .map(|(k, val)| (k.to_string(), val)),
    );
    for (c, n) in snap.metrics.sorted_counters() {
        v.push((c.name().to_string(), int(n)));
    }
    for (m, s) in snap.metrics.sorted_summaries() {
        v.extend(summary_values(m, &s));
    }
    v
}
