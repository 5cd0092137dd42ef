//! The StatefulSet that runs the members.
//!
//! - `OnDelete` updates: the operator, not the StatefulSet controller, decides when a
//!   member restarts (one at a time, leader last, only while the quorum survives it).
//! - `Parallel` pod management: members must start together to form a quorum; ordered
//!   startup would wait forever for a member-0 that cannot become ready alone.
//! - Readiness is `/zk/serving` on the AdminServer: 200 only while the member serves client
//!   requests (in a quorum), so the client Service and the PDB count real capacity.
//! - The grace period leaves time to hand leadership over before the process exits.
//! - The member learns its myid from the operator's map (`--myid-map`, `--member`), never
//!   from its ordinal.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource,
    HTTPGetAction, ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, SecurityContext, Volume, VolumeMount,
    VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Inputs, non_empty};
use crate::operator::names::{
    CONF_DIR, CONFIG_HASH_ANNOTATION, DATA_DIR, DATA_VOLUME, MYIDS, ZOO_CFG,
};

/// Seconds a member gets between SIGTERM and SIGKILL: enough to transfer leadership and
/// flush, which takes a few election timeouts on a loaded ensemble.
pub const TERMINATION_GRACE_SECONDS: i64 = 120;
/// The AdminServer path that answers 200 only while the member serves requests (a zk
/// extension; ZooKeeper's /commands stay as they are).
pub const SERVING_PATH: &str = "/zk/serving";
/// The user id members run as by default.
const RUN_AS: i64 = 1000;

pub fn statefulset(i: &Inputs) -> StatefulSet {
    let spec = i.spec;
    let retention = &spec.storage.retention;
    StatefulSet {
        metadata: i.meta(i.names.statefulset(), "server"),
        spec: Some(StatefulSetSpec {
            replicas: Some(i32::try_from(spec.members()).unwrap_or(i32::MAX)),
            service_name: Some(i.names.headless_service()),
            selector: LabelSelector {
                match_labels: Some(i.names.selector()),
                ..Default::default()
            },
            pod_management_policy: Some("Parallel".to_string()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".to_string()),
                rolling_update: None,
            }),
            persistent_volume_claim_retention_policy: Some(
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some(retention.when_deleted.as_str().to_string()),
                    when_scaled: Some(retention.when_scaled.as_str().to_string()),
                },
            ),
            template: pod_template(i),
            volume_claim_templates: Some(vec![data_claim(i)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The data claim template. Its labels are the selector labels only: claim templates are
/// immutable, so nothing a user may change can be part of them.
fn data_claim(i: &Inputs) -> PersistentVolumeClaim {
    let s = &i.spec.storage;
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.to_string()),
            labels: Some(i.names.selector()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: s.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_string(), s.size.clone())])),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_template(i: &Inputs) -> PodTemplateSpec {
    let spec = i.spec;
    let mut annotations = spec.annotations.clone();
    annotations.insert(CONFIG_HASH_ANNOTATION.to_string(), i.cfg.hash.clone());
    if spec.metrics.enabled {
        annotations.insert("prometheus.io/scrape".to_string(), "true".to_string());
        annotations.insert(
            "prometheus.io/port".to_string(),
            spec.ports.metrics.to_string(),
        );
        annotations.insert("prometheus.io/path".to_string(), "/metrics".to_string());
    }
    let p = &spec.placement;
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(i.names.labels("server", &spec.labels)),
            annotations: Some(annotations),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![container(i)],
            volumes: Some(vec![Volume {
                name: "conf".to_string(),
                config_map: Some(ConfigMapVolumeSource {
                    name: i.names.config_map(),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
            security_context: Some(
                spec.pod_security_context
                    .clone()
                    .unwrap_or_else(default_pod_security),
            ),
            affinity: Some(p.affinity.clone().unwrap_or_else(|| spread_across_nodes(i))),
            tolerations: non_empty_vec(p.tolerations.clone()),
            node_selector: non_empty(p.node_selector.clone()),
            topology_spread_constraints: non_empty_vec(p.topology_spread_constraints.clone()),
            priority_class_name: p.priority_class_name.clone(),
            // Members never call the Kubernetes API.
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
    }
}

fn non_empty_vec<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn container(i: &Inputs) -> Container {
    let spec = i.spec;
    let p = &spec.ports;
    let port = |name: &str, port: i32| ContainerPort {
        name: Some(name.to_string()),
        container_port: port,
        protocol: Some("TCP".to_string()),
        ..Default::default()
    };
    let mut ports = vec![
        port("client", p.client),
        port("quorum", p.quorum),
        port("election", p.election),
        port("admin", p.admin),
    ];
    if spec.metrics.enabled {
        ports.push(port("metrics", p.metrics));
    }
    let http = |path: &str| HTTPGetAction {
        path: Some(path.to_string()),
        port: IntOrString::Int(p.admin),
        scheme: Some("HTTP".to_string()),
        ..Default::default()
    };
    let probe = |path: &str, period: i32, timeout: i32, failures: i32| Probe {
        http_get: Some(http(path)),
        period_seconds: Some(period),
        timeout_seconds: Some(timeout),
        failure_threshold: Some(failures),
        success_threshold: Some(1),
        ..Default::default()
    };
    let command = [
        "zk",
        "server",
        "--config",
        &format!("{CONF_DIR}/{ZOO_CFG}"),
        "--myid-map",
        &format!("{CONF_DIR}/{MYIDS}"),
        "--member",
        "$(POD_NAME)",
    ]
    .map(str::to_string)
    .to_vec();
    Container {
        name: "zookeeper".to_string(),
        image: Some(i.image.clone()),
        image_pull_policy: spec.image_pull_policy.clone(),
        command: Some(command),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
            field_env("POD_IP", "status.podIP"),
        ]),
        ports: Some(ports),
        // Serving as part of a quorum, not merely running.
        readiness_probe: Some(probe(SERVING_PATH, 5, 3, 2)),
        // The AdminServer answers only while the server's core task does.
        liveness_probe: Some(probe("/commands/ruok", 10, 5, 6)),
        // Replaying a long transaction log after a crash may take minutes; liveness must
        // not kill a member that is recovering.
        startup_probe: Some(probe("/commands/ruok", 5, 3, 120)),
        resources: Some(spec.resources.clone().unwrap_or_else(default_resources)),
        security_context: Some(
            spec.security_context
                .clone()
                .unwrap_or_else(default_container_security),
        ),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "conf".to_string(),
                mount_path: CONF_DIR.to_string(),
                read_only: Some(true),
                ..Default::default()
            },
            VolumeMount {
                name: DATA_VOLUME.to_string(),
                mount_path: DATA_DIR.to_string(),
                ..Default::default()
            },
        ]),
        ..Default::default()
    }
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_string(),
                api_version: Some("v1".to_string()),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Requests sized for a small ensemble; no limits, so a burst never gets a member killed
/// or throttled in the middle of an election.
fn default_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), Quantity("100m".to_string())),
            ("memory".to_string(), Quantity("128Mi".to_string())),
        ])),
        ..Default::default()
    }
}

