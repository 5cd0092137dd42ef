//! AdminServer JSON: what `GET /commands/<name>` answers, as ZooKeeper 3.9's Jetty
//! AdminServer does (`server/admin/Commands.java`, `CommandResponse`, `JsonOutputter`).
//!
//! Every response is a JSON object with the command's fields plus `command` (the primary
//! name) and `error` (null unless something failed); field names are Jackson's snake_case
//! of the Java getters. Unknown and not-serving commands still answer HTTP 200 with an
//! `error`, as ZooKeeper does. Key order is not preserved (serde_json sorts keys); JSON
//! consumers do not depend on it.
//!
//! Not offered: `snapshot`/`restore` (authenticated snapshot streaming) answer "Unknown
//! command" until the storage layer provides them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::command::{Detail, Effect};
use super::full_version;
use super::java;
use super::model::{AdminSnapshot, ConnectionInfo, LearnerType, Mode};
use super::monitor;
use super::text::{self, ZK_NOT_SERVING};

/// An AdminServer command (`Commands.java` registrations), by its primary name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdminCommand {
    /// `connection_stat_reset`, `crst`.
    ConnectionStatReset,
    /// `configuration`, `conf`, `config`.
    Configuration,
    /// `connections`, `cons`.
    Connections,
    /// `hash`.
    Hash,
    /// `dirs`.
    Dirs,
    /// `dump`.
    Dump,
    /// `environment`, `env`, `envi`.
    Environment,
    /// `get_trace_mask`, `gtmk`.
    GetTraceMask,
    /// `initial_configuration`, `icfg`.
    InitialConfiguration,
    /// `is_read_only`, `isro`.
    IsReadOnly,
    /// `last_snapshot`, `lsnp`.
    LastSnapshot,
    /// `leader`, `lead`.
    Leader,
    /// `monitor`, `mntr`.
    Monitor,
    /// `observer_connection_stat_reset`, `orst`.
    ObserverConnectionStatReset,
    /// `ruok`.
    Ruok,
    /// `set_trace_mask`, `stmk` (query parameter `traceMask`).
    SetTraceMask,
    /// `server_stats`, `srvr`.
    ServerStats,
    /// `stats`, `stat`.
    Stats,
    /// `stat_reset`, `srst`.
    StatReset,
    /// `observers`, `obsr`.
    Observers,
    /// `system_properties`, `sysp`.
    SystemProperties,
    /// `voting_view`.
    VotingView,
    /// `watches`, `wchc`.
    Watches,
    /// `watches_by_path`, `wchp`.
    WatchesByPath,
    /// `watch_summary`, `wchs`.
    WatchSummary,
    /// `zabstate`.
    ZabState,
}

/// An HTTP status and JSON body for one admin request.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminResponse {
    /// HTTP status (ZooKeeper answers 200 even for unknown commands).
    pub status: u16,
    /// The JSON body (`JsonOutputter` pretty-prints it; any formatting is equivalent).
    pub body: Value,
}

impl AdminCommand {
    /// Every command.
    pub const ALL: [AdminCommand; 26] = [
        AdminCommand::ConnectionStatReset,
        AdminCommand::Configuration,
        AdminCommand::Connections,
        AdminCommand::Hash,
        AdminCommand::Dirs,
        AdminCommand::Dump,
        AdminCommand::Environment,
        AdminCommand::GetTraceMask,
        AdminCommand::InitialConfiguration,
        AdminCommand::IsReadOnly,
        AdminCommand::LastSnapshot,
        AdminCommand::Leader,
        AdminCommand::Monitor,
        AdminCommand::ObserverConnectionStatReset,
        AdminCommand::Ruok,
        AdminCommand::SetTraceMask,
        AdminCommand::ServerStats,
        AdminCommand::Stats,
        AdminCommand::StatReset,
        AdminCommand::Observers,
        AdminCommand::SystemProperties,
        AdminCommand::VotingView,
        AdminCommand::Watches,
        AdminCommand::WatchesByPath,
        AdminCommand::WatchSummary,
        AdminCommand::ZabState,
    ];

