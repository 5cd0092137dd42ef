//! The HTTP side of the admin surface: ZooKeeper's AdminServer (`/commands`, JSON per
//! command, on `admin.serverAddress:admin.serverPort`) and the Prometheus endpoint of its
//! `PrometheusMetricsProvider` (`/metrics` on `metricsProvider.httpHost:httpPort`).
//!
//! Tools built for ZooKeeper (probes hitting `/commands/ruok`, exporters reading
//! `/commands/mntr`, Prometheus scraping `/metrics`) find the same URLs and bodies here. Each
//! request asks the core for a snapshot through [`AdminHandle`]; rendering is `fourlw`'s.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use thiserror::Error;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use super::admin::{AdminAsk, AdminHandle};
use super::fourlw::{self, AdminCommand, AdminSnapshot};
use crate::config::ServerConfig;

/// Where the AdminServer lists its commands (ZooKeeper's `admin.commandURL` default).
const COMMAND_URL: &str = "/commands";

/// A port the admin surface could not listen on.
#[derive(Debug, Error)]
pub enum BindError {
    #[error(
        "binding the AdminServer to {addr} (admin.serverAddress/admin.serverPort; \
         admin.enableServer=false turns it off): {source}"
    )]
    Admin {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "binding the Prometheus endpoint to {addr} (metricsProvider.httpHost/httpPort): {source}"
    )]
    Metrics {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The HTTP listeners zoo.cfg asks for, bound but not serving yet.
#[derive(Debug)]
pub struct Endpoints {
    admin: Option<TcpListener>,
    metrics: Option<TcpListener>,
}

async fn bind(ip: IpAddr, port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind((ip, port)).await
}

impl Endpoints {
    /// Binds the AdminServer (when `admin.enableServer`) and the Prometheus endpoint (when
    /// the Prometheus metrics provider is configured).
    pub async fn bind(cfg: &ServerConfig) -> Result<Endpoints, BindError> {
        let admin = if cfg.admin_enable_server {
            let (ip, port) = (cfg.admin_server_address, cfg.admin_server_port);
            let l = bind(ip, port).await.map_err(|source| BindError::Admin {
                addr: SocketAddr::new(ip, port),
                source,
            })?;
            Some(l)
        } else {
            None
        };
        let metrics = match cfg.metrics_port {
            Some(port) => {
                let ip = cfg.metrics_host;
                let l = bind(ip, port).await.map_err(|source| BindError::Metrics {
                    addr: SocketAddr::new(ip, port),
                    source,
                })?;
                Some(l)
            }
            None => None,
        };
        Ok(Endpoints { admin, metrics })
    }

    /// Serves each bound listener on its own task; a listener that fails later is logged
    /// (the client port keeps serving).
    pub fn spawn(self, handle: AdminHandle) {
        if let Some(l) = self.admin {
            if let Ok(a) = l.local_addr() {
                info!(address = %a, "serving the AdminServer at /commands");
            }
            let handle = handle.clone();
            tokio::spawn(async move {
                if let Err(e) = serve_admin(l, handle).await {
                    error!(error = %e, "the AdminServer stopped");
                }
            });
        }
        if let Some(l) = self.metrics {
            if let Ok(a) = l.local_addr() {
                info!(address = %a, "serving Prometheus metrics at /metrics");
            }
            tokio::spawn(async move {
                if let Err(e) = serve_metrics(l, handle).await {
                    error!(error = %e, "the Prometheus endpoint stopped");
                }
            });
        }
    }
}

/// Serves the AdminServer on an already bound listener until it fails.
pub async fn serve_admin(listener: TcpListener, admin: AdminHandle) -> std::io::Result<()> {
    let app = Router::new()
        .route(COMMAND_URL, get(index))
        .route("/commands/", get(index))
        .route("/commands/{name}", get(command))
        .route(SERVING_PATH, get(serving))
        .route(REPLICATION_PATH, get(replication))
        .with_state(admin);
    axum::serve(listener, app).await
}

/// Serves the Prometheus endpoint on an already bound listener until it fails.
pub async fn serve_metrics(listener: TcpListener, admin: AdminHandle) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(admin);
    axum::serve(listener, app).await
}

/// `/commands`: a link per command, as Jetty's AdminServer prints it.
async fn index() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html")],
        fourlw::admin::command_links(COMMAND_URL),
    )
        .into_response()
}

