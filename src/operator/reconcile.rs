//! The reconciler: observe, assign ids, build, apply, report.
//!
//! Order matters: myids are persisted in status before any object uses them (so a crash
//! between the two cannot hand an id out twice), and the ConfigMap is applied before the
//! StatefulSet (so a new pod finds its id in the map it mounts). Everything is applied with
//! server-side apply under one field manager, forced, so the operator owns exactly the
//! fields it sets and never fights other controllers over the rest.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::crd::{ZooKeeperEnsemble, ZooKeeperEnsembleStatus};
use super::error::Error;
use super::metrics::Metrics;
use super::myid::{self, Assignment};
use super::names::{CONFIG_HASH_ANNOTATION, MANAGER, Names};
use super::observe::{self, MemberReport, ReportError};
use super::resources::{self, Inputs};
use super::status::{self, Observation, ObservedPod, Problem};
use super::{validate, zoocfg};

/// How often a settled ensemble is looked at again (members' state changes without any
/// Kubernetes event, e.g. a leader election).
const SETTLED_RECHECK: Duration = Duration::from_secs(60);
/// How often an ensemble that is still changing is looked at again (pod changes trigger
/// a reconcile on their own; this catches what members report without any pod change).
const BUSY_RECHECK: Duration = Duration::from_secs(15);
/// Retry delays after failures: 2 s doubling up to 5 minutes.
const BACKOFF_START: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// Shared by every reconcile.
pub struct Context {
    pub client: kube::Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    /// Image used when spec.image is empty.
    pub default_image: String,
    /// DNS domain of the cluster, for the members' names in zoo.cfg.
    pub cluster_domain: String,
    /// Consecutive failures per ensemble (namespace/name), for backoff.
    failures: Mutex<BTreeMap<String, u32>>,
}

impl Context {
    pub fn new(
        client: kube::Client,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        default_image: String,
        cluster_domain: String,
    ) -> Context {
        Context {
            client,
            recorder,
            metrics,
            default_image,
            cluster_domain,
            failures: Mutex::new(BTreeMap::new()),
        }
    }

    fn note_success(&self, key: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(key);
        }
    }

    /// Records a failure and returns how long to wait before the next try.
    fn note_failure(&self, key: &str) -> Duration {
        let n = match self.failures.lock() {
            Ok(mut f) => {
                let n = f.entry(key.to_string()).or_default();
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        };
        backoff(n)
    }
}

/// Delay before retry number `failures` (1-based).
pub fn backoff(failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    BACKOFF_START.saturating_mul(factor).min(BACKOFF_MAX)
}

fn key(e: &ZooKeeperEnsemble) -> String {
    format!("{}/{}", e.namespace().unwrap_or_default(), e.name_any())
}

/// The controller's reconcile function.
pub async fn reconcile(e: Arc<ZooKeeperEnsemble>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let result = reconcile_inner(&e, &ctx).await;
    ctx.metrics.reconciled(started.elapsed());
    match &result {
        Ok(_) => ctx.note_success(&key(&e)),
        Err(err) => report_failure(&e, &ctx, err).await,
    }
    result
}

/// The controller's error policy: back off per object.
pub fn error_policy(e: Arc<ZooKeeperEnsemble>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed(err.reason());
    let wait = ctx.note_failure(&key(&e));
    warn!(ensemble = %key(&e), error = %err, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

/// Puts a failure where users look: a Degraded condition and a Warning event. If even that
/// fails, it is logged (the error itself is still returned to the controller).
async fn report_failure(e: &ZooKeeperEnsemble, ctx: &Context, err: &Error) {
    let message = err.to_string();
    publish(
        ctx,
        e,
        EventType::Warning,
        err.reason(),
        "Reconcile",
        message.clone(),
    )
    .await;
    let mut s = e.status.clone().unwrap_or_default();
    let now = now();
    let c = s.conditions.iter_mut().find(|c| c.type_ == "Degraded");
    let fresh = k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
        type_: "Degraded".to_string(),
        status: "True".to_string(),
        reason: err.reason().to_string(),
        message,
        observed_generation: e.metadata.generation,
        last_transition_time: now.clone(),
    };
    match c {
        Some(c) => {
            let since = if c.status == "True" {
                c.last_transition_time.clone()
            } else {
                now
            };
            *c = k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
                last_transition_time: since,
                ..fresh
            };
        }
        None => s.conditions.push(fresh),
    }
    if let Err(pe) = patch_status(ctx, e, &s).await {
        warn!(ensemble = %key(e), error = %pe, "could not record the failure in status");
    }
}