    /// All names the command answers to; the first is the primary name.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            AdminCommand::ConnectionStatReset => &["connection_stat_reset", "crst"],
            AdminCommand::Configuration => &["configuration", "conf", "config"],
            AdminCommand::Connections => &["connections", "cons"],
            AdminCommand::Hash => &["hash"],
            AdminCommand::Dirs => &["dirs"],
            AdminCommand::Dump => &["dump"],
            AdminCommand::Environment => &["environment", "env", "envi"],
            AdminCommand::GetTraceMask => &["get_trace_mask", "gtmk"],
            AdminCommand::InitialConfiguration => &["initial_configuration", "icfg"],
            AdminCommand::IsReadOnly => &["is_read_only", "isro"],
            AdminCommand::LastSnapshot => &["last_snapshot", "lsnp"],
            AdminCommand::Leader => &["leader", "lead"],
            AdminCommand::Monitor => &["monitor", "mntr"],
            AdminCommand::ObserverConnectionStatReset => {
                &["observer_connection_stat_reset", "orst"]
            }
            AdminCommand::Ruok => &["ruok"],
            AdminCommand::SetTraceMask => &["set_trace_mask", "stmk"],
            AdminCommand::ServerStats => &["server_stats", "srvr"],
            AdminCommand::Stats => &["stats", "stat"],
            AdminCommand::StatReset => &["stat_reset", "srst"],
            AdminCommand::Observers => &["observers", "obsr"],
            AdminCommand::SystemProperties => &["system_properties", "sysp"],
            AdminCommand::VotingView => &["voting_view"],
            AdminCommand::Watches => &["watches", "wchc"],
            AdminCommand::WatchesByPath => &["watches_by_path", "wchp"],
            AdminCommand::WatchSummary => &["watch_summary", "wchs"],
            AdminCommand::ZabState => &["zabstate"],
        }
    }

    /// The primary name, used as `command` in responses and in the index page.
    pub fn primary_name(self) -> &'static str {
        self.names().first().copied().unwrap_or("")
    }

    /// The command answering to `name` (any alias, case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.names().contains(&name))
    }

    /// Whether the command needs a serving member (`CommandBase.serverRequired`).
    /// `monitor` is registered as not requiring one; ZooKeeper then fails on a null
    /// server, we render what we have.
    pub fn server_required(self) -> bool {
        !matches!(
            self,
            AdminCommand::Environment
                | AdminCommand::GetTraceMask
                | AdminCommand::Monitor
                | AdminCommand::SetTraceMask
                | AdminCommand::SystemProperties
                | AdminCommand::ZabState
        )
    }

    /// What the command changes, to apply before rendering; `query` holds the URL's query
    /// parameters (`set_trace_mask` reads `traceMask`).
    pub fn effect(self, serving: bool, query: &BTreeMap<String, String>) -> Option<Effect> {
        if self.server_required() && !serving {
            return None;
        }
        match self {
            AdminCommand::ConnectionStatReset => Some(Effect::ResetConnectionStats),
            AdminCommand::StatReset => Some(Effect::ResetServerStats),
            AdminCommand::ObserverConnectionStatReset => Some(Effect::ResetObserverConnectionStats),
            AdminCommand::SetTraceMask => parse_trace_mask(query).ok().map(Effect::SetTraceMask),
            _ => None,
        }
    }

    /// Which lists of the snapshot the command prints.
    pub fn detail(self) -> Detail {
        match self {
            AdminCommand::Connections | AdminCommand::Stats => Detail {
                connections: true,
                ..Detail::NONE
            },
            AdminCommand::Dump => Detail {
                sessions: true,
                ..Detail::NONE
            },
            AdminCommand::Watches | AdminCommand::WatchesByPath | AdminCommand::WatchSummary => {
                Detail {
                    watches: true,
                    ..Detail::NONE
                }
            }
            AdminCommand::Hash => Detail {
                digests: true,
                ..Detail::NONE
            },
            _ => Detail::NONE,
        }
    }
}

/// `SetTraceMaskCommand`'s argument check, with its exact error texts.
fn parse_trace_mask(query: &BTreeMap<String, String>) -> Result<i64, String> {
    match query.get("traceMask") {
        None => Err("setTraceMask requires long traceMask argument".to_string()),
        Some(v) => java_parse_long(v)
            .ok_or_else(|| format!("setTraceMask requires long traceMask argument, got {v}")),
    }
}

