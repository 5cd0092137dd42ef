//! `zk bench`: a load generator for any ZooKeeper-compatible server.
//!
//! N sessions each keep M requests in flight for a fixed time and report throughput and
//! latency percentiles, so our server and Apache ZooKeeper can be measured by the same tool in
//! the same run (docs/benchmarks.md). A run creates its own base node (`/zk-bench-<random>`)
//! with K keys and deletes it afterwards, also after Ctrl-C (unless `--keep`: then the nodes
//! stay, e.g. to measure the memory of a server holding them); it always ends by itself.

mod driver;
mod error;
mod report;
mod stats;
mod tree;
mod workload;

pub use error::BenchError;
pub use report::Report;
pub use stats::{Latency, OpSummary, Summary};
pub use workload::Workload;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::Rng;
use tokio::task::JoinSet;
use tokio::time::Instant;
use zookeeper_client::Client;

/// Session timeout of the benchmark's sessions.
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Arguments of `zk bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Connect string of the server or ensemble under test.
    #[arg(long, default_value = "127.0.0.1:2181")]
    pub server: String,
    /// Operation mix: get, set, create-delete, or mixed (90% get, 10% set).
    #[arg(long, value_enum, default_value_t = Workload::Mixed)]
    pub workload: Workload,
    /// Number of sessions (connections).
    #[arg(long, default_value_t = 4)]
    pub sessions: usize,
    /// Requests each session keeps in flight.
    #[arg(long, default_value_t = 8)]
    pub outstanding: usize,
    /// Bytes of data per key and per write.
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Keys created for get and set.
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Leave the base node and its keys on the server after the run, e.g. to measure the
    /// memory of a server holding them (`zk cli deleteall <base>` removes them later).
    #[arg(long)]
    pub keep: bool,
}

fn seconds(name: &str, value: f64, allow_zero: bool) -> Result<Duration, BenchError> {
    if !value.is_finite() || value < 0.0 || (!allow_zero && value == 0.0) || value > 86_400.0 {
        return Err(BenchError::Args(format!(
            "--{name} must be a positive number of seconds, got {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

/// Checks the arguments before anything touches the server.
fn validate(args: &BenchArgs) -> Result<(Duration, Duration), BenchError> {
    if args.sessions == 0 || args.outstanding == 0 {
        return Err(BenchError::Args(
            "--sessions and --outstanding must be at least 1".into(),
        ));
    }
    if args.workload.uses_keys() && args.keys == 0 {
        return Err(BenchError::Args(
            "--keys must be at least 1 for get, set and mixed".into(),
        ));
    }
    Ok((
        seconds("duration", args.duration, false)?,
        seconds("warmup", args.warmup, true)?,
    ))
}

async fn connect_all(server: &str, sessions: usize) -> Result<Vec<Client>, BenchError> {
    let mut tasks = JoinSet::new();
    for _ in 0..sessions {
        let server = server.to_string();
        tasks.spawn(async move {
            let connector = Client::connector().with_session_timeout(SESSION_TIMEOUT);
            tokio::time::timeout(SESSION_TIMEOUT, connector.connect(&server))
                .await
                .unwrap_or(Err(zookeeper_client::Error::Timeout))
                .map_err(|source| BenchError::Connect { server, source })
        });
    }
    let mut clients = Vec::with_capacity(sessions);
    while let Some(done) = tasks.join_next().await {
        clients.push(done??);
    }
    Ok(clients)
}

/// Loads the server for warm-up plus duration (or until Ctrl-C); returns the measurements
/// and the length of the measured window.
async fn measure(
    args: &BenchArgs,
    clients: &[Client],
    base: Arc<str>,
    keys: usize,
    value: Arc<[u8]>,
    warmup: Duration,
    duration: Duration,
) -> Result<(stats::Recorder, Duration), BenchError> {
    let stop = Arc::new(AtomicBool::new(false));
    let ctrl_c = Arc::clone(&stop);
    let signal = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.store(true, Ordering::Relaxed);
        }
    });
    let measure_from = Instant::now() + warmup;
    let plan = driver::Plan {
        workload: args.workload,
        base,
        keys,
        value,
        measure_from,
        stop_at: measure_from + duration,
        stop,
    };
    tracing::info!(?warmup, ?duration, "running");
    let recorder = driver::run(clients, args.outstanding, &plan).await;
    signal.abort();
    let end = Instant::now().min(plan.stop_at);
    Ok((recorder?, end.saturating_duration_since(measure_from)))
}

/// Sets up, loads, measures and cleans up; returns the report.
pub async fn bench(args: &BenchArgs) -> Result<Report, BenchError> {
    let (duration, warmup) = validate(args)?;
    let (base, value) = {
        let mut rng = rand::rng();
        let mut value = vec![0u8; args.value_size];
        rng.fill(&mut value[..]);
        let base: Arc<str> = workload::base_path(rng.random()).into();
        (base, Arc::<[u8]>::from(value))
    };
    let keys = if args.workload.uses_keys() {
        args.keys
    } else {
        0
    };

    let clients = connect_all(&args.server, args.sessions).await?;
    let admin = clients
        .first()
        .cloned()
        .ok_or_else(|| BenchError::Args("no session".into()))?;
    tracing::info!(base = %base, keys, "creating benchmark nodes");
    let setup_started = Instant::now();
    let created = tree::create(&admin, &base, keys, Arc::clone(&value)).await;
    let setup = setup_started.elapsed();
    let measured = match created {
        Ok(()) => {
            measure(
                args,
                &clients,
                Arc::clone(&base),
                keys,
                value,
                warmup,
                duration,
            )
            .await
        }
        Err(e) => Err(e),
    };
    // A kept tree is left even after a failed run: it is what the caller asked for, and
    // `zk cli deleteall` removes it.
    let cleaned = if args.keep {
        tracing::info!(base = %base, "keeping benchmark nodes");
        Ok(())
    } else {
        tracing::info!("deleting benchmark nodes");
        tree::delete(&admin, &base).await
    };
    let (recorder, elapsed) = measured?;
    cleaned?;
    Ok(Report {
        server: args.server.clone(),
        base: base.to_string(),
        workload: args.workload,
        sessions: args.sessions,
        outstanding: args.outstanding,
        value_size: args.value_size,
        keys,
        kept: args.keep,
        setup_secs: setup.as_secs_f64(),
        warmup_secs: warmup.as_secs_f64(),
        duration_secs: elapsed.as_secs_f64(),
        summary: recorder.summarize(elapsed)?,
    })
}

/// Runs the benchmark and prints its report on stdout.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(bench(&args))?;
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}
