//! `zk bench`: a load generator for any ZooKeeper-compatible server.
//!
//! N sessions each keep M requests in flight for a fixed time and report throughput and
//! latency percentiles, so our server and Apache ZooKeeper can be measured by the same tool in
//! the same run (docs/benchmarks.md). A run creates its own base node (`/zk-bench-<random>`)
//! with K keys and deletes it afterwards, also after Ctrl-C (unless `--keep`: then the nodes
//! stay, e.g. to measure the memory of a server holding them); it always ends by itself.

mod connect_string;
mod driver;
mod error;
mod report;
mod session;
mod stats;
mod tree;
mod wire;
mod workload;

pub use error::BenchError;
pub use report::Report;
pub use stats::{Latency, OpSummary, Summary};
pub use workload::Workload;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use tokio::time::Instant;
use zookeeper_client::Client;

use connect_string::ConnectString;
use driver::SESSION_TIMEOUT;

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

/// What the arguments say, checked before anything touches the server.
struct Checked {
    connect: ConnectString,
    duration: Duration,
    warmup: Duration,
}

fn validate(args: &BenchArgs) -> Result<Checked, BenchError> {
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
    Ok(Checked {
        connect: ConnectString::parse(&args.server).map_err(|e| BenchError::Args(e.to_string()))?,
        duration: seconds("duration", args.duration, false)?,
        warmup: seconds("warmup", args.warmup, true)?,
    })
}

/// The session that creates and deletes the benchmark's nodes (the load sessions do not).
async fn connect_admin(server: &str) -> Result<Client, BenchError> {
    let connector = Client::connector().with_session_timeout(SESSION_TIMEOUT);
    tokio::time::timeout(SESSION_TIMEOUT, connector.connect(server))
        .await
        .unwrap_or(Err(zookeeper_client::Error::Timeout))
        .map_err(|source| BenchError::Connect {
            server: server.to_string(),
            source,
        })
}

/// What the measured window produced.
struct Measured {
    recorder: stats::Recorder,
    elapsed: Duration,
    /// CPU seconds this process used in the window; `None` if the run ended early.
    client_cpu: Option<f64>,
}

/// Loads the server for warm-up plus duration (or until Ctrl-C) and measures it.
async fn measure(
    args: &BenchArgs,
    checked: &Checked,
    base: &str,
    keys: usize,
    value: Bytes,
) -> Result<Measured, BenchError> {
    let stop = Arc::new(AtomicBool::new(false));
    let ctrl_c = Arc::clone(&stop);
    let signal = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.store(true, Ordering::Relaxed);
        }
    });
    let measure_from = Instant::now() + checked.warmup;
    let plan = session::Plan {
        workload: args.workload,
        base: format!("{}{base}", checked.connect.chroot).into(),
        keys,
        value,
        measure_from,
        stop_at: measure_from + checked.duration,
        stop: Arc::clone(&stop),
    };
    let stop_at = plan.stop_at;
    // The tool's own CPU over exactly the measured window: it shares the machine with the
    // servers it measures, so its cost is part of what a reader must know.
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from).await;
        let before = crate::server::host::cpu_seconds();
        tokio::time::sleep_until(stop_at).await;
        Some(crate::server::host::cpu_seconds()? - before?)
    });
    tracing::info!(warmup = ?checked.warmup, duration = ?checked.duration, "running");
    let recorder = driver::run(&checked.connect, args.sessions, args.outstanding, &plan).await;
    signal.abort();
    let client_cpu = if Instant::now() >= stop_at && !stop.load(Ordering::Relaxed) {
        cpu.await.ok().flatten()
    } else {
        cpu.abort();
        None
    };
    let end = Instant::now().min(stop_at);
    Ok(Measured {
        recorder: recorder?,
        elapsed: end.saturating_duration_since(measure_from),
        client_cpu,
    })
}

/// Sets up, loads, measures and cleans up; returns the report.
pub async fn bench(args: &BenchArgs) -> Result<Report, BenchError> {
    let checked = validate(args)?;
    let (base, value) = {
        let mut rng = rand::rng();
        let mut value = vec![0u8; args.value_size];
        rng.fill(&mut value[..]);
        (workload::base_path(rng.random()), Bytes::from(value))
    };
    let keys = if args.workload.uses_keys() {
        args.keys
    } else {
        0
    };

    let admin = connect_admin(&args.server).await?;
    tracing::info!(base = %base, keys, "creating benchmark nodes");
    let setup_started = Instant::now();
    let created = tree::create(&admin, &base, keys, value.clone()).await;
    let setup = setup_started.elapsed();
    let measured = match created {
        Ok(()) => measure(args, &checked, &base, keys, value).await,
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
    let measured = measured?;
    cleaned?;
    let summary = measured.recorder.summarize(measured.elapsed)?;
    let client_cpu_us_per_op = measured
        .client_cpu
        .filter(|_| summary.total.ops > 0)
        .map(|cpu| cpu * 1e6 / summary.total.ops as f64);
    Ok(Report {
        server: args.server.clone(),
        base,
        workload: args.workload,
        sessions: args.sessions,
        outstanding: args.outstanding,
        value_size: args.value_size,
        keys,
        kept: args.keep,
        setup_secs: setup.as_secs_f64(),
        warmup_secs: checked.warmup.as_secs_f64(),
        duration_secs: measured.elapsed.as_secs_f64(),
        client_cpu_secs: measured.client_cpu,
        client_cpu_us_per_op,
        summary,
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
