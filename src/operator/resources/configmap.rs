//! The ConfigMap members mount at /conf: zoo.cfg and the pod → myid map.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::Inputs;
use crate::operator::names::{MYIDS, ZOO_CFG};

pub fn config_map(i: &Inputs) -> ConfigMap {
    ConfigMap {
        metadata: i.meta(i.names.config_map(), "config"),
        data: Some(BTreeMap::from([
            (ZOO_CFG.to_string(), i.cfg.text.clone()),
            (MYIDS.to_string(), i.ids.myid_map()),
        ])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::*;
    use super::*;
    use crate::config::ServerConfig;
    use crate::config::member_id;

    #[test]
    fn every_member_finds_its_own_server_line() {
        let s = spec(serde_json::json!({"replicas": 3, "observers": 2, "labels": {"team": "x"}}));
        let cm = with_inputs(&s, config_map);
        assert_owned(&cm.metadata, "config");
        assert_eq!(cm.metadata.labels.unwrap()["team"], "x");
        let data = cm.data.unwrap();
        let cfg = ServerConfig::parse(&data[ZOO_CFG], &BTreeMap::new()).unwrap();
        for ordinal in 0..5 {
            let pod = format!("zk-{ordinal}");
            let id = member_id::lookup(&data[MYIDS], &pod).unwrap();
            let line = cfg.servers.iter().find(|s| s.id == id).unwrap();
            assert!(
                line.host.starts_with(&format!("{pod}.")),
                "{pod} → {}",
                line.host
            );
        }
    }
}
