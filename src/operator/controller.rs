//! Wires the reconciler into kube-runtime's Controller: the ensembles, the objects they own,
//! and their pods (whose readiness changes status without any owned object changing).

use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::Api;
use kube::runtime::controller::Controller;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tracing::{debug, info, warn};

use super::crd::ZooKeeperEnsemble;
use super::names::MANAGER;
use super::reconcile::{Context, error_policy, reconcile};

fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// The ensemble a member pod belongs to, from its instance label.
fn ensemble_of(pod: Pod) -> Option<ObjectRef<ZooKeeperEnsemble>> {
    let instance = pod.labels().get("app.kubernetes.io/instance")?.clone();
    let ns = pod.namespace()?;
    Some(ObjectRef::new(&instance).within(&ns))
}

/// Runs the controller until `shutdown` resolves, then lets running reconciles finish.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let ns = namespace.as_deref();
    let owned =
        watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"));
    info!(
        namespace = ns.unwrap_or("<all>"),
        "reconciling ZooKeeperEnsembles"
    );
    Controller::new(
        api::<ZooKeeperEnsemble>(&client, ns),
        watcher::Config::default(),
    )
    .owns(api::<StatefulSet>(&client, ns), owned.clone())
    .owns(api::<Service>(&client, ns), owned.clone())
    .owns(api::<ConfigMap>(&client, ns), owned.clone())
    .owns(api::<PodDisruptionBudget>(&client, ns), owned.clone())
    .watches(api::<Pod>(&client, ns), owned, ensemble_of)
    .graceful_shutdown_on(shutdown)
    .run(reconcile, error_policy, ctx)
    .for_each(|r| async move {
        match r {
            Ok((obj, action)) => debug!(ensemble = %obj, ?action, "reconciled"),
            // Owned objects of a just-deleted ensemble still report their deletion.
            Err(kube::runtime::controller::Error::ObjectNotFound(obj)) => {
                debug!(ensemble = %obj, "ensemble is gone")
            }
            Err(e) => warn!(error = %e, "controller error"),
        }
    })
    .await;
    info!("controller stopped");
}
