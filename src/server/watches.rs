//! Watch registrations of this member's connections (ZooKeeper's WatchManager pair: a data
//! table and a child table). Watches are local, never replicated: a client that reconnects
//! elsewhere re-registers them with setWatches.

use std::collections::{HashMap, HashSet};

use crate::proto::{ErrorCode, ZkResult};
use crate::tree::apply::event;

/// Identifies a client connection on this member.
pub type ConnId = u64;

/// Watch modes as bits: one connection may hold several on the same path (3.9's WatchStats).
pub const STANDARD: u8 = 1;
pub const PERSISTENT: u8 = 2;
pub const RECURSIVE: u8 = 4;

/// WatcherType codes of checkWatches/removeWatches.
pub mod watcher_type {
    pub const CHILDREN: i32 = 1;
    pub const DATA: i32 = 2;
    pub const ANY: i32 = 3;
    pub const PERSISTENT: i32 = 4;
    pub const PERSISTENT_RECURSIVE: i32 = 5;
}

#[derive(Default, Debug)]
struct Table {
    by_path: HashMap<String, HashMap<ConnId, u8>>,
    recursive: usize,
}

impl Table {
    fn add(&mut self, path: &str, conn: ConnId, mode: u8) {
        let bits = self
            .by_path
            .entry(path.to_string())
            .or_default()
            .entry(conn)
            .or_insert(0);
        if mode & RECURSIVE != 0 && *bits & RECURSIVE == 0 {
            self.recursive += 1;
        }
        *bits |= mode;
    }

    /// Clears `mask` bits of one watcher; true if any were set.
    fn remove(&mut self, path: &str, conn: ConnId, mask: u8) -> bool {
        let Some(w) = self.by_path.get_mut(path) else {
            return false;
        };
        let Some(bits) = w.get_mut(&conn) else {
            return false;
        };
        let hit = *bits & mask;
        if hit & RECURSIVE != 0 {
            self.recursive -= 1;
        }
        *bits &= !mask;
        if *bits == 0 {
            w.remove(&conn);
        }
        if w.is_empty() {
            self.by_path.remove(path);
        }
        hit != 0
    }

    fn has(&self, path: &str, conn: ConnId, mask: u8) -> bool {
        self.by_path
            .get(path)
            .and_then(|w| w.get(&conn))
            .is_some_and(|b| b & mask != 0)
    }

    /// Fires the watches an event at `path` reaches: everything at the path itself (one-shot
    /// watches are consumed) and recursive watches on its ancestors.
    fn trigger(&mut self, path: &str, suppress: &HashSet<ConnId>, out: &mut HashSet<ConnId>) {
        if let Some(w) = self.by_path.get_mut(path) {
            // Only the STANDARD bit is consumed, so the recursive count stays exact.
            w.retain(|conn, bits| {
                if !suppress.contains(conn) {
                    out.insert(*conn);
                }
                *bits &= !STANDARD;
                *bits != 0
            });
            if w.is_empty() {
                self.by_path.remove(path);
            }
        }
        if self.recursive == 0 {
            return;
        }
        let mut p = path;
        while p != "/" {
            p = crate::tree::path::parent(p);
            if let Some(w) = self.by_path.get(p) {
                for (conn, bits) in w {
                    if bits & RECURSIVE != 0 && !suppress.contains(conn) {
                        out.insert(*conn);
                    }
                }
            }
        }
    }

    fn drop_conn(&mut self, conn: ConnId, paths: &HashSet<String>) {
        for p in paths {
            self.remove(p, conn, STANDARD | PERSISTENT | RECURSIVE);
        }
    }

    fn count(&self) -> usize {
        self.by_path.values().map(HashMap::len).sum()
    }
}

/// Every watch on this member.
#[derive(Default, Debug)]
pub struct Watches {
    data: Table,
    child: Table,
    /// Paths each connection watches, for cleanup and the wchc/wchp reports.
    by_conn: HashMap<ConnId, HashSet<String>>,
}

