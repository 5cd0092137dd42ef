//! A pod's volumes as local directories, and where each container sees them. ConfigMaps,
//! Secrets, projected service-account tokens and downward-API files are written into a per-pod
//! directory; a claim's volume is the directory of the PersistentVolume it is bound to, which
//! lives as long as the volume does, not the pod.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, DownwardAPIVolumeFile, KeyToPath, PersistentVolume,
    PersistentVolumeClaim, Pod, Secret, ServiceAccount, Volume,
};
use kube::api::PostParams;
use kube::{Api, Client};

/// A bind mount: `src` on the host appears at `dst` inside the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub readonly: bool,
}

/// Volume name → its directory (or file) on the host.
pub type Prepared = BTreeMap<String, PathBuf>;

/// Writes every volume of the pod and returns where each one is. Fails (and is retried by the
/// caller) while something it needs does not exist yet, e.g. a claim not yet bound.
pub async fn prepare(client: &Client, pod: &Pod, pod_dir: &Path) -> Result<Prepared> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut out = Prepared::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let dir = pod_dir.join("volumes").join(&v.name);
        let path = prepare_one(client, ns, pod, v, &dir)
            .await
            .with_context(|| format!("volume {:?}", v.name))?;
        out.insert(v.name.clone(), path);
    }
    Ok(out)
}

async fn prepare_one(
    client: &Client,
    ns: &str,
    pod: &Pod,
    v: &Volume,
    dir: &Path,
) -> Result<PathBuf> {
    if let Some(pvc) = &v.persistent_volume_claim {
        return claim_dir(client, ns, &pvc.claim_name).await;
    }
    if let Some(hp) = &v.host_path {
        return Ok(PathBuf::from(&hp.path));
    }
    fresh_dir(dir)?;
    if v.empty_dir.is_some() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))?;
    } else if let Some(cm) = &v.config_map {
        let src = Keys::config_map(&cm.name, cm.optional, cm.items.as_deref());
        src.write(client, ns, dir, cm.default_mode).await?;
    } else if let Some(s) = &v.secret {
        let name = s.secret_name.clone().unwrap_or_default();
        let src = Keys::secret(&name, s.optional, s.items.as_deref());
        src.write(client, ns, dir, s.default_mode).await?;
    } else if let Some(p) = &v.projected {
        for src in p.sources.iter().flatten() {
            if let Some(t) = &src.service_account_token {
                let token = service_account_token(
                    client,
                    ns,
                    pod,
                    t.audience.clone(),
                    t.expiration_seconds,
                )
                .await?;
                write_file(
                    &dir.join(&t.path),
                    token.as_bytes(),
                    p.default_mode.unwrap_or(0o644),
                )?;
            }
            if let Some(cm) = &src.config_map {
                let keys = Keys::config_map(&cm.name, cm.optional, cm.items.as_deref());
                keys.write(client, ns, dir, p.default_mode).await?;
            }
            if let Some(s) = &src.secret {
                let keys = Keys::secret(&s.name, s.optional, s.items.as_deref());
                keys.write(client, ns, dir, p.default_mode).await?;
            }
            if let Some(d) = &src.downward_api {
                write_downward(pod, dir, d.items.as_deref(), p.default_mode)?;
            }
        }
    } else if let Some(d) = &v.downward_api {
        write_downward(pod, dir, d.items.as_deref(), d.default_mode)?;
    } else {
        bail!(
            "unsupported volume type (the test kubelet supports configMap, secret, projected, downwardAPI, emptyDir, hostPath, persistentVolumeClaim)"
        );
    }
    Ok(dir.to_path_buf())
}

/// The keys of a ConfigMap or Secret that a volume (or projected source) writes as files.
struct Keys<'a> {
    secret: bool,
    name: &'a str,
    optional: Option<bool>,
    items: Option<&'a [KeyToPath]>,
}

impl<'a> Keys<'a> {
    fn config_map(name: &'a str, optional: Option<bool>, items: Option<&'a [KeyToPath]>) -> Self {
        Self {
            secret: false,
            name,
            optional,
            items,
        }
    }

    fn secret(name: &'a str, optional: Option<bool>, items: Option<&'a [KeyToPath]>) -> Self {
        Self {
            secret: true,
            name,
            optional,
            items,
        }
    }

    async fn write(&self, client: &Client, ns: &str, dir: &Path, mode: Option<i32>) -> Result<()> {
        let files = if self.secret {
            Api::<Secret>::namespaced(client.clone(), ns)
                .get_opt(self.name)
                .await?
                .map(|s| secret_files(&s))
        } else {
            Api::<ConfigMap>::namespaced(client.clone(), ns)
                .get_opt(self.name)
                .await?
                .map(|c| config_map_files(&c))
        };
        match files {
            Some(f) => write_items(dir, &f, self.items, mode),
            None if self.optional == Some(true) => Ok(()),
            None => bail!(
                "{} {:?} not found",
                if self.secret { "Secret" } else { "ConfigMap" },
                self.name
            ),
        }
    }
}

