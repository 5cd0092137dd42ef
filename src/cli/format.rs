//! Text that zkCli prints for results and events, as pure functions of the data.

use zookeeper_client::{EventType, SessionState, Stat, WatchedEvent};

use crate::server::fourlw::java::date as java_date;

/// The eleven `name = value` lines of zkCli's `StatPrinter`, each ending in a newline.
pub fn format_stat(stat: &Stat) -> String {
    // Java's Long.toHexString prints the two's complement of negative values.
    let hex = |v: i64| format!("0x{:x}", v as u64);
    format!(
        "cZxid = {}\nctime = {}\nmZxid = {}\nmtime = {}\npZxid = {}\ncversion = {}\ndataVersion = {}\n\
         aclVersion = {}\nephemeralOwner = {}\ndataLength = {}\nnumChildren = {}\n",
        hex(stat.czxid),
        java_date(stat.ctime),
        hex(stat.mzxid),
        java_date(stat.mtime),
        hex(stat.pzxid),
        stat.cversion,
        stat.version,
        stat.aversion,
        hex(stat.ephemeral_owner),
        stat.data_length,
        stat.num_children
    )
}

/// Java's `List.toString()`: `[a, b]`, in the order given.
pub fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

/// `ls` output: children sorted by UTF-16 order as Java's `Collections.sort` does.
pub fn format_children(children: &[String]) -> String {
    let mut sorted = children.to_vec();
    sorted.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    java_list(&sorted)
}

/// Java's `KeeperState` name for a session state.
fn keeper_state(state: SessionState) -> &'static str {
    match state {
        SessionState::Disconnected => "Disconnected",
        SessionState::SyncConnected => "SyncConnected",
        SessionState::AuthFailed => "AuthFailed",
        SessionState::ConnectedReadOnly => "ConnectedReadOnly",
        SessionState::Expired => "Expired",
        SessionState::Closed => "Closed",
    }
}

/// Java's `EventType` name.
fn event_type(kind: EventType) -> &'static str {
    match kind {
        EventType::Session => "None",
        EventType::NodeCreated => "NodeCreated",
        EventType::NodeDeleted => "NodeDeleted",
        EventType::NodeDataChanged => "NodeDataChanged",
        EventType::NodeChildrenChanged => "NodeChildrenChanged",
    }
}

/// `WatchedEvent state:... type:... path:... zxid: ...` as Java's `WatchedEvent.toString()`.
pub fn format_event(event: &WatchedEvent) -> String {
    let path = if event.event_type == EventType::Session {
        "null"
    } else {
        event.path.as_str()
    };
    format!(
        "WatchedEvent state:{} type:{} path:{} zxid: {}",
        keeper_state(event.session_state),
        event_type(event.event_type),
        path,
        event.zxid
    )
}

/// A session event as the default watcher sees it (`type:None path:null zxid: -1`).
pub fn format_session_event(state: SessionState) -> String {
    format_event(&WatchedEvent::new_session(state))
}

/// What zkCli's watcher prints for an event: a blank line, `WATCHER::`, a blank line, the event.
pub fn format_watcher_block(event_line: &str) -> String {
    format!("\nWATCHER::\n\n{event_line}\n")
}

/// Java's `ZooKeeper.States` name, shown in the prompt.
pub fn prompt_state(state: SessionState) -> &'static str {
    match state {
        SessionState::SyncConnected => "CONNECTED",
        SessionState::ConnectedReadOnly => "CONNECTEDREADONLY",
        SessionState::Disconnected => "CONNECTING",
        SessionState::AuthFailed => "AUTH_FAILED",
        SessionState::Expired | SessionState::Closed => "CLOSED",
    }
}

/// The interactive prompt, `[zk: host(STATE) n] `.
pub fn prompt(host: &str, state: &str, count: usize) -> String {
    format!("[zk: {host}({state}) {count}] ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat() -> Stat {
        Stat {
            czxid: 4,
            mzxid: 0x1b,
            pzxid: 4,
            ctime: 0,
            mtime: 0,
            version: 1,
            cversion: 0,
            aversion: -1,
            ephemeral_owner: 0x1000_0a8f_0000,
            data_length: 10,
            num_children: 0,
        }
    }

    #[test]
    fn stat_lines() {
        let expected = "cZxid = 0x4\nctime = Thu Jan 01 00:00:00 UTC 1970\nmZxid = 0x1b\n\
                        mtime = Thu Jan 01 00:00:00 UTC 1970\npZxid = 0x4\ncversion = 0\ndataVersion = 1\n\
                        aclVersion = -1\nephemeralOwner = 0x10000a8f0000\ndataLength = 10\nnumChildren = 0\n";
        assert_eq!(format_stat(&stat()), expected);
    }

    #[test]
    fn negative_hex_is_twos_complement() {
        let s = Stat {
            ephemeral_owner: -1,
            ..stat()
        };
        assert!(format_stat(&s).contains("ephemeralOwner = 0xffffffffffffffff\n"));
    }

    #[test]
    fn children_sorted() {
        let children = vec!["zookeeper".to_string(), "b".into(), "a".into(), "B".into()];
        assert_eq!(format_children(&children), "[B, a, b, zookeeper]");
        assert_eq!(format_children(&[]), "[]");
    }

    #[test]
    fn events() {
        let e = WatchedEvent::new(EventType::NodeDataChanged, "/x").with_zxid(28);
        assert_eq!(
            format_event(&e),
            "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x zxid: 28"
        );
        assert_eq!(
            format_session_event(SessionState::Closed),
            "WatchedEvent state:Closed type:None path:null zxid: -1"
        );
        assert_eq!(format_watcher_block("E"), "\nWATCHER::\n\nE\n");
    }

    #[test]
    fn prompt_text() {
        assert_eq!(
            prompt(
                "127.0.0.1:2181",
                prompt_state(SessionState::SyncConnected),
                0
            ),
            "[zk: 127.0.0.1:2181(CONNECTED) 0] "
        );
    }
}
