//! Counters behind `srvr`, `stat`, `cons`, `mntr` and `/metrics`, kept as ZooKeeper keeps its
//! `ServerStats`, per-connection stats and `ServerMetrics` (reset by `srst` and `crst`).
//!
//! Latencies use the admin model's [`LatencyStats`] (whole milliseconds, as ZooKeeper measures
//! them) so there is one latency type from the core to the renderers.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;

use super::fourlw::{self, BufferStats, CounterMetric, LatencyStats, SummaryMetric, SummaryStats};

/// Server-wide request statistics (ZooKeeper's `ServerStats`), all reset by `srst`.
#[derive(Debug, Default, Clone)]
pub struct ServerStats {
    pub packets_received: u64,
    pub packets_sent: u64,
    pub latency: LatencyStats,
    pub auth_failed: u64,
    /// Sizes of frames sent to clients, without the 4-byte length prefix.
    pub client_response_size: BufferStats,
}

impl ServerStats {
    pub fn record_latency(&mut self, ms: u64) {
        self.latency.record(ms);
    }

    pub fn reset(&mut self) {
        *self = ServerStats::default();
    }
}

/// One connection's statistics (ZooKeeper's `ServerCnxn` counters), reset by `crst`.
#[derive(Debug, Clone)]
pub struct ConnStats {
    pub received: u64,
    pub sent: u64,
    /// ZooKeeper's code of the last operation (`lop=`), "NA" before any.
    pub last_op: &'static str,
    /// Last client xid, -1 before any.
    pub last_cxid: i64,
    /// Zxid of the last response, -1 before any.
    pub last_zxid: i64,
    pub last_latency_ms: u64,
    pub last_response: Option<SystemTime>,
    pub latency: LatencyStats,
}

impl Default for ConnStats {
    /// The values ZooKeeper shows for a fresh (or just reset) connection.
    fn default() -> Self {
        ConnStats {
            received: 0,
            sent: 0,
            last_op: "NA",
            last_cxid: -1,
            last_zxid: -1,
            last_latency_ms: 0,
            last_response: None,
            latency: LatencyStats::default(),
        }
    }
}

impl ConnStats {
    pub fn record(&mut self, ms: u64, zxid: i64) {
        self.latency.record(ms);
        self.last_latency_ms = ms;
        self.last_zxid = zxid;
        self.last_response = Some(SystemTime::now());
    }

    pub fn reset(&mut self) {
        *self = ConnStats::default();
    }
}

/// Longest latency a histogram tells apart (one hour, in ms); longer ones count as this.
const HISTOGRAM_MAX_MS: u64 = 3_600_000;

/// One latency summary in whole milliseconds, as ZooKeeper's `AvgMinMaxPercentileCounter`
/// keeps it, so avg/min/max/quantiles agree with each other: exact count/sum/min/max plus a
/// histogram for the quantiles.
#[derive(Debug, Clone)]
struct Summary {
    hist: Histogram<u64>,
    count: u64,
    sum: u64,
    min: u64,
    max: u64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            hist: Histogram::new_with_bounds(1, HISTOGRAM_MAX_MS, 2)
                .unwrap_or_else(|_| unreachable!("the histogram bounds are valid constants")),
            count: 0,
            sum: 0,
            min: 0,
            max: 0,
        }
    }
}

impl Summary {
    fn record(&mut self, d: Duration) {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.hist.saturating_record(ms);
        if self.count == 0 || ms < self.min {
            self.min = ms;
        }
        self.max = self.max.max(ms);
        self.count += 1;
        self.sum = self.sum.saturating_add(ms);
    }

    fn stats(&self) -> SummaryStats {
        let q = |p: f64| self.hist.value_at_quantile(p) as f64;
        SummaryStats {
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
        }
    }
}

