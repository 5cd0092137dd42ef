//! `zk operator`: the process. Connects with the usual kubeconfig rules (in-cluster
//! service account, else $KUBECONFIG or ~/.kube/config), serves health and metrics,
//! competes for the leader Lease and reconciles while it holds it, and stops cleanly on
//! SIGTERM (in-flight reconciles finish, the Lease is released).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use kube::runtime::events::{Recorder, Reporter};
use tokio::sync::{oneshot, watch};
use tracing::{error, info};

use super::controller;
use super::http::{self, Health};
use super::leader::{self, LeaseSettings};
use super::metrics::Metrics;
use super::names::MANAGER;
use super::reconcile::Context;

/// Log output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Arguments of `zk operator`.
#[derive(clap::Args, Debug)]
pub struct OperatorArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "ZK_OPERATOR_NAMESPACE")]
    pub namespace: Option<String>,
    /// Image for members whose ensemble does not name one.
    #[arg(long, env = "ZK_SERVER_IMAGE", default_value = concat!("zk:", env!("CARGO_PKG_VERSION")))]
    pub server_image: String,
    /// DNS domain of the cluster (members are named <pod>.<headless>.<ns>.svc.<domain>).
    #[arg(long, default_value = "cluster.local")]
    pub cluster_domain: String,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Compete for a Lease and reconcile only while holding it (needed when more than one
    /// replica runs).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    #[arg(long, default_value = "zk-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (default: the operator's own, from POD_NAMESPACE).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// This replica's identity in the Lease and in events (default: POD_NAME, else
    /// host name and process id).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => b.json().try_init(),
        LogFormat::Text => b.try_init(),
    };
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "zk-operator".to_string());
    format!("{host}-{}", std::process::id())
}

/// Runs the operator until SIGTERM/SIGINT.
pub fn run(args: OperatorArgs) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("zk-operator")
        .build()?;
    rt.block_on(operate(args))
}

async fn operate(args: OperatorArgs) -> anyhow::Result<()> {
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    tokio::spawn(async move {
        let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                error!(error = %e, "cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        info!("shutting down");
        let _ = shutdown_tx.send(true);
    });

    let metrics = Arc::new(Metrics::default());
    let health = Arc::new(Health {
        metrics: metrics.clone(),
        ..Health::default()
    });
    let http_stop = wait_for(shutdown_rx.clone());
    let http_health = health.clone();
    let listen = args.listen;
    let http_task = tokio::spawn(async move {
        if let Err(e) = http::serve(listen, http_health, http_stop).await {
            error!(address = %listen, error = %e, "the health/metrics endpoint failed");
        }
    });

    let client = kube::Client::try_default()
        .await
        .context("connecting to the Kubernetes API (in-cluster, $KUBECONFIG or ~/.kube/config)")?;
    let version = client
        .apiserver_version()
        .await
        .context("asking the API server for its version")?;
    info!(server = %version.git_version, "connected to the Kubernetes API");
    health.ready.store(true, Ordering::Relaxed);

    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: MANAGER.to_string(),
            instance: Some(identity.clone()),
        },
    );
    let ctx = Arc::new(Context::new(
        client.clone(),
        recorder,
        metrics.clone(),
        args.server_image.clone(),
        args.cluster_domain.clone(),
    ));
    let namespace = args.namespace.clone();
    let result = if args.leader_election {
        let settings = LeaseSettings {
            namespace: args.lease_namespace.clone(),
            name: args.lease_name.clone(),
            identity,
            duration: 15,
            grace: 5,
        };
        let work = move |stop: oneshot::Receiver<()>| {
            controller::run(ctx.clone(), namespace.clone(), async move {
                let _ = stop.await;
            })
        };
        leader::lead(client, settings, metrics, shutdown_rx.clone(), work).await
    } else {
        metrics.set_leader(true);
        controller::run(ctx, namespace, wait_for(shutdown_rx.clone())).await;
        Ok(())
    };
    health.ready.store(false, Ordering::Relaxed);
    let _ = http_task.await;
    result
}

/// Resolves once the shutdown flag is true (or its sender is gone).
fn wait_for(
    mut rx: watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + Sync + 'static {
    let (tx, done) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = rx.wait_for(|stop| *stop).await;
        let _ = tx.send(());
    });
    async move {
        let _ = done.await;
    }
}
