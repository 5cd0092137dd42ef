//! The zoo.cfg every member runs with: ZooKeeper's recommended defaults, the user's
//! overrides, the settings the operator owns, and the member list.
//!
//! The config hash covers everything except the `server.N` lines. Membership is meant to
//! change through dynamic reconfig without restarting members, so a scale operation must not
//! mark every pod as needing a restart; any other change must.

use std::collections::BTreeMap;

use sha1::{Digest, Sha1};

use super::crd::ZooKeeperEnsembleSpec;
use super::myid::Assignment;
use super::names::{DATA_DIR, Names};

/// ZooKeeper's Prometheus provider class; `zk server` recognises the name.
const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";

/// Defaults a user may override (ZooKeeper's documented recommendations, with autopurge on
/// so a long-running member does not fill its volume with old snapshots).
fn defaults() -> BTreeMap<String, String> {
    [
        ("tickTime", "2000"),
        ("initLimit", "10"),
        ("syncLimit", "5"),
        ("maxClientCnxns", "60"),
        ("autopurge.snapRetainCount", "3"),
        ("autopurge.purgeInterval", "1"),
        ("4lw.commands.whitelist", "srvr,mntr,ruok,conf,isro"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The rendered configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZooCfg {
    /// The whole file.
    pub text: String,
    /// Hash of everything but the member list.
    pub hash: String,
}

/// Settings (without members) as a key → value map.
pub fn settings(spec: &ZooKeeperEnsembleSpec) -> BTreeMap<String, String> {
    let mut s = defaults();
    s.extend(spec.config.clone());
    let ports = &spec.ports;
    let owned = [
        ("dataDir", DATA_DIR.to_string()),
        ("clientPort", ports.client.to_string()),
        ("admin.enableServer", "true".to_string()),
        ("admin.serverPort", ports.admin.to_string()),
    ];
    s.extend(owned.into_iter().map(|(k, v)| (k.to_string(), v)));
    if spec.metrics.enabled {
        s.insert(
            "metricsProvider.className".to_string(),
            PROMETHEUS_PROVIDER.to_string(),
        );
        s.insert(
            "metricsProvider.httpPort".to_string(),
            ports.metrics.to_string(),
        );
    }
    s
}

/// Renders zoo.cfg for the assigned members.
pub fn render(spec: &ZooKeeperEnsembleSpec, names: &Names, ids: &Assignment) -> ZooCfg {
    let mut body = String::new();
    for (k, v) in settings(spec) {
        body.push_str(&format!("{k}={v}\n"));
    }
    let hash = hash(&body);
    let mut text = format!(
        "# Written by the zk operator for ZooKeeperEnsemble {}/{}; edit the ensemble, not this file.\n",
        names.namespace, names.ensemble
    );
    text.push_str(&body);
    let mut members: Vec<_> = ids.members.iter().collect();
    members.sort_by_key(|m| m.myid);
    for m in members {
        text.push_str(&format!(
            "server.{}={}:{}:{}:{};{}\n",
            m.myid,
            names.pod_fqdn(&m.pod),
            spec.ports.quorum,
            spec.ports.election,
            m.role.as_str(),
            spec.ports.client
        ));
    }
    ZooCfg { text, hash }
}

/// First 16 hex digits of the SHA-1: short enough for an annotation, long enough that two
/// configurations do not collide in practice.
fn hash(text: &str) -> String {
    let d = Sha1::digest(text.as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;
    use crate::config::server_spec::Role;
    use crate::operator::myid::assign;

    fn spec(v: serde_json::Value) -> ZooKeeperEnsembleSpec {
        serde_json::from_value(v).unwrap()
    }

    fn names() -> Names {
        Names {
            ensemble: "zk".into(),
            namespace: "prod".into(),
            cluster_domain: "cluster.local".into(),
        }
    }

    fn render_for(s: &ZooKeeperEnsembleSpec) -> ZooCfg {
        let ids = assign(&names(), s, None, &BTreeMap::new());
        render(s, &names(), &ids)
    }

    #[test]
    fn the_server_reads_the_member_list_and_owned_settings() {
        let s = spec(serde_json::json!({"replicas": 3, "observers": 1,
            "config": {"tickTime": "3000", "maxClientCnxns": "0"}}));
        let cfg = render_for(&s);
        let parsed = ServerConfig::parse(&cfg.text, &BTreeMap::new()).unwrap();
        assert_eq!(parsed.tick_time, 3000, "override wins over the default");
        assert_eq!(parsed.max_client_cnxns, 0);
        assert_eq!(parsed.init_limit, 10, "default kept");
        assert_eq!(parsed.data_dir, std::path::PathBuf::from("/data"));
        assert_eq!(parsed.metrics_port, Some(7000));
        assert_eq!(parsed.admin_server_port, 8080);
        assert_eq!(parsed.servers.len(), 4);
        let s1 = &parsed.servers[0];
        assert_eq!(
            (s1.id, s1.host.as_str()),
            (1, "zk-0.zk-headless.prod.svc.cluster.local")
        );
        assert_eq!((s1.quorum_port, s1.election_port), (2888, 3888));
        assert_eq!(s1.client_addr, Some(("0.0.0.0".to_string(), 2181)));
        assert_eq!(parsed.servers[3].role, Role::Observer);
        assert!(cfg.text.contains(
            "server.1=zk-0.zk-headless.prod.svc.cluster.local:2888:3888:participant;2181\n"
        ));
    }

    #[test]
    fn the_hash_ignores_membership_but_not_settings() {
        let three = render_for(&spec(serde_json::json!({"replicas": 3})));
        let five = render_for(&spec(serde_json::json!({"replicas": 5})));
        assert_ne!(three.text, five.text);
        assert_eq!(three.hash, five.hash);
        let tuned = render_for(&spec(
            serde_json::json!({"replicas": 3, "config": {"syncLimit": "10"}}),
        ));
        assert_ne!(three.hash, tuned.hash);
        let no_metrics = render_for(&spec(serde_json::json!({"metrics": {"enabled": false}})));
        assert!(!no_metrics.text.contains("metricsProvider"));
        assert_ne!(three.hash, no_metrics.hash);
    }

    #[test]
    fn ports_follow_the_spec() {
        let s = spec(serde_json::json!({"replicas": 1,
            "ports": {"client": 12181, "quorum": 12888, "election": 13888, "admin": 18080, "metrics": 17000}}));
        let parsed = ServerConfig::parse(&render_for(&s).text, &BTreeMap::new()).unwrap();
        assert_eq!(parsed.client_port, 12181);
        assert_eq!(parsed.admin_server_port, 18080);
        assert_eq!(parsed.metrics_port, Some(17000));
        assert_eq!(parsed.servers[0].quorum_port, 12888);
        assert_eq!(
            parsed.servers[0].client_addr,
            Some(("0.0.0.0".to_string(), 12181))
        );
    }
}
