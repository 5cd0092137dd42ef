//! Counters behind `srvr`, `stat`, `cons` and `mntr`, kept as ZooKeeper's ServerStats and
//! per-connection stats are (reset by `srst` and `crst`).

use std::time::SystemTime;

/// Server-wide request statistics.
#[derive(Debug, Default, Clone)]
pub struct ServerStats {
    pub packets_received: u64,
    pub packets_sent: u64,
    pub latency: Latency,
    pub auth_failed: u64,
}

impl ServerStats {
    pub fn record_latency(&mut self, ms: f64) {
        self.latency.record(ms);
    }

    pub fn reset(&mut self) {
        *self = ServerStats::default();
    }
}

/// Min/avg/max of request latencies in milliseconds.
#[derive(Debug, Default, Clone)]
pub struct Latency {
    pub count: u64,
    pub total: f64,
    pub min: f64,
    pub max: f64,
}

impl Latency {
    pub fn record(&mut self, ms: f64) {
        if self.count == 0 || ms < self.min {
            self.min = ms;
        }
        if ms > self.max {
            self.max = ms;
        }
        self.count += 1;
        self.total += ms;
    }

    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total / self.count as f64
        }
    }
}

/// One connection's statistics.
#[derive(Debug, Default, Clone)]
pub struct ConnStats {
    pub received: u64,
    pub sent: u64,
    pub last_op: i32,
    pub last_cxid: i32,
    pub last_zxid: i64,
    pub last_latency: f64,
    pub last_response: Option<SystemTime>,
    pub latency: Latency,
}

impl ConnStats {
    pub fn record(&mut self, ms: f64, zxid: i64) {
        self.latency.record(ms);
        self.last_latency = ms;
        self.last_zxid = zxid;
        self.last_response = Some(SystemTime::now());
    }

    pub fn reset(&mut self) {
        *self = ConnStats::default();
    }
}
