//! The text four-letter words answer with, byte for byte as ZooKeeper 3.9 prints it.
//!
//! Each function names the Java source it reproduces (`server/command/*.java` and what they
//! call). `PrintWriter.println` ends lines with "\n" on the Unix JVMs ZooKeeper runs on.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::command::FourLetterWord;
use super::full_version;
use super::java;
use super::model::{AdminSnapshot, ConnectionInfo, Mode};
use super::monitor::{self, MonitorValue};

/// `AbstractFourLetterCommand.ZK_NOT_SERVING`.
pub const ZK_NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// The answer to `word` (already whitelisted, effects already applied), or `None` when
/// ZooKeeper closes the connection without a word (`telnet close`).
pub fn render(word: FourLetterWord, snap: &AdminSnapshot) -> Option<String> {
    let not_serving = || format!("{ZK_NOT_SERVING}\n");
    let text = match word {
        // RuokCommand: no newline, and no serving check.
        FourLetterWord::Ruok => "imok".to_string(),
        FourLetterWord::Envi => envi(snap),
        // TraceMaskCommand / SetTraceMaskCommand: the mask, no newline.
        FourLetterWord::Gtmk | FourLetterWord::Stmk => snap.trace_mask.to_string(),
        FourLetterWord::TelnetClose => return None,
        // IsroCommand prints "null" when the server is not running.
        FourLetterWord::Isro if !snap.serving => "null".to_string(),
        FourLetterWord::Isro if snap.mode == Mode::ReadOnly => "ro".to_string(),
        FourLetterWord::Isro => "rw".to_string(),
        // DigestCommand uses print, not println, for the not-serving text.
        FourLetterWord::Hash if !snap.serving => ZK_NOT_SERVING.to_string(),
        FourLetterWord::Hash => hash(snap),
        _ if !snap.serving => not_serving(),
        FourLetterWord::Srvr => stat(snap, false),
        FourLetterWord::Stat => stat(snap, true),
        FourLetterWord::Conf => conf(snap),
        FourLetterWord::Cons => cons(snap),
        FourLetterWord::Crst => "Connection stats reset.\n".to_string(),
        FourLetterWord::Srst => "Server stats reset.\n".to_string(),
        FourLetterWord::Dirs => format!(
            "datadir_size: {}\nlogdir_size: {}\n",
            snap.data.data_dir_size, snap.data.log_dir_size
        ),
        FourLetterWord::Dump => dump(snap),
        FourLetterWord::Mntr => mntr(snap),
        FourLetterWord::Wchs => wchs(snap),
        FourLetterWord::Wchc => wchc(snap),
        FourLetterWord::Wchp => wchp(snap),
    };
    Some(text)
}

/// `ServerCnxn.dumpConnectionInfo(pw, brief)`:
/// ` /127.0.0.1:40312[1](queued=0,recved=3,sent=3,sid=0x…,lop=GETD,…)`.
pub fn connection_info(c: &ConnectionInfo, brief: bool) -> String {
    let mut s = format!(
        " {}[{}](queued={},recved={},sent={}",
        java::inet_socket_address(&c.remote),
        if c.interest_ops == 0 {
            "0".to_string()
        } else {
            format!("{:x}", c.interest_ops)
        },
        c.outstanding_requests,
        c.packets_received,
        c.packets_sent
    );
    if !brief && c.session_id != 0 {
        let _ = write!(
            s,
            ",sid=0x{},lop={},est={},to={}",
            java::long_hex(c.session_id),
            c.last_operation,
            c.established_ms,
            c.session_timeout_ms
        );
        if c.last_cxid >= 0 {
            let _ = write!(s, ",lcxid=0x{}", java::long_hex(c.last_cxid));
        }
        let _ = write!(
            s,
            ",lzxid=0x{},lresp={},llat={},minlat={},avglat={},maxlat={}",
            java::long_hex(c.last_zxid),
            c.last_response_ms,
            c.last_latency_ms,
            c.latency.min(),
            c.latency.avg_integer(),
            c.latency.max()
        );
    }
    s.push(')');
    s
}

