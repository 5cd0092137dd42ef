package dev.zk.peers;

import static dev.zk.peers.CreateTest.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.AddWatchMode;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.Watcher.WatcherType;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/**
 * One-shot watches, persistent and persistent-recursive watches (addWatch), removeWatches and
 * removeAllWatches. Changes are made from a second session, as another process would.
 *
 * <p>"No further event" is checked without sleeping: the same watcher then watches a marker node, the
 * marker is created, and the next event must be the marker's (a connection delivers events in order).
 */
class WatchTest extends PeerTest {

    private ZooKeeper writer() throws Exception {
        return connect();
    }

    /** Proves that {@code events} has nothing before the marker's NodeCreated. */
    private void expectNothingMore(ZooKeeper watching, Events events, ZooKeeper writer) throws Exception {
        String marker = p("marker-" + System.nanoTime());
        watching.exists(marker, events);
        writer.create(marker, null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeCreated, marker);
    }

    @Test
    void oneShotWatchesFireOnceWithTheTriggeringZxid() throws Exception {
        ZooKeeper w = writer();
        Events events = new Events();

        // exists() on a missing node: NodeCreated
        zk.exists(p("n"), events);
        Stat created = new Stat();
        w.create(p("n"), bytes("0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, created);
        WatchedEvent e = events.expect(EventType.NodeCreated, p("n"));
        assertEquals(created.getCzxid(), e.getZxid(), "since 3.9 an event carries the zxid that caused it");

        // getData(): NodeDataChanged, once
        zk.getData(p("n"), events, null);
        Stat changed = w.setData(p("n"), bytes("1"), -1);
        e = events.expect(EventType.NodeDataChanged, p("n"));
        assertEquals(changed.getMzxid(), e.getZxid());
        w.setData(p("n"), bytes("2"), -1);
        expectNothingMore(zk, events, w);

        // getChildren(): NodeChildrenChanged on the parent, for a create and for a delete
        zk.getChildren(p("n"), events);
        w.create(p("n/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeChildrenChanged, p("n"));
        zk.getChildren(p("n"), events);
        w.delete(p("n/c"), -1);
        events.expect(EventType.NodeChildrenChanged, p("n"));
        // a data change does not trigger a child watch
        zk.getChildren(p("n"), events);
        w.setData(p("n"), bytes("3"), -1);
        expectNothingMore(zk, events, w);

        // exists() and getData() on an existing node: NodeDeleted, once per registration
        Events second = new Events();
        zk.exists(p("n"), second);
        zk.getData(p("n"), events, null);
        w.delete(p("n"), -1);
        // The pending child watch from above fires too, but the client delivers one event per watcher
        // object and path.
        events.expect(EventType.NodeDeleted, p("n"));
        second.expect(EventType.NodeDeleted, p("n"));
        expectNothingMore(zk, events, w);
    }

    @Test
    void sameWatcherOnSamePathFiresOnce() throws Exception {
        ZooKeeper w = writer();
        Events events = new Events();
        zk.create(p("n"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.getData(p("n"), events, null);
        zk.exists(p("n"), events);
        zk.getData(p("n"), events, null);
        w.setData(p("n"), bytes("x"), -1);
        events.expect(EventType.NodeDataChanged, p("n"));
        expectNothingMore(zk, events, w);
    }

    @Test
    void defaultWatcherReceivesBooleanWatches() throws Exception {
        Events events = new Events();
        ZooKeeper watching = connect(events);
        ZooKeeper w = writer();
        watching.exists(p("d"), true);
        w.create(p("d"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeCreated, p("d"));
    }

    @Test
    void persistentWatchKeepsFiringForNodeAndChildren() throws Exception {
        ZooKeeper w = writer();
        Events events = new Events();
        zk.addWatch(p("p"), events, AddWatchMode.PERSISTENT);

        w.create(p("p"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeCreated, p("p"));
        w.setData(p("p"), bytes("1"), -1);
        events.expect(EventType.NodeDataChanged, p("p"));
        w.setData(p("p"), bytes("2"), -1);
        events.expect(EventType.NodeDataChanged, p("p"));
        w.create(p("p/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeChildrenChanged, p("p"));
        // a persistent (non-recursive) watch does not see grandchildren or data of children
        w.create(p("p/c/g"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        w.setData(p("p/c"), bytes("x"), -1);
        w.delete(p("p/c/g"), -1);
        w.delete(p("p/c"), -1);
        events.expect(EventType.NodeChildrenChanged, p("p"));
        w.delete(p("p"), -1);
        events.expect(EventType.NodeDeleted, p("p"));
        // still registered after the node is gone
        w.create(p("p"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeCreated, p("p"));
    }

    @Test
    void persistentRecursiveWatchReportsTheChangedNodesPath() throws Exception {
        ZooKeeper w = writer();
        Events events = new Events();
        zk.addWatch(p("r"), events, AddWatchMode.PERSISTENT_RECURSIVE);

        w.create(p("r"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeCreated, p("r"));
        w.create(p("r/a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        events.expect(EventType.NodeCreated, p("r/a"));
        Stat s = new Stat();
        w.create(p("r/a/b"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL, s);
        WatchedEvent e = events.expect(EventType.NodeCreated, p("r/a/b"));
        assertEquals(s.getCzxid(), e.getZxid());
        w.setData(p("r/a/b"), bytes("v"), -1);
        events.expect(EventType.NodeDataChanged, p("r/a/b"));
        w.setData(p("r"), bytes("v"), -1);
        events.expect(EventType.NodeDataChanged, p("r"));
        w.delete(p("r/a/b"), -1);
        events.expect(EventType.NodeDeleted, p("r/a/b"));
        // A sibling outside the watched subtree, even with a common name prefix, is not reported.
        w.create(p("rr"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        w.multi(List.of(
            org.apache.zookeeper.Op.create(p("r/m1"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
            org.apache.zookeeper.Op.create(p("r/m2"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)));
        // recursive watches never deliver NodeChildrenChanged: the next events are the multi's creates
        WatchedEvent m1 = events.expect(EventType.NodeCreated, p("r/m1"));
        WatchedEvent m2 = events.expect(EventType.NodeCreated, p("r/m2"));
        assertEquals(m1.getZxid(), m2.getZxid(), "events of one multi carry its one zxid");
        expectNothingMore(zk, events, w);
    }

    @Test
    void removeWatchesNotifiesTheRemovedWatcher() throws Exception {
        ZooKeeper w = writer();
        zk.create(p("n"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        Events data = new Events();
        Events child = new Events();
        zk.getData(p("n"), data, null);
        zk.getChildren(p("n"), child);

        zk.removeWatches(p("n"), data, WatcherType.Data, false);
        data.expect(EventType.DataWatchRemoved, p("n"));
        w.setData(p("n"), bytes("x"), -1);
        expectNothingMore(zk, data, w);

        // the child watch is untouched by removing the data watch
        w.create(p("n/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        child.expect(EventType.NodeChildrenChanged, p("n"));

        // removing a watch that is not there: NOWATCHER
        expectCode(Code.NOWATCHER, () -> zk.removeWatches(p("n"), data, WatcherType.Data, false));
        expectCode(Code.NOWATCHER, () -> zk.removeWatches(p("n"), child, WatcherType.Children, false));

        zk.getChildren(p("n"), child);
        zk.removeWatches(p("n"), child, WatcherType.Any, false);
        child.expect(EventType.ChildWatchRemoved, p("n"));
    }

    @Test
    void removeAllWatchesRemovesEveryWatcherOnThePath() throws Exception {
        ZooKeeper w = writer();
        zk.create(p("n"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Events one = new Events();
        Events two = new Events();
        zk.getData(p("n"), one, null);
        zk.exists(p("n"), two);
        zk.getChildren(p("n"), two);

        zk.removeAllWatches(p("n"), WatcherType.Any, false);
        one.expect(EventType.DataWatchRemoved, p("n"));
        WatchedEvent a = two.next();
        WatchedEvent b = two.next();
        assertTrue(List.of(a.getType(), b.getType()).containsAll(
            List.of(EventType.DataWatchRemoved, EventType.ChildWatchRemoved)), a + " / " + b);

        w.setData(p("n"), bytes("x"), -1);
        w.create(p("n/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        expectNothingMore(zk, one, w);
        expectNothingMore(zk, two, w);
        expectCode(Code.NOWATCHER, () -> zk.removeAllWatches(p("n"), WatcherType.Any, false));
    }

    @Test
    void removePersistentWatches() throws Exception {
        ZooKeeper w = writer();
        zk.create(p("n"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Events persistent = new Events();
        Events recursive = new Events();
        zk.addWatch(p("n"), persistent, AddWatchMode.PERSISTENT);
        zk.addWatch(p("n"), recursive, AddWatchMode.PERSISTENT_RECURSIVE);

        w.setData(p("n"), bytes("1"), -1);
        persistent.expect(EventType.NodeDataChanged, p("n"));
        recursive.expect(EventType.NodeDataChanged, p("n"));

        zk.removeWatches(p("n"), persistent, WatcherType.Persistent, false);
        persistent.expect(EventType.PersistentWatchRemoved, p("n"));
        zk.removeWatches(p("n"), recursive, WatcherType.PersistentRecursive, false);
        recursive.expect(EventType.PersistentWatchRemoved, p("n"));

        w.setData(p("n"), bytes("2"), -1);
        w.create(p("n/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        expectNothingMore(zk, persistent, w);
        expectNothingMore(zk, recursive, w);
    }

    @Test
    void watchesOfOneSessionAreNotSeenByAnother() throws Exception {
        ZooKeeper w = writer();
        Events mine = new Events();
        Events theirs = new Events();
        ZooKeeper other = connect();
        zk.create(p("n"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.getData(p("n"), mine, null);
        other.exists(p("elsewhere"), theirs);
        w.setData(p("n"), bytes("x"), -1);
        mine.expect(EventType.NodeDataChanged, p("n"));
        expectNothingMore(other, theirs, w);
    }

    @Test
    void theEventArrivesBeforeTheNewDataIsSeen() throws Exception {
        ZooKeeper w = writer();
        zk.create(p("n"), bytes("0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        // Watch callbacks and async results run on one client thread in the order the server sent them,
        // so this log is the order of the wire.
        List<String> log = new CopyOnWriteArrayList<>();
        zk.getData(p("n"), e -> log.add("event " + e.getType()), null);
        w.setData(p("n"), bytes("1"), -1);
        for (int i = 0; i < 200 && !log.contains("data 1"); i++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            zk.getData(p("n"), false, (rc, path, ctx, data, stat) -> {
                log.add("data " + new String(data, StandardCharsets.UTF_8));
                done.complete(null);
            }, null);
            done.get(WAIT_MS, TimeUnit.MILLISECONDS);
        }
        assertTrue(log.contains("data 1"), log.toString());
        assertTrue(log.indexOf("event NodeDataChanged") >= 0
            && log.indexOf("event NodeDataChanged") < log.indexOf("data 1"),
            "a client sees the watch event before it sees the new data: " + log);
    }

    @Test
    void watchesAreRestoredAfterAReconnect() throws Exception {
        ZooKeeper w = writer();
        zk.create(p("n"), bytes("0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("quiet"), bytes("0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        LinkedBlockingQueue<KeeperState> states = new LinkedBlockingQueue<>();
        ZooKeeper watching = connect(e -> {
            if (e.getType() == EventType.None) {
                states.add(e.getState());
            }
        });
        assertEquals(KeeperState.SyncConnected, states.poll(WAIT_MS, TimeUnit.MILLISECONDS));
        Events data = new Events();
        Events exist = new Events();
        Events child = new Events();
        Events quiet = new Events();
        Events recursive = new Events();
        watching.getData(p("n"), data, null);
        watching.exists(p("later"), exist);
        watching.getChildren(p("n"), child);
        watching.getData(p("quiet"), quiet, null);
        watching.addWatch(p("tree"), recursive, AddWatchMode.PERSISTENT_RECURSIVE);

        // Drop the connection; the client reconnects on its own (after about a second) and sends its
        // watches back with the last zxid it saw (setWatches / setWatches2).
        watching.getTestable().closeSocket();
        assertEquals(KeeperState.Disconnected, states.poll(WAIT_MS, TimeUnit.MILLISECONDS));
        // changes made while it is away are reported once it is back
        w.setData(p("n"), bytes("1"), -1);
        w.create(p("later"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        w.create(p("n/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        assertEquals(KeeperState.SyncConnected, states.poll(WAIT_MS, TimeUnit.MILLISECONDS));

        data.expect(EventType.NodeDataChanged, p("n"));
        exist.expect(EventType.NodeCreated, p("later"));
        child.expect(EventType.NodeChildrenChanged, p("n"));
        // an unchanged node's watch is re-registered, not fired
        expectNothingMore(watching, quiet, w);
        w.setData(p("quiet"), bytes("1"), -1);
        quiet.expect(EventType.NodeDataChanged, p("quiet"));
        // the persistent recursive watch is back too
        w.create(p("tree"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        recursive.expect(EventType.NodeCreated, p("tree"));
        w.create(p("tree/x"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        recursive.expect(EventType.NodeCreated, p("tree/x"));
    }
}