fn default_pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS),
        run_as_group: Some(RUN_AS),
        fs_group: Some(RUN_AS),
        fs_group_change_policy: Some("OnRootMismatch".to_string()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn default_container_security() -> SecurityContext {
    SecurityContext {
        run_as_non_root: Some(true),
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Prefer one member per node. Preferred rather than required, so a small cluster still
/// runs the ensemble (and says so by scheduling members together).
fn spread_across_nodes(i: &Inputs) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        topology_key: "kubernetes.io/hostname".to_string(),
                        label_selector: Some(LabelSelector {
                            match_labels: Some(i.names.selector()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;

    fn pod_spec(s: &StatefulSet) -> PodSpec {
        s.spec.clone().unwrap().template.spec.unwrap()
    }

    #[test]
    fn operator_owned_restarts_and_parallel_start() {
        let s = spec(serde_json::json!({"replicas": 3, "observers": 2}));
        let sts = with_inputs(&s, statefulset);
        assert_owned(&sts.metadata, "server");
        let st = sts.spec.clone().unwrap();
        assert_eq!(st.replicas, Some(5), "voters and observers");
        assert_eq!(
            st.update_strategy.unwrap().type_.as_deref(),
            Some("OnDelete")
        );
        assert_eq!(st.pod_management_policy.as_deref(), Some("Parallel"));
        assert_eq!(st.service_name.as_deref(), Some("zk-headless"));
        let tmpl_labels = st.template.metadata.unwrap().labels.unwrap();
        for (k, v) in st.selector.match_labels.unwrap() {
            assert_eq!(
                tmpl_labels.get(&k),
                Some(&v),
                "selector must match the pods"
            );
        }
    }

    #[test]
    fn the_member_gets_its_identity_from_the_operator() {
        let s = spec(serde_json::json!({}));
        let sts = with_inputs(&s, statefulset);
        let c = &pod_spec(&sts).containers[0];
        let cmd = c.command.clone().unwrap();
        assert_eq!(&cmd[..2], ["zk", "server"]);
        let arg = |flag: &str| {
            let at = cmd.iter().position(|a| a == flag).unwrap();
            cmd[at + 1].clone()
        };
        assert_eq!(arg("--config"), "/conf/zoo.cfg");
        assert_eq!(arg("--myid-map"), "/conf/myids");
        // $(VAR) expansion needs the variable to be defined in env.
        assert_eq!(arg("--member"), "$(POD_NAME)");
        let env: Vec<_> = c.env.clone().unwrap();
        for (var, path) in [
            ("POD_NAME", "metadata.name"),
            ("POD_NAMESPACE", "metadata.namespace"),
            ("POD_IP", "status.podIP"),
        ] {
            let e = env.iter().find(|e| e.name == var).unwrap();
            let field = e.value_from.as_ref().unwrap().field_ref.as_ref().unwrap();
            assert_eq!(field.field_path, path);
        }
        // Members listen on all of the pod's addresses, so port-forward and exec work.
        assert!(!cmd.iter().any(|a| a == "--bind-address"));
        let mounts = c.volume_mounts.clone().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m.mount_path == "/conf" && m.read_only == Some(true))
        );
        assert!(
            mounts
                .iter()
                .any(|m| m.mount_path == "/data" && m.name == "data")
        );
    }

    #[test]
    fn probes_ask_whether_the_member_serves() {
        let s = spec(serde_json::json!({"ports": {"admin": 9090}}));
        let sts = with_inputs(&s, statefulset);
        let c = &pod_spec(&sts).containers[0];
        let ready = c.readiness_probe.clone().unwrap().http_get.unwrap();
        assert_eq!(ready.path.as_deref(), Some(SERVING_PATH));
        assert_eq!(ready.port, IntOrString::Int(9090));
        let live = c.liveness_probe.clone().unwrap();
        assert_eq!(live.http_get.unwrap().port, IntOrString::Int(9090));
        let startup = c.startup_probe.clone().unwrap();
        let budget = startup.period_seconds.unwrap() * startup.failure_threshold.unwrap();
        assert!(
            budget >= 300,
            "recovery gets minutes, not seconds: {budget}s"
        );
        assert!(pod_spec(&sts).termination_grace_period_seconds.unwrap() >= 60);
    }

    #[test]
    fn config_changes_show_in_the_pod_template_but_membership_does_not() {
        let hash = |v| {
            let sts = with_inputs(&spec(v), statefulset);
            sts.spec
                .unwrap()
                .template
                .metadata
                .unwrap()
                .annotations
                .unwrap()[CONFIG_HASH_ANNOTATION]
                .clone()
        };
        let base = hash(serde_json::json!({"replicas": 3}));
        assert_eq!(base, hash(serde_json::json!({"replicas": 5})));
        assert_ne!(
            base,
            hash(serde_json::json!({"replicas": 3, "config": {"tickTime": "4000"}}))
        );
    }

    #[test]
    fn non_root_by_default_and_user_contexts_win() {
        let s = spec(serde_json::json!({}));
        let sts = with_inputs(&s, statefulset);
        let pod = pod_spec(&sts);
        let psc = pod.security_context.unwrap();
        assert_eq!(psc.run_as_non_root, Some(true));
        assert!(psc.run_as_user.unwrap() > 0);
        assert!(psc.fs_group.is_some(), "the data volume must be writable");
        let csc = pod.containers[0].security_context.clone().unwrap();
        assert_eq!(csc.read_only_root_filesystem, Some(true));
        assert_eq!(csc.allow_privilege_escalation, Some(false));
        let custom = spec(
            serde_json::json!({"podSecurityContext": {"runAsUser": 4242, "runAsNonRoot": true}}),
        );
        let sts = with_inputs(&custom, statefulset);
        assert_eq!(
            pod_spec(&sts).security_context.unwrap().run_as_user,
            Some(4242)
        );
    }

    #[test]
    fn storage_and_retention_follow_the_spec() {
        let s = spec(
            serde_json::json!({"storage": {"size": "20Gi", "storageClassName": "fast",
            "retention": {"whenScaled": "Delete"}}}),
        );
        let sts = with_inputs(&s, statefulset);
        let st = sts.spec.unwrap();
        let r = st.persistent_volume_claim_retention_policy.unwrap();
        assert_eq!(r.when_scaled.as_deref(), Some("Delete"));
        assert_eq!(r.when_deleted.as_deref(), Some("Retain"));
        let claim = &st.volume_claim_templates.unwrap()[0];
        assert_eq!(claim.metadata.name.as_deref(), Some("data"));
        let cs = claim.spec.clone().unwrap();
        assert_eq!(cs.storage_class_name.as_deref(), Some("fast"));
        assert_eq!(
            cs.resources.unwrap().requests.unwrap()["storage"],
            Quantity("20Gi".into())
        );
    }

    #[test]
    fn members_spread_across_nodes_unless_told_otherwise() {
        let s = spec(serde_json::json!({}));
        let sts = with_inputs(&s, statefulset);
        let anti = pod_spec(&sts).affinity.unwrap().pod_anti_affinity.unwrap();
        let term = &anti
            .preferred_during_scheduling_ignored_during_execution
            .unwrap()[0];
        assert_eq!(
            term.pod_affinity_term.topology_key,
            "kubernetes.io/hostname"
        );
        assert_eq!(
            term.pod_affinity_term
                .label_selector
                .clone()
                .unwrap()
                .match_labels
                .unwrap()["app.kubernetes.io/instance"],
            "zk"
        );
        let custom = spec(serde_json::json!({"placement": {
            "affinity": {"nodeAffinity": {}},
            "nodeSelector": {"disk": "ssd"},
            "priorityClassName": "critical"}}));
        let sts = with_inputs(&custom, statefulset);
        let pod = pod_spec(&sts);
        assert!(pod.affinity.unwrap().pod_anti_affinity.is_none());
        assert_eq!(pod.node_selector.unwrap()["disk"], "ssd");
        assert_eq!(pod.priority_class_name.as_deref(), Some("critical"));
    }
}
