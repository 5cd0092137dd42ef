//! Pure builders: (spec, assigned ids, rendered config) → the objects the operator applies.
//!
//! Every object carries a controller owner reference to the ensemble, so deleting the
//! ensemble lets the garbage collector remove them (no finalizer that could block a
//! namespace deletion), plus the common labels.

mod configmap;
mod pdb;
mod services;
mod statefulset;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::crd::ZooKeeperEnsembleSpec;
use super::myid::Assignment;
use super::names::Names;
use super::zoocfg::ZooCfg;

pub use configmap::config_map;
pub use pdb::pod_disruption_budget;
pub use services::{client_service, headless_service};
pub use statefulset::statefulset;

/// Everything a builder needs.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub names: Names,
    pub spec: &'a ZooKeeperEnsembleSpec,
    pub owner: OwnerReference,
    /// The image to run (spec.image or the operator's default).
    pub image: String,
    pub cfg: ZooCfg,
    pub ids: &'a Assignment,
}

impl Inputs<'_> {
    /// Metadata of an owned object.
    pub fn meta(&self, name: String, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name),
            namespace: Some(self.names.namespace.clone()),
            labels: Some(self.names.labels(component, &self.spec.labels)),
            annotations: non_empty(self.spec.annotations.clone()),
            owner_references: Some(vec![self.owner.clone()]),
            ..Default::default()
        }
    }
}

fn non_empty(m: BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
    (!m.is_empty()).then_some(m)
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Builds inputs for a spec given as JSON, the way the reconciler would.
    use super::*;
    use crate::operator::myid::assign;
    use crate::operator::zoocfg::render;

    pub fn spec(v: serde_json::Value) -> ZooKeeperEnsembleSpec {
        serde_json::from_value(v).unwrap()
    }

    pub fn names() -> Names {
        Names {
            ensemble: "zk".into(),
            namespace: "prod".into(),
            cluster_domain: "cluster.local".into(),
        }
    }

    pub fn with_inputs<T>(spec: &ZooKeeperEnsembleSpec, f: impl FnOnce(&Inputs) -> T) -> T {
        let ids = assign(&names(), spec, None, &BTreeMap::new());
        let inputs = Inputs {
            names: names(),
            spec,
            owner: OwnerReference {
                api_version: "zk.dev/v1alpha1".into(),
                kind: "ZooKeeperEnsemble".into(),
                name: "zk".into(),
                uid: "uid-1".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
            image: spec.image.clone().unwrap_or_else(|| "zk:test".into()),
            cfg: render(spec, &names(), &ids),
            ids: &ids,
        };
        f(&inputs)
    }

    /// Every builder's output must be owned by the ensemble and carry the common labels.
    pub fn assert_owned(meta: &ObjectMeta, component: &str) {
        let owners = meta.owner_references.as_deref().unwrap_or_default();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].controller, Some(true));
        assert_eq!(owners[0].uid, "uid-1");
        let l = meta.labels.clone().unwrap_or_default();
        assert_eq!(l["app.kubernetes.io/name"], "zookeeper");
        assert_eq!(l["app.kubernetes.io/instance"], "zk");
        assert_eq!(l["app.kubernetes.io/managed-by"], "zk-operator");
        assert_eq!(l["app.kubernetes.io/component"], component);
        assert_eq!(meta.namespace.as_deref(), Some("prod"));
    }
}
