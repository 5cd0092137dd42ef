//! What the operator reports, and what it remembers between reconciles.
//!
//! Status is also the operator's memory for myids: `members[].myid`, `retiredMembers` and
//! `nextMyid` make ids stable across operator restarts and guarantee an id is never handed
//! to a different member's data. The per-member zxid, role, in-sync flag and config hash
//! are what the rolling-restart and scaling planners decide on.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// Observed state of a ZooKeeperEnsemble.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ZooKeeperEnsembleStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Pods of voting members that exist (the scale subresource's status replicas).
    #[serde(default)]
    pub replicas: i32,
    /// Members whose readiness probe passes (serving client requests).
    #[serde(default)]
    pub ready_members: i32,
    /// `ready/wanted`, for `kubectl get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// The pod of the current leader (of the standalone member for a 1-member ensemble).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// Label selector of the members' pods (for the scale subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    /// Hash of the member configuration the pods should run (excluding the member list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// One entry per wanted member, in ordinal order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberStatus>,
    /// Members that were scaled away but whose volume (and thus their myid) still exists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired_members: Vec<RetiredMember>,
    /// The next myid to hand out; ids are never reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "optional_id")]
    pub next_myid: Option<u64>,
    /// Available, Progressing, Degraded, EvenVotingMembers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// A ZooKeeper server id (`int64`: Kubernetes knows no unsigned formats).
fn id(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer", "format": "int64", "minimum": 1 })
}

fn optional_id(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "type": "integer", "format": "int64", "minimum": 1, "nullable": true })
}

/// A member's place in the ensemble as configured.
#[derive(schemars::JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum MemberRole {
    Participant,
    Observer,
}

impl MemberRole {
    /// The zoo.cfg spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Participant => "participant",
            MemberRole::Observer => "observer",
        }
    }
}

/// One member of the ensemble.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// The pod name.
    pub pod: String,
    /// Its ZooKeeper server id.
    #[schemars(schema_with = "id")]
    pub myid: u64,
    /// Participant (votes) or observer, as configured.
    pub role: MemberRole,
    /// UID of the member's data volume claim when the id was bound to it; a different UID
    /// means the data is gone and the member needs a new id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_uid: Option<String>,
    /// What the member says it is: leader, follower, observer, standalone, or unknown when
    /// it did not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Last zxid the member applied, as hex (0x…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zxid: Option<String>,
    /// On the leader: the followers it counts as synced (from `mntr`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_followers: Option<i64>,
    /// Whether the member has caught up with the leader.
    #[serde(default)]
    pub in_sync: bool,
    /// Whether the pod is Ready (serving).
    #[serde(default)]
    pub ready: bool,
    /// Config hash the pod was started with; differs from status.configHash when the pod
    /// needs a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
}

/// A myid that stays bound to a volume that outlived its member.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RetiredMember {
    pub pod: String,
    #[schemars(schema_with = "id")]
    pub myid: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc_uid: Option<String>,
}
