//! The plain-data picture of a running member that every admin surface renders.
//!
//! The server core fills an [`AdminSnapshot`] (cheaply: counters it keeps anyway, plus the
//! per-connection/session/watch lists only when [`Detail`](super::Detail) says the command
//! needs them) and hands it to the pure renderers in `text`, `admin` and `prometheus`. Field
//! names follow ZooKeeper's own (`ServerStats`, `ServerCnxn`, `ZooKeeperServerConf`, …) so the
//! mapping to its output is obvious; where a ZooKeeper/JVM concept has no equivalent here, the
//! field's doc says which truthful value to put in.

use std::net::SocketAddr;

use super::java;

/// ZooKeeper's `ZooTrace` default text trace mask (client requests | server packets |
/// sessions | warnings = 0b100110010), what `gtmk` prints on a fresh server.
pub const DEFAULT_TRACE_MASK: i64 = 306;

/// The member's role, as printed in `Mode:` (srvr/stat) and `zk_server_state` (mntr).
///
/// The strings are ZooKeeper's `ZooKeeperServer.getState()` values; `zkServer.sh status` and
/// most probes grep for them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// A single member without an ensemble.
    #[default]
    Standalone,
    /// The ensemble's leader.
    Leader,
    /// A voting member that is not the leader.
    Follower,
    /// A non-voting member.
    Observer,
    /// Serving reads only because the quorum is lost (`readonlymode.enabled`).
    ReadOnly,
}

impl Mode {
    /// ZooKeeper's spelling of this mode.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Standalone => "standalone",
            Mode::Leader => "leader",
            Mode::Follower => "follower",
            Mode::Observer => "observer",
            Mode::ReadOnly => "read-only",
        }
    }
}

/// Count/total/min/max of latencies in milliseconds, like ZooKeeper's `AvgMinMaxCounter`.
///
/// Kept as raw sums (not a precomputed average) because ZooKeeper's average is rounded in a
/// specific way (4 decimals, HALF_UP on the double) that the renderers reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyStats {
    /// Number of samples since the last reset.
    pub count: u64,
    /// Sum of all samples, in ms.
    pub total_ms: u64,
    /// Smallest sample; only meaningful when `count > 0`.
    pub min_ms: u64,
    /// Largest sample; only meaningful when `count > 0`.
    pub max_ms: u64,
}

impl LatencyStats {
    /// Adds one sample; the core calls this when a response is sent.
    pub fn record(&mut self, ms: u64) {
        if self.count == 0 || ms < self.min_ms {
            self.min_ms = ms;
        }
        if self.count == 0 || ms > self.max_ms {
            self.max_ms = ms;
        }
        self.count = self.count.saturating_add(1);
        self.total_ms = self.total_ms.saturating_add(ms);
    }

    /// Minimum, 0 without samples (as ZooKeeper prints it).
    pub fn min(&self) -> u64 {
        if self.count == 0 { 0 } else { self.min_ms }
    }

    /// Maximum, 0 without samples.
    pub fn max(&self) -> u64 {
        if self.count == 0 { 0 } else { self.max_ms }
    }

    /// The server-wide average, rounded like `AvgMinMaxCounter.getAvg()`.
    pub fn avg(&self) -> f64 {
        java::avg_4dp(self.total_ms, self.count)
    }

    /// The per-connection average, an integer division like `ServerCnxn.getAvgLatency()`.
    pub fn avg_integer(&self) -> u64 {
        self.total_ms.checked_div(self.count).unwrap_or(0)
    }
}

/// Last/min/max sizes of a stream of buffers, ZooKeeper's `BufferStats` (-1 = none yet).
///
/// Used for client response sizes and, on the leader, proposal sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferStats {
    /// Size of the most recent buffer, -1 before the first.
    pub last: i32,
    /// Smallest size seen, -1 before the first.
    pub min: i32,
    /// Largest size seen, -1 before the first.
    pub max: i32,
}

impl Default for BufferStats {
    fn default() -> Self {
        BufferStats {
            last: -1,
            min: -1,
            max: -1,
        }
    }
}

impl BufferStats {
    /// Records one buffer size, with `BufferStats.setLastBufferSize` semantics.
    pub fn record(&mut self, size: i32) {
        self.last = size;
        if self.min == -1 || size < self.min {
            self.min = size;
        }
        if size > self.max {
            self.max = size;
        }
    }
}