impl Watches {
    pub fn add_data(&mut self, path: &str, conn: ConnId, mode: u8) {
        self.data.add(path, conn, mode);
        self.by_conn.entry(conn).or_default().insert(path.to_string());
    }

    pub fn add_child(&mut self, path: &str, conn: ConnId, mode: u8) {
        self.child.add(path, conn, mode);
        self.by_conn.entry(conn).or_default().insert(path.to_string());
    }

    /// addWatch: persistent watches go in both tables, recursive ones only in the data table
    /// (so they never see NodeChildrenChanged).
    pub fn add_persistent(&mut self, path: &str, conn: ConnId, recursive: bool) {
        if recursive {
            self.add_data(path, conn, RECURSIVE);
        } else {
            self.add_data(path, conn, PERSISTENT);
            self.add_child(path, conn, PERSISTENT);
        }
    }

    /// The connections to notify of one tree event, in ZooKeeper's trigger order.
    pub fn trigger(&mut self, kind: i32, path: &str) -> HashSet<ConnId> {
        let mut out = HashSet::new();
        let none = HashSet::new();
        match kind {
            event::NODE_CREATED | event::NODE_DATA_CHANGED => self.data.trigger(path, &none, &mut out),
            event::NODE_DELETED => {
                self.data.trigger(path, &none, &mut out);
                let notified = out.clone();
                self.child.trigger(path, &notified, &mut out);
            }
            event::NODE_CHILDREN_CHANGED => self.child.trigger(path, &none, &mut out),
            _ => {}
        }
        out
    }

    /// checkWatches: whether the connection holds a watch of that type on the path.
    pub fn check(&self, path: &str, conn: ConnId, wtype: i32) -> ZkResult<()> {
        let found = match wtype {
            watcher_type::CHILDREN => self.child.has(path, conn, STANDARD),
            watcher_type::DATA => self.data.has(path, conn, STANDARD),
            watcher_type::ANY => {
                self.child.has(path, conn, 0xff) || self.data.has(path, conn, 0xff)
            }
            watcher_type::PERSISTENT => self.data.has(path, conn, PERSISTENT),
            watcher_type::PERSISTENT_RECURSIVE => self.data.has(path, conn, RECURSIVE),
            _ => return Err(ErrorCode::MARSHALLING_ERROR),
        };
        if found {
            Ok(())
        } else {
            Err(ErrorCode::NO_WATCHER)
        }
    }

    /// removeWatches; NOWATCHER when nothing matched.
    pub fn remove(&mut self, path: &str, conn: ConnId, wtype: i32) -> ZkResult<()> {
        let removed = match wtype {
            watcher_type::CHILDREN => self.child.remove(path, conn, STANDARD),
            watcher_type::DATA => self.data.remove(path, conn, STANDARD),
            watcher_type::ANY => {
                let a = self.child.remove(path, conn, 0xff);
                self.data.remove(path, conn, 0xff) | a
            }
            watcher_type::PERSISTENT => {
                let a = self.child.remove(path, conn, PERSISTENT);
                self.data.remove(path, conn, PERSISTENT) | a
            }
            watcher_type::PERSISTENT_RECURSIVE => self.data.remove(path, conn, RECURSIVE),
            _ => return Err(ErrorCode::MARSHALLING_ERROR),
        };
        if removed {
            Ok(())
        } else {
            Err(ErrorCode::NO_WATCHER)
        }
    }

    /// Forgets every watch of a closed connection.
    pub fn drop_conn(&mut self, conn: ConnId) {
        if let Some(paths) = self.by_conn.remove(&conn) {
            self.data.drop_conn(conn, &paths);
            self.child.drop_conn(conn, &paths);
        }
    }

    /// Total watches (watch_count): one per (connection, path, table).
    pub fn count(&self) -> usize {
        self.data.count() + self.child.count()
    }

    /// Paths with at least one watch.
    pub fn watched_paths(&self) -> usize {
        let mut paths: HashSet<&String> = self.data.by_path.keys().collect();
        paths.extend(self.child.by_path.keys());
        paths.len()
    }

