//! The pod status the kubelet reports, derived from what it observed of its containers. Pure, so
//! phase and condition rules are tested without processes.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

/// A container's state, as in `ContainerStatus.state`.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: Timestamp,
    },
    Terminated {
        exit_code: i32,
        signal: Option<i32>,
        reason: String,
        started_at: Timestamp,
        finished_at: Timestamp,
    },
}

impl State {
    fn to_json(&self) -> Value {
        match self {
            State::Waiting { reason, message } => {
                let mut w = json!({"reason": reason});
                if let Some(m) = message {
                    w["message"] = json!(m);
                }
                json!({"waiting": w})
            }
            State::Running { started_at } => {
                json!({"running": {"startedAt": started_at.to_string()}})
            }
            State::Terminated {
                exit_code,
                signal,
                reason,
                started_at,
                finished_at,
            } => {
                let mut t = json!({
                    "exitCode": exit_code,
                    "reason": reason,
                    "startedAt": started_at.to_string(),
                    "finishedAt": finished_at.to_string(),
                });
                if let Some(s) = signal {
                    t["signal"] = json!(s);
                }
                json!({"terminated": t})
            }
        }
    }
}

/// What the status says about one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerView {
    pub name: String,
    pub image: String,
    pub state: State,
    pub last: Option<State>,
    pub restart_count: i32,
    pub ready: bool,
    pub started: bool,
    /// Set once a process has existed (pid based, like a runtime's container id).
    pub container_id: Option<String>,
    /// Whether it ever ran; a pod is Running only once all its containers have.
    pub ever_ran: bool,
    /// Whether it will be started again after it exits (restart policy).
    pub will_restart: bool,
}

impl ContainerView {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "image": self.image,
            "imageID": format!("zk-test-kubelet://{}", self.image),
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state.to_json(),
            "lastState": self.last.as_ref().map(State::to_json).unwrap_or_else(|| json!({})),
        });
        if let Some(id) = &self.container_id {
            v["containerID"] = json!(id);
        }
        v
    }
}

/// Everything the status is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PodView {
    pub pod_ip: Option<String>,
    pub host_ip: String,
    pub start_time: Timestamp,
    pub sandbox_ready: bool,
    pub initialized: bool,
    pub init_containers: Vec<ContainerView>,
    pub containers: Vec<ContainerView>,
}

/// Pod phase by Kubernetes' rules: Pending until every container has run; Succeeded/Failed
/// once all have exited for good; Running otherwise.
pub fn phase(v: &PodView) -> &'static str {
    if v.init_containers
        .iter()
        .any(|c| !c.will_restart && exited_with_error(c))
    {
        return "Failed";
    }
    if !v.initialized || v.containers.iter().any(|c| !c.ever_ran) {
        return "Pending";
    }
    let done = |c: &ContainerView| matches!(c.state, State::Terminated { .. }) && !c.will_restart;
    if !v.containers.is_empty() && v.containers.iter().all(done) {
        return if v.containers.iter().any(exited_with_error) {
            "Failed"
        } else {
            "Succeeded"
        };
    }
    "Running"
}

fn exited_with_error(c: &ContainerView) -> bool {
    matches!(c.state, State::Terminated { exit_code, .. } if exit_code != 0)
}

/// Condition type → true/false, in the order the kubelet lists them.
pub fn conditions(v: &PodView) -> Vec<(&'static str, bool)> {
    let all_ready = !v.containers.is_empty() && v.containers.iter().all(|c| c.ready);
    vec![
        ("PodReadyToStartContainers", v.sandbox_ready),
        ("Initialized", v.initialized),
        ("ContainersReady", all_ready),
        ("Ready", all_ready),
    ]
}