/// The serving configuration (`conf`, `/commands/configuration`), from zoo.cfg and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConf {
    /// Plain client port; -1 when the member has no plain listener.
    pub client_port: i32,
    /// TLS client port; -1 when none (ZooKeeper's value for "not configured").
    pub secure_client_port: i32,
    /// Directory holding snapshots. ZooKeeper prints `<dataDir>/version-2`; print the
    /// directory we actually write to.
    pub data_dir: String,
    /// Directory holding the transaction log (same as `data_dir` when not configured).
    pub data_log_dir: String,
    /// `tickTime` in ms.
    pub tick_time: u32,
    /// `maxClientCnxns` (per client IP; 0 = unlimited).
    pub max_client_cnxns: u32,
    /// Effective minimum session timeout in ms (`2 * tickTime` by default).
    pub min_session_timeout: u32,
    /// Effective maximum session timeout in ms (`20 * tickTime` by default).
    pub max_session_timeout: u32,
    /// `clientPortListenBacklog`, -1 for the OS default.
    pub client_port_listen_backlog: i32,
    /// `myid`; ZooKeeper reports 0 for a standalone server.
    pub server_id: i64,
    /// Text of the static config file the member started from (`icfg`), empty if none.
    pub initial_config: String,
}

impl Default for ServerConf {
    fn default() -> Self {
        ServerConf {
            client_port: 2181,
            secure_client_port: -1,
            data_dir: String::new(),
            data_log_dir: String::new(),
            tick_time: 2000,
            max_client_cnxns: 60,
            min_session_timeout: 4000,
            max_session_timeout: 40000,
            client_port_listen_backlog: -1,
            server_id: 0,
            initial_config: String::new(),
        }
    }
}

/// Server-wide request statistics, ZooKeeper's `ServerStats` (reset by `srst`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerStats {
    /// Latency of requests answered by this member, receive to response, in ms.
    pub latency: LatencyStats,
    /// Client packets received (4lw requests count too, as in ZooKeeper).
    pub packets_received: u64,
    /// Client packets sent (responses and watch events).
    pub packets_sent: u64,
    /// Requests received but not yet answered, over all connections.
    pub outstanding_requests: u64,
    /// Open client connections, including the one asking (as ZooKeeper counts it).
    pub alive_connections: u64,
    /// Milliseconds since this member started serving.
    pub uptime_ms: u64,
    /// Sizes of serialized client responses.
    pub client_response_size: BufferStats,
    /// Log fsyncs slower than `fsync.warningthresholdms`.
    pub fsync_threshold_exceed_count: u64,
    /// Failed client authentications.
    pub auth_failed_count: u64,
    /// Connections from localhost that did not use mutual TLS.
    pub non_mtls_local_conn_count: u64,
    /// Connections from elsewhere that did not use mutual TLS.
    pub non_mtls_remote_conn_count: u64,
    /// TLS handshakes in progress.
    pub outstanding_tls_handshake: u64,
    /// Probability of dropping a new connection under load; 0.0 unless we shed connections.
    pub connection_drop_probability: f64,
}

/// Size of the data tree and what hangs off it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataStats {
    /// Last zxid applied to this member's tree.
    pub last_processed_zxid: i64,
    /// Number of znodes, including `/zookeeper` and its children.
    pub node_count: u64,
    /// All watch registrations (data, exist, child, persistent), `DataTree.getWatchCount`.
    pub watch_count: u64,
    /// Number of ephemeral znodes.
    pub ephemerals_count: u64,
    /// Sum over znodes of path length + data length, `DataTree.approximateDataSize`.
    pub approximate_data_size: u64,
    /// Sessions known to the ensemble.
    pub global_sessions: u64,
    /// Local (unreplicated) sessions; 0, we have none.
    pub local_sessions: u64,
    /// Bytes in snapshot files.
    pub data_dir_size: u64,
    /// Bytes in transaction log files.
    pub log_dir_size: u64,
}

/// One client connection (`cons`, `stat`, `dump`), ZooKeeper's `ServerCnxn` stats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Peer address.
    pub remote: SocketAddr,
    /// Java NIO interest set: 1 = reading, 4 = writing (5 = both), 0 = throttled/closing.
    pub interest_ops: u32,
    /// Requests received on this connection and not yet answered (`queued=`).
    pub outstanding_requests: u64,
    /// Packets received on this connection (`recved=`).
    pub packets_received: u64,
    /// Packets sent on this connection (`sent=`).
    pub packets_sent: u64,
    /// Session id; 0 until the handshake completes (then the session fields are printed).
    pub session_id: i64,
    /// Negotiated session timeout in ms.
    pub session_timeout_ms: u32,
    /// Wall-clock time the connection was accepted, epoch ms.
    pub established_ms: i64,
    /// ZooKeeper's code of the last operation (see [`last_op_code`]), "NA" before any.
    pub last_operation: &'static str,
    /// Last client xid answered, -1 before any (then `lcxid` is omitted).
    pub last_cxid: i64,
    /// Zxid in the last response header, -1 before any.
    pub last_zxid: i64,
    /// Time of the last response in ms; 0 before any. ZooKeeper prints its monotonic
    /// clock here (ms since an arbitrary origin, unlike `est`); epoch ms is as good.
    pub last_response_ms: i64,
    /// Latency of the last response, ms.
    pub last_latency_ms: u64,
    /// Latencies of this connection's responses since it opened or `crst`.
    pub latency: LatencyStats,
    /// Whether the connection came in on the TLS port (AdminServer lists those separately).
    pub secure: bool,
    /// When the connection will be closed for silence (last packet + session timeout),
    /// epoch ms; `dump` groups connections by it.
    pub expires_at_ms: i64,
}

