//! A container's environment as the real kubelet computes it: the spec's `env` in order (later
//! entries may refer to earlier ones with `$(NAME)`), `envFrom`, downward-API field references,
//! and the service variables that point in-cluster clients at the API server.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Container, ObjectFieldSelector, Pod, Secret};

/// What the environment may be resolved from, fetched beforehand so resolution stays pure.
#[derive(Default)]
pub struct Sources {
    pub config_maps: BTreeMap<String, ConfigMap>,
    pub secrets: BTreeMap<String, Secret>,
}

/// Facts about the running pod that the downward API exposes.
pub struct PodFacts<'a> {
    pub pod: &'a Pod,
    pub pod_ip: &'a str,
    pub host_ip: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("unsupported downward API field {0:?}")]
    Field(String),
    #[error("{kind} {name:?} not found")]
    Missing { kind: &'static str, name: String },
    #[error("key {key:?} not found in {kind} {name:?}")]
    MissingKey {
        kind: &'static str,
        name: String,
        key: String,
    },
}

/// The variables every container gets before its own, as a kubelet without kube-proxy here must
/// give them: the API server's own address stands in for the "kubernetes" Service. `image_bin`
/// leads PATH: it holds the zk binary, as /usr/local/bin does in the image.
pub fn base(
    pod_name: &str,
    apiserver_host: &str,
    apiserver_port: u16,
    image_bin: &str,
) -> Vec<(String, String)> {
    let port = apiserver_port.to_string();
    vec![
        (
            "PATH".into(),
            format!("{image_bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ),
        ("HOSTNAME".into(), pod_name.into()),
        ("HOME".into(), "/".into()),
        ("KUBERNETES_SERVICE_HOST".into(), apiserver_host.into()),
        ("KUBERNETES_SERVICE_PORT".into(), port.clone()),
        ("KUBERNETES_SERVICE_PORT_HTTPS".into(), port.clone()),
        (
            "KUBERNETES_PORT".into(),
            format!("tcp://{apiserver_host}:{port}"),
        ),
    ]
}

/// The container's full environment, in the order the kubelet applies it (later wins).
pub fn resolve(
    container: &Container,
    facts: &PodFacts<'_>,
    sources: &Sources,
    base: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, EnvError> {
    let mut env: Vec<(String, String)> = base;
    let set = |env: &mut Vec<(String, String)>, k: String, v: String| {
        env.retain(|(n, _)| *n != k);
        env.push((k, v));
    };
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        if let Some(r) = &from.config_map_ref {
            match sources.config_maps.get(&r.name) {
                Some(cm) => {
                    for (k, v) in cm.data.iter().flatten() {
                        set(&mut env, format!("{prefix}{k}"), v.clone());
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(EnvError::Missing {
                        kind: "ConfigMap",
                        name: r.name.clone(),
                    });
                }
            }
        }
        if let Some(r) = &from.secret_ref {
            match sources.secrets.get(&r.name) {
                Some(s) => {
                    for (k, v) in s.data.iter().flatten() {
                        set(
                            &mut env,
                            format!("{prefix}{k}"),
                            String::from_utf8_lossy(&v.0).into_owned(),
                        );
                    }
                }
                None if r.optional == Some(true) => {}
                None => {
                    return Err(EnvError::Missing {
                        kind: "Secret",
                        name: r.name.clone(),
                    });
                }
            }
        }
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (Some(v), _) => expand(v, &env),
            (None, Some(from)) => {
                if let Some(f) = &from.field_ref {
                    field(f, facts)?
                } else if let Some(r) = &from.config_map_key_ref {
                    let found = sources
                        .config_maps
                        .get(&r.name)
                        .and_then(|cm| cm.data.as_ref()?.get(&r.key).cloned());
                    match found {
                        Some(v) => v,
                        None if r.optional == Some(true) => continue,
                        None => {
                            return Err(EnvError::MissingKey {
                                kind: "ConfigMap",
                                name: r.name.clone(),
                                key: r.key.clone(),
                            });
                        }
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    let found = sources.secrets.get(&r.name).and_then(|s| {
                        let v = s.data.as_ref()?.get(&r.key)?;
                        Some(String::from_utf8_lossy(&v.0).into_owned())
                    });
                    match found {
                        Some(v) => v,
                        None if r.optional == Some(true) => continue,
                        None => {
                            return Err(EnvError::MissingKey {
                                kind: "Secret",
                                name: r.name.clone(),
                                key: r.key.clone(),
                            });
                        }
                    }
                } else if let Some(r) = &from.resource_field_ref {
                    resource_field(container, &r.resource)
                } else {
                    String::new()
                }
            }
            (None, None) => String::new(),
        };
        set(&mut env, var.name.clone(), value);
    }
    Ok(env)
}

/// Kubernetes' `$(VAR)` expansion: a defined variable is substituted, `$$` escapes a dollar, and
/// a reference to an undefined variable is left as written.
pub fn expand(input: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match env.iter().rev().find(|(k, _)| k == name) {
                        Some((_, v)) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn field(f: &ObjectFieldSelector, facts: &PodFacts<'_>) -> Result<String, EnvError> {
    let meta = &facts.pod.metadata;
    let spec = facts.pod.spec.as_ref();
    let path = f.field_path.as_str();
    let keyed = |prefix: &str, map: Option<&BTreeMap<String, String>>| {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        Some(map.and_then(|m| m.get(key).cloned()).unwrap_or_default())
    };
    let value = match path {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        "metadata.uid" => meta.uid.clone().unwrap_or_default(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()).unwrap_or_default(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_default(),
        "status.podIP" | "status.podIPs" => facts.pod_ip.to_string(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.to_string(),
        _ => {
            if let Some(v) = keyed("metadata.labels['", meta.labels.as_ref()) {
                v
            } else if let Some(v) = keyed("metadata.annotations['", meta.annotations.as_ref()) {
                v
            } else {
                return Err(EnvError::Field(path.to_string()));
            }
        }
    };
    Ok(value)
}

/// Resource fields as the kubelet reports them: the limit if set, else the request, else the
/// node's capacity; CPU in whole cores rounded up, memory in bytes.
fn resource_field(container: &Container, resource: &str) -> String {
    let res = container.resources.as_ref();
    let (kind, name) = match resource.split_once('.') {
        Some(x) => x,
        None => return String::new(),
    };
    let pick = |m: Option<
        &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >| { m.and_then(|m| m.get(name)).map(|q| q.0.clone()) };
    let q = match kind {
        "limits" => pick(res.and_then(|r| r.limits.as_ref()))
            .or_else(|| pick(res.and_then(|r| r.requests.as_ref()))),
        _ => pick(res.and_then(|r| r.requests.as_ref())),
    };
    match (name, q) {
        ("cpu", Some(q)) => {
            let cores = q
                .strip_suffix('m')
                .and_then(|m| m.parse::<f64>().ok())
                .map(|m| m / 1000.0)
                .or_else(|| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            format!("{}", cores.ceil().max(1.0) as u64)
        }
        (_, Some(q)) => memory_bytes(&q).map(|b| b.to_string()).unwrap_or(q),
        ("cpu", None) => "2".into(),
        (_, None) => (8u64 << 30).to_string(),
    }
}

fn memory_bytes(q: &str) -> Option<u64> {
    const UNITS: [(&str, u64); 10] = [
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("K", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
        ("", 1),
    ];
    UNITS.iter().find_map(|(suffix, mul)| {
        let n = q.strip_suffix(suffix)?;
        n.parse::<u64>().ok().map(|n| n * mul)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let env = kv(&[("A", "1"), ("B", "x$y")]);
        assert_eq!(expand("$(A)-$(B)", &env), "1-x$y");
        assert_eq!(expand("$$(A)", &env), "$(A)");
        assert_eq!(expand("$(MISSING)", &env), "$(MISSING)");
        assert_eq!(expand("cost $5 $(A", &env), "cost $5 $(A");
        assert_eq!(expand("", &env), "");
    }

    #[test]
    fn later_env_refers_to_earlier_and_downward_api() {
        let pod = Pod {
            metadata: ObjectMeta {
                name: Some("zk-1".into()),
                namespace: Some("prod".into()),
                labels: Some([("app".to_string(), "zk".to_string())].into()),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some("n1".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let from_field = |p: &str| EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: p.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let container = Container {
            name: "zk".into(),
            env: Some(vec![
                EnvVar {
                    name: "POD_NAME".into(),
                    value_from: Some(from_field("metadata.name")),
                    ..Default::default()
                },
                EnvVar {
                    name: "POD_IP".into(),
                    value_from: Some(from_field("status.podIP")),
                    ..Default::default()
                },
                EnvVar {
                    name: "APP".into(),
                    value_from: Some(from_field("metadata.labels['app']")),
                    ..Default::default()
                },
                EnvVar {
                    name: "ADDR".into(),
                    value: Some("$(POD_NAME)@$(POD_IP):$(LATER)".into()),
                    ..Default::default()
                },
                EnvVar {
                    name: "LATER".into(),
                    value: Some("x".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let facts = PodFacts {
            pod: &pod,
            pod_ip: "10.244.0.7",
            host_ip: "10.244.0.1",
        };
        let env = resolve(
            &container,
            &facts,
            &Sources::default(),
            base("zk-1", "10.244.0.1", 6443, "/img/bin"),
        )
        .expect("resolves");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("ADDR"), Some("zk-1@10.244.0.7:$(LATER)"));
        assert_eq!(get("APP"), Some("zk"));
        assert_eq!(get("KUBERNETES_SERVICE_HOST"), Some("10.244.0.1"));
        assert_eq!(get("HOSTNAME"), Some("zk-1"));
        assert!(get("PATH").is_some_and(|p| p.starts_with("/img/bin:")));
    }

    #[test]
    fn unknown_field_and_missing_configmap_are_errors() {
        let pod = Pod::default();
        let facts = PodFacts {
            pod: &pod,
            pod_ip: "",
            host_ip: "",
        };
        let c = Container {
            env: Some(vec![EnvVar {
                name: "X".into(),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "spec.nonsense".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert!(resolve(&c, &facts, &Sources::default(), vec![]).is_err());
    }

    #[test]
    fn memory_quantities() {
        assert_eq!(memory_bytes("1Gi"), Some(1 << 30));
        assert_eq!(memory_bytes("512M"), Some(512_000_000));
        assert_eq!(memory_bytes("12"), Some(12));
    }
}