/// Keeps each condition's lastTransitionTime across reports.
#[derive(Default)]
pub struct Transitions(BTreeMap<&'static str, (bool, Timestamp)>);

impl Transitions {
    fn time(&mut self, kind: &'static str, value: bool, now: Timestamp) -> Timestamp {
        let e = self.0.entry(kind).or_insert((value, now));
        if e.0 != value {
            *e = (value, now);
        }
        e.1
    }
}

/// The body of a strategic-merge patch of `pods/status` (conditions merge by type, so the
/// scheduler's PodScheduled stays).
pub fn patch(v: &PodView, tr: &mut Transitions, now: Timestamp) -> Value {
    let conds: Vec<Value> = conditions(v)
        .into_iter()
        .map(|(kind, ok)| {
            json!({
                "type": kind,
                "status": if ok { "True" } else { "False" },
                "lastTransitionTime": tr.time(kind, ok, now).to_string(),
            })
        })
        .collect();
    let mut status = json!({
        "phase": phase(v),
        "hostIP": v.host_ip,
        "hostIPs": [{"ip": v.host_ip}],
        "startTime": v.start_time.to_string(),
        "conditions": conds,
        "containerStatuses": v.containers.iter().map(ContainerView::to_json).collect::<Vec<_>>(),
    });
    if !v.init_containers.is_empty() {
        status["initContainerStatuses"] = json!(
            v.init_containers
                .iter()
                .map(ContainerView::to_json)
                .collect::<Vec<_>>()
        );
    }
    if let Some(ip) = &v.pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    json!({"status": status})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(state: State, ever_ran: bool, ready: bool, will_restart: bool) -> ContainerView {
        ContainerView {
            name: "zk".into(),
            image: "zk".into(),
            state,
            last: None,
            restart_count: 0,
            ready,
            started: ever_ran,
            container_id: None,
            ever_ran,
            will_restart,
        }
    }

    fn view(containers: Vec<ContainerView>) -> PodView {
        PodView {
            pod_ip: Some("10.244.0.2".into()),
            host_ip: "10.244.0.1".into(),
            start_time: Timestamp::UNIX_EPOCH,
            sandbox_ready: true,
            initialized: true,
            init_containers: vec![],
            containers,
        }
    }

    fn waiting() -> State {
        State::Waiting {
            reason: "ContainerCreating".into(),
            message: None,
        }
    }

    fn exited(code: i32) -> State {
        State::Terminated {
            exit_code: code,
            signal: None,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            started_at: Timestamp::UNIX_EPOCH,
            finished_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn phases() {
        let running = State::Running {
            started_at: Timestamp::UNIX_EPOCH,
        };
        assert_eq!(
            phase(&view(vec![c(waiting(), false, false, true)])),
            "Pending"
        );
        assert_eq!(
            phase(&view(vec![c(running.clone(), true, false, true)])),
            "Running"
        );
        // A crashed container that will be restarted keeps the pod Running (CrashLoopBackOff).
        assert_eq!(
            phase(&view(vec![c(exited(1), true, false, true)])),
            "Running"
        );
        assert_eq!(
            phase(&view(vec![c(exited(0), true, false, false)])),
            "Succeeded"
        );
        assert_eq!(
            phase(&view(vec![
                c(exited(0), true, false, false),
                c(exited(2), true, false, false)
            ])),
            "Failed"
        );
        let mut v = view(vec![c(running, true, true, true)]);
        v.initialized = false;
        assert_eq!(phase(&v), "Pending");
    }

    #[test]
    fn ready_needs_every_container_and_transition_times_stick() {
        let running = State::Running {
            started_at: Timestamp::UNIX_EPOCH,
        };
        let mut v = view(vec![
            c(running.clone(), true, true, true),
            c(running, true, false, true),
        ]);
        let mut tr = Transitions::default();
        let t0 = Timestamp::UNIX_EPOCH;
        let t1 = Timestamp::from_second(100).expect("ts");
        let p = patch(&v, &mut tr, t0);
        let ready = |p: &Value| {
            p["status"]["conditions"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["type"] == "Ready").cloned())
                .expect("Ready condition")
        };
        assert_eq!(ready(&p)["status"], "False");
        v.containers[1].ready = true;
        let p = patch(&v, &mut tr, t1);
        assert_eq!(ready(&p)["status"], "True");
        assert_eq!(ready(&p)["lastTransitionTime"], t1.to_string());
        let p = patch(&v, &mut tr, Timestamp::from_second(200).expect("ts"));
        assert_eq!(
            ready(&p)["lastTransitionTime"],
            t1.to_string(),
            "no change, same time"
        );
        assert_eq!(p["status"]["podIPs"][0]["ip"], "10.244.0.2");
    }
}
