//! zoo.cfg keys the operator owns: the data layout, the ports Services and probes point at,
//! and the membership it assigns. Overriding one would silently break the ensemble (a
//! dataDir outside the volume loses data on restart; a foreign server.N list splits the
//! quorum), so the schema rejects them and names the offending key.

use kube::core::{Rule, cel::Message};

/// Keys that `spec.config` may not set.
pub const RESERVED_KEYS: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "clientPort",
    "clientPortAddress",
    "secureClientPort",
    "admin.enableServer",
    "admin.serverPort",
    "admin.serverAddress",
    "metricsProvider.httpPort",
    "metricsProvider.httpHost",
    "standaloneEnabled",
    "reconfigEnabled",
    "dynamicConfigFile",
];

/// Key prefixes that `spec.config` may not use (membership and hierarchical quorums).
pub const RESERVED_PREFIXES: &[&str] = &["server.", "group.", "weight."];

/// Whether `key` is one the operator owns.
pub fn is_reserved(key: &str) -> bool {
    RESERVED_KEYS.contains(&key) || RESERVED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The CEL rules on `spec.config`: one per reserved key (a map lookup, cheap enough for the
/// API server's cost budget, and its message names the key), one for the prefixes.
pub fn rules() -> Vec<Rule> {
    let mut rules: Vec<Rule> = RESERVED_KEYS
        .iter()
        .map(|k| {
            Rule::new(format!("!('{k}' in self)")).message(Message::Message(format!(
                "zoo.cfg key {k} is managed by the operator and cannot be overridden"
            )))
        })
        .collect();
    let prefixes = RESERVED_PREFIXES
        .iter()
        .map(|p| format!("k.startsWith('{p}')"))
        .collect::<Vec<_>>()
        .join(" || ");
    let listed = RESERVED_PREFIXES
        .iter()
        .map(|p| format!("{p}*"))
        .collect::<Vec<_>>()
        .join(", ");
    rules.push(
        Rule::new(format!("!self.exists(k, {prefixes})")).message(Message::Message(format!(
            "zoo.cfg keys {listed} are managed by the operator (membership comes from replicas and observers)"
        ))),
    );
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_keys_and_prefixes() {
        assert!(is_reserved("dataDir"));
        assert!(is_reserved("server.7"));
        assert!(is_reserved("group.1"));
        assert!(!is_reserved("tickTime"));
        assert!(!is_reserved("serverCnxnFactory"));
    }

    #[test]
    fn every_reserved_key_has_a_rule_naming_it() {
        let rules = rules();
        for k in RESERVED_KEYS {
            let r = rules
                .iter()
                .find(|r| r.rule == format!("!('{k}' in self)"))
                .unwrap();
            assert!(matches!(&r.message, Some(Message::Message(m)) if m.contains(k)));
        }
        let prefixes = &rules.last().unwrap().rule;
        for p in RESERVED_PREFIXES {
            assert!(
                prefixes.contains(&format!("k.startsWith('{p}')")),
                "{prefixes}"
            );
        }
    }
}