impl ConnectionInfo {
    /// A fresh connection with ZooKeeper's initial per-connection values.
    pub fn new(remote: SocketAddr, established_ms: i64) -> Self {
        ConnectionInfo {
            remote,
            interest_ops: 1,
            outstanding_requests: 0,
            packets_received: 0,
            packets_sent: 0,
            session_id: 0,
            session_timeout_ms: 0,
            established_ms,
            last_operation: "NA",
            last_cxid: -1,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency_ms: 0,
            latency: LatencyStats::default(),
            secure: false,
            expires_at_ms: 0,
        }
    }
}

/// One session (`dump`): who owns which ephemerals and when the session expires.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionInfo {
    /// Session id.
    pub session_id: i64,
    /// Negotiated timeout in ms.
    pub timeout_ms: u32,
    /// Expiry deadline, epoch ms, as tracked by the member that decides expiry (leader or
    /// standalone). Followers print timeouts instead and may leave this 0. (ZooKeeper's
    /// admin `dump` shows its monotonic clock here; the 4lw converts it to a date.)
    pub expires_at_ms: i64,
    /// Paths of the ephemeral znodes the session owns.
    pub ephemerals: Vec<String>,
}

/// The paths one session watches (`wchc`, `wchp`, `wchs`).
///
/// ZooKeeper lists only its data-watch table here (getData/exists and persistent watches;
/// child watches count in `watch_count` only). Fill it from whatever table the core keeps;
/// the format is the same either way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionWatches {
    /// Watching session.
    pub session_id: i64,
    /// Watched paths.
    pub paths: Vec<String>,
}

/// One entry of the tree-digest history (`hash`), ZooKeeper's `DataTree.ZxidDigest`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZxidDigest {
    /// Zxid the digest was taken at.
    pub zxid: i64,
    /// Digest algorithm version.
    pub digest_version: i32,
    /// The digest.
    pub digest: i64,
}

/// The newest snapshot on disk (`lsnp`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// Last zxid contained in the snapshot.
    pub zxid: i64,
    /// Modification time of the snapshot file in epoch *seconds* (ZooKeeper's
    /// `FileSnap.getLastSnapshotInfo` divides `lastModified()` by 1000).
    pub timestamp_secs: i64,
}

/// Process resources, read from /proc and getrlimit by the core.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessStats {
    /// Open file descriptors; `None` prints -1 like ZooKeeper's `OSMXBean` off Unix.
    pub open_fds: Option<u64>,
    /// `RLIMIT_NOFILE` soft limit; `None` prints -1.
    pub max_fds: Option<u64>,
    /// User + system CPU seconds (Prometheus `process_cpu_seconds_total`).
    pub cpu_seconds: Option<f64>,
    /// Process start time, epoch ms (Prometheus `process_start_time_seconds`).
    pub start_time_ms: Option<i64>,
    /// Resident set size in bytes.
    pub resident_memory_bytes: Option<u64>,
    /// Virtual memory size in bytes.
    pub virtual_memory_bytes: Option<u64>,
}

/// What `envi` reports. ZooKeeper prints JVM system properties; we print their honest
/// equivalents and ZooKeeper's own "not available" marker `<NA>` for JVM-only keys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// Canonical host name (`host.name`).
    pub host_name: String,
    /// OS name in Java's spelling (`Linux`), see [`java_os_name`].
    pub os_name: String,
    /// CPU architecture in Java's spelling (`amd64`), see [`java_os_arch`].
    pub os_arch: String,
    /// Kernel release (`uname -r`), what Java puts in `os.version`.
    pub os_version: String,
    /// Effective user name.
    pub user_name: String,
    /// That user's home directory.
    pub user_home: String,
    /// Working directory of the process.
    pub user_dir: String,
    /// Temporary directory (`std::env::temp_dir`), Java's `java.io.tmpdir`.
    pub tmp_dir: String,
    /// `os.memory.free`: bytes the process may still grow by (`memory_max - memory_total`).
    /// ZooKeeper means free JVM heap; we have no heap, this is the closest truthful value.
    pub memory_free_bytes: Option<u64>,
    /// `os.memory.max`: the memory limit (cgroup limit, else physical RAM).
    pub memory_max_bytes: Option<u64>,
    /// `os.memory.total`: resident memory of the process.
    pub memory_total_bytes: Option<u64>,
}