/// The counters and summaries of one reporting window.
#[derive(Debug, Clone)]
struct Window {
    counters: BTreeMap<CounterMetric, u64>,
    read_latency: Summary,
    update_latency: Summary,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            // Present from the start (at 0), as ZooKeeper registers its counters at startup.
            counters: COUNTERS.iter().map(|c| (*c, 0)).collect(),
            read_latency: Summary::default(),
            update_latency: Summary::default(),
        }
    }
}

impl Window {
    fn export(&self) -> fourlw::Metrics {
        fourlw::Metrics {
            counters: self.counters.iter().map(|(k, v)| (*k, *v)).collect(),
            summaries: vec![
                (SummaryMetric::ReadLatency, self.read_latency.stats()),
                (SummaryMetric::UpdateLatency, self.update_latency.stats()),
            ],
        }
    }
}

/// The `ServerMetrics` counters this member actually measures; the others are not reported
/// rather than reported as a made-up 0.
pub const COUNTERS: [CounterMetric; 2] = [
    // Transactions applied after becoming durable.
    CounterMetric::CommitCount,
    // Handshakes and four-letter words that reached the core.
    CounterMetric::ConnectionRequestCount,
];

/// ZooKeeper's `ServerMetrics`: counters and latency summaries.
///
/// Kept twice because ZooKeeper's `srst` resets what `mntr` shows but not what Prometheus
/// scrapes (its Prometheus counters must never go backwards).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    lifetime: Window,
    since_reset: Window,
}

impl Metrics {
    pub fn count(&mut self, metric: CounterMetric) {
        for w in [&mut self.lifetime, &mut self.since_reset] {
            *w.counters.entry(metric).or_insert(0) += 1;
        }
    }

    /// A read (or ping, or other request without a transaction) was answered.
    pub fn read_latency(&mut self, d: Duration) {
        self.lifetime.read_latency.record(d);
        self.since_reset.read_latency.record(d);
    }

    /// A write was answered after its transaction became durable.
    pub fn update_latency(&mut self, d: Duration) {
        self.lifetime.update_latency.record(d);
        self.since_reset.update_latency.record(d);
    }

    /// `srst`: starts a new window for `mntr`; the lifetime values stay.
    pub fn reset(&mut self) {
        self.since_reset = Window::default();
    }

    /// Values since the last `srst` (`mntr`, `/commands/monitor`).
    pub fn since_reset(&self) -> fourlw::Metrics {
        self.since_reset.export()
    }

    /// Values since startup (`/metrics`).
    pub fn lifetime(&self) -> fourlw::Metrics {
        self.lifetime.export()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_clears_the_mntr_window_only() {
        let mut m = Metrics::default();
        m.count(CounterMetric::CommitCount);
        m.read_latency(Duration::from_micros(2500));
        m.read_latency(Duration::from_micros(500));
        m.read_latency(Duration::from_millis(7));
        let since = m.since_reset();
        assert_eq!(
            since.counters.first(),
            Some(&(CounterMetric::CommitCount, 1))
        );
        let read = since.summaries[0].1;
        assert_eq!((read.count, read.sum, read.min, read.max), (3, 9, 0, 7));
        assert_eq!((read.p50, read.p99), (2.0, 7.0));
        m.reset();
        let since = m.since_reset();
        assert_eq!(
            since.counters.first(),
            Some(&(CounterMetric::CommitCount, 0))
        );
        assert_eq!(since.summaries[0].1.count, 0);
        assert_eq!(m.lifetime().summaries[0].1.count, 3);
        assert_eq!(
            m.lifetime().counters.first(),
            Some(&(CounterMetric::CommitCount, 1))
        );
    }

    #[test]
    fn fresh_connection_stats_look_like_zookeepers() {
        let mut c = ConnStats::default();
        assert_eq!((c.last_op, c.last_cxid, c.last_zxid), ("NA", -1, -1));
        c.record(3, 0x10);
        assert_eq!(
            (c.last_latency_ms, c.last_zxid, c.latency.max()),
            (3, 0x10, 3)
        );
        c.reset();
        assert_eq!((c.last_zxid, c.latency.count), (-1, 0));
    }
}