/// `/commands/<name>` (any alias): the command's JSON. Unknown names answer 200 with an
/// `error` field, as ZooKeeper does.
async fn command(
    State(admin): State<AdminHandle>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = parse_query(raw.as_deref().unwrap_or(""));
    let snap = match AdminCommand::from_name(&name) {
        // The response names the unknown command without looking at the server.
        None => AdminSnapshot::default(),
        Some(command) => {
            let ask = AdminAsk::Command {
                command,
                query: query.clone(),
            };
            match admin.snapshot(ask).await {
                Ok(snap) => snap,
                Err(e) => return unavailable(&e.to_string()),
            }
        }
    };
    let r = fourlw::admin_response(&name, &query, &snap);
    let body = match serde_json::to_string_pretty(&r.body) {
        Ok(b) => b,
        Err(e) => return unavailable(&e.to_string()),
    };
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A zk extension beside ZooKeeper's `/commands`: 200 while this member serves client
/// requests (standalone, or leader/follower/observer in a quorum), 503 otherwise (electing,
/// syncing, read-only, shutting down). Readiness probes use it because ZooKeeper's own
/// `ruok` only says the process is up, and every `/commands` answer is 200.
pub const SERVING_PATH: &str = "/zk/serving";

async fn serving(State(admin): State<AdminHandle>) -> Response {
    let ask = AdminAsk::Command {
        command: AdminCommand::Ruok,
        query: BTreeMap::new(),
    };
    match admin.snapshot(ask).await {
        Ok(snap) => {
            let (ok, body) = serving_answer(&snap);
            let status = if ok {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => unavailable(&e.to_string()),
    }
}

/// Whether the member serves, and the JSON body saying so.
fn serving_answer(snap: &AdminSnapshot) -> (bool, String) {
    let ok = snap.serving && snap.mode != fourlw::Mode::ReadOnly;
    let body = serde_json::json!({ "serving": ok, "server_state": snap.mode.as_str() });
    (ok, body.to_string())
}

/// A zk extension beside ZooKeeper's `/commands`: on the leader, every other member's
/// replication progress (matched zxid, lag, last acknowledgement, synced) — what an operator
/// checks before restarting a member, per member rather than the one count `mntr` gives.
pub const REPLICATION_PATH: &str = "/zk/replication";

async fn replication(State(admin): State<AdminHandle>) -> Response {
    let ask = AdminAsk::Command {
        command: AdminCommand::Monitor,
        query: BTreeMap::new(),
    };
    match admin.snapshot(ask).await {
        Ok(snap) => {
            let body = replication_answer(&snap);
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Err(e) => unavailable(&e.to_string()),
    }
}

fn replication_answer(snap: &AdminSnapshot) -> serde_json::Value {
    let quorum = snap.quorum.as_ref();
    let leader_id = quorum
        .map(|q| q.leader_id)
        .and_then(|l| u64::try_from(l).ok());
    let view = quorum
        .and_then(|q| q.leader.as_ref())
        .map(|l| &l.replication);
    let me = u64::try_from(snap.conf.server_id).unwrap_or_default();
    fourlw::replication::replication_json(me, leader_id, view)
}

/// `/metrics`: the Prometheus text exposition.
async fn metrics(State(admin): State<AdminHandle>) -> Response {
    match admin.snapshot(AdminAsk::Scrape).await {
        Ok(snap) => (
            [(header::CONTENT_TYPE, fourlw::PROMETHEUS_CONTENT_TYPE)],
            fourlw::prometheus_text(&snap),
        )
            .into_response(),
        Err(e) => unavailable(&e.to_string()),
    }
}

fn unavailable(why: &str) -> Response {
    warn!(error = why, "admin request failed");
    (StatusCode::SERVICE_UNAVAILABLE, why.to_string()).into_response()
}

/// `a=1&b=x%20y` as a map (the last value of a repeated key wins); `+` is a space.
fn parse_query(raw: &str) -> BTreeMap<String, String> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serving_means_serving_requests_not_just_running() {
        let mut snap = AdminSnapshot {
            serving: true,
            mode: fourlw::Mode::Standalone,
            ..AdminSnapshot::default()
        };
        assert_eq!(
            serving_answer(&snap),
            (
                true,
                r#"{"server_state":"standalone","serving":true}"#.to_string()
            )
        );
        snap.mode = fourlw::Mode::Follower;
        assert!(serving_answer(&snap).0);
        snap.mode = fourlw::Mode::ReadOnly;
        assert!(
            !serving_answer(&snap).0,
            "read-only members cannot take writes"
        );
        snap.mode = fourlw::Mode::Leader;
        snap.serving = false;
        let (ok, body) = serving_answer(&snap);
        assert!(!ok);
        assert!(body.contains(r#""serving":false"#));
    }

    #[test]
    fn query_strings_decode() {
        let q = parse_query("traceMask=250&x=a%20b+c&flag&bad=%zz%4");
        assert_eq!(q.get("traceMask").map(String::as_str), Some("250"));
        assert_eq!(q.get("x").map(String::as_str), Some("a b c"));
        assert_eq!(q.get("flag").map(String::as_str), Some(""));
        assert_eq!(q.get("bad").map(String::as_str), Some("%zz%4"));
        assert!(parse_query("").is_empty());
    }
}
