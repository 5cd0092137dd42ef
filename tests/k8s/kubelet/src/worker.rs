//! One pod's life on this node: network sandbox and volumes, init containers in order, then the
//! containers with their probes, restarts with back-off, status reports, and termination with
//! SIGTERM, the grace period, then SIGKILL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Probe, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::ctx::{Ctx, IMAGE_USER};
use crate::env::{self, PodFacts, Sources};
use crate::hosts::pod_names;
use crate::probe::{self, Target, Timing, Verdict};
use crate::process::{self, Launch, User};
use crate::sandbox::Sandbox;
use crate::status::{self, ContainerView, PodView, State, Transitions};
use crate::volumes::{self, Prepared};

const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(20);
/// A container that ran this long before exiting restarts without accumulated back-off.
const BACKOFF_RESET: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeKind {
    Startup,
    Readiness,
    Liveness,
}

enum Msg {
    Exited {
        idx: usize,
        epoch: u64,
        code: Option<i32>,
        signal: Option<i32>,
    },
    Probe {
        idx: usize,
        epoch: u64,
        kind: ProbeKind,
        result: Result<(), String>,
    },
}

struct Slot {
    spec: Container,
    init: bool,
    view: ContainerView,
    pid: Option<u32>,
    epoch: u64,
    launched: Option<Instant>,
    backoff: Duration,
    restart_at: Option<Instant>,
    kill_at: Option<Instant>,
    probes: Vec<JoinHandle<()>>,
    startup: Option<(Timing, Verdict)>,
    readiness: Option<(Timing, Verdict)>,
    liveness: Option<(Timing, Verdict)>,
    /// Init containers: exited with 0.
    done: bool,
}

impl Slot {
    fn new(spec: Container, init: bool, restart_policy: &str) -> Self {
        let will_restart = restart_policy != "Never";
        Self {
            view: ContainerView {
                name: spec.name.clone(),
                image: spec.image.clone().unwrap_or_default(),
                state: State::Waiting {
                    reason: if init {
                        "PodInitializing"
                    } else {
                        "ContainerCreating"
                    }
                    .into(),
                    message: None,
                },
                last: None,
                restart_count: 0,
                ready: false,
                started: false,
                container_id: None,
                ever_ran: false,
                will_restart,
            },
            spec,
            init,
            pid: None,
            epoch: 0,
            launched: None,
            backoff: BACKOFF_START,
            restart_at: Some(Instant::now()),
            kill_at: None,
            probes: Vec::new(),
            startup: None,
            readiness: None,
            liveness: None,
            done: false,
        }
    }

    fn stop_probes(&mut self) {
        for p in self.probes.drain(..) {
            p.abort();
        }
    }
}

pub struct Worker {
    ctx: Arc<Ctx>,
    pod: Pod,
    uid: String,
    label: String,
    sandbox: Option<Sandbox>,
    volumes: Option<Prepared>,
    slots: Vec<Slot>,
    restart_policy: String,
    start_time: Timestamp,
    transitions: Transitions,
    published: Option<serde_json::Value>,
    tx: mpsc::UnboundedSender<Msg>,
    rx: mpsc::UnboundedReceiver<Msg>,
    setup_error: Option<String>,
    next_setup: Instant,
}

