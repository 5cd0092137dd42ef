//! Access to the Kubernetes test cluster started by `tests/k8s/up` (real etcd, kube-apiserver,
//! controller-manager, scheduler, and the test kubelet). Tests that use it run inside the
//! cluster's network namespace (`tests/k8s/in STATE_DIR cargo test ...`), where pod addresses
//! and their DNS names resolve.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{DeleteParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};

/// The cluster's state directory, from ZK_K8S_STATE (set by `tests/k8s/in`).
pub fn state_dir() -> PathBuf {
    let dir = std::env::var_os("ZK_K8S_STATE")
        .map(PathBuf::from)
        .expect("ZK_K8S_STATE is not set: start a cluster with tests/k8s/up DIR and run the test through tests/k8s/in DIR");
    assert!(
        dir.join("kubeconfig").is_file(),
        "{} has no kubeconfig; is the cluster up?",
        dir.display()
    );
    dir
}

/// A client for the cluster, authenticated as its admin.
pub async fn client() -> Client {
    let kubeconfig =
        Kubeconfig::read_from(state_dir().join("kubeconfig")).expect("readable kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("valid kubeconfig");
    Client::try_from(config).expect("client")
}

/// A namespace of its own for one test, deleted (with everything in it) by `delete`.
pub struct TestNamespace {
    pub name: String,
    client: Client,
}

impl TestNamespace {
    pub async fn create(client: &Client, prefix: &str) -> Self {
        let name = format!("{prefix}-{}", std::process::id());
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name}
        }))
        .expect("namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
        Self {
            name,
            client: client.clone(),
        }
    }

    pub async fn delete(self) {
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.name, &DeleteParams::default())
            .await;
    }
}

/// Polls `check` until it yields a value; panics with `what` and the last observation after
/// `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => {
                panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
