//! Starting `zk server` as an ensemble member: recover and start replication, form the
//! ensemble when this member is the designated bootstrapper of an empty one, then serve clients
//! through the core; on SIGTERM a leader hands over leadership before it stops.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::admin::AdminHandle;
use super::core::{self, Log};
use super::ensemble::Ensemble;
use super::{admin_http, connection, listener};
use crate::config::ServerConfig;
use crate::consensus::channel_applier::ChannelApplier;
use crate::consensus::member::Member;
use crate::consensus::plan::Plan;
use crate::consensus::storage::Layout;
use crate::tree::DataTree;

/// How long the bootstrapping member waits for the other participants to come up.
const BOOTSTRAP_WAIT: Duration = Duration::from_secs(300);
/// How long a leader stopping on SIGTERM waits for another member to take over.
const STEP_DOWN_WAIT: Duration = Duration::from_secs(5);
/// Apply requests queued between replication and the core.
const APPLY_QUEUE: usize = 64;

pub(super) async fn serve(cfg: Arc<ServerConfig>, plan: Plan) -> anyhow::Result<()> {
    let listen = tokio::net::lookup_host(&plan.listen)
        .await
        .with_context(|| format!("resolving the quorum address {}", plan.listen))?
        .next()
        .with_context(|| format!("{} resolves to no address", plan.listen))?;
    let (applier, mut applies) = ChannelApplier::new(APPLY_QUEUE);
    let mut tree = DataTree::new();
    tree.extended_types = cfg.extended_types_enabled;
    let start = Member::start(plan.member_config(listen), applier);
    tokio::pin!(start);
    let member = loop {
        tokio::select! {
            r = &mut start => break Arc::new(r.context("starting replication")?),
            // No clients or watches exist yet, only the tree.
            Some(req) = applies.recv() => req.serve_bare(&mut tree),
        }
    };
    let touches = member
        .touches()
        .context("the member's touch stream was already taken")?;
    if plan.bootstraps && !member.is_initialized().await? {
        let m = member.clone();
        let voters = plan.voters.clone();
        tokio::spawn(async move {
            info!(voters = ?voters.keys().collect::<Vec<_>>(), "forming a new ensemble");
            if let Err(e) = m.bootstrap(voters, BOOTSTRAP_WAIT).await {
                warn!(error = %e, "could not form the ensemble");
            }
        });
    }
    let (ensemble, events) = Ensemble::new(
        member.clone(),
        plan.voters.keys().copied().collect(),
        plan.observers.clone(),
    );
    let core = core::Core::new(cfg.clone(), tree, Log::Ensemble(Box::new(ensemble)));
    let (core_tx, core_rx) = mpsc::unbounded_channel();
    let admin = AdminHandle::new(
        core_tx.clone(),
        Layout::new(&cfg.data_dir, &cfg.data_log_dir),
    );
    let addr = (cfg.client_port_address, cfg.client_port);
    let client_listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the client port {}:{}", addr.0, addr.1))?;
    let endpoints = admin_http::Endpoints::bind(&cfg).await?;
    info!(
        address = %client_listener.local_addr()?,
        id = plan.id,
        observer = plan.observer,
        "serving ZooKeeper clients (ensemble member)"
    );
    let settings = Arc::new(connection::Settings::new(&cfg, admin.clone()));
    tokio::spawn(listener::accept(
        client_listener,
        core_tx.clone(),
        cfg.max_client_cnxns,
        settings,
    ));
    endpoints.spawn(admin);
    let mut core_task = tokio::spawn(core.run_ensemble(core_rx, applies, events, touches));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let failed = tokio::select! {
        r = &mut core_task => r.unwrap_or(true),
        _ = term.recv() => {
            // A planned stop must not cost the others an election timeout.
            if let Some(to) = member.step_down(STEP_DOWN_WAIT).await {
                info!(to, "leadership handed over before stopping");
            }
            let _ = core_tx.send(core::ToCore::Shutdown);
            core_task.await.unwrap_or(true)
        }
        _ = tokio::signal::ctrl_c() => {
            let _ = core_tx.send(core::ToCore::Shutdown);
            core_task.await.unwrap_or(true)
        }
    };
    member.shutdown().await;
    if failed {
        anyhow::bail!("stopped because replication stopped");
    }
    info!("shut down cleanly");
    Ok(())
}
