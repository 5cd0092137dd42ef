//! The operator end to end on the real test cluster: installed with `helm install` from
//! charts/zk-operator (its pod runs `zk operator` with in-cluster credentials), a 3-member
//! ZooKeeperEnsemble becomes a StatefulSet of real `zk server` members that form a quorum and
//! report their leader in status, a client written by others writes through one member and reads
//! on every other, the leader's pod is deleted and the ensemble recovers with the data, an invalid
//! object is refused with a clear message, restarting the operator changes nothing, and deleting
//! the ensemble removes what the operator made while the volumes stay (the default retention).
//!
//! Needs the cluster of `tests/k8s/up`; run through
//! `tests/k8s/in STATE_DIR cargo test --test k8s_operator -- --ignored` (tests/run-all does).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::k8s::{TestNamespace, client, wait_for};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kube::{Api, Client};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(120);
const OPERATOR_NS: &str = "zk-operator";

fn ensembles(kc: &Client, ns: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("zk.dev", "v1alpha1", "ZooKeeperEnsemble");
    Api::namespaced_with(kc.clone(), ns, &ApiResource::from_gvk(&gvk))
}

fn ensemble(name: &str, spec: serde_json::Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "zk.dev/v1alpha1",
        "kind": "ZooKeeperEnsemble",
        "metadata": {"name": name},
        "spec": spec,
    }))
    .expect("valid object")
}

fn helm(args: &[&str]) {
    let helm = std::env::var("HELM").expect("HELM (exported by tests/k8s/in)");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(helm)
        .args(args)
        .current_dir(root)
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "helm {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The operator pod that is Ready, if any.
async fn operator_pod(kc: &Client) -> Result<Pod, String> {
    let pods = Api::<Pod>::namespaced(kc.clone(), OPERATOR_NS);
    let list = pods
        .list(&ListParams::default().labels("app.kubernetes.io/name=zk-operator"))
        .await
        .map_err(|e| e.to_string())?;
    list.items
        .into_iter()
        .find(|p| pod_ready(p) && p.metadata.deletion_timestamp.is_none())
        .ok_or_else(|| "no Ready operator pod".to_string())
}

fn status(o: &DynamicObject) -> &serde_json::Value {
    &o.data["status"]
}

const DATA: &[u8] = b"written through the operator's ensemble";

/// The ensemble once status shows 3 ready, in-sync members, one leader and two followers; with
/// `replaced`, only once that pod has been replaced (another uid).
async fn quorum(
    zke: &Api<DynamicObject>,
    replaced: Option<(&Api<Pod>, &str, Option<String>)>,
) -> Result<DynamicObject, String> {
    if let Some((pods, pod, old_uid)) = replaced {
        let p = pods.get_opt(pod).await.map_err(|e| e.to_string())?;
        match p {
            Some(p) if p.metadata.uid != old_uid => {}
            _ => return Err(format!("{pod} not replaced yet")),
        }
    }
    let o = zke.get("zk").await.map_err(|e| e.to_string())?;
    let s = status(&o);
    let members = s["members"].as_array().cloned().unwrap_or_default();
    let states: Vec<&str> = members.iter().filter_map(|m| m["state"].as_str()).collect();
    let ok = s["readyMembers"] == 3
        && s["leader"].is_string()
        && members.len() == 3
        && members
            .iter()
            .all(|m| m["inSync"] == true && m["myid"].is_u64())
        && states.iter().filter(|s| **s == "leader").count() == 1
        && states.iter().filter(|s| **s == "follower").count() == 2;
    if ok { Ok(o) } else { Err(s.to_string()) }
}

/// (pod, myid) of every member in status.
fn myids(o: &DynamicObject) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = status(o)["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["pod"].as_str()?.to_string(), m["myid"].as_u64()?)))
        .collect();
    v.sort();
    v
}

async fn connect(host: &str) -> zookeeper_client::Client {
    zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(host)
        .await
        .unwrap_or_else(|e| panic!("connect to {host}: {e}"))
}

/// /e2e as the member at `host` has it once caught up with the leader.
async fn read_synced(host: &str) -> Vec<u8> {
    let c = connect(host).await;
    c.sync("/e2e").await.expect("sync");
    c.get_data("/e2e").await.expect("get").0
}

async fn resource_versions(kc: &Client, ns: &str, name: &str) -> Vec<String> {
    let rv = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        m.resource_version.clone().unwrap_or_default()
    };
    let sts = Api::<StatefulSet>::namespaced(kc.clone(), ns)
        .get(name)
        .await
        .expect("sts");
    // The StatefulSet controller keeps updating its status (ready replicas, revisions), which
    // moves its resourceVersion; what the operator writes shows in the generation (spec), the
    // labels and the annotations.
    let m = &sts.metadata;
    vec![
        format!(
            "generation {:?} labels {:?} annotations {:?}",
            m.generation, m.labels, m.annotations
        ),
        rv(&Api::<ConfigMap>::namespaced(kc.clone(), ns)
            .get(&format!("{name}-config"))
            .await
            .expect("cm")
            .metadata),
        rv(&Api::<Service>::namespaced(kc.clone(), ns)
            .get(&format!("{name}-headless"))
            .await
            .expect("svc")
            .metadata),
        rv(&Api::<Service>::namespaced(kc.clone(), ns)
            .get(&format!("{name}-client"))
            .await
            .expect("svc")
            .metadata),
    ]
}

