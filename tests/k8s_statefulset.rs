//! A StatefulSet of `zk server` pods on the real test cluster: the pods become Ready with their
//! own addresses, reach each other by the DNS names the headless Service gives them, keep their
//! volume across deletion, and a crashed container is restarted.
//!
//! Needs the cluster of `tests/k8s/up`; run through
//! `tests/k8s/in STATE_DIR cargo test --test k8s_statefulset -- --ignored` (tests/run-all does).

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::k8s::{TestNamespace, client, wait_for};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(90);

/// Each pod's second container writes a znode named after itself, holding its downward-API
/// address, into its peer's server, addressed by the peer's DNS name; then it idles.
const PEER_SCRIPT: &str = r#"
set -u
me=${POD_NAME##*-}; peer=$((1 - me))
host=zk-$peer.zk-hl.$POD_NAMESPACE.svc.cluster.local
until getent hosts "$host" >/dev/null; do sleep 0.2; done
until zk cli -server "$host:2181" create "/from-$POD_NAME" "$POD_IP" 2>&1 | grep -qE 'Created|already exists'; do sleep 0.5; done
echo "$(hostname) $POD_IP $host" > /tmp/peer-done
exec sleep 100000
"#;

fn objects(ns: &str) -> (ConfigMap, Service, StatefulSet) {
    let cm = json!({
        "metadata": {"name": "zk", "namespace": ns},
        "data": {"zoo.cfg": "tickTime=2000\ndataDir=/data\nclientPort=2181\nadmin.serverPort=8080\n"},
    });
    let svc = json!({
        "metadata": {"name": "zk-hl", "namespace": ns},
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "selector": {"app": "zk"},
            "ports": [{"name": "client", "port": 2181}],
        },
    });
    let env = json!([
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
    ]);
    let sts = json!({
        "metadata": {"name": "zk", "namespace": ns},
        "spec": {
            "serviceName": "zk-hl",
            "replicas": 2,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "zk"}},
            "template": {
                "metadata": {"labels": {"app": "zk"}},
                "spec": {
                    "terminationGracePeriodSeconds": 10,
                    "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "runAsNonRoot": true},
                    "containers": [
                        {
                            "name": "zk",
                            "image": "zk:test",
                            "command": ["zk", "server", "--config", "/conf/zoo.cfg"],
                            "env": env,
                            "ports": [{"name": "client", "containerPort": 2181}, {"name": "admin", "containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"path": "/commands/ruok", "port": "admin"}, "periodSeconds": 1},
                            "livenessProbe": {"tcpSocket": {"port": "client"}, "periodSeconds": 2, "failureThreshold": 3},
                            "volumeMounts": [{"name": "conf", "mountPath": "/conf"}, {"name": "data", "mountPath": "/data"}],
                        },
                        {
                            "name": "peer",
                            "image": "zk:test",
                            "command": ["sh", "-c", PEER_SCRIPT],
                            "env": env,
                            "readinessProbe": {"exec": {"command": ["test", "-s", "/tmp/peer-done"]}, "periodSeconds": 1},
                        },
                    ],
                    "volumes": [{"name": "conf", "configMap": {"name": "zk"}}],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            }],
        },
    });
    (parse(cm), parse(svc), parse(sts))
}

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).expect("valid object")
}

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn pod_ip(p: &Pod) -> Option<Ipv4Addr> {
    p.status.as_ref()?.pod_ip.as_ref()?.parse().ok()
}

/// Waits until every named pod exists, is Ready, and (if given) has a different uid than before.
async fn ready_pods(
    api: &Api<Pod>,
    names: &[&str],
    not_uid: Option<&str>,
) -> BTreeMap<String, Pod> {
    wait_for("pods Ready", TIMEOUT, || async {
        let mut out = BTreeMap::new();
        for n in names {
            let p = api
                .get_opt(n)
                .await
                .map_err(|e| e.to_string())?
                .ok_or(format!("{n} missing"))?;
            if p.metadata.deletion_timestamp.is_some()
                || not_uid.is_some() && p.metadata.uid.as_deref() == not_uid
            {
                return Err(format!("{n} is still the old pod"));
            }
            if !ready(&p) {
                return Err(format!(
                    "{n} not ready: {:?}",
                    p.status.as_ref().map(|s| &s.container_statuses)
                ));
            }
            out.insert(n.to_string(), p);
        }
        Ok(out)
    })
    .await
}

async fn zk_client(host: &str) -> zookeeper_client::Client {
    zookeeper_client::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .connect(&format!("{host}:2181"))
        .await
        .unwrap_or_else(|e| panic!("connect to {host}: {e}"))
}

async fn read(host: &str, path: &str) -> Option<String> {
    let c = zk_client(host).await;
    let got = c
        .get_data(path)
        .await
        .ok()
        .map(|(d, _)| String::from_utf8_lossy(&d).into_owned());
    drop(c);
    got
}