/// The API server refuses event notes over 1 kB.
const MAX_NOTE: usize = 1024;

/// `s` cut to at most `max` bytes on a character boundary, marked with `…` when cut.
fn clip(mut s: String, max: usize) -> String {
    if s.len() <= max {
        return s;
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.push('…');
    s
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

async fn publish(
    ctx: &Context,
    e: &ZooKeeperEnsemble,
    type_: EventType,
    reason: &str,
    action: &str,
    note: String,
) {
    let ev = Event {
        type_,
        reason: reason.to_string(),
        note: Some(clip(note, MAX_NOTE)),
        action: action.to_string(),
        secondary: None,
    };
    if let Err(err) = ctx.recorder.publish(&ev, &e.object_ref(&())).await {
        warn!(ensemble = %key(e), reason, error = %err, "could not publish an event");
    }
}

async fn patch_status(
    ctx: &Context,
    e: &ZooKeeperEnsemble,
    s: &ZooKeeperEnsembleStatus,
) -> Result<(), Error> {
    let ns = e.namespace().ok_or(Error::NoNamespace)?;
    let api: Api<ZooKeeperEnsemble> = Api::namespaced(ctx.client.clone(), &ns);
    // Server-side apply of the whole status: a field this manager set before and leaves
    // out now (a leader that is gone, an emptied list) is removed, which a merge patch
    // would not do.
    let body = serde_json::json!({
        "apiVersion": ZooKeeperEnsemble::api_version(&()),
        "kind": ZooKeeperEnsemble::kind(&()),
        "status": s,
    });
    let params = PatchParams::apply(MANAGER).force();
    api.patch_status(&e.name_any(), &params, &Patch::Apply(&body))
        .await
        .map_err(Error::kube(format!("updating the status of {}", key(e))))?;
    Ok(())
}

async fn reconcile_inner(e: &ZooKeeperEnsemble, ctx: &Context) -> Result<Action, Error> {
    if e.metadata.deletion_timestamp.is_some() {
        // Owner references let the garbage collector remove the rest; PVCs follow the
        // StatefulSet's retention policy.
        return Ok(Action::await_change());
    }
    let ns = e.namespace().ok_or(Error::NoNamespace)?;
    let names = Names::of(e, &ctx.cluster_domain);
    let client = ctx.client.clone();
    let selector = ListParams::default().labels(&names.selector_string());
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &ns);
    let pod_list = pods
        .list(&selector)
        .await
        .map_err(Error::kube(format!("listing the pods of {}", key(e))))?;
    let claim_list = claims.list(&selector).await.map_err(Error::kube(format!(
        "listing the volume claims of {}",
        key(e)
    )))?;
    let claim_uids: BTreeMap<String, String> = claim_list
        .items
        .iter()
        .filter(|c| c.metadata.deletion_timestamp.is_none())
        .filter_map(|c| {
            let pod = c.name_any().strip_prefix("data-")?.to_string();
            Some((pod, c.metadata.uid.clone()?))
        })
        .collect();

    let ids = myid::assign(&names, &e.spec, e.status.as_ref(), &claim_uids);
    if ids.differs_from(e.status.as_ref()) {
        persist_ids(ctx, e, &ids).await?;
        if !ids.fresh.is_empty() {
            // One event: the recorder folds events with the same reason into one series.
            let note = ids
                .fresh
                .iter()
                .map(|(pod, id, why)| format!("{pod} runs as server {id} ({why})"))
                .collect::<Vec<_>>()
                .join("; ");
            publish(
                ctx,
                e,
                EventType::Normal,
                "MyidAssigned",
                "AssignMyid",
                note,
            )
            .await;
        }
    }
    let cfg = zoocfg::render(&e.spec, &names, &ids);
    let problems = validate::check(&names, &cfg);
    let mut problem = None;
    if !problems.is_empty() {
        let message = problems.join("; ");
        let was = degraded_reason(e);
        if was.as_deref() != Some("InvalidSpec") {
            publish(
                ctx,
                e,
                EventType::Warning,
                "InvalidSpec",
                "Validate",
                message.clone(),
            )
            .await;
        }
        problem = Some(Problem {
            reason: "InvalidSpec",
            message,
        });
    } else if e.spec.paused {
        if !e
            .status
            .as_ref()
            .is_some_and(|s| s.conditions.iter().any(|c| c.reason == "Paused"))
        {
            publish(
                ctx,
                e,
                EventType::Normal,
                "Paused",
                "Pause",
                "spec.paused is true: nothing is changed until it is false".to_string(),
            )
            .await;
        }
    } else {
        let owner = e.controller_owner_ref(&()).ok_or(Error::NoNamespace)?;
        let inputs = Inputs {
            names: names.clone(),
            spec: &e.spec,
            owner,
            image: e
                .spec
                .image
                .clone()
                .unwrap_or_else(|| ctx.default_image.clone()),
            cfg: cfg.clone(),
            ids: &ids,
        };
        apply(ctx, e, &ns, resources::config_map(&inputs)).await?;
        apply(ctx, e, &ns, resources::headless_service(&inputs)).await?;
        apply(ctx, e, &ns, resources::client_service(&inputs)).await?;
        apply(ctx, e, &ns, resources::statefulset(&inputs)).await?;
        apply(ctx, e, &ns, resources::pod_disruption_budget(&inputs)).await?;
    }

    let observed = observe_pods(&pod_list.items, &names);
    let reports = ask_members(&observed, e.spec.ports.admin).await;
    let s = status::derive(&Observation {
        generation: e.metadata.generation,
        spec: &e.spec,
        names: &names,
        ids: &ids,
        config_hash: &cfg.hash,
        pods: &observed,
        reports: &reports,
        problem,
        previous: e.status.as_ref(),
        now: now(),
    });
    let previous_leader = e.status.as_ref().and_then(|s| s.leader.clone());
    if s.leader != previous_leader {
        let note = match &s.leader {
            Some(l) => format!("leader is {l}"),
            None => "no member is leader".to_string(),
        };
        let type_ = if s.leader.is_some() {
            EventType::Normal
        } else {
            EventType::Warning
        };
        publish(ctx, e, type_, "LeaderChanged", "ObserveMembers", note).await;
    }
    if e.status.as_ref() != Some(&s) {
        patch_status(ctx, e, &s).await?;
    }
    let settled = s.conditions.iter().all(|c| match c.type_.as_str() {
        "Available" => c.status == "True",
        "Progressing" | "Degraded" => c.status == "False",
        _ => true,
    });
    Ok(Action::requeue(if settled {
        SETTLED_RECHECK
    } else {
        BUSY_RECHECK
    }))
}

fn degraded_reason(e: &ZooKeeperEnsemble) -> Option<String> {
    e.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == "Degraded" && c.status == "True")
        .map(|c| c.reason.clone())
}