/// Whether a quorum member votes, `QuorumPeer.LearnerType` (its ordinal is `peerType=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LearnerType {
    /// Votes and can lead.
    #[default]
    Participant,
    /// Receives the log without voting.
    Observer,
}

impl LearnerType {
    /// ZooKeeper's spelling in config lines and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            LearnerType::Participant => "participant",
            LearnerType::Observer => "observer",
        }
    }

    /// Java enum ordinal, printed as `peerType=`.
    pub fn ordinal(self) -> u8 {
        match self {
            LearnerType::Participant => 0,
            LearnerType::Observer => 1,
        }
    }
}

/// `QuorumPeer.ServerState`: what the member is doing in the ensemble.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PeerState {
    /// No leader known (Raft candidate/election).
    #[default]
    Looking,
    /// Following a leader.
    Following,
    /// Leading.
    Leading,
    /// Observing a leader.
    Observing,
}

impl PeerState {
    /// Lower-case name, as in `zk_peer_state`.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerState::Looking => "looking",
            PeerState::Following => "following",
            PeerState::Leading => "leading",
            PeerState::Observing => "observing",
        }
    }
}

/// `QuorumPeer.ZabState`, the replication phase. Map Raft onto it: no leader = election,
/// catching up from the leader = synchronization, caught up = broadcast.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ZabState {
    /// Choosing a leader.
    #[default]
    Election,
    /// Agreeing on the epoch with a new leader.
    Discovery,
    /// Catching up with the leader.
    Synchronization,
    /// Replicating normally.
    Broadcast,
}

impl ZabState {
    /// Lower-case name, as in `zk_peer_state` and `/commands/zabstate`.
    pub fn as_str(self) -> &'static str {
        match self {
            ZabState::Election => "election",
            ZabState::Discovery => "discovery",
            ZabState::Synchronization => "synchronization",
            ZabState::Broadcast => "broadcast",
        }
    }
}

/// `QuorumPeer.SyncMode`, how a learner is catching up (snapshot install = snap, log
/// entries = diff, log truncation = trunc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Not syncing.
    #[default]
    None,
    /// Receiving log entries.
    Diff,
    /// Receiving a snapshot.
    Snap,
    /// Truncating a divergent log.
    Trunc,
}

impl SyncMode {
    /// Lower-case name, as in `zk_peer_state`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::None => "none",
            SyncMode::Diff => "diff",
            SyncMode::Snap => "snap",
            SyncMode::Trunc => "trunc",
        }
    }
}

/// A host and port, printed like ZooKeeper's `delimitedHostString` (IPv6 in brackets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostPort {
    /// Host name or literal address.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl HostPort {
    /// Builds one from any host string.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        HostPort {
            host: host.into(),
            port,
        }
    }

    /// The host, bracketed when it contains ':' (an IPv6 literal).
    pub fn delimited_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

impl std::fmt::Display for HostPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.delimited_host(), self.port)
    }
}

/// One `server.N=` line of the ensemble configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuorumMember {
    /// `N`, the member's myid.
    pub id: u64,
    /// Host for the quorum and election ports.
    pub host: String,
    /// Port followers connect to the leader on (ZooKeeper's 2888).
    pub quorum_port: u16,
    /// Election port (ZooKeeper's 3888).
    pub election_port: u16,
    /// Voting or not.
    pub learner_type: LearnerType,
    /// Client address when the config line carries one (`;host:port`).
    pub client: Option<HostPort>,
}

/// Leader-only replication numbers (`zk_learners`, `zk_synced_followers`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderStats {
    /// Connected learners (followers and observers).
    pub learners: u64,
    /// Followers that finished syncing and receive proposals.
    pub synced_followers: u64,
    /// Synced followers that are not in the current voting config (mid-reconfig).
    pub synced_non_voting_followers: u64,
    /// `sync` requests from learners waiting for a commit.
    pub pending_syncs: u64,
    /// Milliseconds since this member became leader.
    pub uptime_ms: u64,
    /// Sizes of proposals sent to learners.
    pub proposal_sizes: BufferStats,
    /// Connected observers, for `/commands/observers`.
    pub observers: Vec<LearnerInfo>,
    /// Every other member's replication progress, for `/zk/replication`.
    pub replication: super::replication::ReplicationView,
}

/// One learner connection as the leader sees it (`LearnerHandler.getLearnerHandlerInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LearnerInfo {
    /// Learner's address, "host:port".
    pub remote_address: String,
    /// Learner's myid.
    pub sid: i64,
    /// When it connected, epoch ms.
    pub established_ms: i64,
    /// Packets queued to it.
    pub queued_packets: u64,
    /// Bytes queued to it.
    pub queued_packets_size: u64,
    /// Packets received from it.
    pub packets_received: u64,
    /// Packets sent to it.
    pub packets_sent: u64,
    /// Requests it forwarded.
    pub requests: u64,
    /// Last zxid it acknowledged.
    pub last_zxid: i64,
}