/// A claim's directory: the hostPath of the PersistentVolume it is bound to.
async fn claim_dir(client: &Client, ns: &str, claim: &str) -> Result<PathBuf> {
    let pvc = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .get_opt(claim)
        .await?
        .with_context(|| format!("PersistentVolumeClaim {claim:?} not found"))?;
    let phase = pvc.status.as_ref().and_then(|s| s.phase.as_deref());
    let pv_name = match (
        phase,
        pvc.spec.as_ref().and_then(|s| s.volume_name.as_deref()),
    ) {
        (Some("Bound"), Some(pv)) => pv.to_string(),
        _ => bail!("PersistentVolumeClaim {claim:?} is not bound yet"),
    };
    let pv = Api::<PersistentVolume>::all(client.clone())
        .get(&pv_name)
        .await?;
    let path = pv
        .spec
        .as_ref()
        .and_then(|s| s.host_path.as_ref())
        .map(|h| PathBuf::from(&h.path))
        .with_context(|| format!("PersistentVolume {pv_name:?} has no hostPath"))?;
    std::fs::create_dir_all(&path)?;
    Ok(path)
}

async fn service_account_token(
    client: &Client,
    ns: &str,
    pod: &Pod,
    audience: Option<String>,
    expiration: Option<i64>,
) -> Result<String> {
    let sa = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    let req = TokenRequest {
        spec: TokenRequestSpec {
            audiences: audience.into_iter().collect(),
            expiration_seconds: Some(expiration.unwrap_or(3607)),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
            }),
        },
        ..Default::default()
    };
    let api = Api::<ServiceAccount>::namespaced(client.clone(), ns);
    let got: TokenRequest = api
        .create_subresource("token", &sa, &PostParams::default(), &req)
        .await
        .with_context(|| format!("token for ServiceAccount {sa:?}"))?;
    got.status
        .map(|s| s.token)
        .context("TokenRequest answered without a token")
}

fn config_map_files(cm: &ConfigMap) -> BTreeMap<String, Vec<u8>> {
    let mut m: BTreeMap<String, Vec<u8>> = cm
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
        .collect();
    for (k, v) in cm.binary_data.iter().flatten() {
        m.insert(k.clone(), v.0.clone());
    }
    m
}

fn secret_files(s: &Secret) -> BTreeMap<String, Vec<u8>> {
    let mut m: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in s.string_data.iter().flatten() {
        m.insert(k.clone(), v.clone().into_bytes());
    }
    m
}

/// Writes all keys, or only the listed items under their paths, as Kubernetes does.
fn write_items(
    dir: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
) -> Result<()> {
    let mode = default_mode.unwrap_or(0o644);
    match items {
        Some(items) => {
            for it in items {
                let data = files
                    .get(&it.key)
                    .with_context(|| format!("key {:?} not found", it.key))?;
                write_file(
                    &dir.join(relative(&it.path)?),
                    data,
                    it.mode.unwrap_or(mode),
                )?;
            }
        }
        None => {
            for (k, data) in files {
                write_file(&dir.join(relative(k)?), data, mode)?;
            }
        }
    }
    Ok(())
}

/// A volume item path must stay inside the volume.
fn relative(p: &str) -> Result<&Path> {
    let path = Path::new(p);
    if path.components().all(|c| matches!(c, Component::Normal(_))) && !p.is_empty() {
        Ok(path)
    } else {
        bail!("path {p:?} must be relative and must not contain '..'")
    }
}

fn write_file(path: &Path, data: &[u8], mode: i32) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f =
        std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(data)?;
    std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode((mode as u32) & 0o7777),
    )?;
    Ok(())
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn write_downward(
    pod: &Pod,
    dir: &Path,
    items: Option<&[DownwardAPIVolumeFile]>,
    default_mode: Option<i32>,
) -> Result<()> {
    for item in items.into_iter().flatten() {
        let field = item.field_ref.as_ref().map(|f| f.field_path.as_str());
        let value = downward_value(pod, field)?;
        let mode = item.mode.or(default_mode).unwrap_or(0o644);
        write_file(&dir.join(relative(&item.path)?), value.as_bytes(), mode)?;
    }
    Ok(())
}

fn downward_value(pod: &Pod, field: Option<&str>) -> Result<String> {
    let meta = &pod.metadata;
    let render = |m: Option<&BTreeMap<String, String>>| {
        m.iter()
            .flat_map(|m| m.iter())
            .map(|(k, v)| format!("{k}={v:?}\n"))
            .collect::<String>()
    };
    Ok(match field {
        Some("metadata.name") => meta.name.clone().unwrap_or_default(),
        Some("metadata.namespace") => meta.namespace.clone().unwrap_or_default(),
        Some("metadata.uid") => meta.uid.clone().unwrap_or_default(),
        Some("metadata.labels") => render(meta.labels.as_ref()),
        Some("metadata.annotations") => render(meta.annotations.as_ref()),
        other => bail!("unsupported downward API volume field {other:?}"),
    })
}