/// Writes the id bookkeeping to status before anything uses the ids.
async fn persist_ids(ctx: &Context, e: &ZooKeeperEnsemble, ids: &Assignment) -> Result<(), Error> {
    let mut s = e.status.clone().unwrap_or_default();
    let previous: BTreeMap<String, _> = s
        .members
        .iter()
        .map(|m| (m.pod.clone(), m.clone()))
        .collect();
    // Keep what was observed about members whose id did not change.
    s.members = ids
        .members
        .iter()
        .map(|m| match previous.get(&m.pod) {
            Some(p) if p.myid == m.myid => super::crd::MemberStatus {
                pvc_uid: m.pvc_uid.clone(),
                role: m.role,
                ..p.clone()
            },
            _ => m.clone(),
        })
        .collect();
    s.retired_members = ids.retired.clone();
    s.next_myid = Some(ids.next_myid);
    patch_status(ctx, e, &s).await
}

/// Applies one object and publishes an event when it was created or changed.
async fn apply<K>(ctx: &Context, e: &ZooKeeperEnsemble, ns: &str, obj: K) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), ns);
    let name = obj.meta().name.clone().unwrap_or_default();
    let kind = K::kind(&()).to_string();
    let what = format!("{kind} {ns}/{name}");
    let before = api
        .get_opt(&name)
        .await
        .map_err(Error::kube(format!("reading {what}")))?
        .and_then(|o| o.meta().resource_version.clone());
    let params = PatchParams::apply(MANAGER).force();
    let after = api
        .patch(&name, &params, &Patch::Apply(&obj))
        .await
        .map_err(Error::kube(format!("applying {what}")))?;
    let (reason, verb) = match before {
        None => ("Created", "created"),
        Some(rv) if after.meta().resource_version.as_deref() != Some(rv.as_str()) => {
            ("Updated", "updated")
        }
        Some(_) => return Ok(()),
    };
    info!(ensemble = %key(e), object = %what, "{verb}");
    // The action names the object, so each object's events form their own series (the
    // recorder folds events with the same reason and action into one).
    let action = format!("Apply{kind}/{name}");
    publish(
        ctx,
        e,
        EventType::Normal,
        reason,
        &action,
        format!("{verb} {kind} {name}"),
    )
    .await;
    Ok(())
}