/// Ensemble state; `None` in [`AdminSnapshot::quorum`] means standalone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuorumInfo {
    /// This member's role in the config.
    pub learner_type: LearnerType,
    /// What this member is doing now.
    pub peer_state: PeerState,
    /// Replication phase.
    pub zab_state: ZabState,
    /// How this member is catching up, if it is.
    pub sync_mode: SyncMode,
    /// `initLimit` in ticks.
    pub init_limit: u32,
    /// `syncLimit` in ticks.
    pub sync_limit: u32,
    /// This member's quorum address.
    pub quorum_address: HostPort,
    /// This member's election address.
    pub election_address: HostPort,
    /// This member's client address, if it serves clients.
    pub client_address: Option<HostPort>,
    /// All members of the current configuration.
    pub members: Vec<QuorumMember>,
    /// Version of the current configuration (printed in hex as `version=`).
    pub config_version: i64,
    /// Current leader's myid, -1 when none.
    pub leader_id: i64,
    /// Current leader's address, if known.
    pub leader_address: Option<String>,
    /// The member an observer follows (`zk_observer_master_id`).
    pub observer_master_id: Option<i64>,
    /// Observers synced to this member (leader, or follower acting as observer master).
    pub synced_observers: Option<u64>,
    /// Present on the leader only.
    pub leader: Option<LeaderStats>,
}

impl QuorumInfo {
    /// Voting members in the current config (`zk_quorum_size`).
    pub fn quorum_size(&self) -> u64 {
        self.members
            .iter()
            .filter(|m| m.learner_type == LearnerType::Participant)
            .count() as u64
    }

    /// `getDetailedPeerState()`: "following - broadcast", "looking", "following -
    /// synchronization - snap".
    pub fn detailed_peer_state(&self) -> String {
        let mut s = self.peer_state.as_str().to_string();
        if self.zab_state != ZabState::Election {
            s.push_str(" - ");
            s.push_str(self.zab_state.as_str());
        }
        if self.sync_mode != SyncMode::None {
            s.push_str(" - ");
            s.push_str(self.sync_mode.as_str());
        }
        s
    }

    /// Whether this member is a voter in the current config (`voting` in zabstate).
    pub fn is_voting(&self, my_id: i64) -> bool {
        self.members.iter().any(|m| {
            i64::try_from(m.id).ok() == Some(my_id) && m.learner_type == LearnerType::Participant
        })
    }
}

/// ZooKeeper counters (`ServerMetrics`) we can fill; the renderer prints those given.
///
/// The enum order is the print order, so output is stable whatever order the core uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CounterMetric {
    /// Times this member entered leader election.
    LookingCount,
    /// Transactions committed.
    CommitCount,
    /// Learner syncs done by sending log entries.
    DiffCount,
    /// Learner syncs done by sending a snapshot.
    SnapCount,
    /// Connection attempts.
    ConnectionRequestCount,
    /// Connections refused (limits).
    ConnectionRejected,
    /// Connections dropped under load.
    ConnectionDropCount,
    /// Sessions re-attached to this member.
    ConnectionRevalidateCount,
    /// Bytes received from clients.
    BytesReceivedCount,
    /// Bytes of responses sent.
    ResponseBytes,
    /// Bytes of watch events sent.
    WatchBytes,
    /// Sessions expired by the leader.
    StaleSessionsExpired,
    /// Connections closed before a session was established.
    SessionlessConnectionsExpired,
    /// Requests delayed by throttling.
    ThrottledOps,
    /// Requests refused for exceeding the size limit.
    LargeRequestsRejected,
    /// Proposals sent by the leader.
    ProposalCount,
    /// Proposals received by a learner.
    LearnerProposalReceivedCount,
    /// Commits received by a learner.
    LearnerCommitReceivedCount,
    /// Tree digest mismatches detected.
    DigestMismatchesCount,
    /// Errors that made the server exit or stop serving.
    UnrecoverableErrorCount,
    /// Snapshot requests that failed.
    SnapshotErrorCount,
}

impl CounterMetric {
    /// Every counter, in print order.
    pub const ALL: [CounterMetric; 21] = [
        CounterMetric::LookingCount,
        CounterMetric::CommitCount,
        CounterMetric::DiffCount,
        CounterMetric::SnapCount,
        CounterMetric::ConnectionRequestCount,
        CounterMetric::ConnectionRejected,
        CounterMetric::ConnectionDropCount,
        CounterMetric::ConnectionRevalidateCount,
        CounterMetric::BytesReceivedCount,
        CounterMetric::ResponseBytes,
        CounterMetric::WatchBytes,
        CounterMetric::StaleSessionsExpired,
        CounterMetric::SessionlessConnectionsExpired,
        CounterMetric::ThrottledOps,
        CounterMetric::LargeRequestsRejected,
        CounterMetric::ProposalCount,
        CounterMetric::LearnerProposalReceivedCount,
        CounterMetric::LearnerCommitReceivedCount,
        CounterMetric::DigestMismatchesCount,
        CounterMetric::UnrecoverableErrorCount,
        CounterMetric::SnapshotErrorCount,
    ];

