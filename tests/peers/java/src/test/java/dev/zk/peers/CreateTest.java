package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/** Every CreateMode, create2's Stat, sequential naming and the create error codes. */
class CreateTest extends PeerTest {

    /**
     * ephemeralOwner that clients see for container and TTL nodes. The server keeps a marker internally
     * (0x8000000000000000 for containers, 0xFF00000000000000 | ttl for TTL nodes) but reports 0.
     */
    static final long EXTENDED_OWNER_SEEN = 0L;

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void persistentCreateReturnsPathAndCreate2ReturnsStat() throws Exception {
        assertEquals(p("plain"), zk.create(p("plain"), bytes("v"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));

        Stat stat = new Stat();
        String path = zk.create(p("with-stat"), bytes("hello"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, stat);
        assertEquals(p("with-stat"), path);
        assertEquals(stat.getCzxid(), stat.getMzxid(), "a new node's mzxid is its czxid");
        assertEquals(stat.getCzxid(), stat.getPzxid(), "a new node's pzxid is its czxid");
        assertEquals(stat.getCtime(), stat.getMtime());
        assertEquals(0, stat.getVersion());
        assertEquals(0, stat.getCversion());
        assertEquals(0, stat.getAversion());
        assertEquals(0L, stat.getEphemeralOwner());
        assertEquals(5, stat.getDataLength());
        assertEquals(0, stat.getNumChildren());
        assertTrue(stat.getCzxid() > 0);
        assertEquals(stat, zk.exists(path, false), "create2's Stat is the node's Stat");
    }

    @Test
    void createUpdatesParentStat() throws Exception {
        Stat before = zk.exists(base, false);
        Stat child = new Stat();
        zk.create(p("c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, child);
        Stat after = zk.exists(base, false);
        assertEquals(before.getCversion() + 1, after.getCversion());
        assertEquals(before.getNumChildren() + 1, after.getNumChildren());
        assertEquals(child.getCzxid(), after.getPzxid(), "parent's pzxid is the child's creation zxid");
        assertEquals(before.getMzxid(), after.getMzxid(), "a child create does not change the parent's data");
        assertEquals(before.getVersion(), after.getVersion());
    }

    @Test
    void ephemeralBelongsToSessionAndGoesWithIt() throws Exception {
        ZooKeeper other = connect();
        Stat stat = new Stat();
        other.create(p("eph"), bytes("x"), Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL, stat);
        assertEquals(other.getSessionId(), stat.getEphemeralOwner());
        assertEquals(other.getSessionId(), zk.exists(p("eph"), false).getEphemeralOwner());

        expectCode(Code.NOCHILDRENFOREPHEMERALS,
            () -> other.create(p("eph/child"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));

        other.close();
        zk.sync(base);
        assertNull(zk.exists(p("eph"), false), "an ephemeral node is deleted when its session closes");
    }

    @Test
    void sequentialNamesUseParentCversion() throws Exception {
        assertEquals(p("seq-0000000000"),
            zk.create(p("seq-"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL));
        assertEquals(p("seq-0000000001"),
            zk.create(p("seq-"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL));
        // The suffix counts every child ever created under the parent, sequential or not. Deletes do not
        // advance it, although a delete does bump the cversion clients see (creates + deletes).
        zk.create(p("plain"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.delete(p("plain"), -1);
        assertEquals(4, zk.exists(base, false).getCversion(), "3 creates + 1 delete");
        Stat stat = new Stat();
        String eph = zk.create(p("eseq-"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL_SEQUENTIAL, stat);
        assertEquals(p("eseq-0000000003"), eph, "4th child created: suffix 3");
        assertEquals(zk.getSessionId(), stat.getEphemeralOwner());
        assertEquals(5, zk.exists(base, false).getCversion());
        // A sequential name needs no prefix beyond the parent path.
        zk.create(p("dir"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        assertEquals(p("dir/0000000000"),
            zk.create(p("dir/"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL));
    }

    @Test
    void createErrors() throws Exception {
        zk.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        expectCode(Code.NODEEXISTS, () -> zk.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        expectCode(Code.NONODE,
            () -> zk.create(p("missing/child"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        expectCode(Code.NONODE,
            () -> zk.create(p("missing/child"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL_SEQUENTIAL));
        expectCode(Code.NODEEXISTS, () -> zk.create("/zookeeper", null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
    }

    @Test
    void nullAndEmptyData() throws Exception {
        zk.create(p("null"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("empty"), new byte[0], Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Stat stat = new Stat();
        assertNull(zk.getData(p("null"), false, stat), "data created as null reads back as null");
        assertEquals(0, stat.getDataLength());
        assertArrayEquals(new byte[0], zk.getData(p("empty"), false, stat));
        assertEquals(0, stat.getDataLength());
    }

    @Test
    void containerIsDeletedOnceItsLastChildGoes() throws Exception {
        Stat stat = new Stat();
        zk.create(p("box"), bytes("c"), Ids.OPEN_ACL_UNSAFE, CreateMode.CONTAINER, stat);
        assertEquals(EXTENDED_OWNER_SEEN, stat.getEphemeralOwner(), "a container's ephemeralOwner as clients see it");
        assertEquals(EXTENDED_OWNER_SEEN, zk.exists(p("box"), false).getEphemeralOwner());

        zk.create(p("box/item"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.delete(p("box/item"), -1);
        // The server's container sweep (znode.container.checkIntervalMs, 1 s in the test config) removes it.
        eventually(30_000, "container " + p("box") + " deleted by the server", () -> absent(p("box")));
    }

    @Test
    void ttlNodeCarriesTtlAndExpires() throws Exception {
        Stat stat = new Stat();
        zk.create(p("ttl"), bytes("t"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_WITH_TTL, stat, 500);
        assertEquals(EXTENDED_OWNER_SEEN, stat.getEphemeralOwner(), "a TTL node's ephemeralOwner as clients see it");
        assertEquals(EXTENDED_OWNER_SEEN, zk.exists(p("ttl"), false).getEphemeralOwner());
        assertEquals(0, stat.getVersion());

        String seq = zk.create(p("tseq-"), null, Ids.OPEN_ACL_UNSAFE,
            CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, stat, 60_000);
        assertEquals(p("tseq-0000000001"), seq);
        assertEquals(EXTENDED_OWNER_SEEN, stat.getEphemeralOwner());

        eventually(30_000, "TTL node " + p("ttl") + " deleted by the server", () -> absent(p("ttl")));
        assertNotNull(zk.exists(seq, false), "a TTL node within its TTL stays");
    }
}