/// The pid of the zk server process of a pod: the process whose environment names the pod.
fn server_pid(pod: &str) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
        let is_server = cmdline.split(|b| *b == 0).any(|a| a == b"server");
        let is_pod = environ
            .split(|b| *b == 0)
            .any(|kv| kv == format!("POD_NAME={pod}").as_bytes());
        (is_server && is_pod).then_some(pid)
    })
}

#[tokio::test]
#[ignore = "needs the cluster of tests/k8s/up; tests/run-all runs it through tests/k8s/in"]
async fn statefulset_of_zk_servers() {
    let kc: Client = client().await;
    let ns = TestNamespace::create(&kc, "zk-sts").await;
    let (cm, svc, sts) = objects(&ns.name);
    let pp = PostParams::default();
    Api::<ConfigMap>::namespaced(kc.clone(), &ns.name)
        .create(&pp, &cm)
        .await
        .expect("configmap");
    Api::<Service>::namespaced(kc.clone(), &ns.name)
        .create(&pp, &svc)
        .await
        .expect("service");
    Api::<StatefulSet>::namespaced(kc.clone(), &ns.name)
        .create(&pp, &sts)
        .await
        .expect("statefulset");
    let pods = Api::<Pod>::namespaced(kc.clone(), &ns.name);

    // Ready, each with its own non-loopback address from the pod network.
    let up = ready_pods(&pods, &["zk-0", "zk-1"], None).await;
    let ips: Vec<Ipv4Addr> = up.values().map(|p| pod_ip(p).expect("pod IP")).collect();
    assert_ne!(ips[0], ips[1], "pods share an address");
    for ip in &ips {
        assert!(
            !ip.is_loopback() && ip.octets()[..2] == [10, 244],
            "{ip} is not a pod-network address"
        );
    }

    // The EndpointSlice controller publishes both pods behind the headless Service.
    let slices = Api::<EndpointSlice>::namespaced(kc.clone(), &ns.name);
    wait_for("EndpointSlice with both pods", TIMEOUT, || async {
        let list = slices
            .list(&ListParams::default().labels("kubernetes.io/service-name=zk-hl"))
            .await
            .map_err(|e| e.to_string())?;
        let addrs: Vec<String> = list
            .items
            .iter()
            .flat_map(|s| s.endpoints.iter().flat_map(|e| e.addresses.clone()))
            .collect();
        let want: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
        if want.iter().all(|w| addrs.contains(w)) {
            Ok(())
        } else {
            Err(format!("{addrs:?}"))
        }
    })
    .await;

    // Each pod reached its peer's server by DNS name and wrote its own address there.
    let fqdn = |p: &str| format!("{p}.zk-hl.{}.svc.cluster.local", ns.name);
    for (me, peer) in [("zk-0", "zk-1"), ("zk-1", "zk-0")] {
        let got = read(&fqdn(peer), &format!("/from-{me}")).await;
        assert_eq!(
            got.as_deref(),
            Some(pod_ip(&up[me]).expect("ip").to_string().as_str()),
            "/from-{me} on {peer}"
        );
    }

    // Deleting a pod: the StatefulSet makes a new one, which gets the same volume back.
    let old_uid = up["zk-0"].metadata.uid.clone().expect("uid");
    pods.delete("zk-0", &DeleteParams::default())
        .await
        .expect("delete zk-0");
    let again = ready_pods(&pods, &["zk-0"], Some(&old_uid)).await;
    let new_ip = pod_ip(&again["zk-0"]).expect("ip");
    assert_eq!(
        read(&fqdn("zk-0"), "/from-zk-1").await.as_deref(),
        Some(ips[1].to_string().as_str()),
        "zk-0's data did not survive its pod's deletion"
    );
    assert!(
        std::net::ToSocketAddrs::to_socket_addrs(&(fqdn("zk-0").as_str(), 2181))
            .expect("resolves")
            .any(|a| a.ip() == std::net::IpAddr::V4(new_ip)),
        "zk-0's DNS name does not follow its new address {new_ip}"
    );

    // A crashed container is restarted in place: same pod, restartCount 1, Ready again.
    let uid1 = up["zk-1"].metadata.uid.clone().expect("uid");
    let pid = server_pid("zk-1").expect("zk-1's server process");
    // SAFETY: kill(2) on a pid this test just found; no memory involved.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_for("zk-1's server restarted", TIMEOUT, || async {
        let p = pods.get("zk-1").await.map_err(|e| e.to_string())?;
        let restarts = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.name == "zk"))
            .map(|c| c.restart_count);
        match (p.metadata.uid == Some(uid1.clone()), restarts, ready(&p)) {
            (true, Some(1), true) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(
        read(&fqdn("zk-1"), "/from-zk-0").await.as_deref(),
        Some(ips[0].to_string().as_str())
    );

    ns.delete().await;
}
