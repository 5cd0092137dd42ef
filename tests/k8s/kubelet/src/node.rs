//! The Node object and its heartbeats (a Lease in kube-node-lease and the Ready condition), so
//! the scheduler places pods here and the node-lifecycle controller keeps it Ready.

use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::watch;
use tracing::warn;

const FIELD_MANAGER: &str = "zk-test-kubelet";

/// Capacity large enough that the scheduler never turns a test pod away for resources.
fn capacity() -> serde_json::Value {
    json!({"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "500Gi"})
}

pub async fn register(client: &Client, name: &str, ip: &str) -> Result<()> {
    let api = Api::<Node>::all(client.clone());
    let node = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": std::env::consts::ARCH,
                "node.kubernetes.io/instance-type": "zk-test",
            },
        },
    });
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&node),
    )
    .await?;
    heartbeat(client, name, ip, &Timestamp::now().to_string()).await
}

/// `since`: when this kubelet became ready (the conditions' lastTransitionTime).
async fn heartbeat(client: &Client, name: &str, ip: &str, since: &str) -> Result<()> {
    let now = Timestamp::now().to_string();
    let status = json!({
        "status": {
            "capacity": capacity(),
            "allocatable": capacity(),
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "zk test kubelet is posting ready status",
                 "lastHeartbeatTime": now, "lastTransitionTime": since},
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory",
                 "lastHeartbeatTime": now, "lastTransitionTime": since},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure",
                 "lastHeartbeatTime": now, "lastTransitionTime": since},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID",
                 "lastHeartbeatTime": now, "lastTransitionTime": since},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.36.4-zk-test",
                "kubeProxyVersion": "",
                "containerRuntimeVersion": "zk-test-kubelet://0.1.0",
                "operatingSystem": "linux",
                "architecture": std::env::consts::ARCH,
                "osImage": "zk test kubelet",
                "kernelVersion": "", "machineID": "", "systemUUID": "", "bootID": "",
            },
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 0}},
        }
    });
    Api::<Node>::all(client.clone())
        .patch_status(name, &PatchParams::default(), &Patch::Strategic(&status))
        .await?;
    let lease = json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": 40,
            "renewTime": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        },
    });
    Api::<Lease>::namespaced(client.clone(), "kube-node-lease")
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&lease),
        )
        .await?;
    Ok(())
}

/// Renews the heartbeats every 10 s until shutdown.
pub async fn keep_alive(
    client: Client,
    name: String,
    ip: String,
    mut shutdown: watch::Receiver<bool>,
) {
    let since = Timestamp::now().to_string();
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_secs(10)) => {
                if let Err(e) = heartbeat(&client, &name, &ip, &since).await {
                    warn!("node heartbeat: {e:#}");
                }
            }
        }
    }
}
