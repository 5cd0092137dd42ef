//! The request loops: `outstanding` loops per session, all sharing the session's client.
//!
//! The client crate pipelines concurrent requests on one connection, so M loops sharing one
//! `Client` keep M requests in flight on that session. Only operations that start after the
//! warm-up and finish before the end are measured, so the rate is completed operations over
//! exactly the measured window.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;
use zookeeper_client::{Acls, Client, CreateMode, Error as ZkError};

use super::error::error_name;
use super::stats::{Recorder, StatsError};
use super::workload::{Op, Step, Workload, key_path, scratch_path};

/// Longest a single request may take before it counts as a `Timeout` error; bounds the run.
pub const OP_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause after a connection loss before the next request.
const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// What every loop shares.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Operation mix.
    pub workload: Workload,
    /// Base node of the run.
    pub base: Arc<str>,
    /// Number of keys under the base.
    pub keys: usize,
    /// Data written by set and create.
    pub value: Arc<[u8]>,
    /// Start of the measured window.
    pub measure_from: Instant,
    /// End of the run.
    pub stop_at: Instant,
    /// Set on Ctrl-C to end the run early.
    pub stop: Arc<AtomicBool>,
}

/// Identity of one loop, for its scratch node.
#[derive(Debug, Clone, Copy)]
pub struct LoopId {
    /// Session index.
    pub session: usize,
    /// Loop index within the session.
    pub slot: usize,
}

struct Loop {
    client: Client,
    plan: Plan,
    id: LoopId,
    recorder: Recorder,
}

impl Loop {
    fn running(&self) -> bool {
        Instant::now() < self.plan.stop_at && !self.plan.stop.load(Ordering::Relaxed)
    }

    /// Runs one request, records it if it lies in the measured window, returns its error.
    async fn timed<T>(
        &mut self,
        op: Op,
        request: impl Future<Output = Result<T, ZkError>>,
    ) -> Option<ZkError> {
        let started = Instant::now();
        let result = tokio::time::timeout(OP_TIMEOUT, request)
            .await
            .unwrap_or(Err(ZkError::Timeout));
        let finished = Instant::now();
        let measured = started >= self.plan.measure_from && finished <= self.plan.stop_at;
        match result {
            Ok(_) => {
                if measured {
                    self.recorder.record(op, finished - started);
                }
                None
            }
            Err(e) => {
                if measured {
                    self.recorder.record_error(op, &error_name(&e));
                }
                Some(e)
            }
        }
    }

    async fn run(mut self) -> Recorder {
        let mut rng = SmallRng::from_rng(&mut rand::rng());
        let scratch = scratch_path(&self.plan.base, self.id.session, self.id.slot);
        let client = self.client.clone();
        let value = Arc::clone(&self.plan.value);
        let options = CreateMode::Persistent.with_acls(Acls::anyone_all());
        while self.running() {
            let step = self.plan.workload.step(rng.random::<f64>());
            let key = key_path(&self.plan.base, rng.random_range(0..self.plan.keys.max(1)));
            let error = match step {
                Step::Get => self.timed(Op::Get, client.get_data(&key)).await,
                Step::Set => {
                    self.timed(Op::Set, client.set_data(&key, &value, None))
                        .await
                }
                Step::CreateDelete => {
                    let created = self
                        .timed(Op::Create, client.create(&scratch, &value, &options))
                        .await;
                    // After a lost reply the node may exist; delete it either way.
                    if matches!(created, Some(ZkError::NoNode)) {
                        created
                    } else {
                        self.timed(Op::Delete, client.delete(&scratch, None)).await
                    }
                }
            };
            match error {
                // The session is over: every further request would fail at once.
                Some(ZkError::SessionExpired | ZkError::ClientClosed | ZkError::AuthFailed) => {
                    break;
                }
                // Disconnected: give the client a moment to reconnect instead of spinning.
                Some(ZkError::ConnectionLoss) => tokio::time::sleep(RETRY_PAUSE).await,
                _ => {}
            }
        }
        self.recorder
    }
}

/// Runs all loops of all sessions until the plan's end and merges their measurements.
pub async fn run(
    clients: &[Client],
    outstanding: usize,
    plan: &Plan,
) -> Result<Recorder, StatsError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (session, client) in clients.iter().enumerate() {
        for slot in 0..outstanding {
            let lp = Loop {
                client: client.clone(),
                plan: plan.clone(),
                id: LoopId { session, slot },
                recorder: Recorder::new()?,
            };
            tasks.spawn(lp.run());
        }
    }
    let mut total = Recorder::new()?;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(recorder) => total.merge(&recorder)?,
            Err(e) => tracing::warn!("request loop failed: {e}"),
        }
    }
    Ok(total)
}