impl Worker {
    pub fn new(ctx: Arc<Ctx>, pod: Pod) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let spec = pod.spec.clone().unwrap_or_default();
        let restart_policy = spec
            .restart_policy
            .clone()
            .unwrap_or_else(|| "Always".into());
        let mut slots: Vec<Slot> = spec
            .init_containers
            .iter()
            .flatten()
            .map(|c| Slot::new(c.clone(), true, &restart_policy))
            .collect();
        slots.extend(
            spec.containers
                .iter()
                .map(|c| Slot::new(c.clone(), false, &restart_policy)),
        );
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let label = format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or(""),
            pod.metadata.name.as_deref().unwrap_or("")
        );
        Self {
            ctx,
            pod,
            uid,
            label,
            sandbox: None,
            volumes: None,
            slots,
            restart_policy,
            start_time: Timestamp::now(),
            transitions: Transitions::default(),
            published: None,
            tx,
            rx,
            setup_error: None,
            next_setup: Instant::now(),
        }
    }

    /// Runs until the pod is deleted (then removes it from the API) or the kubelet stops.
    pub async fn run(
        mut self,
        mut updates: watch::Receiver<Option<Pod>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        info!(pod = %self.label, "starting pod");
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                changed = updates.changed() => {
                    let latest = if changed.is_ok() { updates.borrow_and_update().clone() } else { None };
                    match latest {
                        None => {
                            info!(pod = %self.label, "pod is gone from the API; stopping it");
                            self.stop_all(Duration::from_secs(2)).await;
                            self.teardown().await;
                            return;
                        }
                        Some(p) if p.metadata.deletion_timestamp.is_some() => {
                            let grace = grace_period(&p);
                            self.pod = p;
                            info!(pod = %self.label, ?grace, "pod is being deleted");
                            self.stop_all(grace).await;
                            self.teardown().await;
                            self.remove_from_api().await;
                            return;
                        }
                        Some(p) => self.pod = p,
                    }
                }
                _ = shutdown.changed() => {
                    self.stop_all(Duration::from_secs(10)).await;
                    self.teardown().await;
                    return;
                }
                Some(msg) = self.rx.recv() => self.handle(msg),
                _ = tick.tick() => {
                    self.step().await;
                    self.publish().await;
                }
            }
        }
    }

    /// Periodic work: set-up until it succeeds, due (re)starts, due SIGKILLs.
    async fn step(&mut self) {
        if self.sandbox.is_none() || self.volumes.is_none() {
            if Instant::now() < self.next_setup {
                return;
            }
            match self.setup().await {
                Ok(()) => self.setup_error = None,
                Err(e) => {
                    let msg = format!("{e:#}");
                    if self.setup_error.as_deref() != Some(msg.as_str()) {
                        warn!(pod = %self.label, "setting up: {msg}");
                    }
                    self.setup_error = Some(msg);
                    self.next_setup = Instant::now() + Duration::from_secs(1);
                    return;
                }
            }
        }
        let now = Instant::now();
        for s in &mut self.slots {
            if let (Some(pid), Some(at)) = (s.pid, s.kill_at)
                && now >= at
            {
                warn!(pod = %self.label, container = %s.spec.name, "grace period over; SIGKILL");
                process::signal_group(pid, libc::SIGKILL);
                s.kill_at = None;
            }
        }
        // Init containers one at a time, in order; the containers once all have succeeded.
        let first_pending_init = self.slots.iter().position(|s| s.init && !s.done);
        let startable: Vec<usize> = match first_pending_init {
            Some(i) => vec![i],
            None => (0..self.slots.len())
                .filter(|&i| !self.slots[i].init)
                .collect(),
        };
        for i in startable {
            let s = &self.slots[i];
            let due = s.pid.is_none()
                && s.view.will_restart_or_first()
                && s.restart_at.is_some_and(|t| now >= t);
            if due {
                self.start(i).await;
            }
        }
    }

    async fn setup(&mut self) -> Result<()> {
        if self.sandbox.is_none() {
            let host_network = self
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.host_network)
                .unwrap_or(false);
            let sb = if host_network {
                Sandbox {
                    netns: String::new(),
                    ip: self.ctx.net.gateway,
                }
            } else {
                self.ctx.net.create().await.context("pod network")?
            };
            let ns = self.pod.metadata.namespace.clone().unwrap_or_default();
            let spec = self.pod.spec.as_ref();
            let names = pod_names(
                spec.and_then(|s| s.hostname.as_deref()),
                spec.and_then(|s| s.subdomain.as_deref()),
                &ns,
            );
            self.ctx.hosts.set(&self.uid, &sb.ip.to_string(), names)?;
            info!(pod = %self.label, ip = %sb.ip, netns = %sb.netns, "sandbox ready");
            self.sandbox = Some(sb);
        }
        let dir = self.pod_dir();
        self.volumes = Some(volumes::prepare(&self.ctx.client, &self.pod, &dir).await?);
        Ok(())
    }

    fn pod_dir(&self) -> std::path::PathBuf {
        self.ctx.state_dir.join("pods").join(format!(
            "{}_{}_{}",
            self.pod.metadata.namespace.as_deref().unwrap_or(""),
            self.pod.metadata.name.as_deref().unwrap_or(""),
            self.uid
        ))
    }

    fn user(&self, c: &Container) -> Result<User, String> {
        let psc = self
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.security_context.as_ref());
        let csc = c.security_context.as_ref();
        let uid = csc
            .and_then(|s| s.run_as_user)
            .or(psc.and_then(|s| s.run_as_user))
            .unwrap_or(i64::from(IMAGE_USER));
        let gid = csc
            .and_then(|s| s.run_as_group)
            .or(psc.and_then(|s| s.run_as_group))
            .unwrap_or(i64::from(IMAGE_USER));
        let non_root = csc
            .and_then(|s| s.run_as_non_root)
            .or(psc.and_then(|s| s.run_as_non_root))
            .unwrap_or(false);
        if non_root && uid == 0 {
            return Err("container's runAsUser breaks non-root policy".into());
        }
        let mut groups: Vec<u32> = Vec::new();
        if let Some(g) = psc.and_then(|s| s.fs_group) {
            groups.push(g as u32);
        }
        groups.extend(
            psc.iter()
                .flat_map(|s| s.supplemental_groups.iter().flatten())
                .map(|g| *g as u32),
        );
        Ok(User {
            uid: uid as u32,
            gid: gid as u32,
            groups,
        })
    }

    async fn sources(&self, c: &Container) -> Result<Sources> {
        let ns = self.pod.metadata.namespace.as_deref().unwrap_or("default");
        let mut cms = Vec::new();
        let mut secrets = Vec::new();
        for f in c.env_from.iter().flatten() {
            cms.extend(f.config_map_ref.as_ref().map(|r| r.name.clone()));
            secrets.extend(f.secret_ref.as_ref().map(|r| r.name.clone()));
        }
        for e in c.env.iter().flatten() {
            if let Some(v) = &e.value_from {
                cms.extend(v.config_map_key_ref.as_ref().map(|r| r.name.clone()));
                secrets.extend(v.secret_key_ref.as_ref().map(|r| r.name.clone()));
            }
        }
        let mut out = Sources::default();
        let cm_api = Api::<ConfigMap>::namespaced(self.ctx.client.clone(), ns);
        for name in cms {
            if let Some(cm) = cm_api.get_opt(&name).await? {
                out.config_maps.insert(name, cm);
            }
        }
        let s_api = Api::<Secret>::namespaced(self.ctx.client.clone(), ns);
        for name in secrets {
            if let Some(s) = s_api.get_opt(&name).await? {
                out.secrets.insert(name, s);
            }
        }
        Ok(out)
    }

    async fn env_for(&self, c: &Container) -> Result<Vec<(String, String)>> {
        let ip = self
            .sandbox
            .as_ref()
            .map(|s| s.ip.to_string())
            .unwrap_or_default();
        let facts = PodFacts {
            pod: &self.pod,
            pod_ip: &ip,
            host_ip: &self.ctx.host_ip,
        };
        let sources = self.sources(c).await?;
        let base = env::base(
            self.pod.metadata.name.as_deref().unwrap_or(""),
            &self.ctx.host_ip,
            self.ctx.apiserver_port,
            &self.ctx.image_bin(),
        );
        Ok(env::resolve(c, &facts, &sources, base)?)
    }

    fn argv(&self, c: &Container, env: &[(String, String)]) -> Vec<String> {
        let expand = |v: &Option<Vec<String>>| -> Vec<String> {
            v.iter().flatten().map(|a| env::expand(a, env)).collect()
        };
        self.ctx.resolve_argv(&expand(&c.command), &expand(&c.args))
    }

    /// Starts container `i`; a failure leaves it waiting with the reason, to be retried.
    async fn start(&mut self, i: usize) {
        let spec = self.slots[i].spec.clone();
        let result = self.launch(i).await;
        let now = Instant::now();
        let s = &mut self.slots[i];
        match result {
            Ok((pid, env, user)) => {
                s.epoch += 1;
                s.pid = Some(pid);
                s.launched = Some(now);
                s.restart_at = None;
                s.kill_at = None;
                s.view.state = State::Running {
                    started_at: Timestamp::now(),
                };
                s.view.ever_ran = true;
                s.view.container_id = Some(format!(
                    "zk-test-kubelet://{}/{}/{}",
                    self.uid, spec.name, s.epoch
                ));
                s.startup = spec
                    .startup_probe
                    .as_ref()
                    .map(|p| (probe::timing(p), Verdict::new(false)));
                s.readiness = spec
                    .readiness_probe
                    .as_ref()
                    .map(|p| (probe::timing(p), Verdict::new(false)));
                s.liveness = spec
                    .liveness_probe
                    .as_ref()
                    .map(|p| (probe::timing(p), Verdict::new(true)));
                s.view.started = s.startup.is_none();
                s.view.ready = !s.init && s.view.started && s.readiness.is_none();
                let ip = self
                    .sandbox
                    .as_ref()
                    .map(|s| s.ip.to_string())
                    .unwrap_or_default();
                let probes = [
                    (ProbeKind::Startup, spec.startup_probe.clone()),
                    (ProbeKind::Readiness, spec.readiness_probe.clone()),
                    (ProbeKind::Liveness, spec.liveness_probe.clone()),
                ];
                for (kind, p) in probes {
                    if let Some(p) = p {
                        s.probes.push(spawn_probe(
                            self.ctx.clone(),
                            self.tx.clone(),
                            ProbeRun {
                                idx: i,
                                epoch: s.epoch,
                                kind,
                                probe: p,
                                container: spec.clone(),
                                pod_ip: ip.clone(),
                                pid,
                                env: env.clone(),
                                user: Some(user.clone()),
                            },
                        ));
                    }
                }
                info!(pod = %self.label, container = %spec.name, pid, restarts = s.view.restart_count, "container started");
            }
            Err((reason, e)) => {
                warn!(pod = %self.label, container = %spec.name, "cannot start: {e:#}");
                s.view.state = State::Waiting {
                    reason: reason.into(),
                    message: Some(format!("{e:#}")),
                };
                s.restart_at = Some(now + s.backoff);
                s.backoff = (s.backoff * 2).min(BACKOFF_MAX);
            }
        }
    }

    async fn launch(
        &self,
        idx: usize,
    ) -> Result<(u32, Vec<(String, String)>, User), (&'static str, anyhow::Error)> {
        let spec = &self.slots[idx].spec;
        let config = |e: anyhow::Error| ("CreateContainerConfigError", e);
        let env = self.env_for(spec).await.map_err(config)?;
        let user = self.user(spec).map_err(|m| config(anyhow::anyhow!(m)))?;
        let vols = self
            .volumes
            .as_ref()
            .ok_or_else(|| config(anyhow::anyhow!("volumes not ready")))?;
        let tmp = self.pod_dir().join("tmp").join(&spec.name);
        std::fs::create_dir_all(&tmp).map_err(|e| config(e.into()))?;
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(0o1777))
            .map_err(|e| config(e.into()))?;
        let mounts = volumes::plan(spec, vols, self.ctx.hosts.path(), &tmp).map_err(config)?;
        for i in 0..mounts.len() {
            let at = volumes::mountpoint_on_host(&mounts, i);
            self.ctx
                .make_mountpoint(&at, mounts[i].src.is_file())
                .with_context(|| format!("mount point {}", at.display()))
                .map_err(config)?;
        }
        let mut argv = self.argv(spec, &env);
        if let Some(p) = argv.first_mut() {
            *p = Ctx::lookup(p, &env);
        }
        let log_dir = self.pod_dir().join("logs");
        std::fs::create_dir_all(&log_dir).map_err(|e| config(e.into()))?;
        let sb = self
            .sandbox
            .as_ref()
            .ok_or_else(|| config(anyhow::anyhow!("no sandbox")))?;
        let launch = Launch {
            argv,
            env: env.clone(),
            cwd: spec.working_dir.clone(),
            hostname: self
                .pod
                .spec
                .as_ref()
                .and_then(|s| s.hostname.clone())
                .or_else(|| self.pod.metadata.name.clone())
                .unwrap_or_default(),
            netns: (!sb.netns.is_empty()).then(|| sb.netns_path().into()),
            mounts,
            user: Some(user.clone()),
            log: log_dir.join(format!("{}.log", spec.name)),
        };
        let mut child = process::spawn(&launch).map_err(|e| ("CreateContainerError", e))?;
        let pid = child.id().ok_or_else(|| {
            (
                "CreateContainerError",
                anyhow::anyhow!("process has no pid"),
            )
        })?;
        let tx = self.tx.clone();
        let epoch = self.slots[idx].epoch + 1;
        tokio::spawn(async move {
            use std::os::unix::process::ExitStatusExt;
            let (code, signal) = match child.wait().await {
                Ok(st) => (st.code(), st.signal()),
                Err(_) => (None, None),
            };
            let _ = tx.send(Msg::Exited {
                idx,
                epoch,
                code,
                signal,
            });
        });
        Ok((pid, env, user))
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Exited {
                idx,
                epoch,
                code,
                signal,
            } => {
                let policy = self.restart_policy.clone();
                let Some(s) = self.slots.get_mut(idx) else {
                    return;
                };
                if s.epoch != epoch {
                    return;
                }
                s.pid = None;
                s.kill_at = None;
                s.stop_probes();
                s.view.ready = false;
                s.view.started = false;
                let exit_code = code.unwrap_or_else(|| 128 + signal.unwrap_or(9));
                let started_at = match &s.view.state {
                    State::Running { started_at } => *started_at,
                    _ => Timestamp::now(),
                };
                let terminated = State::Terminated {
                    exit_code,
                    signal,
                    reason: if exit_code == 0 { "Completed" } else { "Error" }.into(),
                    started_at,
                    finished_at: Timestamp::now(),
                };
                info!(pod = %self.label, container = %s.spec.name, exit_code, "container exited");
                if s.init && exit_code == 0 {
                    s.done = true;
                    s.view.state = terminated;
                    return;
                }
                let restart = match policy.as_str() {
                    "Never" => false,
                    "OnFailure" => exit_code != 0,
                    _ => true,
                };
                s.view.will_restart = restart;
                if !restart {
                    s.view.state = terminated;
                    return;
                }
                if s.launched.is_some_and(|t| t.elapsed() >= BACKOFF_RESET) {
                    s.backoff = BACKOFF_START;
                }
                s.view.last = Some(terminated);
                s.view.restart_count += 1;
                s.view.state = State::Waiting {
                    reason: "CrashLoopBackOff".into(),
                    message: Some(format!(
                        "back-off {}s restarting failed container={} pod={}",
                        s.backoff.as_secs(),
                        s.spec.name,
                        self.label
                    )),
                };
                s.restart_at = Some(Instant::now() + s.backoff);
                s.backoff = (s.backoff * 2).min(BACKOFF_MAX);
            }
            Msg::Probe {
                idx,
                epoch,
                kind,
                result,
            } => {
                let grace = self.grace();
                let Some(s) = self.slots.get_mut(idx) else {
                    return;
                };
                if s.epoch != epoch || s.pid.is_none() {
                    return;
                }
                let ok = result.is_ok();
                if let Err(why) = &result {
                    tracing::debug!(pod = %self.label, container = %s.spec.name, ?kind, "probe failed: {why}");
                }
                match kind {
                    ProbeKind::Startup => {
                        if let Some((t, v)) = &mut s.startup
                            && v.record(ok, t)
                            && v.passing
                        {
                            s.view.started = true;
                            s.view.ready = s.readiness.is_none();
                        } else if let Some((t, v)) = &s.startup
                            && !v.passing
                            && v.failures() >= t.failure_threshold
                        {
                            warn!(pod = %self.label, container = %s.spec.name, "startup probe failed; restarting");
                            kill(s, grace);
                        }
                    }
                    ProbeKind::Readiness if s.view.started => {
                        if let Some((t, v)) = &mut s.readiness
                            && v.record(ok, t)
                        {
                            s.view.ready = v.passing;
                            info!(pod = %self.label, container = %s.spec.name, ready = v.passing, "readiness changed");
                        }
                    }
                    ProbeKind::Liveness if s.view.started => {
                        if let Some((t, v)) = &mut s.liveness
                            && v.record(ok, t)
                            && !v.passing
                        {
                            warn!(pod = %self.label, container = %s.spec.name, "liveness probe failed; restarting: {:?}", result.err());
                            kill(s, grace);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn grace(&self) -> Duration {
        Duration::from_secs(
            self.pod
                .spec
                .as_ref()
                .and_then(|s| s.termination_grace_period_seconds)
                .unwrap_or(30)
                .max(0) as u64,
        )
    }

    /// Stops every running container: preStop hooks, SIGTERM, then SIGKILL after `grace`.
    async fn stop_all(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        for i in 0..self.slots.len() {
            if let (Some(pid), Some(hook)) = (
                self.slots[i].pid,
                self.slots[i]
                    .spec
                    .lifecycle
                    .as_ref()
                    .and_then(|l| l.pre_stop.clone()),
            ) {
                let p = Probe {
                    exec: hook.exec,
                    http_get: hook.http_get,
                    tcp_socket: hook.tcp_socket,
                    ..Default::default()
                };
                let env = self.env_for(&self.slots[i].spec).await.unwrap_or_default();
                let user = self.user(&self.slots[i].spec).ok();
                let ip = self
                    .sandbox
                    .as_ref()
                    .map(|s| s.ip.to_string())
                    .unwrap_or_default();
                let ctx = self.ctx.clone();
                let resolve = move |cmd: &[String]| ctx.resolve_argv(cmd, &[]);
                let target = Target {
                    container: &self.slots[i].spec,
                    pod_ip: &ip,
                    pid,
                    env: &env,
                    user: &user,
                    resolve: &resolve,
                };
                let left = deadline.saturating_duration_since(Instant::now());
                if let Err(e) = probe::attempt(&p, &target, left.max(Duration::from_secs(1))).await
                {
                    warn!(pod = %self.label, container = %self.slots[i].spec.name, "preStop hook failed: {e:#}");
                }
            }
        }
        for s in &mut self.slots {
            s.restart_at = None;
            s.view.will_restart = false;
            s.stop_probes();
            if let Some(pid) = s.pid {
                process::signal_group(pid, libc::SIGTERM);
            }
        }
        let mut killed = false;
        while self.slots.iter().any(|s| s.pid.is_some()) {
            let now = Instant::now();
            let wait_until = if killed {
                now + Duration::from_secs(5)
            } else {
                deadline
            };
            match tokio::time::timeout(wait_until.saturating_duration_since(now), self.rx.recv())
                .await
            {
                Ok(Some(msg @ Msg::Exited { .. })) => self.handle(msg),
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) if !killed => {
                    for s in &self.slots {
                        if let Some(pid) = s.pid {
                            warn!(pod = %self.label, container = %s.spec.name, "did not stop within {grace:?}; SIGKILL");
                            process::signal_group(pid, libc::SIGKILL);
                        }
                    }
                    killed = true;
                }
                Err(_) => break,
            }
        }
    }

    async fn teardown(&mut self) {
        if let Err(e) = self.ctx.hosts.remove(&self.uid) {
            warn!(pod = %self.label, "updating hosts file: {e}");
        }
        if let Some(sb) = self.sandbox.take()
            && !sb.netns.is_empty()
        {
            self.ctx.net.destroy(&sb).await;
        }
    }

    /// The final step of a graceful deletion, as the kubelet does it: delete with grace 0,
    /// only this very pod (uid precondition), once its containers are gone.
    async fn remove_from_api(&self) {
        let ns = self.pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = self.pod.metadata.name.as_deref().unwrap_or("");
        let api = Api::<Pod>::namespaced(self.ctx.client.clone(), ns);
        let dp = DeleteParams {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some(self.uid.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        match api.delete(name, &dp).await {
            Ok(_) => info!(pod = %self.label, "pod removed"),
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => warn!(pod = %self.label, "removing pod: {e}"),
        }
    }

    fn view(&self) -> PodView {
        PodView {
            pod_ip: self.sandbox.as_ref().map(|s| s.ip.to_string()),
            host_ip: self.ctx.host_ip.clone(),
            start_time: self.start_time,
            sandbox_ready: self.sandbox.is_some(),
            initialized: self.slots.iter().all(|s| !s.init || s.done),
            init_containers: self
                .slots
                .iter()
                .filter(|s| s.init)
                .map(|s| s.view.clone())
                .collect(),
            containers: self
                .slots
                .iter()
                .filter(|s| !s.init)
                .map(|s| s.view.clone())
                .collect(),
        }
    }

    async fn publish(&mut self) {
        let body = status::patch(&self.view(), &mut self.transitions, Timestamp::now());
        if self.published.as_ref() == Some(&body) {
            return;
        }
        let ns = self.pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = self.pod.metadata.name.as_deref().unwrap_or("");
        let api = Api::<Pod>::namespaced(self.ctx.client.clone(), ns);
        match api
            .patch_status(name, &PatchParams::default(), &Patch::Strategic(&body))
            .await
        {
            Ok(_) => self.published = Some(body),
            Err(e) => warn!(pod = %self.label, "reporting status: {e}"),
        }
    }
}

fn kill(s: &mut Slot, grace: Duration) {
    if let Some(pid) = s.pid {
        process::signal_group(pid, libc::SIGTERM);
        s.kill_at = Some(Instant::now() + grace);
    }
}

/// The grace period a deletion allows: the deletion's own, else the pod spec's, else 30 s.
fn grace_period(p: &Pod) -> Duration {
    let secs = p
        .metadata
        .deletion_grace_period_seconds
        .or(p
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds))
        .unwrap_or(30);
    Duration::from_secs(secs.max(0) as u64)
}

struct ProbeRun {
    idx: usize,
    epoch: u64,
    kind: ProbeKind,
    probe: Probe,
    container: Container,
    pod_ip: String,
    pid: u32,
    env: Vec<(String, String)>,
    user: Option<User>,
}

fn spawn_probe(ctx: Arc<Ctx>, tx: mpsc::UnboundedSender<Msg>, r: ProbeRun) -> JoinHandle<()> {
    tokio::spawn(async move {
        let t = probe::timing(&r.probe);
        tokio::time::sleep(t.initial_delay).await;
        let resolve = |cmd: &[String]| ctx.resolve_argv(cmd, &[]);
        loop {
            let target = Target {
                container: &r.container,
                pod_ip: &r.pod_ip,
                pid: r.pid,
                env: &r.env,
                user: &r.user,
                resolve: &resolve,
            };
            let result = probe::attempt(&r.probe, &target, t.timeout)
                .await
                .map_err(|e| format!("{e:#}"));
            if tx
                .send(Msg::Probe {
                    idx: r.idx,
                    epoch: r.epoch,
                    kind: r.kind,
                    result,
                })
                .is_err()
            {
                return;
            }
            tokio::time::sleep(t.period).await;
        }
    })
}

trait FirstStart {
    fn will_restart_or_first(&self) -> bool;
}

impl FirstStart for ContainerView {
    /// A container is started the first time, and again only if its policy says so.
    fn will_restart_or_first(&self) -> bool {
        !self.ever_ran || self.will_restart
    }
}