    /// ZooKeeper's metric name (`ServerMetrics.java`).
    pub fn name(self) -> &'static str {
        match self {
            CounterMetric::LookingCount => "looking_count",
            CounterMetric::CommitCount => "commit_count",
            CounterMetric::DiffCount => "diff_count",
            CounterMetric::SnapCount => "snap_count",
            CounterMetric::ConnectionRequestCount => "connection_request_count",
            CounterMetric::ConnectionRejected => "connection_rejected",
            CounterMetric::ConnectionDropCount => "connection_drop_count",
            CounterMetric::ConnectionRevalidateCount => "connection_revalidate_count",
            CounterMetric::BytesReceivedCount => "bytes_received_count",
            CounterMetric::ResponseBytes => "response_bytes",
            CounterMetric::WatchBytes => "watch_bytes",
            CounterMetric::StaleSessionsExpired => "stale_sessions_expired",
            CounterMetric::SessionlessConnectionsExpired => "sessionless_connections_expired",
            CounterMetric::ThrottledOps => "throttled_ops",
            CounterMetric::LargeRequestsRejected => "large_requests_rejected",
            CounterMetric::ProposalCount => "proposal_count",
            CounterMetric::LearnerProposalReceivedCount => "learner_proposal_received_count",
            CounterMetric::LearnerCommitReceivedCount => "learner_commit_received_count",
            CounterMetric::DigestMismatchesCount => "digest_mismatches_count",
            CounterMetric::UnrecoverableErrorCount => "unrecoverable_error_count",
            CounterMetric::SnapshotErrorCount => "snapshot_error_count",
        }
    }
}

/// How much of a summary ZooKeeper exports (`MetricsContext.DetailLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryDetail {
    /// avg/min/max/cnt/sum in mntr; the 0.5 quantile in Prometheus.
    Basic,
    /// Adds p50/p95/p99/p999 in mntr; 0.5/0.9/0.99 quantiles in Prometheus.
    Advanced,
}

/// ZooKeeper summaries (`ServerMetrics`) we can fill, with their detail level.
///
/// Basic ones are listed first because ZooKeeper's `DefaultMetricsProvider` dumps basic
/// summaries before advanced ones; the enum order is the print order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SummaryMetric {
    /// Log fsync duration, ms.
    FsyncTime,
    /// Snapshot write duration, ms.
    SnapshotTime,
    /// Time to load the database at startup, ms.
    DbInitTime,
    /// Leader election duration, ms.
    ElectionTime,
    /// Time a follower took to sync with the leader, ms.
    FollowerSyncTime,
    /// Time an observer took to sync, ms.
    ObserverSyncTime,
    /// Snapshot load time at startup, ms.
    StartupSnapLoadTime,
    /// Log replay time at startup, ms.
    StartupTxnsLoadTime,
    /// Transactions replayed at startup.
    StartupTxnsLoaded,
    /// Requests per group commit.
    SyncProcessorBatchSize,
    /// Requests waiting for the log writer.
    SyncProcessorQueueSize,
    /// Read request latency, ms.
    ReadLatency,
    /// Write request latency, ms.
    UpdateLatency,
    /// Proposal creation to commit on this member, ms.
    PropagationLatency,
    /// Proposal creation to quorum ack on the leader, ms.
    ProposalLatency,
    /// Proposal to quorum ack, ms.
    QuorumAckLatency,
    /// Commit propagation to learners, ms.
    CommitPropagationLatency,
}

impl SummaryMetric {
    /// Every summary, in print order.
    pub const ALL: [SummaryMetric; 17] = [
        SummaryMetric::FsyncTime,
        SummaryMetric::SnapshotTime,
        SummaryMetric::DbInitTime,
        SummaryMetric::ElectionTime,
        SummaryMetric::FollowerSyncTime,
        SummaryMetric::ObserverSyncTime,
        SummaryMetric::StartupSnapLoadTime,
        SummaryMetric::StartupTxnsLoadTime,
        SummaryMetric::StartupTxnsLoaded,
        SummaryMetric::SyncProcessorBatchSize,
        SummaryMetric::SyncProcessorQueueSize,
        SummaryMetric::ReadLatency,
        SummaryMetric::UpdateLatency,
        SummaryMetric::PropagationLatency,
        SummaryMetric::ProposalLatency,
        SummaryMetric::QuorumAckLatency,
        SummaryMetric::CommitPropagationLatency,
    ];