    /// Paths a connection watches (wchc).
    pub fn paths_of(&self, conn: ConnId) -> Vec<String> {
        let mut v: Vec<String> = self
            .by_conn
            .get(&conn)
            .map(|s| {
                s.iter()
                    .filter(|p| self.data.by_path.get(*p).is_some_and(|w| w.contains_key(&conn))
                        || self.child.by_path.get(*p).is_some_and(|w| w.contains_key(&conn)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Connections watching each path (wchp).
    pub fn by_path(&self) -> Vec<(String, Vec<ConnId>)> {
        let mut m: HashMap<&String, HashSet<ConnId>> = HashMap::new();
        for t in [&self.data, &self.child] {
            for (p, w) in &t.by_path {
                m.entry(p).or_default().extend(w.keys());
            }
        }
        let mut v: Vec<(String, Vec<ConnId>)> = m
            .into_iter()
            .map(|(p, c)| {
                let mut c: Vec<ConnId> = c.into_iter().collect();
                c.sort();
                (p.clone(), c)
            })
            .collect();
        v.sort();
        v
    }

    /// Connections that hold at least one watch.
    pub fn connections(&self) -> usize {
        self.by_conn.values().filter(|s| !s.is_empty()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use event::*;

    #[test]
    fn one_shot_watches_fire_once() {
        let mut w = Watches::default();
        w.add_data("/a", 1, STANDARD);
        assert_eq!(w.trigger(NODE_DATA_CHANGED, "/a"), HashSet::from([1]));
        assert!(w.trigger(NODE_DATA_CHANGED, "/a").is_empty());
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn persistent_watches_stay_and_see_children_changes() {
        let mut w = Watches::default();
        w.add_persistent("/a", 1, false);
        assert_eq!(w.trigger(NODE_CHILDREN_CHANGED, "/a"), HashSet::from([1]));
        assert_eq!(w.trigger(NODE_DATA_CHANGED, "/a"), HashSet::from([1]));
        // A persistent (non-recursive) watch does not see its children's own events.
        assert!(w.trigger(NODE_CREATED, "/a/b").is_empty());
        assert_eq!(w.count(), 2);
    }

    #[test]
    fn recursive_watches_see_descendants_but_not_child_lists() {
        let mut w = Watches::default();
        w.add_persistent("/a", 1, true);
        assert_eq!(w.trigger(NODE_CREATED, "/a/b/c"), HashSet::from([1]));
        assert!(w.trigger(NODE_CHILDREN_CHANGED, "/a").is_empty());
        assert!(w.trigger(NODE_CREATED, "/ab").is_empty());
        w.add_persistent("/", 2, true);
        assert_eq!(w.trigger(NODE_DELETED, "/x"), HashSet::from([2]));
    }

    #[test]
    fn delete_notifies_a_connection_once_across_tables() {
        let mut w = Watches::default();
        w.add_data("/a", 1, STANDARD);
        w.add_child("/a", 1, STANDARD);
        w.add_child("/a", 2, STANDARD);
        assert_eq!(w.trigger(NODE_DELETED, "/a"), HashSet::from([1, 2]));
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn check_and_remove_by_type() {
        let mut w = Watches::default();
        w.add_data("/a", 1, STANDARD);
        w.add_persistent("/a", 1, false);
        assert_eq!(w.check("/a", 1, watcher_type::CHILDREN), Err(ErrorCode::NO_WATCHER));
        assert_eq!(w.check("/a", 1, watcher_type::DATA), Ok(()));
        assert_eq!(w.remove("/a", 1, watcher_type::PERSISTENT), Ok(()));
        assert_eq!(w.check("/a", 1, watcher_type::PERSISTENT), Err(ErrorCode::NO_WATCHER));
        assert_eq!(w.remove("/a", 1, watcher_type::ANY), Ok(()));
        assert_eq!(w.remove("/a", 1, watcher_type::ANY), Err(ErrorCode::NO_WATCHER));
        w.add_data("/b", 3, STANDARD);
        w.drop_conn(3);
        assert_eq!(w.count(), 0);
    }
}
