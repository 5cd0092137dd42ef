//! The server: connections, sessions, request pipeline, watches and admin endpoints.

pub mod admin;
pub mod admin_http;
pub mod connection;
pub mod core;
pub mod ensemble;
mod ensemble_admin;
mod ensemble_reconfig;
mod ensemble_start;
pub mod fourlw;
pub mod handshake;
pub mod host;
pub mod listener;
pub mod maintenance;
pub mod quorum_probe;
pub mod read_only;
pub mod reads;
pub mod reply;
pub mod session;
pub mod stats;
pub mod watches;
pub mod writes;

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::mpsc;
use tracing::info;

use crate::config::ServerConfig;
use crate::consensus::committer::Committer;
use crate::consensus::plan::Mode;
use crate::consensus::storage::{Layout, recover};
use admin::AdminHandle;

/// Arguments of `zk server`.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// A ZooKeeper zoo.cfg file; without it, a standalone server on 127.0.0.1:2181 with its
    /// data in ./zk-data.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long)]
    pub log_json: bool,
    /// A file of `member=myid` lines (written by the zk operator) to take this member's
    /// server id from, instead of dataDir/myid alone. The id is written to dataDir/myid on
    /// first start; a dataDir whose myid differs is refused.
    #[arg(long, requires = "member")]
    pub myid_map: Option<std::path::PathBuf>,
    /// This member's name in `--myid-map` (the pod name under the operator).
    #[arg(long, requires = "myid_map")]
    pub member: Option<String>,
    /// Listen on this address (client port, AdminServer, Prometheus) instead of what zoo.cfg
    /// says; the operator passes the pod IP.
    #[arg(long)]
    pub bind_address: Option<std::net::IpAddr>,
}

/// Applies `--bind-address` and `--myid-map`/`--member` to the configuration read from zoo.cfg.
fn apply_member_args(cfg: &mut ServerConfig, args: &ServerArgs) -> anyhow::Result<()> {
    if let Some(addr) = args.bind_address {
        cfg.client_port_address = addr;
        cfg.admin_server_address = addr;
        cfg.metrics_host = addr;
    }
    if let (Some(map), Some(member)) = (&args.myid_map, &args.member) {
        let id = crate::config::member_id::from_map_file(map, member)?;
        crate::config::member_id::bind_to_data_dir(&cfg.data_dir, id)?;
        cfg.my_id = id;
        info!(member = %member, myid = id, "server id from the myid map");
    }
    if cfg.my_id != 0 && !cfg.servers.is_empty() && !cfg.servers.iter().any(|s| s.id == cfg.my_id) {
        anyhow::bail!("zoo.cfg lists no server.{} line for this member", cfg.my_id);
    }
    Ok(())
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

/// Runs the server until SIGTERM/SIGINT.
pub fn run(args: ServerArgs) -> anyhow::Result<()> {
    init_logging(args.log_json);
    let mut cfg = match &args.config {
        Some(p) => ServerConfig::from_file(p)?,
        None => ServerConfig::standalone_default(),
    };
    apply_member_args(&mut cfg, &args)?;
    let mode = crate::consensus::plan::plan(&cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("zk-server")
        .build()?;
    match mode {
        Mode::Standalone => rt.block_on(serve(Arc::new(cfg))),
        Mode::Ensemble(plan) => rt.block_on(ensemble_start::serve(Arc::new(cfg), *plan)),
    }
}

async fn serve(cfg: Arc<ServerConfig>) -> anyhow::Result<()> {
    let layout = Layout::new(&cfg.data_dir, &cfg.data_log_dir);
    let (tree, wal) = recover(&layout, cfg.force_sync, cfg.extended_types_enabled)
        .with_context(|| format!("recovering from {}", cfg.data_dir.display()))?;
    let (commit_tx, commit_rx) = mpsc::unbounded_channel();
    let committer = Committer::spawn(wal, commit_tx)?;
    let core = core::Core::new(cfg.clone(), tree, core::Log::Standalone(committer));
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    let admin = AdminHandle::new(core_tx.clone(), layout);
    let addr = (cfg.client_port_address, cfg.client_port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the client port {}:{}", addr.0, addr.1))?;
    // Bound before anything is served, so a taken port stops startup (as in ZooKeeper).
    let endpoints = admin_http::Endpoints::bind(&cfg).await?;
    info!(address = %listener.local_addr()?, "serving ZooKeeper clients (standalone)");
    let settings = Arc::new(connection::Settings::new(&cfg, admin.clone()));
    tokio::spawn(listener::accept(
        listener,
        core_tx.clone(),
        cfg.max_client_cnxns,
        settings,
    ));
    endpoints.spawn(admin);
    let mut core_task = tokio::spawn(core.run(core_rx, commit_rx));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let failed = tokio::select! {
        r = &mut core_task => r.unwrap_or(true),
        _ = term.recv() => { let _ = core_tx.send(core::ToCore::Shutdown); core_task.await.unwrap_or(true) }
        _ = tokio::signal::ctrl_c() => { let _ = core_tx.send(core::ToCore::Shutdown); core_task.await.unwrap_or(true) }
    };
    if failed {
        anyhow::bail!("stopped because the transaction log could not be written");
    }
    info!("shut down cleanly");
    Ok(())
}
