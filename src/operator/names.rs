//! Names and labels of everything an ensemble owns, in one place so builders, the status
//! reader and the reconciler agree on them.

use std::collections::BTreeMap;

use kube::ResourceExt;

use super::crd::ZooKeeperEnsemble;

/// The field manager of every server-side apply, and the managed-by label value.
pub const MANAGER: &str = "zk-operator";
/// Pod-template annotation holding the hash of the member configuration.
pub const CONFIG_HASH_ANNOTATION: &str = "zk.dev/config-hash";
/// Name of the data volume (claim template) in the StatefulSet.
pub const DATA_VOLUME: &str = "data";
/// Files in the ConfigMap.
pub const ZOO_CFG: &str = "zoo.cfg";
pub const MYIDS: &str = "myids";
/// Where the ConfigMap and the data volume are mounted.
pub const CONF_DIR: &str = "/conf";
pub const DATA_DIR: &str = "/data";

/// The names derived from one ensemble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub ensemble: String,
    pub namespace: String,
    /// The cluster's DNS domain (`cluster.local` unless the cluster says otherwise).
    pub cluster_domain: String,
}

impl Names {
    pub fn of(e: &ZooKeeperEnsemble, cluster_domain: &str) -> Names {
        Names {
            ensemble: e.name_any(),
            namespace: e.namespace().unwrap_or_else(|| "default".to_string()),
            cluster_domain: cluster_domain.to_string(),
        }
    }

    /// The StatefulSet (and the pods' name prefix).
    pub fn statefulset(&self) -> String {
        self.ensemble.clone()
    }

    /// The headless Service that gives members their stable DNS names.
    pub fn headless_service(&self) -> String {
        format!("{}-headless", self.ensemble)
    }

    /// The Service clients connect to.
    pub fn client_service(&self) -> String {
        format!("{}-client", self.ensemble)
    }

    pub fn config_map(&self) -> String {
        format!("{}-config", self.ensemble)
    }

    pub fn pdb(&self) -> String {
        self.ensemble.clone()
    }

    /// The pod with StatefulSet ordinal `ordinal`.
    pub fn pod(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.ensemble)
    }

    /// The data claim of a pod, as the StatefulSet controller names it.
    pub fn pvc(&self, pod: &str) -> String {
        format!("{DATA_VOLUME}-{pod}")
    }

    /// A member's fully qualified name through the headless Service.
    pub fn pod_fqdn(&self, pod: &str) -> String {
        format!(
            "{pod}.{}.{}.svc.{}",
            self.headless_service(),
            self.namespace,
            self.cluster_domain
        )
    }

    /// The labels that select this ensemble's pods (immutable in a StatefulSet, so they
    /// never include user labels).
    pub fn selector(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "app.kubernetes.io/name".to_string(),
                "zookeeper".to_string(),
            ),
            (
                "app.kubernetes.io/instance".to_string(),
                self.ensemble.clone(),
            ),
        ])
    }

    /// `key=value,…` form of [`Names::selector`].
    pub fn selector_string(&self) -> String {
        self.selector()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Labels of an object with the given component, plus the user's extra labels.
    pub fn labels(
        &self,
        component: &str,
        extra: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut l = extra.clone();
        l.extend(self.selector());
        l.insert(
            "app.kubernetes.io/component".to_string(),
            component.to_string(),
        );
        l.insert(
            "app.kubernetes.io/managed-by".to_string(),
            MANAGER.to_string(),
        );
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_labels_cannot_replace_the_selector() {
        let n = Names {
            ensemble: "zk".into(),
            namespace: "prod".into(),
            cluster_domain: "cluster.local".into(),
        };
        let extra = BTreeMap::from([
            (
                "app.kubernetes.io/instance".to_string(),
                "other".to_string(),
            ),
            ("team".to_string(), "a".to_string()),
        ]);
        let l = n.labels("server", &extra);
        assert_eq!(l["app.kubernetes.io/instance"], "zk");
        assert_eq!(l["team"], "a");
        assert_eq!(
            n.pod_fqdn("zk-0"),
            "zk-0.zk-headless.prod.svc.cluster.local"
        );
        assert_eq!(n.pvc("zk-0"), "data-zk-0");
        assert_eq!(
            n.selector_string(),
            "app.kubernetes.io/instance=zk,app.kubernetes.io/name=zookeeper"
        );
    }
}