/// `ServerStats.toString()`: the block from `Latency min/avg/max` to `Mode`.
pub fn server_stats(snap: &AdminSnapshot) -> String {
    let s = &snap.stats;
    format!(
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\n\
         Outstanding: {}\nZxid: 0x{}\nMode: {}\n",
        s.latency.min(),
        java::double(s.latency.avg()),
        s.latency.max(),
        s.packets_received,
        s.packets_sent,
        s.alive_connections,
        s.outstanding_requests,
        java::long_hex(snap.data.last_processed_zxid),
        snap.mode.as_str()
    )
}

/// `StatCommand` for `srvr` (no client list) and `stat` (with one).
fn stat(snap: &AdminSnapshot, with_clients: bool) -> String {
    let mut out = format!("Zookeeper version: {}\n", full_version());
    if snap.mode == Mode::ReadOnly {
        out.push_str("READ-ONLY mode; serving only read-only clients\n");
    }
    if with_clients {
        out.push_str("Clients:\n");
        for c in &snap.connections {
            out.push_str(&connection_info(c, true));
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&server_stats(snap));
    let _ = writeln!(out, "Node count: {}", snap.data.node_count);
    if snap.mode == Mode::Leader
        && let Some(l) = snap.quorum.as_ref().and_then(|q| q.leader.as_ref())
    {
        let p = l.proposal_sizes;
        let _ = writeln!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}",
            p.last, p.min, p.max
        );
    }
    out
}

