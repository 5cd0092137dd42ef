//! Size bounds on the string maps that CEL rules iterate. The API server estimates the
//! worst-case cost of every rule from these bounds and refuses the whole CRD when a rule
//! over an unbounded map could run too long.

use schemars::{Schema, SchemaGenerator, json_schema};

fn string_map(max_entries: u32, max_value: u32) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": max_entries,
        "additionalProperties": { "type": "string", "maxLength": max_value }
    })
}

/// zoo.cfg overrides: ZooKeeper has about a hundred settings. Carries the reserved-key
/// rules.
pub fn config_map(_: &mut SchemaGenerator) -> Schema {
    let mut s = string_map(128, 4096);
    let rules = serde_json::to_value(super::reserved::rules()).unwrap_or_default();
    s.insert("x-kubernetes-validations".to_string(), rules);
    s
}

pub fn label_map(_: &mut SchemaGenerator) -> Schema {
    string_map(64, 63)
}

pub fn annotation_map(_: &mut SchemaGenerator) -> Schema {
    string_map(64, 8192)
}
