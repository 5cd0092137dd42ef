//! Filled snapshots shared by the renderers' tests.

use super::model::*;

pub const SID1: i64 = 0x0100_0001_a2b3_0000;
pub const SID2: i64 = 0x0100_0001_a2b3_0001;

fn connection(addr: &str, established_ms: i64) -> ConnectionInfo {
    ConnectionInfo::new(addr.parse().expect("test address"), established_ms)
}

/// A standalone member with two clients (one of them the 4lw asker), two sessions and
/// three watches.
pub fn standalone() -> AdminSnapshot {
    let mut latency = LatencyStats::default();
    for ms in [0, 1, 4] {
        latency.record(ms);
    }
    let mut c1 = connection("127.0.0.1:40312", 1_700_000_000_000);
    c1.packets_received = 6;
    c1.packets_sent = 6;
    c1.session_id = SID1;
    c1.session_timeout_ms = 30_000;
    c1.last_operation = last_op_code(4);
    c1.last_cxid = 5;
    c1.last_zxid = 0x1a;
    c1.last_response_ms = 1_700_000_005_000;
    c1.last_latency_ms = 1;
    for ms in [0, 1, 1, 0, 4] {
        c1.latency.record(ms);
    }
    c1.expires_at_ms = 1_700_000_040_000;
    let mut c2 = connection("[::1]:40314", 1_700_000_009_000);
    c2.interest_ops = 0;
    c2.packets_received = 1;
    c2.expires_at_ms = 1_700_000_040_000;

    let mut client_response_size = BufferStats::default();
    client_response_size.record(16);
    client_response_size.record(120);
    client_response_size.record(48);

    AdminSnapshot {
        serving: true,
        mode: Mode::Standalone,
        conf: ServerConf {
            data_dir: "/var/lib/zk/data".to_string(),
            data_log_dir: "/var/lib/zk/log".to_string(),
            initial_config: "tickTime=2000\nclientPort=2181\n".to_string(),
            ..ServerConf::default()
        },
        stats: ServerStats {
            latency,
            packets_received: 11,
            packets_sent: 10,
            outstanding_requests: 0,
            alive_connections: 2,
            uptime_ms: 123_456,
            client_response_size,
            ..ServerStats::default()
        },
        data: DataStats {
            last_processed_zxid: 0x1a,
            node_count: 7,
            watch_count: 3,
            ephemerals_count: 2,
            approximate_data_size: 190,
            global_sessions: 2,
            local_sessions: 0,
            data_dir_size: 4096,
            log_dir_size: 67_108_880,
        },
        connections: vec![c1, c2],
        sessions: vec![
            SessionInfo {
                session_id: SID2,
                timeout_ms: 10_000,
                expires_at_ms: 1_700_000_012_000,
                ephemerals: vec![],
            },
            SessionInfo {
                session_id: SID1,
                timeout_ms: 30_000,
                expires_at_ms: 1_700_000_036_000,
                ephemerals: vec![
                    "/services/a/node-1".to_string(),
                    "/locks/l-0000000001".to_string(),
                ],
            },
        ],
        watches: vec![
            SessionWatches {
                session_id: SID2,
                paths: vec!["/config".to_string()],
            },
            SessionWatches {
                session_id: SID1,
                paths: vec!["/services".to_string(), "/config".to_string()],
            },
        ],
        digests: vec![ZxidDigest {
            zxid: 0x1a,
            digest_version: 2,
            digest: 1_234_567_890,
        }],
        last_snapshot: Some(SnapshotInfo {
            zxid: 0x12,
            timestamp_secs: 1_699_999_000,
        }),
        trace_mask: DEFAULT_TRACE_MASK,
        process: ProcessStats {
            open_fds: Some(42),
            max_fds: Some(1_048_576),
            cpu_seconds: Some(1.25),
            start_time_ms: Some(1_700_000_000_000),
            resident_memory_bytes: Some(31_457_280),
            virtual_memory_bytes: Some(1_073_741_824),
        },
        environment: Environment {
            host_name: "zk-0.zk-hs.default.svc.cluster.local".to_string(),
            os_name: java_os_name("linux"),
            os_arch: java_os_arch("x86_64"),
            os_version: "6.8.0-45-generic".to_string(),
            user_name: "zk".to_string(),
            user_home: "/home/zk".to_string(),
            user_dir: "/".to_string(),
            tmp_dir: "/tmp".to_string(),
            memory_free_bytes: Some(2048 * 1024 * 1024 - 30 * 1024 * 1024),
            memory_max_bytes: Some(2048 * 1024 * 1024),
            memory_total_bytes: Some(30 * 1024 * 1024),
        },
        quorum: None,
        metrics: Metrics {
            counters: vec![
                (CounterMetric::ConnectionRejected, 0),
                (CounterMetric::CommitCount, 26),
            ],
            summaries: vec![
                (
                    SummaryMetric::ReadLatency,
                    SummaryStats {
                        count: 4,
                        sum: 6,
                        min: 0,
                        max: 3,
                        p50: 1.0,
                        p90: 3.0,
                        p95: 3.0,
                        p99: 3.0,
                        p999: 3.0,
                    },
                ),
                (
                    SummaryMetric::FsyncTime,
                    SummaryStats {
                        count: 2,
                        sum: 9,
                        min: 4,
                        max: 5,
                        p50: 4.0,
                        ..SummaryStats::default()
                    },
                ),
            ],
        },
    }
}

