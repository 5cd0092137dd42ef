//! The `ZooKeeperEnsemble` custom resource (zk.dev/v1alpha1).
//!
//! The schema is the first line of defence: ranges, enums and CEL rules make the API server
//! reject nonsense with a message that names the field, before the operator ever sees it.
//! What a schema cannot express (a zoo.cfg value that does not parse, names too long for
//! DNS) is checked by [`crate::operator::validate`] and reported as a Degraded condition.

mod bounded;
mod placement;
mod ports;
mod reserved;
mod status;
mod storage;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSecurityContext, ResourceRequirements, SecurityContext};
use kube::CustomResource;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

pub use placement::Placement;
pub use ports::Ports;
pub use reserved::{RESERVED_KEYS, RESERVED_PREFIXES, is_reserved};
pub use status::{MemberRole, MemberStatus, RetiredMember, ZooKeeperEnsembleStatus};
pub use storage::{Retention, RetentionPolicy, Storage};

/// A ZooKeeper ensemble run by `zk server`: `replicas` voting members plus `observers`.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "zk.dev",
    version = "v1alpha1",
    kind = "ZooKeeperEnsemble",
    plural = "zookeeperensembles",
    singular = "zookeeperensemble",
    shortname = "zke",
    namespaced,
    status = "ZooKeeperEnsembleStatus",
    scale(
        spec_replicas_path = ".spec.replicas",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.ready",
        description = "Members serving requests / members wanted"
    ),
    printcolumn(
        name = "Leader",
        type_ = "string",
        json_path = ".status.leader",
        description = "The pod of the current leader"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    doc = "A ZooKeeper-compatible ensemble of `zk server` members managed by the zk operator.",
    validation = kube::core::Rule::new("size(self.metadata.name) <= 52").message(
        "metadata.name may have at most 52 characters: pod names and their revision labels must fit 63"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ZooKeeperEnsembleSpec {
    /// Voting members (participants). An odd number tolerates the most failures per member:
    /// 3 survive one failure, 5 survive two. An even count is accepted and reported by the
    /// EvenVotingMembers condition.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 255))]
    pub replicas: i32,
    /// Non-voting members that serve reads and scale client connections without slowing
    /// down writes.
    #[serde(default)]
    #[schemars(range(min = 0, max = 255))]
    pub observers: i32,
    /// Container image that provides the `zk` binary. Defaults to the operator's
    /// `--server-image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub image: Option<String>,
    /// Image pull policy (Always, IfNotPresent, Never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(Always|IfNotPresent|Never)$"))]
    pub image_pull_policy: Option<String>,
    /// zoo.cfg settings merged over the operator's defaults. Keys the operator owns
    /// (dataDir, ports, server.N, …) are rejected.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "bounded::config_map")]
    pub config: BTreeMap<String, String>,
    /// CPU and memory for each member's container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// The data volume of each member.
    #[serde(default)]
    pub storage: Storage,
    /// Where members may be scheduled.
    #[serde(default)]
    pub placement: Placement,
    /// Pod security context. Default: run as user/group 1000, non-root, RuntimeDefault
    /// seccomp, fsGroup 1000 so the data volume is writable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<PodSecurityContext>,
    /// Container security context. Default: non-root, read-only root filesystem, no
    /// privilege escalation, all capabilities dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
    /// Labels added to every object the operator creates and to the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "bounded::label_map")]
    #[x_kube(validation = kube::core::Rule::new(
        "self.all(k, !k.startsWith('app.kubernetes.io/'))"
    ).message("labels under app.kubernetes.io/ are set by the operator and select its pods"))]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to every object the operator creates and to the pods.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "bounded::annotation_map")]
    #[x_kube(validation = kube::core::Rule::new(
        "self.all(k, !k.startsWith('zk.dev/'))"
    ).message("annotations under zk.dev/ are the operator's own"))]
    pub annotations: BTreeMap<String, String>,
    /// Container ports.
    #[serde(default)]
    pub ports: Ports,
    /// Prometheus metrics of each member.
    #[serde(default)]
    pub metrics: Metrics,
    /// While true the operator changes nothing (it still reports status).
    #[serde(default)]
    pub paused: bool,
}

/// Prometheus metrics settings.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Serve ZooKeeper's Prometheus metrics on the metrics port and annotate the pods for
    /// scraping.
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { enabled: true }
    }
}

fn yes() -> bool {
    true
}

fn default_replicas() -> i32 {
    3
}

impl ZooKeeperEnsembleSpec {
    /// Voting members as a count (the schema keeps it ≥ 1).
    pub fn voters(&self) -> u32 {
        u32::try_from(self.replicas).unwrap_or(0)
    }

    /// Observers as a count (the schema keeps it ≥ 0).
    pub fn observer_count(&self) -> u32 {
        u32::try_from(self.observers).unwrap_or(0)
    }

    /// Every member: voters first, then observers (their StatefulSet ordinals).
    pub fn members(&self) -> u32 {
        self.voters() + self.observer_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_object_gets_the_documented_defaults() {
        let e: ZooKeeperEnsemble = serde_json::from_value(serde_json::json!({
            "apiVersion": "zk.dev/v1alpha1",
            "kind": "ZooKeeperEnsemble",
            "metadata": {"name": "zk", "namespace": "ns"},
            "spec": {}
        }))
        .unwrap();
        assert_eq!(e.spec.replicas, 3);
        assert_eq!(e.spec.observers, 0);
        assert_eq!(e.spec.members(), 3);
        assert_eq!(e.spec.ports.client, 2181);
        assert_eq!(e.spec.storage.retention.when_deleted, Retention::Retain);
        assert!(e.spec.metrics.enabled);
        assert!(!e.spec.paused);
    }
}