/// Pods of wanted members, as the status derivation needs them.
fn observe_pods(pods: &[Pod], names: &Names) -> BTreeMap<String, ObservedPod> {
    let prefix = format!("{}-", names.statefulset());
    pods.iter()
        .filter(|p| p.name_any().starts_with(&prefix))
        .map(|p| {
            let status = p.status.as_ref();
            let ready = status
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            let observed = ObservedPod {
                ready,
                ip: status.and_then(|s| s.pod_ip.clone()),
                config_hash: p.annotations().get(CONFIG_HASH_ANNOTATION).cloned(),
                terminating: p.metadata.deletion_timestamp.is_some(),
            };
            (p.name_any(), observed)
        })
        .collect()
}

/// Asks every pod with an IP, concurrently.
async fn ask_members(
    pods: &BTreeMap<String, ObservedPod>,
    admin_port: i32,
) -> BTreeMap<String, Result<MemberReport, ReportError>> {
    let Ok(port) = u16::try_from(admin_port) else {
        return BTreeMap::new();
    };
    let asks = pods
        .iter()
        .filter(|(_, p)| !p.terminating)
        .filter_map(|(name, p)| {
            let ip: IpAddr = p.ip.as_deref()?.parse().ok()?;
            Some(async move { (name.clone(), observe::query(ip, port).await) })
        });
    join_all(asks).await.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_notes_fit_the_api_limit() {
        assert_eq!(clip("short".into(), MAX_NOTE), "short");
        let long = "é".repeat(1000);
        let c = clip(long, MAX_NOTE);
        assert!(c.len() <= MAX_NOTE);
        assert!(c.ends_with('…'));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(2), Duration::from_secs(4));
        assert_eq!(backoff(5), Duration::from_secs(32));
        assert_eq!(backoff(9), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), BACKOFF_MAX);
    }
}