#[tokio::test]
#[ignore = "needs the cluster of tests/k8s/up; tests/run-all runs it through tests/k8s/in"]
async fn operator_end_to_end() {
    let kc = client().await;
    helm(&[
        "install",
        "zk-operator",
        "charts/zk-operator",
        "--namespace",
        OPERATOR_NS,
        "--create-namespace",
        "--set",
        "image.tag=test",
        "--set",
        "logFormat=text",
        "--wait",
        "--timeout",
        "120s",
    ]);
    let deploy = Api::<Deployment>::namespaced(kc.clone(), OPERATOR_NS);
    assert!(
        !deploy
            .list(&ListParams::default())
            .await
            .expect("deployments")
            .items
            .is_empty()
    );
    wait_for("the operator pod Ready", TIMEOUT, || operator_pod(&kc)).await;

    let ns = TestNamespace::create(&kc, "zk-op").await;
    let zke = ensembles(&kc, &ns.name);

    // Invalid objects are refused by the API server with the schema's or CEL rule's message.
    for (spec, says) in [
        (json!({"replicas": 0}), "replicas"),
        (
            json!({"replicas": 1, "config": {"dataDir": "/elsewhere"}}),
            "dataDir",
        ),
    ] {
        let err = zke
            .create(&PostParams::default(), &ensemble("bad", spec.clone()))
            .await
            .expect_err(&format!("{spec} must be refused"));
        let msg = err.to_string();
        assert!(
            msg.contains(says),
            "refusal of {spec} does not explain itself: {msg}"
        );
    }

    zke.create(
        &PostParams::default(),
        &ensemble("zk", json!({"replicas": 3})),
    )
    .await
    .expect("create ensemble");
    let ready = wait_for(
        "status: 3 members in a quorum with a leader",
        TIMEOUT,
        || quorum(&zke, None),
    )
    .await;
    let s = status(&ready);
    assert_eq!(
        s["observedGeneration"],
        ready.metadata.generation.expect("generation")
    );
    let available = s["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Available").cloned())
        .expect("Available condition");
    assert_eq!(available["status"], "True", "{available}");

    // What the operator made, owned by the ensemble.
    let sts = Api::<StatefulSet>::namespaced(kc.clone(), &ns.name)
        .get("zk")
        .await
        .expect("StatefulSet");
    let owner = &sts.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("ZooKeeperEnsemble", "zk", Some(true))
    );
    Api::<PodDisruptionBudget>::namespaced(kc.clone(), &ns.name)
        .get("zk")
        .await
        .expect("PDB");

    // A client written by others writes through one member and reads it on every member.
    let host = |pod: &str| format!("{pod}.zk-headless.{}.svc.cluster.local:2181", ns.name);
    let c = connect(&host("zk-1")).await;
    let opts =
        zookeeper_client::CreateMode::Persistent.with_acls(zookeeper_client::Acls::anyone_all());
    c.create("/e2e", DATA, &opts).await.expect("create");
    drop(c);
    for pod in ["zk-0", "zk-1", "zk-2"] {
        assert_eq!(read_synced(&host(pod)).await, DATA, "read on {pod}");
    }

    // The leader's pod is deleted: the StatefulSet brings it back with its volume and myid, the
    // ensemble has a leader and three members again, and the write is still there.
    let leader = status(&ready)["leader"]
        .as_str()
        .expect("leader")
        .to_string();
    let ids = myids(&ready);
    let pods = Api::<Pod>::namespaced(kc.clone(), &ns.name);
    let old_uid = pods.get(&leader).await.expect("pod").metadata.uid;
    pods.delete(&leader, &DeleteParams::default())
        .await
        .expect("delete the leader's pod");
    let again = wait_for(
        "a quorum again after the leader's pod was replaced",
        TIMEOUT,
        || quorum(&zke, Some((&pods, &leader, old_uid.clone()))),
    )
    .await;
    assert_eq!(myids(&again), ids, "members kept their myids");
    for pod in ["zk-0", "zk-1", "zk-2"] {
        assert_eq!(
            read_synced(&host(pod)).await,
            DATA,
            "read on {pod} after the leader's replacement"
        );
    }

    // Restarting the operator changes nothing it manages.
    let before = resource_versions(&kc, &ns.name, "zk").await;
    let old = operator_pod(&kc).await.expect("operator pod");
    let old_uid = old.metadata.uid.clone();
    Api::<Pod>::namespaced(kc.clone(), OPERATOR_NS)
        .delete(
            old.metadata.name.as_deref().expect("name"),
            &DeleteParams::default(),
        )
        .await
        .expect("delete operator pod");
    wait_for("a new operator pod Ready", TIMEOUT, || async {
        let p = operator_pod(&kc).await?;
        if p.metadata.uid != old_uid {
            Ok(())
        } else {
            Err("still the old pod".into())
        }
    })
    .await;
    // Give the new operator time to reconcile everything once.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        resource_versions(&kc, &ns.name, "zk").await,
        before,
        "a restarted operator rewrote objects"
    );

    // Deleting the ensemble: owned objects go (garbage collector), the volume stays.
    zke.delete("zk", &DeleteParams::foreground())
        .await
        .expect("delete ensemble");
    wait_for("owned objects deleted", TIMEOUT, || async {
        let left = (
            Api::<StatefulSet>::namespaced(kc.clone(), &ns.name)
                .get_opt("zk")
                .await
                .map_err(|e| e.to_string())?,
            Api::<ConfigMap>::namespaced(kc.clone(), &ns.name)
                .get_opt("zk-config")
                .await
                .map_err(|e| e.to_string())?,
            Api::<Service>::namespaced(kc.clone(), &ns.name)
                .get_opt("zk-client")
                .await
                .map_err(|e| e.to_string())?,
            Api::<Pod>::namespaced(kc.clone(), &ns.name)
                .get_opt("zk-0")
                .await
                .map_err(|e| e.to_string())?,
        );
        match left {
            (None, None, None, None) => Ok(()),
            other => Err(format!(
                "still there: sts {} cm {} svc {} pod {}",
                other.0.is_some(),
                other.1.is_some(),
                other.2.is_some(),
                other.3.is_some()
            )),
        }
    })
    .await;
    let pvcs = Api::<PersistentVolumeClaim>::namespaced(kc.clone(), &ns.name)
        .list(&ListParams::default())
        .await
        .expect("pvcs");
    assert_eq!(
        pvcs.items.len(),
        3,
        "the members' volumes are retained by default"
    );

    ns.delete().await;
    helm(&[
        "uninstall",
        "zk-operator",
        "--namespace",
        OPERATOR_NS,
        "--wait",
    ]);
}
