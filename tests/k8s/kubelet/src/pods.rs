//! Follows the pods bound to this node and gives each its own worker; a pod that disappears from
//! the API (also across a watch restart) is stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::ctx::Ctx;
use crate::worker::Worker;

struct Running {
    updates: watch::Sender<Option<Pod>>,
    task: JoinHandle<()>,
}

pub async fn run(ctx: Arc<Ctx>, mut shutdown: watch::Receiver<bool>) {
    let api = Api::<Pod>::all(ctx.client.clone());
    let cfg = watcher::Config::default().fields(&format!("spec.nodeName={}", ctx.node_name));
    let mut stream = watcher::watcher(api, cfg).boxed();
    let mut pods: BTreeMap<String, Running> = BTreeMap::new();
    let mut listed: Option<BTreeSet<String>> = None;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            ev = stream.next() => {
                let Some(ev) = ev else { break };
                match ev {
                    Ok(Event::Init) => listed = Some(BTreeSet::new()),
                    Ok(Event::InitApply(p)) => {
                        if let (Some(l), Some(uid)) = (listed.as_mut(), p.metadata.uid.clone()) {
                            l.insert(uid);
                        }
                        apply(&ctx, &mut pods, p, &shutdown);
                    }
                    Ok(Event::InitDone) => {
                        if let Some(seen) = listed.take() {
                            for (uid, r) in &pods {
                                if !seen.contains(uid) {
                                    r.updates.send_replace(None);
                                }
                            }
                        }
                    }
                    Ok(Event::Apply(p)) => apply(&ctx, &mut pods, p, &shutdown),
                    Ok(Event::Delete(p)) => {
                        if let Some(r) = p.metadata.uid.as_ref().and_then(|u| pods.get(u)) {
                            r.updates.send_replace(None);
                        }
                    }
                    Err(e) => {
                        warn!("pod watch: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                pods.retain(|_, r| !r.task.is_finished());
            }
        }
    }
    info!("stopping {} pods", pods.len());
    for (_, r) in pods {
        if let Err(e) = r.task.await {
            warn!("pod worker failed: {e}");
        }
    }
}

fn apply(
    ctx: &Arc<Ctx>,
    pods: &mut BTreeMap<String, Running>,
    pod: Pod,
    shutdown: &watch::Receiver<bool>,
) {
    let Some(uid) = pod.metadata.uid.clone() else {
        return;
    };
    if let Some(r) = pods.get(&uid) {
        r.updates.send_replace(Some(pod));
        return;
    }
    // A pod that already finished, or whose deletion completed while no worker ran, needs none.
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none() {
        return;
    }
    let (tx, rx) = watch::channel(Some(pod.clone()));
    let worker = Worker::new(ctx.clone(), pod);
    let task = tokio::spawn(worker.run(rx, shutdown.clone()));
    pods.insert(uid, Running { updates: tx, task });
}
