//! The two Services. The headless one gives each member a stable DNS name and publishes
//! not-ready pods, because members must find each other *before* they are ready (a
//! quorum needs the peers' addresses to form at all). The client one routes only to ready
//! members, i.e. those serving requests.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Inputs;

fn port(name: &str, port: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port,
        target_port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".to_string()),
        ..Default::default()
    }
}

pub fn headless_service(i: &Inputs) -> Service {
    let p = &i.spec.ports;
    Service {
        metadata: i.meta(i.names.headless_service(), "server"),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(i.names.selector()),
            ports: Some(vec![
                port("client", p.client),
                port("quorum", p.quorum),
                port("election", p.election),
                port("admin", p.admin),
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn client_service(i: &Inputs) -> Service {
    let p = &i.spec.ports;
    let mut ports = vec![port("client", p.client)];
    if i.spec.metrics.enabled {
        ports.push(port("metrics", p.metrics));
    }
    Service {
        metadata: i.meta(i.names.client_service(), "client"),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(i.names.selector()),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;

    #[test]
    fn headless_publishes_unready_members_with_peer_ports() {
        let s = spec(serde_json::json!({"replicas": 3, "ports": {"quorum": 2999}}));
        let svc = with_inputs(&s, headless_service);
        assert_owned(&svc.metadata, "server");
        assert_eq!(svc.metadata.name.as_deref(), Some("zk-headless"));
        let spec = svc.spec.unwrap();
        assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(spec.publish_not_ready_addresses, Some(true));
        let ports: Vec<_> = spec.ports.unwrap().iter().map(|p| p.port).collect();
        assert_eq!(ports, [2181, 2999, 3888, 8080]);
    }

    #[test]
    fn client_service_routes_to_ready_members_only() {
        let s = spec(serde_json::json!({"metrics": {"enabled": false}}));
        let svc = with_inputs(&s, client_service);
        assert_owned(&svc.metadata, "client");
        let spec = svc.spec.unwrap();
        assert_ne!(spec.cluster_ip.as_deref(), Some("None"));
        assert_ne!(spec.publish_not_ready_addresses, Some(true));
        let ports: Vec<_> = spec.ports.unwrap().iter().map(|p| p.port).collect();
        assert_eq!(ports, [2181]);
        assert_eq!(spec.selector.unwrap()["app.kubernetes.io/instance"], "zk");
    }
}