    /// ZooKeeper's metric name (`ServerMetrics.java`).
    pub fn name(self) -> &'static str {
        match self {
            SummaryMetric::FsyncTime => "fsynctime",
            SummaryMetric::SnapshotTime => "snapshottime",
            SummaryMetric::DbInitTime => "dbinittime",
            SummaryMetric::ElectionTime => "election_time",
            SummaryMetric::FollowerSyncTime => "follower_sync_time",
            SummaryMetric::ObserverSyncTime => "observer_sync_time",
            SummaryMetric::StartupSnapLoadTime => "startup_snap_load_time",
            SummaryMetric::StartupTxnsLoadTime => "startup_txns_load_time",
            SummaryMetric::StartupTxnsLoaded => "startup_txns_loaded",
            SummaryMetric::SyncProcessorBatchSize => "sync_processor_batch_size",
            SummaryMetric::SyncProcessorQueueSize => "sync_processor_queue_size",
            SummaryMetric::ReadLatency => "readlatency",
            SummaryMetric::UpdateLatency => "updatelatency",
            SummaryMetric::PropagationLatency => "propagation_latency",
            SummaryMetric::ProposalLatency => "proposal_latency",
            SummaryMetric::QuorumAckLatency => "quorum_ack_latency",
            SummaryMetric::CommitPropagationLatency => "commit_propagation_latency",
        }
    }

    /// ZooKeeper's detail level for this summary.
    pub fn detail(self) -> SummaryDetail {
        match self {
            SummaryMetric::ReadLatency
            | SummaryMetric::UpdateLatency
            | SummaryMetric::PropagationLatency
            | SummaryMetric::ProposalLatency
            | SummaryMetric::QuorumAckLatency
            | SummaryMetric::CommitPropagationLatency => SummaryDetail::Advanced,
            _ => SummaryDetail::Basic,
        }
    }
}

/// Values of one summary: lifetime count/sum/min/max plus quantiles.
///
/// The core keeps one histogram per summary (hdrhistogram is a dependency) and reads the
/// quantiles from it; they are only printed when `count > 0` (Prometheus shows NaN, mntr 0
/// otherwise, as ZooKeeper does).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SummaryStats {
    /// Samples since reset.
    pub count: u64,
    /// Sum of samples.
    pub sum: u64,
    /// Smallest sample (meaningful when `count > 0`).
    pub min: u64,
    /// Largest sample (meaningful when `count > 0`).
    pub max: u64,
    /// Median.
    pub p50: f64,
    /// 90th percentile (Prometheus only).
    pub p90: f64,
    /// 95th percentile (mntr only).
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile (mntr only).
    pub p999: f64,
}

/// Counters and summaries beyond the fixed gauges.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Counters the core keeps; any order.
    pub counters: Vec<(CounterMetric, u64)>,
    /// Summaries the core keeps; any order.
    pub summaries: Vec<(SummaryMetric, SummaryStats)>,
}

impl Metrics {
    /// Counters in print order.
    pub fn sorted_counters(&self) -> Vec<(CounterMetric, u64)> {
        let mut v = self.counters.clone();
        v.sort_by_key(|(k, _)| *k);
        v
    }

    /// Summaries in print order.
    pub fn sorted_summaries(&self) -> Vec<(SummaryMetric, SummaryStats)> {
        let mut v = self.summaries.clone();
        v.sort_by_key(|(k, _)| *k);
        v
    }
}

/// Everything the admin surfaces print, captured at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminSnapshot {
    /// Whether the member serves clients now (ZooKeeper's `zkServer.isRunning()`); false
    /// during election or catch-up, when most commands answer "not currently serving".
    pub serving: bool,
    /// Role.
    pub mode: Mode,
    /// Serving configuration.
    pub conf: ServerConf,
    /// Request statistics.
    pub stats: ServerStats,
    /// Tree statistics.
    pub data: DataStats,
    /// Client connections (filled when [`Detail::connections`](super::Detail)).
    pub connections: Vec<ConnectionInfo>,
    /// Sessions with their ephemerals (filled when [`Detail::sessions`](super::Detail)).
    pub sessions: Vec<SessionInfo>,
    /// Watches by session (filled when [`Detail::watches`](super::Detail)).
    pub watches: Vec<SessionWatches>,
    /// Tree-digest history (`hash`); empty when digests are not computed.
    pub digests: Vec<ZxidDigest>,
    /// Newest snapshot, if any.
    pub last_snapshot: Option<SnapshotInfo>,
    /// Value last set by `stmk` (it does not change our logging; kept for `gtmk`).
    pub trace_mask: i64,
    /// Process resources.
    pub process: ProcessStats,
    /// Host and process environment.
    pub environment: Environment,
    /// Ensemble state; `None` when standalone.
    pub quorum: Option<QuorumInfo>,
    /// Counters and summaries.
    pub metrics: Metrics,
}