/// `Long.parseLong`: optional sign, ASCII digits only, no spaces.
fn java_parse_long(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The index page at `/commands`: a link per primary name, sorted, each line followed by
/// `<br/>` (`JettyAdminServer.commandLinks`). `command_url` is usually "/commands".
pub fn command_links(command_url: &str) -> String {
    let mut names: Vec<_> = AdminCommand::ALL.iter().map(|c| c.primary_name()).collect();
    names.sort_unstable();
    names
        .into_iter()
        .map(|n| format!("<a href=\"{command_url}/{n}\">{n}</a>\n<br/>\n"))
        .collect()
}

fn respond(command: &str, error: Option<&str>, data: Map<String, Value>) -> Value {
    // CommandResponse.toMap: the data, then command and error, then the data again (so a
    // command that put its own "error" keeps it).
    let mut body = Map::new();
    body.insert("command".to_string(), Value::from(command));
    body.insert("error".to_string(), error.map_or(Value::Null, Value::from));
    body.extend(data);
    Value::Object(body)
}

/// Runs admin command `name` against `snap` (effects already applied) and returns what
/// the AdminServer sends. `query` holds the URL's query parameters.
pub fn admin_response(
    name: &str,
    query: &BTreeMap<String, String>,
    snap: &AdminSnapshot,
) -> AdminResponse {
    let ok = |body| AdminResponse { status: 200, body };
    let Some(cmd) = AdminCommand::from_name(name) else {
        let error = format!("Unknown command: {name}");
        return ok(respond(name, Some(&error), Map::new()));
    };
    if cmd.server_required() && !snap.serving {
        return ok(respond(name, Some(ZK_NOT_SERVING), Map::new()));
    }
    ok(respond(cmd.primary_name(), None, data(cmd, query, snap)))
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn data(
    cmd: AdminCommand,
    query: &BTreeMap<String, String>,
    snap: &AdminSnapshot,
) -> Map<String, Value> {
    match cmd {
        AdminCommand::ConnectionStatReset
        | AdminCommand::ObserverConnectionStatReset
        | AdminCommand::Ruok
        | AdminCommand::StatReset => Map::new(),
        AdminCommand::Configuration => object(configuration(snap)),
        AdminCommand::Connections => object(json!({
            "connections": connections(snap, false, false),
            "secure_connections": connections(snap, true, false),
        })),
        AdminCommand::Hash => object(json!({
            "digests": snap.digests.iter().map(|d| json!({
                "zxid": d.zxid,
                "digest_version": d.digest_version,
                "digest": d.digest,
            })).collect::<Vec<_>>(),
        })),
        AdminCommand::Dirs => object(json!({
            "datadir_size": snap.data.data_dir_size,
            "logdir_size": snap.data.log_dir_size,
        })),
        AdminCommand::Dump => dump(snap),
        AdminCommand::Environment => text::environment_entries(snap)
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect(),
        AdminCommand::GetTraceMask => object(json!({ "tracemask": snap.trace_mask })),
        AdminCommand::InitialConfiguration => {
            object(json!({ "initial_configuration": snap.conf.initial_config }))
        }
        AdminCommand::IsReadOnly => object(json!({ "read_only": snap.mode == Mode::ReadOnly })),
        AdminCommand::LastSnapshot => {
            // Long.toHexString(-1) when there is none.
            let (zxid, timestamp) = snap
                .last_snapshot
                .map_or((-1, -1), |s| (s.zxid, s.timestamp_secs));
            object(json!({ "zxid": java::long_hex(zxid), "timestamp": timestamp }))
        }
        AdminCommand::Leader => match &snap.quorum {
            Some(q) => object(json!({
                "is_leader": snap.mode == Mode::Leader,
                "leader_id": q.leader_id,
                "leader_ip": q.leader_address.clone().unwrap_or_default(),
            })),
            None => object(json!({ "error": "server is not initialized" })),
        },
        AdminCommand::Monitor => monitor::monitor_values(snap)
            .into_iter()
            .map(|(k, v)| (k, v.to_json()))
            .collect(),
        AdminCommand::SetTraceMask => match parse_trace_mask(query) {
            Ok(mask) => object(json!({ "tracemask": mask })),
            Err(e) => object(json!({ "error": e })),
        },
        AdminCommand::ServerStats => server_stats(snap),
        AdminCommand::Stats => {
            let mut m = server_stats(snap);
            m.insert("connections".to_string(), connections(snap, false, true));
            m.insert(
                "secure_connections".to_string(),
                connections(snap, true, true),
            );
            m
        }
        AdminCommand::Observers => {
            let observers: Vec<Value> = snap
                .quorum
                .as_ref()
                .and_then(|q| q.leader.as_ref())
                .map(|l| {
                    l.observers
                        .iter()
                        .map(|o| {
                            json!({
                                "remote_socket_address": o.remote_address,
                                "sid": o.sid,
                                "established": o.established_ms,
                                "queued_packets": o.queued_packets,
                                "queued_packets_size": o.queued_packets_size,
                                "packets_received": o.packets_received,
                                "packets_sent": o.packets_sent,
                                "requests": o.requests,
                                "last_zxid": o.last_zxid,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let synced = snap
                .quorum
                .as_ref()
                .and_then(|q| q.synced_observers)
                .unwrap_or(0);
            object(json!({ "synced_observers": synced, "observers": observers }))
        }
        AdminCommand::SystemProperties => {
            // No JVM system properties exist; the environment entries are what we have,
            // sorted by key as ZooKeeper sorts the properties.
            let mut entries = text::environment_entries(snap);
            entries.sort_by(|a, b| a.0.cmp(b.0));
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::from(v)))
                .collect()
        }
        AdminCommand::VotingView => {
            let mut view = Map::new();
            if let Some(q) = &snap.quorum {
                for m in q
                    .members
                    .iter()
                    .filter(|m| m.learner_type == LearnerType::Participant)
                {
                    let host = super::model::HostPort::new(m.host.clone(), 0).delimited_host();
                    view.insert(
                        m.id.to_string(),
                        json!({
                            "server_addresses": [format!("{host}:{}", m.quorum_port)],
                            "election_addresses": [format!("{host}:{}", m.election_port)],
                            "client_address": m.client.as_ref().map(|c| c.to_string()).unwrap_or_default(),
                            "learner_type": m.learner_type.as_str(),
                        }),
                    );
                }
            }
            object(json!({ "current_config": view }))
        }
        AdminCommand::Watches => {
            let mut by_session: BTreeMap<String, Vec<&str>> = BTreeMap::new();
            for w in snap.watches.iter().filter(|w| !w.paths.is_empty()) {
                let paths = by_session.entry(w.session_id.to_string()).or_default();
                paths.extend(w.paths.iter().map(String::as_str));
                paths.sort_unstable();
                paths.dedup();
            }
            object(json!({ "session_id_to_watched_paths": by_session }))
        }
        AdminCommand::WatchesByPath => {
            object(json!({ "path_to_session_ids": text::watches_by_path(snap) }))
        }
        AdminCommand::WatchSummary => {
            let (connections, paths, total) = text::watch_summary(snap);
            object(json!({
                "num_connections": connections,
                "num_paths": paths,
                "num_total_watches": total,
            }))
        }
        AdminCommand::ZabState => zab_state(snap),
    }
}

/// `ZooKeeperServerConf.toMap()`.
fn configuration(snap: &AdminSnapshot) -> Value {
    let c = &snap.conf;
    json!({
        "client_port": c.client_port,
        "data_dir": c.data_dir,
        "data_log_dir": c.data_log_dir,
        "tick_time": c.tick_time,
        "max_client_cnxns": c.max_client_cnxns,
        "min_session_timeout": c.min_session_timeout,
        "max_session_timeout": c.max_session_timeout,
        "server_id": c.server_id,
        "client_port_listen_backlog": c.client_port_listen_backlog,
    })
}

/// `ServerCnxn.getConnectionInfo(brief)`.
pub fn connection_json(c: &ConnectionInfo, brief: bool) -> Value {
    let mut m = object(json!({
        "remote_socket_address": java::jackson_socket_address(&c.remote),
        "interest_ops": c.interest_ops,
        "outstanding_requests": c.outstanding_requests,
        "packets_received": c.packets_received,
        "packets_sent": c.packets_sent,
    }));
    if !brief {
        m.extend(object(json!({
            "session_id": c.session_id,
            "last_operation": c.last_operation,
            // Jackson writes java.util.Date as epoch milliseconds.
            "established": c.established_ms,
            "session_timeout": c.session_timeout_ms,
            "last_cxid": c.last_cxid,
            "last_zxid": c.last_zxid,
            "last_response_time": c.last_response_ms,
            "last_latency": c.last_latency_ms,
            "min_latency": c.latency.min(),
            "avg_latency": c.latency.avg_integer(),
            "max_latency": c.latency.max(),
        })));
    }
    Value::Object(m)
}

fn connections(snap: &AdminSnapshot, secure: bool, brief: bool) -> Value {
    Value::Array(
        snap.connections
            .iter()
            .filter(|c| c.secure == secure)
            .map(|c| connection_json(c, brief))
            .collect(),
    )
}

/// `SrvrCommand`: version, read-only flag, `ServerStats` and `BufferStats` as Jackson
/// serializes their getters, proposal sizes on the leader, node count.
fn server_stats(snap: &AdminSnapshot) -> Map<String, Value> {
    let s = &snap.stats;
    let buffer = |b: super::model::BufferStats| {
        json!({
            "last_buffer_size": b.last,
            "min_buffer_size": b.min,
            "max_buffer_size": b.max,
        })
    };
    let mut m = object(json!({
        "version": full_version(),
        "read_only": snap.mode == Mode::ReadOnly,
        "server_stats": {
            "min_latency": s.latency.min(),
            "avg_latency": s.latency.avg(),
            "max_latency": s.latency.max(),
            "outstanding_requests": s.outstanding_requests,
            "last_processed_zxid": snap.data.last_processed_zxid,
            "data_dir_size": snap.data.data_dir_size,
            "log_dir_size": snap.data.log_dir_size,
            "packets_received": s.packets_received,
            "packets_sent": s.packets_sent,
            "server_state": snap.mode.as_str(),
            "num_alive_client_connections": s.alive_connections,
            "uptime": s.uptime_ms,
            "provider_null": false,
            "fsync_threshold_exceed_count": s.fsync_threshold_exceed_count,
            // Jackson's SNAKE_CASE of getNonMTLSLocalConnCount / getNonMTLSRemoteConnCount.
            "non_mtlslocal_conn_count": s.non_mtls_local_conn_count,
            "non_mtlsremote_conn_count": s.non_mtls_remote_conn_count,
            "auth_failed_count": s.auth_failed_count,
            "client_response_stats": buffer(s.client_response_size),
        },
        "client_response": buffer(s.client_response_size),
        "node_count": snap.data.node_count,
    }));
    if snap.mode == Mode::Leader
        && let Some(l) = snap.quorum.as_ref().and_then(|q| q.leader.as_ref())
    {
        m.insert("proposal_stats".to_string(), buffer(l.proposal_sizes));
    }
    m
}

/// `DumpCommand` (admin): expiry time → session ids (empty on learners, whose tracker
/// does not expire sessions), session id → ephemeral paths.
fn dump(snap: &AdminSnapshot) -> Map<String, Value> {
    let mut expiry: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    if !matches!(snap.mode, Mode::Follower | Mode::Observer) {
        for s in &snap.sessions {
            expiry
                .entry(s.expires_at_ms)
                .or_default()
                .push(s.session_id);
        }
    }
    let expiry: Map<String, Value> = expiry
        .into_iter()
        .map(|(at, mut ids)| {
            ids.sort_unstable();
            (at.to_string(), json!(ids))
        })
        .collect();
    let ephemerals: Map<String, Value> = snap
        .sessions
        .iter()
        .filter(|s| !s.ephemerals.is_empty())
        .map(|s| {
            let mut paths = s.ephemerals.clone();
            paths.sort();
            (s.session_id.to_string(), json!(paths))
        })
        .collect();
    object(json!({
        "expiry_time_to_session_ids": expiry,
        "session_id_to_ephemeral_paths": ephemerals,
    }))
}

/// `ZabStateCommand`. Quorum addresses are printed as `host:port`.
fn zab_state(snap: &AdminSnapshot) -> Map<String, Value> {
    match &snap.quorum {
        Some(q) if snap.serving => {
            let zxid = snap.data.last_processed_zxid;
            object(json!({
                "myid": snap.conf.server_id,
                "is_leader": snap.mode == Mode::Leader,
                "quorum_address": q.quorum_address.to_string(),
                "election_address": q.election_address.to_string(),
                "client_address": q.client_address.as_ref().map(|c| c.to_string()),
                "voting": q.is_voting(snap.conf.server_id),
                "last_zxid": format!("0x{}", java::long_hex(zxid)),
                "zab_epoch": zxid >> 32,
                "zab_counter": zxid & 0xffff_ffff,
                "zabstate": q.zab_state.as_str(),
            }))
        }
        // ZooKeeper has no quorum server object to ask while standalone or electing.
        _ => object(json!({ "voting": false, "zabstate": "" })),
    }
}

#[cfg(test)]
mod tests {
    //! Expected bodies follow admin/Commands.java, CommandResponse.toMap and Jackson's
    //! SNAKE_CASE naming of the serialized getters.

    use super::*;
    use crate::server::fourlw::fixture;

    fn get(name: &str, snap: &AdminSnapshot) -> Value {
        let r = admin_response(name, &BTreeMap::new(), snap);
        assert_eq!(r.status, 200);
        r.body
    }

    #[test]
    fn every_name_resolves_to_its_command() {
        for cmd in AdminCommand::ALL {
            for name in cmd.names() {
                assert_eq!(AdminCommand::from_name(name), Some(cmd), "{name}");
            }
        }
        assert_eq!(AdminCommand::from_name("Stat"), None);
        assert_eq!(AdminCommand::from_name("snapshot"), None);
    }

    #[test]
    fn unknown_and_not_serving_answer_200_with_error() {
        let snap = fixture::standalone();
        assert_eq!(
            get("bogus", &snap),
            json!({ "command": "bogus", "error": "Unknown command: bogus" })
        );
        let mut down = snap.clone();
        down.serving = false;
        // The requested name, not the primary one, is echoed.
        assert_eq!(
            get("srvr", &down),
            json!({ "command": "srvr", "error": ZK_NOT_SERVING })
        );
        // Commands that do not require a server still answer.
        assert_eq!(get("gtmk", &down)["tracemask"], json!(306));
    }

    #[test]
    fn ruok_and_resets_are_empty_responses() {
        let snap = fixture::standalone();
        for (name, primary) in [
            ("ruok", "ruok"),
            ("crst", "connection_stat_reset"),
            ("srst", "stat_reset"),
            ("orst", "observer_connection_stat_reset"),
        ] {
            assert_eq!(
                get(name, &snap),
                json!({ "command": primary, "error": null })
            );
        }
    }

    #[test]
    fn configuration_has_zookeeper_server_conf_keys() {
        assert_eq!(
            get("conf", &fixture::standalone()),
            json!({
                "client_port": 2181,
                "data_dir": "/var/lib/zk/data",
                "data_log_dir": "/var/lib/zk/log",
                "tick_time": 2000,
                "max_client_cnxns": 60,
                "min_session_timeout": 4000,
                "max_session_timeout": 40000,
                "server_id": 0,
                "client_port_listen_backlog": -1,
                "command": "configuration",
                "error": null,
            })
        );
    }

    #[test]
    fn server_stats_serializes_like_jackson() {
        let body = get("server_stats", &fixture::standalone());
        let expected = json!({
            "version": crate::server::fourlw::full_version(),
            "read_only": false,
            "server_stats": {
                "min_latency": 0,
                "avg_latency": 1.6667,
                "max_latency": 4,
                "outstanding_requests": 0,
                "last_processed_zxid": 26,
                "data_dir_size": 4096,
                "log_dir_size": 67108880,
                "packets_received": 11,
                "packets_sent": 10,
                "server_state": "standalone",
                "num_alive_client_connections": 2,
                "uptime": 123456,
                "provider_null": false,
                "fsync_threshold_exceed_count": 0,
                "non_mtlslocal_conn_count": 0,
                "non_mtlsremote_conn_count": 0,
                "auth_failed_count": 0,
                "client_response_stats": {
                    "last_buffer_size": 48, "min_buffer_size": 16, "max_buffer_size": 120
                },
            },
            "client_response": {
                "last_buffer_size": 48, "min_buffer_size": 16, "max_buffer_size": 120
            },
            "node_count": 7,
            "command": "server_stats",
            "error": null,
        });
        assert_eq!(body, expected);
        let leader = get("srvr", &fixture::leader());
        assert_eq!(
            leader["proposal_stats"],
            json!({ "last_buffer_size": 36, "min_buffer_size": 36, "max_buffer_size": 92 })
        );
        assert_eq!(leader["server_stats"]["server_state"], json!("leader"));
    }

    #[test]
    fn stats_adds_brief_connections() {
        let body = get("stats", &fixture::standalone());
        assert_eq!(body["command"], json!("stats"));
        assert_eq!(
            body["connections"],
            json!([
                {
                    "remote_socket_address": "127.0.0.1:40312",
                    "interest_ops": 1,
                    "outstanding_requests": 0,
                    "packets_received": 6,
                    "packets_sent": 6,
                },
                {
                    "remote_socket_address": "[0:0:0:0:0:0:0:1]:40314",
                    "interest_ops": 0,
                    "outstanding_requests": 0,
                    "packets_received": 1,
                    "packets_sent": 0,
                },
            ])
        );
        assert_eq!(body["secure_connections"], json!([]));
        assert_eq!(body["node_count"], json!(7));
    }

    #[test]
    fn connections_are_full_and_split_by_port() {
        let mut snap = fixture::standalone();
        snap.connections[1].secure = true;
        let body = get("cons", &snap);
        assert_eq!(
            body["connections"],
            json!([{
                "remote_socket_address": "127.0.0.1:40312",
                "interest_ops": 1,
                "outstanding_requests": 0,
                "packets_received": 6,
                "packets_sent": 6,
                "session_id": 72057601062535168_i64,
                "last_operation": "GETD",
                "established": 1700000000000_i64,
                "session_timeout": 30000,
                "last_cxid": 5,
                "last_zxid": 26,
                "last_response_time": 1700000005000_i64,
                "last_latency": 1,
                "min_latency": 0,
                "avg_latency": 1,
                "max_latency": 4,
            }])
        );
        assert_eq!(body["secure_connections"][0]["session_id"], json!(0));
        assert_eq!(body["secure_connections"][0]["last_operation"], json!("NA"));
    }

    #[test]
    fn monitor_matches_mntr_keys_and_types() {
        let snap = fixture::leader();
        let body = get("mntr", &snap);
        assert_eq!(body["command"], json!("monitor"));
        assert_eq!(body["server_state"], json!("leader"));
        assert_eq!(body["peer_state"], json!("leading - broadcast"));
        assert_eq!(body["avg_latency"], json!(1.6667));
        assert_eq!(body["znode_count"], json!(7));
        assert_eq!(body["connection_drop_probability"], json!(0.0));
        assert_eq!(body["synced_followers"], json!(1));
        assert_eq!(body["p99_readlatency"], json!(3));
        let lines =
            crate::server::fourlw::text::render(crate::server::fourlw::FourLetterWord::Mntr, &snap)
                .unwrap_or_default();
        let keys = body.as_object().map_or(0, |m| m.len());
        assert_eq!(keys, lines.lines().count() + 2);
    }

    #[test]
    fn environment_and_system_properties() {
        let snap = fixture::standalone();
        let env = get("env", &snap);
        assert_eq!(env["command"], json!("environment"));
        assert_eq!(env["java.version"], json!("<NA>"));
        assert_eq!(env["os.arch"], json!("amd64"));
        assert_eq!(env["os.memory.total"], json!("30MB"));
        assert_eq!(
            env["zookeeper.version"],
            json!(crate::server::fourlw::full_version())
        );
        let sysp = get("sysp", &snap);
        assert_eq!(sysp["command"], json!("system_properties"));
        assert_eq!(sysp["user.dir"], json!("/"));
    }

    #[test]
    fn dump_maps_expiry_and_ephemerals() {
        let body = get("dump", &fixture::standalone());
        assert_eq!(
            body,
            json!({
                "expiry_time_to_session_ids": {
                    "1700000012000": [72057601062535169_i64],
                    "1700000036000": [72057601062535168_i64],
                },
                "session_id_to_ephemeral_paths": {
                    "72057601062535168": ["/locks/l-0000000001", "/services/a/node-1"],
                },
                "command": "dump",
                "error": null,
            })
        );
        let follower = get("dump", &fixture::follower());
        assert_eq!(follower["expiry_time_to_session_ids"], json!({}));
    }

    #[test]
    fn watch_commands() {
        let snap = fixture::standalone();
        assert_eq!(
            get("wchc", &snap)["session_id_to_watched_paths"],
            json!({
                "72057601062535168": ["/config", "/services"],
                "72057601062535169": ["/config"],
            })
        );
        assert_eq!(
            get("wchp", &snap)["path_to_session_ids"],
            json!({
                "/config": [72057601062535168_i64, 72057601062535169_i64],
                "/services": [72057601062535168_i64],
            })
        );
        assert_eq!(
            get("wchs", &snap),
            json!({
                "num_connections": 2,
                "num_paths": 2,
                "num_total_watches": 3,
                "command": "watch_summary",
                "error": null,
            })
        );
    }

    #[test]
    fn set_trace_mask_validates_its_argument() {
        let snap = fixture::standalone();
        let with = |v: Option<&str>| {
            let mut q = BTreeMap::new();
            if let Some(v) = v {
                q.insert("traceMask".to_string(), v.to_string());
            }
            (
                admin_response("set_trace_mask", &q, &snap).body,
                AdminCommand::SetTraceMask.effect(true, &q),
            )
        };
        let (body, effect) = with(None);
        assert_eq!(
            body,
            json!({ "command": "set_trace_mask",
                    "error": "setTraceMask requires long traceMask argument" })
        );
        assert_eq!(effect, None);
        let (body, effect) = with(Some("0x10"));
        assert_eq!(
            body["error"],
            json!("setTraceMask requires long traceMask argument, got 0x10")
        );
        assert_eq!(effect, None);
        let (body, effect) = with(Some("-250"));
        assert_eq!(
            body,
            json!({ "tracemask": -250, "command": "set_trace_mask", "error": null })
        );
        assert_eq!(effect, Some(Effect::SetTraceMask(-250)));
    }

    #[test]
    fn effects_need_a_serving_server_where_zookeeper_does() {
        let q = BTreeMap::new();
        assert_eq!(
            AdminCommand::StatReset.effect(true, &q),
            Some(Effect::ResetServerStats)
        );
        assert_eq!(AdminCommand::StatReset.effect(false, &q), None);
        assert_eq!(
            AdminCommand::ConnectionStatReset.effect(true, &q),
            Some(Effect::ResetConnectionStats)
        );
        assert_eq!(AdminCommand::Monitor.effect(true, &q), None);
        assert!(AdminCommand::Stats.detail().connections);
        assert!(!AdminCommand::Monitor.detail().connections);
    }

    #[test]
    fn small_commands() {
        let snap = fixture::standalone();
        assert_eq!(get("isro", &snap)["read_only"], json!(false));
        assert_eq!(get("dirs", &snap)["logdir_size"], json!(67108880));
        assert_eq!(
            get("lsnp", &snap),
            json!({ "zxid": "12", "timestamp": 1699999000_i64,
                    "command": "last_snapshot", "error": null })
        );
        let mut none = snap.clone();
        none.last_snapshot = None;
        assert_eq!(get("lsnp", &none)["zxid"], json!("ffffffffffffffff"));
        assert_eq!(get("lsnp", &none)["timestamp"], json!(-1));
        assert_eq!(
            get("hash", &snap)["digests"],
            json!([{ "zxid": 26, "digest_version": 2, "digest": 1234567890 }])
        );
        assert_eq!(
            get("icfg", &snap)["initial_configuration"],
            json!("tickTime=2000\nclientPort=2181\n")
        );
        assert_eq!(
            get("leader", &snap),
            json!({ "command": "leader", "error": "server is not initialized" })
        );
        assert_eq!(
            get("zabstate", &snap),
            json!({ "voting": false, "zabstate": "", "command": "zabstate", "error": null })
        );
        assert_eq!(get("voting_view", &snap)["current_config"], json!({}));
        assert_eq!(
            get("obsr", &snap),
            json!({ "synced_observers": 0, "observers": [], "command": "observers",
                    "error": null })
        );
    }

    #[test]
    fn quorum_commands_on_the_leader() {
        let snap = fixture::leader();
        assert_eq!(
            get("lead", &snap),
            json!({ "is_leader": true, "leader_id": 1, "leader_ip": "zk-0.zk-hs",
                    "command": "leader", "error": null })
        );
        assert_eq!(
            get("zabstate", &snap),
            json!({
                "myid": 1,
                "is_leader": true,
                "quorum_address": "zk-0.zk-hs:2888",
                "election_address": "zk-0.zk-hs:3888",
                "client_address": "0.0.0.0:2181",
                "voting": true,
                "last_zxid": "0x100000002",
                "zab_epoch": 1,
                "zab_counter": 2,
                "zabstate": "broadcast",
                "command": "zabstate",
                "error": null,
            })
        );
        assert_eq!(
            get("voting_view", &snap)["current_config"],
            json!({
                "1": {
                    "server_addresses": ["zk-0.zk-hs:2888"],
                    "election_addresses": ["zk-0.zk-hs:3888"],
                    "client_address": "0.0.0.0:2181",
                    "learner_type": "participant",
                },
                "2": {
                    "server_addresses": ["zk-1.zk-hs:2888"],
                    "election_addresses": ["zk-1.zk-hs:3888"],
                    "client_address": "0.0.0.0:2181",
                    "learner_type": "participant",
                },
            })
        );
        let obsr = get("observers", &snap);
        assert_eq!(obsr["synced_observers"], json!(1));
        assert_eq!(obsr["observers"][0]["sid"], json!(3));
        assert_eq!(obsr["observers"][0]["last_zxid"], json!(4294967298_i64));
    }

    #[test]
    fn index_page_links_primary_names_sorted() {
        let page = command_links("/commands");
        assert!(page.starts_with(
            "<a href=\"/commands/configuration\">configuration</a>\n<br/>\n\
             <a href=\"/commands/connection_stat_reset\">connection_stat_reset</a>\n<br/>\n"
        ));
        assert!(page.ends_with("<a href=\"/commands/zabstate\">zabstate</a>\n<br/>\n"));
        assert_eq!(page.matches("<br/>").count(), AdminCommand::ALL.len());
    }
}