/// The container's mounts, parents before children, plus the cluster hosts file at /etc/hosts
/// and a private /tmp (an image's own /tmp is never shared with other containers) unless a
/// volume is mounted there. Pure: paths only.
pub fn plan(
    container: &Container,
    volumes: &Prepared,
    hosts_file: &Path,
    tmp: &Path,
) -> Result<Vec<Mount>> {
    let mut mounts = Vec::new();
    for vm in container.volume_mounts.iter().flatten() {
        let base = volumes
            .get(&vm.name)
            .with_context(|| format!("volumeMount {:?} names no volume of the pod", vm.name))?;
        let src = match vm.sub_path.as_deref() {
            Some(sp) if !sp.is_empty() => base.join(relative(sp)?),
            _ => base.clone(),
        };
        let dst = PathBuf::from(&vm.mount_path);
        if !dst.is_absolute() {
            bail!("mountPath {:?} must be absolute", vm.mount_path);
        }
        mounts.push(Mount {
            src,
            dst,
            readonly: vm.read_only == Some(true),
        });
    }
    mounts.push(Mount {
        src: hosts_file.to_path_buf(),
        dst: PathBuf::from("/etc/hosts"),
        readonly: true,
    });
    mounts.sort_by_key(|m| m.dst.components().count());
    // Last, so the other sources (which may live under the host's /tmp) are still reachable;
    // left out when a volume is mounted at or under /tmp.
    if !mounts.iter().any(|m| m.dst.starts_with("/tmp")) {
        mounts.push(Mount {
            src: tmp.to_path_buf(),
            dst: PathBuf::from("/tmp"),
            readonly: false,
        });
    }
    Ok(mounts)
}

/// Where the mount point of `plan[i]` must exist before the container starts: under the source
/// of an earlier mount that covers it (so `/data/log` inside a `/data` volume is made in that
/// volume), else on the host itself.
pub fn mountpoint_on_host(plan: &[Mount], i: usize) -> PathBuf {
    let dst = &plan[i].dst;
    plan[..i]
        .iter()
        .rev()
        .filter_map(|m| dst.strip_prefix(&m.dst).ok().map(|rest| m.src.join(rest)))
        .next()
        .unwrap_or_else(|| dst.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::VolumeMount;

    fn vm(name: &str, path: &str, sub: Option<&str>) -> VolumeMount {
        VolumeMount {
            name: name.into(),
            mount_path: path.into(),
            sub_path: sub.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn plan_orders_parents_first_and_resolves_nested_mountpoints() {
        let mut vols = Prepared::new();
        vols.insert("data".into(), PathBuf::from("/v/pv-1"));
        vols.insert("conf".into(), PathBuf::from("/v/pod/conf"));
        let c = Container {
            volume_mounts: Some(vec![
                vm("conf", "/data/conf/zoo.cfg", Some("zoo.cfg")),
                vm("data", "/data", None),
            ]),
            ..Default::default()
        };
        let p = plan(
            &c,
            &vols,
            Path::new("/etc/netns/x/hosts"),
            Path::new("/v/pod/tmp"),
        )
        .expect("plan");
        assert_eq!(p[0].dst, PathBuf::from("/data"));
        let cfg = p
            .iter()
            .position(|m| m.dst.ends_with("zoo.cfg"))
            .expect("cfg");
        assert_eq!(p[cfg].src, PathBuf::from("/v/pod/conf/zoo.cfg"));
        assert_eq!(
            mountpoint_on_host(&p, cfg),
            PathBuf::from("/v/pv-1/conf/zoo.cfg")
        );
        assert_eq!(mountpoint_on_host(&p, 0), PathBuf::from("/data"));
        assert!(
            p.iter()
                .any(|m| m.dst == Path::new("/etc/hosts") && m.readonly)
        );
    }

    #[test]
    fn escaping_paths_are_refused() {
        let mut vols = Prepared::new();
        vols.insert("d".into(), PathBuf::from("/v/d"));
        let bad = Container {
            volume_mounts: Some(vec![vm("d", "/x", Some("../etc"))]),
            ..Default::default()
        };
        assert!(plan(&bad, &vols, Path::new("/h"), Path::new("/t")).is_err());
        let unknown = Container {
            volume_mounts: Some(vec![vm("nope", "/x", None)]),
            ..Default::default()
        };
        assert!(plan(&unknown, &vols, Path::new("/h"), Path::new("/t")).is_err());
        assert!(relative("a/../../b").is_err());
        assert!(relative("/abs").is_err());
        assert!(relative("a/b").is_ok());
    }
}