/// `ConsCommand`: every connection in full, one per line, then an empty line.
fn cons(snap: &AdminSnapshot) -> String {
    let mut out = String::new();
    for c in &snap.connections {
        out.push_str(&connection_info(c, false));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// `ZooKeeperServer.dumpConf` (+ `QuorumZooKeeperServer.dumpConf` on quorum members, which
/// ends with the membership and no final newline; the read-only server omits membership).
fn conf(snap: &AdminSnapshot) -> String {
    let c = &snap.conf;
    let mut out = format!(
        "clientPort={}\nsecureClientPort={}\ndataDir={}\ndataDirSize={}\ndataLogDir={}\n\
         dataLogSize={}\ntickTime={}\nmaxClientCnxns={}\nminSessionTimeout={}\n\
         maxSessionTimeout={}\nclientPortListenBacklog={}\nserverId={}\n",
        c.client_port,
        c.secure_client_port,
        c.data_dir,
        snap.data.data_dir_size,
        c.data_log_dir,
        snap.data.log_dir_size,
        c.tick_time,
        c.max_client_cnxns,
        c.min_session_timeout,
        c.max_session_timeout,
        c.client_port_listen_backlog,
        c.server_id
    );
    if let Some(q) = &snap.quorum {
        // electionAlg: 3 (FastLeaderElection) is the only value ZooKeeper 3.9 accepts; we
        // elect through Raft, but the key describes the config value, which is still 3.
        let _ = write!(
            out,
            "initLimit={}\nsyncLimit={}\nelectionAlg=3\nelectionPort={}\nquorumPort={}\n\
             peerType={}\n",
            q.init_limit,
            q.sync_limit,
            q.election_address.port,
            q.quorum_address.port,
            q.learner_type.ordinal()
        );
        if snap.mode != Mode::ReadOnly {
            out.push_str("membership: \n");
            out.push_str(&membership(q));
        }
    }
    out
}

/// `QuorumMaj.toString()`: `server.N=host:quorumPort:electionPort:type[;clientHost:port]`
/// lines, then `version=<hex>` without a newline. The same text is `/zookeeper/config`.
pub fn membership(q: &super::model::QuorumInfo) -> String {
    let mut members: Vec<_> = q.members.iter().collect();
    members.sort_by_key(|m| m.id);
    let mut out = String::new();
    for m in members {
        let host = super::model::HostPort::new(m.host.clone(), m.quorum_port);
        let _ = write!(
            out,
            "server.{}={}:{}:{}",
            m.id,
            host.delimited_host(),
            m.quorum_port,
            m.election_port
        );
        out.push(':');
        out.push_str(m.learner_type.as_str());
        if let Some(client) = &m.client {
            let _ = write!(out, ";{client}");
        }
        out.push('\n');
    }
    let _ = write!(out, "version={}", java::long_hex(q.config_version));
    out
}

/// `Environment.list()` as printed by `EnvCommand`.
fn envi(snap: &AdminSnapshot) -> String {
    let mut out = "Environment:\n".to_string();
    for (k, v) in environment_entries(snap) {
        let _ = writeln!(out, "{k}={v}");
    }
    out
}

/// ZooKeeper's `Environment.list()` keys in order, with our values. JVM-only keys get
/// `<NA>`, the value ZooKeeper itself prints when a property is missing.
pub fn environment_entries(snap: &AdminSnapshot) -> Vec<(&'static str, String)> {
    let e = &snap.environment;
    let na = || "<NA>".to_string();
    let or_na = |s: &str| {
        if s.is_empty() { na() } else { s.to_string() }
    };
    let mb = |b: Option<u64>| b.map_or_else(na, |b| format!("{}MB", b / (1024 * 1024)));
    vec![
        ("zookeeper.version", full_version()),
        ("host.name", or_na(&e.host_name)),
        ("java.version", na()),
        ("java.vendor", na()),
        ("java.home", na()),
        ("java.class.path", na()),
        ("java.library.path", na()),
        ("java.io.tmpdir", or_na(&e.tmp_dir)),
        ("java.compiler", na()),
        ("os.name", or_na(&e.os_name)),
        ("os.arch", or_na(&e.os_arch)),
        ("os.version", or_na(&e.os_version)),
        ("user.name", or_na(&e.user_name)),
        ("user.home", or_na(&e.user_home)),
        ("user.dir", or_na(&e.user_dir)),
        ("os.memory.free", mb(e.memory_free_bytes)),
        ("os.memory.max", mb(e.memory_max_bytes)),
        ("os.memory.total", mb(e.memory_total_bytes)),
    ]
}

/// `MonitorCommand`: `zk_<key>\t<value>` lines.
fn mntr(snap: &AdminSnapshot) -> String {
    let mut out = String::new();
    for (k, v) in monitor::monitor_values(snap) {
        let value = match v {
            MonitorValue::Int(i) => i.to_string(),
            MonitorValue::Double(d) => java::double(d),
            MonitorValue::Text(t) => t,
        };
        let _ = writeln!(out, "zk_{k}\t{value}");
    }
    out
}

/// `DumpCommand`: session tracker, ephemerals, connections by expiry.
fn dump(snap: &AdminSnapshot) -> String {
    let mut out = "SessionTracker dump:\n".to_string();
    let mut sessions: Vec<_> = snap.sessions.iter().collect();
    sessions.sort_by_key(|s| s.session_id);
    if matches!(snap.mode, Mode::Follower | Mode::Observer) {
        // LearnerSessionTracker.dumpSessions: sessions with timeouts.
        let _ = writeln!(out, "Global Sessions({}):", sessions.len());
        for s in &sessions {
            let _ = writeln!(
                out,
                "0x{}\t{}ms",
                java::long_hex(s.session_id),
                s.timeout_ms
            );
        }
    } else {
        // SessionTrackerImpl.dumpSessions → ExpiryQueue.dump.
        let groups = group_by_expiry(sessions.iter().map(|s| (s.expires_at_ms, s.session_id)));
        out.push_str("Session ");
        out.push_str(&expiry_dump(&groups, sessions.len(), |sid| {
            format!("0x{}", java::long_hex(*sid))
        }));
    }
    // DataTree.dumpEphemerals.
    out.push_str("ephemeral nodes dump:\n");
    let owners: Vec<_> = sessions
        .iter()
        .filter(|s| !s.ephemerals.is_empty())
        .collect();
    let _ = writeln!(out, "Sessions with Ephemerals ({}):", owners.len());
    for s in owners {
        let _ = writeln!(out, "0x{}:", java::long_hex(s.session_id));
        let mut paths: Vec<_> = s.ephemerals.iter().collect();
        paths.sort();
        for p in paths {
            let _ = writeln!(out, "\t{p}");
        }
    }
    // NIOServerCnxnFactory.dumpConnections → ExpiryQueue.dump of connections.
    out.push_str("Connections dump:\n");
    let groups = group_by_expiry(
        snap.connections
            .iter()
            .enumerate()
            .map(|(i, c)| (c.expires_at_ms, i)),
    );
    out.push_str("Connections ");
    // Each entry is NIOServerCnxn.toString(), not the stats line.
    out.push_str(&expiry_dump(&groups, snap.connections.len(), |i| {
        snap.connections
            .get(*i)
            .map(|c| {
                format!(
                    "ip: {} sessionId: 0x{}",
                    java::inet_socket_address(&c.remote),
                    java::long_hex(c.session_id)
                )
            })
            .unwrap_or_default()
    }));
    out
}

fn group_by_expiry<T>(items: impl Iterator<Item = (i64, T)>) -> BTreeMap<i64, Vec<T>> {
    let mut groups: BTreeMap<i64, Vec<T>> = BTreeMap::new();
    for (at, item) in items {
        groups.entry(at).or_default().push(item);
    }
    groups
}

/// `ExpiryQueue.dump`: `Sets (groups)/(elements):` then `<n> expire at <Date>:` groups.
fn expiry_dump<T>(
    groups: &BTreeMap<i64, Vec<T>>,
    elements: usize,
    show: impl Fn(&T) -> String,
) -> String {
    let mut out = format!("Sets ({})/({}):\n", groups.len(), elements);
    for (at, items) in groups {
        let _ = writeln!(out, "{} expire at {}:", items.len(), java::date(*at));
        for item in items {
            let _ = writeln!(out, "\t{}", show(item));
        }
    }
    out
}

/// Distinct watched paths with their watching sessions, both sorted.
pub fn watches_by_path(snap: &AdminSnapshot) -> BTreeMap<&str, Vec<i64>> {
    let mut by_path: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for w in &snap.watches {
        for p in &w.paths {
            by_path.entry(p.as_str()).or_default().push(w.session_id);
        }
    }
    for ids in by_path.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    by_path
}

/// `WatchManager.getWatchesSummary`: (sessions with watches, distinct paths, total watches).
pub fn watch_summary(snap: &AdminSnapshot) -> (usize, usize, usize) {
    let connections = snap.watches.iter().filter(|w| !w.paths.is_empty()).count();
    let total = snap.watches.iter().map(|w| w.paths.len()).sum();
    (connections, watches_by_path(snap).len(), total)
}

/// `WatchManager.toString()` + `WatchCommand`'s final println.
fn wchs(snap: &AdminSnapshot) -> String {
    let (connections, paths, total) = watch_summary(snap);
    format!("{connections} connections watching {paths} paths\nTotal watches:{total}\n")
}

/// `WatchManager.dumpWatches(pw, false)`: sessions, each followed by its paths.
fn wchc(snap: &AdminSnapshot) -> String {
    let mut sessions: Vec<_> = snap
        .watches
        .iter()
        .filter(|w| !w.paths.is_empty())
        .collect();
    sessions.sort_by_key(|w| w.session_id);
    let mut out = String::new();
    for w in sessions {
        let _ = writeln!(out, "0x{}", java::long_hex(w.session_id));
        let mut paths: Vec<_> = w.paths.iter().collect();
        paths.sort();
        for p in paths {
            let _ = writeln!(out, "\t{p}");
        }
    }
    out.push('\n');
    out
}

/// `WatchManager.dumpWatches(pw, true)`: paths, each followed by its sessions.
fn wchp(snap: &AdminSnapshot) -> String {
    let mut out = String::new();
    for (path, ids) in watches_by_path(snap) {
        let _ = writeln!(out, "{path}");
        for id in ids {
            let _ = writeln!(out, "\t0x{}", java::long_hex(id));
        }
    }
    out.push('\n');
    out
}

/// `DigestCommand`: `<hex zxid>: <digest>` per entry.
fn hash(snap: &AdminSnapshot) -> String {
    let mut out = String::new();
    for d in &snap.digests {
        let _ = writeln!(out, "{}: {}", java::long_hex(d.zxid), d.digest);
    }
    out
}

/// Parses a word by name, checks the whitelist, and renders: the whole 4lw exchange for a
/// caller that already has a snapshot (tests, `zk cli`). `None` for an unknown word or
/// when ZooKeeper would close without answering.
pub fn four_letter_word(
    name: &str,
    whitelist: &super::command::Whitelist,
    snap: &AdminSnapshot,
) -> Option<String> {
    let word = FourLetterWord::from_name(name)?;
    if !whitelist.allows(word) {
        return Some(super::command::not_whitelisted(word));
    }
    render(word, snap)
}

#[cfg(test)]
mod tests {
    //! Expected texts are written from the Java sources each renderer cites
    //! (server/command/*.java, ServerStats.toString, ServerCnxn.dumpConnectionInfo, …).

    use super::*;
    use crate::server::fourlw::command::Whitelist;
    use crate::server::fourlw::fixture;

    fn run(word: FourLetterWord, snap: &AdminSnapshot) -> String {
        render(word, snap).unwrap_or_default()
    }

    const STATS_BLOCK: &str = "Latency min/avg/max: 0/1.6667/4\nReceived: 11\nSent: 10\n\
        Connections: 2\nOutstanding: 0\nZxid: 0x1a\nMode: standalone\n";

    const CONN1_FULL: &str = " /127.0.0.1:40312[1](queued=0,recved=6,sent=6,\
        sid=0x1000001a2b30000,lop=GETD,est=1700000000000,to=30000,lcxid=0x5,lzxid=0x1a,\
        lresp=1700000005000,llat=1,minlat=0,avglat=1,maxlat=4)";

    const CONN2: &str = " /[0:0:0:0:0:0:0:1]:40314[0](queued=0,recved=1,sent=0)";

    #[test]
    fn ruok_is_imok_without_newline() {
        assert_eq!(run(FourLetterWord::Ruok, &fixture::standalone()), "imok");
        let mut down = fixture::standalone();
        down.serving = false;
        assert_eq!(run(FourLetterWord::Ruok, &down), "imok");
    }

    #[test]
    fn srvr_prints_version_stats_and_node_count() {
        // StatCommand (len == srvrCmd) + ServerStats.toString().
        let expected = format!(
            "Zookeeper version: {}\n{STATS_BLOCK}Node count: 7\n",
            full_version()
        );
        assert_eq!(run(FourLetterWord::Srvr, &fixture::standalone()), expected);
    }

    #[test]
    fn stat_adds_brief_client_list() {
        let expected = format!(
            "Zookeeper version: {}\nClients:\n /127.0.0.1:40312[1](queued=0,recved=6,sent=6)\n\
             {CONN2}\n\n{STATS_BLOCK}Node count: 7\n",
            full_version()
        );
        assert_eq!(run(FourLetterWord::Stat, &fixture::standalone()), expected);
    }

    #[test]
    fn srvr_on_leader_adds_proposal_sizes() {
        let out = run(FourLetterWord::Srvr, &fixture::leader());
        assert!(out.contains("\nZxid: 0x100000002\nMode: leader\nNode count: 7\n"));
        assert!(out.ends_with("Node count: 7\nProposal sizes last/min/max: 36/36/92\n"));
    }

    #[test]
    fn srvr_in_read_only_mode_says_so() {
        let mut ro = fixture::follower();
        ro.mode = Mode::ReadOnly;
        let out = run(FourLetterWord::Srvr, &ro);
        let expected_head = format!(
            "Zookeeper version: {}\nREAD-ONLY mode; serving only read-only clients\n\
             Latency min/avg/max: 0/1.6667/4\n",
            full_version()
        );
        assert!(out.starts_with(&expected_head), "{out}");
        assert!(out.contains("\nMode: read-only\n"));
    }

    #[test]
    fn not_serving_answers_like_zookeeper() {
        let mut down = fixture::standalone();
        down.serving = false;
        let line = format!("{ZK_NOT_SERVING}\n");
        for w in [
            FourLetterWord::Srvr,
            FourLetterWord::Stat,
            FourLetterWord::Mntr,
            FourLetterWord::Conf,
            FourLetterWord::Cons,
            FourLetterWord::Crst,
            FourLetterWord::Srst,
            FourLetterWord::Dump,
            FourLetterWord::Dirs,
            FourLetterWord::Wchs,
            FourLetterWord::Wchc,
            FourLetterWord::Wchp,
        ] {
            assert_eq!(run(w, &down), line, "{w:?}");
        }
        // DigestCommand prints without a newline; IsroCommand prints "null".
        assert_eq!(run(FourLetterWord::Hash, &down), ZK_NOT_SERVING);
        assert_eq!(run(FourLetterWord::Isro, &down), "null");
        // envi and gtmk do not need a running server.
        assert!(run(FourLetterWord::Envi, &down).starts_with("Environment:\n"));
        assert_eq!(run(FourLetterWord::Gtmk, &down), "306");
    }

    #[test]
    fn cons_lists_full_connection_info() {
        // ConsCommand: dumpConnectionInfo(pw, false) + println per connection, then println.
        let expected = format!("{CONN1_FULL}\n{CONN2}\n\n");
        assert_eq!(run(FourLetterWord::Cons, &fixture::standalone()), expected);
    }

    #[test]
    fn cons_omits_lcxid_before_the_first_request() {
        let mut c = fixture::standalone().connections[0].clone();
        c.last_cxid = -1;
        c.last_zxid = -1;
        let s = connection_info(&c, false);
        assert!(
            s.contains(",to=30000,lzxid=0xffffffffffffffff,lresp="),
            "{s}"
        );
    }

    #[test]
    fn conf_standalone() {
        // ZooKeeperServer.dumpConf.
        let expected = "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/lib/zk/data\n\
            dataDirSize=4096\ndataLogDir=/var/lib/zk/log\ndataLogSize=67108880\n\
            tickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\n\
            maxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n";
        assert_eq!(run(FourLetterWord::Conf, &fixture::standalone()), expected);
    }

    #[test]
    fn conf_quorum_ends_with_membership_and_no_newline() {
        // QuorumZooKeeperServer.dumpConf + QuorumMaj.toString.
        let out = run(FourLetterWord::Conf, &fixture::leader());
        let tail = "serverId=1\ninitLimit=10\nsyncLimit=5\nelectionAlg=3\nelectionPort=3888\n\
            quorumPort=2888\npeerType=0\nmembership: \n\
            server.1=zk-0.zk-hs:2888:3888:participant;0.0.0.0:2181\n\
            server.2=zk-1.zk-hs:2888:3888:participant;0.0.0.0:2181\n\
            server.3=zk-2.zk-hs:2888:3888:observer;0.0.0.0:2181\n\
            version=100000000";
        assert!(out.ends_with(tail), "{out}");
        let mut ro = fixture::follower();
        ro.mode = Mode::ReadOnly;
        assert!(run(FourLetterWord::Conf, &ro).ends_with("peerType=0\n"));
    }

    #[test]
    fn envi_lists_environment_with_na_for_jvm_keys() {
        let expected = format!(
            "Environment:\nzookeeper.version={}\n\
             host.name=zk-0.zk-hs.default.svc.cluster.local\njava.version=<NA>\n\
             java.vendor=<NA>\njava.home=<NA>\njava.class.path=<NA>\njava.library.path=<NA>\n\
             java.io.tmpdir=/tmp\njava.compiler=<NA>\nos.name=Linux\nos.arch=amd64\n\
             os.version=6.8.0-45-generic\nuser.name=zk\nuser.home=/home/zk\nuser.dir=/\n\
             os.memory.free=2018MB\nos.memory.max=2048MB\nos.memory.total=30MB\n",
            full_version()
        );
        assert_eq!(run(FourLetterWord::Envi, &fixture::standalone()), expected);
    }

    #[test]
    fn mntr_standalone() {
        let expected = format!(
            "zk_version\t{}\nzk_server_state\tstandalone\nzk_avg_latency\t1.6667\n\
             zk_max_latency\t4\nzk_min_latency\t0\nzk_packets_received\t11\n\
             zk_packets_sent\t10\nzk_num_alive_connections\t2\nzk_outstanding_requests\t0\n\
             zk_uptime\t123456\nzk_znode_count\t7\nzk_watch_count\t3\nzk_ephemerals_count\t2\n\
             zk_approximate_data_size\t190\nzk_global_sessions\t2\nzk_local_sessions\t0\n\
             zk_open_file_descriptor_count\t42\nzk_max_file_descriptor_count\t1048576\n\
             zk_connection_drop_probability\t0.0\nzk_last_client_response_size\t48\n\
             zk_max_client_response_size\t120\nzk_min_client_response_size\t16\n\
             zk_outstanding_tls_handshake\t0\nzk_auth_failed_count\t0\n\
             zk_non_mtls_remote_conn_count\t0\nzk_non_mtls_local_conn_count\t0\n\
             zk_commit_count\t26\nzk_connection_rejected\t0\n\
             zk_avg_fsynctime\t4.5\nzk_min_fsynctime\t4\nzk_max_fsynctime\t5\n\
             zk_cnt_fsynctime\t2\nzk_sum_fsynctime\t9\n\
             zk_avg_readlatency\t1.5\nzk_min_readlatency\t0\nzk_max_readlatency\t3\n\
             zk_cnt_readlatency\t4\nzk_sum_readlatency\t6\nzk_p50_readlatency\t1\n\
             zk_p95_readlatency\t3\nzk_p99_readlatency\t3\nzk_p999_readlatency\t3\n",
            full_version()
        );
        assert_eq!(run(FourLetterWord::Mntr, &fixture::standalone()), expected);
    }

    #[test]
    fn mntr_leader_adds_peer_state_and_leader_gauges() {
        let out = run(FourLetterWord::Mntr, &fixture::leader());
        assert!(out.contains("zk_server_state\tleader\nzk_peer_state\tleading - broadcast\n"));
        let leader_block = "zk_non_mtls_local_conn_count\t0\nzk_quorum_size\t2\n\
            zk_learners\t2\nzk_synced_followers\t1\nzk_synced_non_voting_followers\t0\n\
            zk_synced_observers\t1\nzk_pending_syncs\t0\nzk_leader_uptime\t120000\n\
            zk_last_proposal_size\t36\nzk_max_proposal_size\t92\nzk_min_proposal_size\t36\n\
            zk_commit_count\t26\n";
        assert!(out.contains(leader_block), "{out}");
        let follower = run(FourLetterWord::Mntr, &fixture::follower());
        assert!(follower.contains("zk_peer_state\tfollowing - broadcast\n"));
        assert!(follower.contains("zk_quorum_size\t2\nzk_commit_count\t26\n"));
        assert!(!follower.contains("zk_learners"));
    }

    #[test]
    fn mntr_lines_are_key_tab_value() {
        for line in run(FourLetterWord::Mntr, &fixture::leader()).lines() {
            let (k, v) = line.split_once('\t').unwrap_or_default();
            assert!(k.starts_with("zk_") && !v.is_empty(), "{line}");
            assert!(!v.contains('\t'), "{line}");
        }
    }

    #[test]
    fn dump_standalone_groups_by_expiry() {
        // DumpCommand: SessionTrackerImpl.dumpSessions (ExpiryQueue.dump),
        // DataTree.dumpEphemerals, NIOServerCnxnFactory.dumpConnections.
        let expected = "SessionTracker dump:\nSession Sets (2)/(2):\n\
             1 expire at Tue Nov 14 22:13:32 UTC 2023:\n\t0x1000001a2b30001\n\
             1 expire at Tue Nov 14 22:13:56 UTC 2023:\n\t0x1000001a2b30000\n\
             ephemeral nodes dump:\nSessions with Ephemerals (1):\n0x1000001a2b30000:\n\
             \t/locks/l-0000000001\n\t/services/a/node-1\n\
             Connections dump:\nConnections Sets (1)/(2):\n\
             2 expire at Tue Nov 14 22:14:00 UTC 2023:\n\
             \tip: /127.0.0.1:40312 sessionId: 0x1000001a2b30000\n\
             \tip: /[0:0:0:0:0:0:0:1]:40314 sessionId: 0x0\n";
        assert_eq!(run(FourLetterWord::Dump, &fixture::standalone()), expected);
    }

    #[test]
    fn dump_on_follower_lists_global_sessions_with_timeouts() {
        // LearnerSessionTracker.dumpSessions.
        let out = run(FourLetterWord::Dump, &fixture::follower());
        assert!(out.starts_with(
            "SessionTracker dump:\nGlobal Sessions(2):\n0x1000001a2b30000\t30000ms\n\
             0x1000001a2b30001\t10000ms\nephemeral nodes dump:\n"
        ));
    }

    #[test]
    fn watch_words() {
        let snap = fixture::standalone();
        // WatchManager.toString + WatchCommand's println.
        assert_eq!(
            run(FourLetterWord::Wchs, &snap),
            "2 connections watching 2 paths\nTotal watches:3\n"
        );
        // WatchManager.dumpWatches(pw, false).
        assert_eq!(
            run(FourLetterWord::Wchc, &snap),
            "0x1000001a2b30000\n\t/config\n\t/services\n0x1000001a2b30001\n\t/config\n\n"
        );
        // WatchManager.dumpWatches(pw, true).
        assert_eq!(
            run(FourLetterWord::Wchp, &snap),
            "/config\n\t0x1000001a2b30000\n\t0x1000001a2b30001\n/services\n\t0x1000001a2b30000\n\n"
        );
        let empty = AdminSnapshot::default();
        assert_eq!(
            run(FourLetterWord::Wchs, &empty),
            "0 connections watching 0 paths\nTotal watches:0\n"
        );
        assert_eq!(run(FourLetterWord::Wchc, &empty), "\n");
    }

    #[test]
    fn small_words() {
        let snap = fixture::standalone();
        assert_eq!(
            run(FourLetterWord::Dirs, &snap),
            "datadir_size: 4096\nlogdir_size: 67108880\n"
        );
        assert_eq!(run(FourLetterWord::Isro, &snap), "rw");
        let mut ro = snap.clone();
        ro.mode = Mode::ReadOnly;
        assert_eq!(run(FourLetterWord::Isro, &ro), "ro");
        assert_eq!(run(FourLetterWord::Hash, &snap), "1a: 1234567890\n");
        assert_eq!(run(FourLetterWord::Gtmk, &snap), "306");
        let mut set = snap.clone();
        set.trace_mask = 250;
        assert_eq!(run(FourLetterWord::Stmk, &set), "250");
        assert_eq!(
            run(FourLetterWord::Crst, &snap),
            "Connection stats reset.\n"
        );
        assert_eq!(run(FourLetterWord::Srst, &snap), "Server stats reset.\n");
        assert_eq!(render(FourLetterWord::TelnetClose, &snap), None);
    }

    #[test]
    fn four_letter_word_applies_the_whitelist() {
        let snap = fixture::standalone();
        let default = Whitelist::default();
        assert_eq!(
            four_letter_word("ruok", &default, &snap).as_deref(),
            Some("ruok is not executed because it is not in the whitelist.\n")
        );
        assert!(
            four_letter_word("srvr", &default, &snap)
                .unwrap_or_default()
                .starts_with("Zookeeper version: 3.9.4-zk-")
        );
        let all = Whitelist::from_config(Some("*"), false);
        assert_eq!(
            four_letter_word("ruok", &all, &snap).as_deref(),
            Some("imok")
        );
        assert_eq!(four_letter_word("telnet close", &all, &snap), None);
        assert_eq!(four_letter_word("nope", &all, &snap), None);
    }

    #[test]
    fn srvr_matches_go_zookeeper_flwsrvr_layout() {
        // go-zookeeper's FLWSrvr expects these lines in this order, the version as
        // `[A-Za-z0-9.-]+, built on yyyy-MM-dd HH:mm ZONE` and the avg as `[0-9.]+`.
        let out = run(FourLetterWord::Srvr, &fixture::standalone());
        let lines: Vec<&str> = out.lines().collect();
        let prefixes = [
            "Zookeeper version: ",
            "Latency min/avg/max: ",
            "Received: ",
            "Sent: ",
            "Connections: ",
            "Outstanding: ",
            "Zxid: 0x",
            "Mode: ",
            "Node count: ",
        ];
        assert_eq!(lines.len(), prefixes.len());
        for (line, prefix) in lines.iter().zip(prefixes) {
            assert!(line.starts_with(prefix), "{line}");
        }
        assert!(lines[0].contains(", built on "));
    }
}
