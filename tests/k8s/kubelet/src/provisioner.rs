//! Dynamic provisioning for the cluster's StorageClass: a claim gets a PersistentVolume whose
//! hostPath is a directory of its own, which outlives every pod that mounts it and is removed
//! only when the volume is released under the Delete reclaim policy — the lifecycle a real
//! provisioner gives a disk.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use tokio::sync::watch;
use tracing::{info, warn};

pub const PROVISIONER: &str = "zk.dev/test-kubelet";

/// The volume for a claim, if this provisioner should make one: a pending, unbound claim of our
/// class (or of no class, which the default-class admission fills in with ours).
pub fn desired_volume(
    pvc: &PersistentVolumeClaim,
    class: &str,
    root: &Path,
) -> Option<serde_json::Value> {
    let spec = pvc.spec.as_ref()?;
    if spec.volume_name.is_some() || pvc.metadata.deletion_timestamp.is_some() {
        return None;
    }
    if spec.storage_class_name.as_deref() != Some(class) {
        return None;
    }
    let uid = pvc.metadata.uid.as_deref()?;
    let name = format!("pvc-{uid}");
    let size = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone())
        .unwrap_or_else(|| "1Gi".into());
    let modes = spec
        .access_modes
        .clone()
        .unwrap_or_else(|| vec!["ReadWriteOnce".into()]);
    Some(json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {
            "name": name,
            "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER},
        },
        "spec": {
            "capacity": {"storage": size},
            "accessModes": modes,
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": class,
            "volumeMode": "Filesystem",
            "hostPath": {"path": root.join(&name).display().to_string(), "type": "DirectoryOrCreate"},
            "claimRef": {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "namespace": pvc.metadata.namespace,
                "name": pvc.metadata.name,
                "uid": uid,
            },
        },
    }))
}

/// Whether a volume of ours has been released and must be deleted with its directory.
pub fn reclaimable(pv: &PersistentVolume) -> bool {
    let ours = pv
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("pv.kubernetes.io/provisioned-by"))
        .is_some_and(|p| p == PROVISIONER);
    let released = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Released");
    let delete = pv
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_reclaim_policy.as_deref())
        == Some("Delete");
    ours && released && delete
}

async fn pass(client: &Client, class: &str, root: &Path) -> Result<()> {
    let pvcs = Api::<PersistentVolumeClaim>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let pvs = Api::<PersistentVolume>::all(client.clone());
    for pvc in &pvcs {
        let Some(pv) = desired_volume(pvc, class, root) else {
            continue;
        };
        let name = pv["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let dir = root.join(&name);
        std::fs::create_dir_all(&dir)?;
        // Any container user may write, as with local-path volumes.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))?;
        let pv: PersistentVolume = serde_json::from_value(pv)?;
        match pvs.create(&PostParams::default(), &pv).await {
            Ok(_) => info!(pv = %name, claim = ?pvc.metadata.name, "provisioned"),
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => warn!(pv = %name, "provisioning: {e}"),
        }
    }
    for pv in pvs.list(&ListParams::default()).await? {
        if !reclaimable(&pv) {
            continue;
        }
        let name = pv.metadata.name.clone().unwrap_or_default();
        if let Some(path) = pv
            .spec
            .as_ref()
            .and_then(|s| s.host_path.as_ref())
            .map(|h| PathBuf::from(&h.path))
            && path.starts_with(root)
            && path.exists()
        {
            std::fs::remove_dir_all(&path)?;
        }
        match pvs.delete(&name, &DeleteParams::default()).await {
            Ok(_) => info!(pv = %name, "released volume deleted"),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => warn!(pv = %name, "deleting released volume: {e}"),
        }
    }
    Ok(())
}

pub async fn run(
    client: Client,
    class: String,
    root: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = pass(&client, &class, &root).await {
            warn!("provisioner: {e:#}");
        }
        tokio::select! {
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PersistentVolumeClaimSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn claim(class: Option<&str>, bound: bool) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some("data-zk-0".into()),
                namespace: Some("prod".into()),
                uid: Some("u-1".into()),
                ..Default::default()
            },
            spec: Some(PersistentVolumeClaimSpec {
                storage_class_name: class.map(Into::into),
                volume_name: bound.then(|| "pv-x".to_string()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn provisions_only_unbound_claims_of_its_class() {
        let root = Path::new("/state/volumes");
        let pv = desired_volume(&claim(Some("local"), false), "local", root).expect("volume");
        assert_eq!(pv["metadata"]["name"], "pvc-u-1");
        assert_eq!(pv["spec"]["claimRef"]["uid"], "u-1");
        assert_eq!(pv["spec"]["hostPath"]["path"], "/state/volumes/pvc-u-1");
        assert_eq!(pv["spec"]["capacity"]["storage"], "1Gi");
        assert!(serde_json::from_value::<PersistentVolume>(pv).is_ok());
        assert!(desired_volume(&claim(Some("local"), true), "local", root).is_none());
        assert!(desired_volume(&claim(Some("fast"), false), "local", root).is_none());
        assert!(desired_volume(&claim(None, false), "local", root).is_none());
    }
}
