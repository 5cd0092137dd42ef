//! Latency and error accounting: one recorder per request loop, merged at the end.
//!
//! Each loop owns its histograms, so recording costs no locking; merging happens once.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use thiserror::Error;

use super::workload::Op;

/// Highest latency the histograms track exactly (longer ones are clamped): one minute.
const MAX_MICROS: u64 = 60_000_000;

/// Histogram set-up or merge failed (only with inconsistent bounds, i.e. a bug).
#[derive(Debug, Error)]
pub enum StatsError {
    /// Could not create a histogram.
    #[error("cannot create latency histogram: {0}")]
    Create(#[from] hdrhistogram::CreationError),
    /// Could not merge histograms.
    #[error("cannot merge latency histograms: {0}")]
    Merge(#[from] hdrhistogram::AdditionError),
}

fn new_histogram() -> Result<Histogram<u64>, StatsError> {
    Ok(Histogram::new_with_bounds(1, MAX_MICROS, 3)?)
}

/// What one loop (or, merged, the whole run) measured.
#[derive(Debug, Clone)]
pub struct Recorder {
    latencies: BTreeMap<Op, Histogram<u64>>,
    errors: BTreeMap<String, u64>,
    resumed: u64,
    abandoned: u64,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Result<Self, StatsError> {
        let mut latencies = BTreeMap::new();
        for op in Op::ALL {
            latencies.insert(op, new_histogram()?);
        }
        Ok(Recorder {
            latencies,
            errors: BTreeMap::new(),
            resumed: 0,
            abandoned: 0,
        })
    }

    /// Records a successful operation.
    pub fn record(&mut self, op: Op, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        if let Some(h) = self.latencies.get_mut(&op) {
            h.saturating_record(micros);
        }
    }

    /// Records a failed operation under the error's name.
    pub fn record_error(&mut self, op: Op, kind: &str) {
        *self
            .errors
            .entry(format!("{}: {kind}", op.name()))
            .or_default() += 1;
    }

    /// Counts a session resumed on another connection after losing its own.
    pub fn record_resumed(&mut self) {
        self.resumed += 1;
    }

    /// Counts a session that ended before the run did (expired, or no host took it back).
    pub fn record_abandoned(&mut self) {
        self.abandoned += 1;
    }

    /// Adds another recorder's measurements.
    pub fn merge(&mut self, other: &Recorder) -> Result<(), StatsError> {
        for (op, h) in &other.latencies {
            match self.latencies.get_mut(op) {
                Some(mine) => mine.add(h)?,
                None => {
                    self.latencies.insert(*op, h.clone());
                }
            }
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_default() += n;
        }
        self.resumed += other.resumed;
        self.abandoned += other.abandoned;
        Ok(())
    }

    /// Turns the measurements into numbers for a window of `elapsed`.
    pub fn summarize(&self, elapsed: Duration) -> Result<Summary, StatsError> {
        let mut all = new_histogram()?;
        let mut by_op = BTreeMap::new();
        for (op, h) in &self.latencies {
            all.add(h)?;
            if !h.is_empty() {
                by_op.insert(op.name().to_string(), OpSummary::of(h, elapsed));
            }
        }
        Ok(Summary {
            total: OpSummary::of(&all, elapsed),
            by_op,
            errors: self.errors.values().sum(),
            error_kinds: self.errors.clone(),
            sessions_resumed: self.resumed,
            sessions_abandoned: self.abandoned,
        })
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p999: u64,
    /// Slowest.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
}

/// Count, rate and latency of one operation type (or all together).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpSummary {
    /// Completed operations.
    pub ops: u64,
    /// Completed operations per second of the measured window.
    pub ops_per_sec: f64,
    /// Latency of completed operations, microseconds.
    pub latency_us: Latency,
}

impl OpSummary {
    fn of(h: &Histogram<u64>, elapsed: Duration) -> Self {
        let secs = elapsed.as_secs_f64();
        let ops = h.len();
        OpSummary {
            ops,
            ops_per_sec: if secs > 0.0 { ops as f64 / secs } else { 0.0 },
            latency_us: Latency {
                p50: h.value_at_quantile(0.5),
                p90: h.value_at_quantile(0.9),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
                mean: h.mean(),
            },
        }
    }
}

/// The numbers of a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// All operation types together.
    pub total: OpSummary,
    /// Per operation type, only those that ran.
    pub by_op: BTreeMap<String, OpSummary>,
    /// Failed operations.
    pub errors: u64,
    /// Failed operations by `op: error`.
    pub error_kinds: BTreeMap<String, u64>,
    /// Times a load session lost its connection and was resumed on a server.
    pub sessions_resumed: u64,
    /// Load sessions that ended early: expired, or taken back by no server in time.
    pub sessions_abandoned: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_rate() {
        let mut r = Recorder::new().unwrap();
        for micros in 1..=1000 {
            r.record(Op::Get, Duration::from_micros(micros));
        }
        let s = r.summarize(Duration::from_secs(2)).unwrap();
        assert_eq!(s.total.ops, 1000);
        assert!((s.total.ops_per_sec - 500.0).abs() < 1e-9);
        let l = &s.total.latency_us;
        assert!((499..=501).contains(&l.p50), "{l:?}");
        assert!((899..=901).contains(&l.p90), "{l:?}");
        assert!((989..=991).contains(&l.p99), "{l:?}");
        assert!((998..=1000).contains(&l.p999), "{l:?}");
        assert!((999..=1001).contains(&l.max), "{l:?}");
        assert_eq!(s.by_op.keys().collect::<Vec<_>>(), ["get"]);
    }

    #[test]
    fn merge_adds_counts_and_errors() {
        let mut a = Recorder::new().unwrap();
        let mut b = Recorder::new().unwrap();
        a.record(Op::Get, Duration::from_millis(1));
        b.record(Op::Set, Duration::from_millis(2));
        b.record_error(Op::Set, "BadVersion");
        b.record_error(Op::Set, "BadVersion");
        b.record_resumed();
        a.record_abandoned();
        a.merge(&b).unwrap();
        let s = a.summarize(Duration::from_secs(1)).unwrap();
        assert_eq!(s.total.ops, 2);
        assert_eq!(s.errors, 2);
        assert_eq!(s.error_kinds.get("set: BadVersion"), Some(&2));
        assert_eq!(s.by_op.len(), 2);
        assert_eq!((s.sessions_resumed, s.sessions_abandoned), (1, 1));
    }

    #[test]
    fn empty_run() {
        let s = Recorder::new().unwrap().summarize(Duration::ZERO).unwrap();
        assert_eq!(s.total.ops, 0);
        assert_eq!(s.total.ops_per_sec, 0.0);
        assert!(s.by_op.is_empty());
    }

    #[test]
    fn huge_latency_is_clamped() {
        let mut r = Recorder::new().unwrap();
        r.record(Op::Get, Duration::from_secs(3600));
        let s = r.summarize(Duration::from_secs(1)).unwrap();
        assert!(s.total.latency_us.max >= MAX_MICROS);
    }
}
