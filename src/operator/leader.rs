//! Leader election on a Lease, so two operator replicas can run and only one reconciles.
//!
//! The work runs while this replica holds the Lease. When the Lease is lost, the work is
//! told to stop and is awaited (in-flight reconciles finish) before the replica competes
//! again; on shutdown the Lease is released so the other replica takes over at once
//! instead of waiting for it to expire.

use std::future::Future;
use std::sync::Arc;

use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::{oneshot, watch};
use tracing::{info, warn};

use super::metrics::Metrics;

/// Lease settings.
#[derive(Debug, Clone)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    /// Seconds a holder may go without renewing.
    pub duration: u64,
    /// Seconds before expiry the holder renews.
    pub grace: u64,
}

/// Runs `work` whenever this replica leads, until `shutdown` turns true.
/// `work` gets a receiver that fires when it must stop.
pub async fn lead<F, Fut>(
    client: kube::Client,
    settings: LeaseSettings,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
    work: F,
) -> anyhow::Result<()>
where
    F: Fn(oneshot::Receiver<()>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let manager = LeaseManagerBuilder::new(client, &settings.name)
        .with_namespace(&settings.namespace)
        .with_identity(&settings.identity)
        .with_duration(settings.duration)
        .with_grace(settings.grace)
        .with_field_manager(format!("{}-lease", super::names::MANAGER))
        .build()
        .await?;
    let (mut leading, lease_task) = manager.watch().await;
    info!(lease = %format!("{}/{}", settings.namespace, settings.name), identity = %settings.identity,
        "waiting for the leader lease");
    loop {
        // Follow until we lead or are told to stop.
        while !*leading.borrow_and_update() {
            tokio::select! {
                changed = leading.changed() => if changed.is_err() {
                    anyhow::bail!("the lease manager stopped: {:?}", lease_task.await);
                },
                _ = shutdown.changed() => {
                    drop(leading);
                    lease_task.await??;
                    return Ok(());
                }
            }
            if *shutdown.borrow() {
                drop(leading);
                lease_task.await??;
                return Ok(());
            }
        }
        info!("leading: reconciling");
        metrics.set_leader(true);
        let (stop, stopped) = oneshot::channel();
        let mut running = tokio::spawn(work(stopped));
        let mut finished = None;
        let shutting_down = loop {
            tokio::select! {
                changed = leading.changed() => {
                    if changed.is_err() || !*leading.borrow_and_update() { break false; }
                }
                _ = shutdown.changed() => break true,
                r = &mut running => {
                    warn!("the controller stopped on its own");
                    finished = Some(r);
                    break true;
                }
            }
        };
        let _ = stop.send(());
        let result = match finished {
            Some(r) => r,
            None => running.await,
        };
        if let Err(e) = result {
            warn!(error = %e, "the controller task failed");
        }
        metrics.set_leader(false);
        if shutting_down {
            drop(leading);
            lease_task.await??;
            info!("released the leader lease");
            return Ok(());
        }
        warn!("lost the leader lease: stopped reconciling");
    }
}
