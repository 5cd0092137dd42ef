//! The data volume of each member and what happens to it when members go away.
//!
//! Retention defaults to Retain on both scale-down and deletion: a ZooKeeper data directory
//! is the only copy of the znode tree the ensemble has, so losing it must be a decision.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Persistent storage of each member. Size and class are fixed at creation: the
/// StatefulSet's claim templates are immutable, so a change could never be applied.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = kube::core::Rule::new(
    "self.size == oldSelf.size && has(self.storageClassName) == has(oldSelf.storageClassName) && \
     (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)"
).message("storage.size and storage.storageClassName cannot be changed after creation; \
           resize the PersistentVolumeClaims directly"))]
pub struct Storage {
    /// Size of each member's volume.
    #[serde(default = "default_size")]
    pub size: Quantity,
    /// StorageClass of the volumes; the cluster default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// What happens to volumes of members that are removed.
    #[serde(default)]
    pub retention: RetentionPolicy,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            size: default_size(),
            storage_class_name: None,
            retention: RetentionPolicy::default(),
        }
    }
}

fn default_size() -> Quantity {
    Quantity("1Gi".to_string())
}

/// Whether volumes are kept or deleted (the StatefulSet's
/// persistentVolumeClaimRetentionPolicy).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicy {
    /// When the number of members goes down.
    #[serde(default)]
    pub when_scaled: Retention,
    /// When the ZooKeeperEnsemble is deleted.
    #[serde(default)]
    pub when_deleted: Retention,
}

/// Keep or delete a volume.
#[derive(
    schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum Retention {
    #[default]
    Retain,
    Delete,
}

impl Retention {
    /// The StatefulSet API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Retention::Retain => "Retain",
            Retention::Delete => "Delete",
        }
    }
}
