package dev.zk.peers;

import static dev.zk.peers.CreateTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/** getData / setData / exists / delete / getChildren with versions and exact error codes. */
class DataTest extends PeerTest {

    @Test
    void setDataChecksVersions() throws Exception {
        Stat created = new Stat();
        zk.create(p("n"), bytes("one"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, created);

        Stat s1 = zk.setData(p("n"), bytes("two!"), 0);
        assertEquals(1, s1.getVersion());
        assertEquals(4, s1.getDataLength());
        assertEquals(created.getCzxid(), s1.getCzxid());
        assertTrue(s1.getMzxid() > s1.getCzxid(), "setData moves mzxid");
        assertEquals(created.getPzxid(), s1.getPzxid(), "setData leaves pzxid");
        assertTrue(s1.getMtime() >= s1.getCtime());

        expectCode(Code.BADVERSION, () -> zk.setData(p("n"), bytes("stale"), 0));
        expectCode(Code.BADVERSION, () -> zk.setData(p("n"), bytes("future"), 7));

        Stat s2 = zk.setData(p("n"), bytes("three"), -1);
        assertEquals(2, s2.getVersion(), "version -1 matches any version");

        Stat read = new Stat();
        assertArrayEquals(bytes("three"), zk.getData(p("n"), false, read));
        assertEquals(s2, read);
        assertEquals(read, zk.exists(p("n"), false));

        expectCode(Code.NONODE, () -> zk.setData(p("missing"), bytes("x"), -1));
        expectCode(Code.NONODE, () -> zk.getData(p("missing"), false, null));
        assertNull(zk.exists(p("missing"), false));
    }

    @Test
    void deleteChecksVersionsAndChildren() throws Exception {
        zk.create(p("n"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.setData(p("n"), bytes("x"), -1);
        expectCode(Code.BADVERSION, () -> zk.delete(p("n"), 0));
        zk.delete(p("n"), 1);
        assertNull(zk.exists(p("n"), false));
        expectCode(Code.NONODE, () -> zk.delete(p("n"), -1));

        zk.create(p("parent"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("parent/child"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        expectCode(Code.NOTEMPTY, () -> zk.delete(p("parent"), -1));
        Stat before = zk.exists(p("parent"), false);
        zk.delete(p("parent/child"), -1);
        Stat after = zk.exists(p("parent"), false);
        assertEquals(before.getCversion() + 1, after.getCversion(), "a child delete bumps cversion");
        assertEquals(0, after.getNumChildren());
        assertTrue(after.getPzxid() > before.getPzxid(), "a child delete moves pzxid");
        zk.delete(p("parent"), -1);
    }

    @Test
    void getChildrenWithStat() throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            names.add("k" + i);
            zk.create(p("k" + i), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        }
        zk.create(p("k3/deeper"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        Stat stat = new Stat();
        List<String> children = new ArrayList<>(zk.getChildren(base, false, stat));
        Collections.sort(children);
        Collections.sort(names);
        assertEquals(names, children, "direct children only, names without the parent path");
        assertEquals(12, stat.getNumChildren());
        assertEquals(zk.exists(base, false), stat);

        assertEquals(List.of(), zk.getChildren(p("k0"), false));
        assertEquals(List.of("deeper"), zk.getChildren(p("k3"), false));
        expectCode(Code.NONODE, () -> zk.getChildren(p("missing"), false, new Stat()));
        expectCode(Code.NONODE, () -> zk.getChildren(p("missing"), false));
    }

    @Test
    void largeDataRoundTrips() throws Exception {
        byte[] big = new byte[512 * 1024];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31 + 7);
        }
        zk.create(p("big"), big, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Stat stat = new Stat();
        assertArrayEquals(big, zk.getData(p("big"), false, stat));
        assertEquals(big.length, stat.getDataLength());
    }

    @Test
    void rootAndSystemNodesExist() throws Exception {
        assertTrue(zk.exists("/", false) != null);
        assertTrue(zk.getChildren("/", false).contains("zookeeper"));
        assertTrue(zk.exists("/zookeeper", false) != null);
        assertTrue(zk.exists("/zookeeper/config", false) != null);
        expectCode(Code.BADARGUMENTS, () -> zk.delete("/zookeeper", -1));
    }

    @Test
    void chrootedClientSeesPathsRelativeToItsRoot() throws Exception {
        ZooKeeper chrooted = track(new ZooKeeper(connectString() + base, SESSION_TIMEOUT_MS, e -> { }));
        eventually(WAIT_MS, "chrooted client connected", () -> chrooted.getState().isConnected());
        assertEquals("/app", chrooted.create("/app", bytes("a"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        assertArrayEquals(bytes("a"), zk.getData(p("app"), false, null), "stored under the chroot");
        assertEquals("/app/s-0000000000",
            chrooted.create("/app/s-", null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL_SEQUENTIAL));
        assertEquals(List.of("app"), chrooted.getChildren("/", false));
        // (the 3.9 client does not strip its chroot from getEphemerals results: full server paths)
        assertEquals(List.of(p("app/s-0000000000")), chrooted.getEphemerals("/"));
        Events events = new Events();
        chrooted.getData("/app", events, null);
        zk.setData(p("app"), bytes("b"), -1);
        events.expect(org.apache.zookeeper.Watcher.Event.EventType.NodeDataChanged, "/app");
    }
}
