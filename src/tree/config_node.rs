//! `/zookeeper/config`: the ensemble's committed membership in ZooKeeper's dynamic-config
//! text. It changes only when a membership change commits, on every member in log order, so
//! it is part of the replicated tree (and of its snapshots) like any znode, and clients read
//! and watch it with getData (`getConfig`).

use super::apply::Event;
use super::apply::event;
use super::datatree::{CONFIG, DataTree};

impl DataTree {
    /// Sets the config node's data to a membership committed at `zxid` (its `mzxid`, and the
    /// version ZooKeeper prints in the text) at `time`; returns the data-changed event its
    /// watchers get. The tree's last zxid moves to `zxid`, so a client that saw the change may
    /// reconnect to any member that applied it.
    pub fn set_config(&mut self, data: &[u8], zxid: i64, time: i64) -> Option<Event> {
        self.last_zxid = self.last_zxid.max(zxid);
        self.replace_data(CONFIG, Some(data))?;
        let node = self.get_mut(CONFIG)?;
        node.stat.version = node.stat.version.wrapping_add(1);
        node.stat.mzxid = zxid;
        node.stat.mtime = time;
        let acl = self.get(CONFIG)?.acl().clone();
        Some(Event {
            kind: event::NODE_DATA_CHANGED,
            path: CONFIG.to_string(),
            acl,
        })
    }

    /// The config node's data (empty on a standalone server, as in ZooKeeper).
    pub fn config_data(&self) -> &[u8] {
        self.nodes
            .lookup(CONFIG)
            .and_then(|id| self.nodes.node(id))
            .and_then(|n| n.data())
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_committed_membership_replaces_the_config_and_bumps_its_stat() {
        let mut t = DataTree::new();
        assert_eq!(t.config_data(), b"");
        let before = t.get(CONFIG).unwrap().stat();
        let ev = t
            .set_config(b"server.1=a:1:2:participant\nversion=5", 5, 77)
            .unwrap();
        assert_eq!(ev.path, CONFIG);
        assert_eq!(ev.kind, event::NODE_DATA_CHANGED);
        let after = t.get(CONFIG).unwrap().stat();
        assert_eq!(after.version, before.version + 1);
        assert_eq!((after.mzxid, after.mtime), (5, 77));
        assert_eq!(after.czxid, before.czxid);
        assert_eq!(t.config_data(), b"server.1=a:1:2:participant\nversion=5");
        assert_eq!(t.last_zxid(), 5);
        // It survives a snapshot like any node.
        let copy = DataTree::from_snapshot(&t.snapshot()).unwrap();
        assert_eq!(copy.config_data(), t.config_data());
    }
}
