//! Checks the schema cannot express. An object that fails them is not applied: the operator
//! reports a Degraded condition and a Warning event naming the problem, and leaves what
//! runs untouched rather than rolling out something that cannot work.

use std::collections::BTreeMap;

use crate::config::ServerConfig;

use super::names::Names;
use super::zoocfg::ZooCfg;

/// Longest ensemble name: pods are `<name>-<ordinal>` and the StatefulSet controller labels
/// them `controller-revision-hash=<name>-<10 chars>`, which must fit a 63-character label.
pub const MAX_NAME: usize = 52;

/// Problems found, each a sentence a user can act on.
pub fn check(names: &Names, cfg: &ZooCfg) -> Vec<String> {
    let mut problems = Vec::new();
    if names.ensemble.len() > MAX_NAME {
        problems.push(format!(
            "metadata.name is {} characters; at most {MAX_NAME} fit the names of the pods and their labels",
            names.ensemble.len()
        ));
    }
    // The member parses the same file at startup; refuse here what it would refuse there.
    if let Err(e) = ServerConfig::parse(&cfg.text, &BTreeMap::new()) {
        problems.push(format!("spec.config: {e}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::resources::fixture::{names, spec, with_inputs};

    #[test]
    fn a_value_the_server_would_refuse_is_reported_with_its_key() {
        let s = spec(serde_json::json!({"config": {"tickTime": "fast"}}));
        let problems = with_inputs(&s, |i| check(&i.names, &i.cfg));
        assert_eq!(problems, ["spec.config: tickTime=fast: not a number"]);
        let ok = spec(serde_json::json!({"config": {"tickTime": "4000"}}));
        assert!(with_inputs(&ok, |i| check(&i.names, &i.cfg)).is_empty());
    }

    #[test]
    fn names_too_long_for_pod_labels_are_refused() {
        let s = spec(serde_json::json!({}));
        let mut n = names();
        n.ensemble = "z".repeat(MAX_NAME + 1);
        let problems = with_inputs(&s, |i| check(&n, &i.cfg));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("metadata.name"));
    }
}