impl Default for AdminSnapshot {
    fn default() -> Self {
        AdminSnapshot {
            serving: true,
            mode: Mode::Standalone,
            conf: ServerConf::default(),
            stats: ServerStats::default(),
            data: DataStats::default(),
            connections: Vec::new(),
            sessions: Vec::new(),
            watches: Vec::new(),
            digests: Vec::new(),
            last_snapshot: None,
            trace_mask: DEFAULT_TRACE_MASK,
            process: ProcessStats::default(),
            environment: Environment::default(),
            quorum: None,
            metrics: Metrics::default(),
        }
    }
}

/// The `lop=` code ZooKeeper's `FinalRequestProcessor` records for an opcode.
///
/// The core stores this in [`ConnectionInfo::last_operation`] after each response; opcodes
/// ZooKeeper does not record (auth, sasl) give "NA", ZooKeeper's initial value.
pub fn last_op_code(opcode: i32) -> &'static str {
    match opcode {
        11 => "PING",
        -10 => "SESS",
        14 => "MULT",
        22 => "MLTR",
        1 | 15 | 19 | 21 => "CREA",
        2 | 20 => "DELE",
        5 => "SETD",
        16 => "RECO",
        7 => "SETA",
        -11 => "CLOS",
        9 => "SYNC",
        13 => "CHEC",
        3 => "EXIS",
        4 => "GETD",
        101 => "SETW",
        105 => "STW2",
        106 => "ADDW",
        6 => "GETA",
        8 | 12 => "GETC",
        104 => "GETACN",
        17 => "CHKW",
        18 => "REMW",
        107 => "HOMI",
        103 => "GETE",
        _ => "NA",
    }
}

/// Java's `os.name` for a Rust `std::env::consts::OS` value.
pub fn java_os_name(rust_os: &str) -> String {
    match rust_os {
        "linux" => "Linux".to_string(),
        "macos" => "Mac OS X".to_string(),
        "windows" => "Windows".to_string(),
        "freebsd" => "FreeBSD".to_string(),
        "netbsd" => "NetBSD".to_string(),
        "openbsd" => "OpenBSD".to_string(),
        "solaris" | "illumos" => "SunOS".to_string(),
        other => other.to_string(),
    }
}

/// Java's `os.arch` for a Rust `std::env::consts::ARCH` value.
pub fn java_os_arch(rust_arch: &str) -> String {
    match rust_arch {
        "x86_64" => "amd64".to_string(),
        "x86" => "x86".to_string(),
        "powerpc64" => "ppc64".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_stats_track_min_max_and_average() {
        let mut l = LatencyStats::default();
        assert_eq!((l.min(), l.max(), l.avg(), l.avg_integer()), (0, 0, 0.0, 0));
        l.record(5);
        l.record(2);
        l.record(4);
        assert_eq!((l.min(), l.max(), l.avg_integer()), (2, 5, 3));
        assert_eq!(l.avg(), 3.6667);
    }

    #[test]
    fn buffer_stats_start_at_minus_one() {
        let mut b = BufferStats::default();
        assert_eq!((b.last, b.min, b.max), (-1, -1, -1));
        b.record(10);
        b.record(4);
        assert_eq!((b.last, b.min, b.max), (4, 4, 10));
    }

    #[test]
    fn detailed_peer_state_matches_quorum_peer() {
        let mut q = QuorumInfo::default();
        assert_eq!(q.detailed_peer_state(), "looking");
        q.peer_state = PeerState::Following;
        q.zab_state = ZabState::Synchronization;
        q.sync_mode = SyncMode::Snap;
        assert_eq!(
            q.detailed_peer_state(),
            "following - synchronization - snap"
        );
        q.zab_state = ZabState::Broadcast;
        q.sync_mode = SyncMode::None;
        assert_eq!(q.detailed_peer_state(), "following - broadcast");
    }

    #[test]
    fn last_op_codes_follow_final_request_processor() {
        assert_eq!(last_op_code(4), "GETD");
        assert_eq!(last_op_code(12), "GETC");
        assert_eq!(last_op_code(15), "CREA");
        assert_eq!(last_op_code(-11), "CLOS");
        assert_eq!(last_op_code(100), "NA");
    }

    #[test]
    fn java_spellings_of_os_and_arch() {
        assert_eq!(java_os_name("linux"), "Linux");
        assert_eq!(java_os_arch("x86_64"), "amd64");
        assert_eq!(java_os_arch("aarch64"), "aarch64");
    }

    #[test]
    fn host_port_brackets_ipv6() {
        assert_eq!(HostPort::new("::1", 2181).to_string(), "[::1]:2181");
        assert_eq!(HostPort::new("zk-0.zk", 2888).to_string(), "zk-0.zk:2888");
    }
}
