//! A test-only kubelet: registers one Node and runs the pods bound to it as local processes, each
//! in its own network, mount and UTS namespaces, with the locally built `zk` binary standing in
//! for every container image. It exists because no container runtime or image can run here;
//! everything around it (API server, scheduler, controllers) is the real thing.

mod ctx;
mod env;
mod hosts;
mod node;
mod pods;
mod probe;
mod process;
mod provisioner;
mod sandbox;
mod status;
mod volumes;
mod worker;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use clap::Parser;
use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tracing::info;

#[derive(Parser)]
#[command(about = "Test kubelet for zk's Kubernetes tests (runs pods as local processes)")]
struct Args {
    #[arg(long)]
    kubeconfig: PathBuf,
    #[arg(long, default_value = "zk-test-node")]
    node_name: String,
    /// Pod directories, logs, volumes and the list of created mount points.
    #[arg(long)]
    state_dir: PathBuf,
    /// The zk binary every container runs in place of its image.
    #[arg(long)]
    zk_bin: PathBuf,
    /// The cluster's network namespace (this process runs in it; pod namespaces are named after it).
    #[arg(long)]
    netns: String,
    #[arg(long, default_value = "zkbr0")]
    bridge: String,
    #[arg(long, default_value = "10.244.0.0/16")]
    pod_cidr: String,
    /// The bridge's address: the node's address and the pods' default route.
    #[arg(long, default_value = "10.244.0.1")]
    gateway: std::net::Ipv4Addr,
    /// The cluster hosts file (bind-mounted over /etc/hosts in every pod).
    #[arg(long)]
    hosts_file: PathBuf,
    #[arg(long)]
    apiserver_port: u16,
    /// The StorageClass whose claims this kubelet provisions.
    #[arg(long, default_value = "local")]
    storage_class: String,
}

/// Where the image's files live for this cluster (`tests/k8s/down` removes it too).
fn image_dir(netns: &str) -> PathBuf {
    PathBuf::from("/run/zk-test-kubelet").join(netns)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,kube_client=warn,kube_runtime=warn".into()),
        )
        .init();
    let args = Args::parse();
    let kubeconfig = Kubeconfig::read_from(&args.kubeconfig).context("reading kubeconfig")?;
    let config =
        kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    let client = kube::Client::try_from(config)?;

    std::fs::create_dir_all(args.state_dir.join("volumes"))?;
    // The "image": a world-executable copy of zk (containers run as non-root users, who cannot
    // reach a binary under /root), outside /tmp (containers get a private /tmp).
    let image_bin = image_dir(&args.netns).join("bin");
    std::fs::create_dir_all(&image_bin)?;
    let zk_bin = image_bin.join("zk");
    std::fs::copy(&args.zk_bin, &zk_bin)
        .with_context(|| format!("copying {}", args.zk_bin.display()))?;
    std::fs::set_permissions(&zk_bin, std::fs::Permissions::from_mode(0o755))?;
    let created = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(args.state_dir.join("created-mountpoints"))?;

    let ctx = Arc::new(ctx::Ctx {
        client: client.clone(),
        node_name: args.node_name.clone(),
        host_ip: args.gateway.to_string(),
        apiserver_port: args.apiserver_port,
        state_dir: args.state_dir.clone(),
        zk_bin,
        net: sandbox::Network::new(
            args.netns.clone(),
            args.bridge.clone(),
            &args.pod_cidr,
            args.gateway,
        )?,
        hosts: hosts::Hosts::new(args.hosts_file.clone()),
        created: Mutex::new(created),
    });

    node::register(&client, &args.node_name, &ctx.host_ip)
        .await
        .context("registering the node")?;
    info!(node = %args.node_name, "node registered");
    let (stop_tx, stop_rx) = watch::channel(false);
    let heartbeat = tokio::spawn(node::keep_alive(
        client.clone(),
        args.node_name.clone(),
        ctx.host_ip.clone(),
        stop_rx.clone(),
    ));
    let provisioner = tokio::spawn(provisioner::run(
        client.clone(),
        args.storage_class.clone(),
        args.state_dir.join("volumes"),
        stop_rx.clone(),
    ));
    let pods = tokio::spawn(pods::run(ctx.clone(), stop_rx.clone()));

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => info!("SIGTERM: stopping pods"),
        _ = int.recv() => info!("SIGINT: stopping pods"),
    }
    stop_tx.send_replace(true);
    let _ = tokio::join!(pods, heartbeat, provisioner);
    if let Err(e) = std::fs::remove_dir_all(image_dir(&args.netns)) {
        tracing::warn!("removing the image directory: {e}");
    }
    info!("stopped");
    Ok(())
}