/// Member 1 of three, leading; member 3 is an observer.
pub fn leader() -> AdminSnapshot {
    let mut snap = standalone();
    snap.mode = Mode::Leader;
    snap.conf.server_id = 1;
    snap.data.last_processed_zxid = 0x1_0000_0002;
    let mut proposal_sizes = BufferStats::default();
    proposal_sizes.record(92);
    proposal_sizes.record(36);
    let member = |id: u64, learner_type| QuorumMember {
        id,
        host: format!("zk-{}.zk-hs", id - 1),
        quorum_port: 2888,
        election_port: 3888,
        learner_type,
        client: Some(HostPort::new("0.0.0.0", 2181)),
    };
    snap.quorum = Some(QuorumInfo {
        learner_type: LearnerType::Participant,
        peer_state: PeerState::Leading,
        zab_state: ZabState::Broadcast,
        sync_mode: SyncMode::None,
        init_limit: 10,
        sync_limit: 5,
        quorum_address: HostPort::new("zk-0.zk-hs", 2888),
        election_address: HostPort::new("zk-0.zk-hs", 3888),
        client_address: Some(HostPort::new("0.0.0.0", 2181)),
        members: vec![
            member(3, LearnerType::Observer),
            member(1, LearnerType::Participant),
            member(2, LearnerType::Participant),
        ],
        config_version: 0x1_0000_0000,
        leader_id: 1,
        leader_address: Some("zk-0.zk-hs".to_string()),
        observer_master_id: None,
        synced_observers: Some(1),
        leader: Some(LeaderStats {
            learners: 2,
            synced_followers: 1,
            synced_non_voting_followers: 0,
            pending_syncs: 0,
            uptime_ms: 120_000,
            proposal_sizes,
            observers: vec![LearnerInfo {
                remote_address: "10.0.0.3:51234".to_string(),
                sid: 3,
                established_ms: 1_700_000_001_000,
                queued_packets: 0,
                queued_packets_size: 0,
                packets_received: 40,
                packets_sent: 41,
                requests: 2,
                last_zxid: 0x1_0000_0002,
            }],
            replication: Default::default(),
        }),
    });
    snap
}

/// Member 2 following member 1.
pub fn follower() -> AdminSnapshot {
    let mut snap = leader();
    snap.mode = Mode::Follower;
    snap.conf.server_id = 2;
    if let Some(q) = snap.quorum.as_mut() {
        q.peer_state = PeerState::Following;
        q.leader = None;
        q.synced_observers = None;
        q.quorum_address = HostPort::new("zk-1.zk-hs", 2888);
        q.election_address = HostPort::new("zk-1.zk-hs", 3888);
    }
    snap
}
