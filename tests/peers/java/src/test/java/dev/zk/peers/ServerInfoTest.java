package dev.zk.peers;

import static dev.zk.peers.CreateTest.bytes;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ClientInfo;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/** getEphemerals, getAllChildrenNumber, whoAmI, getConfig and sync. */
class ServerInfoTest extends PeerTest {

    private static List<String> sorted(List<String> in) {
        List<String> out = new ArrayList<>(in);
        Collections.sort(out);
        return out;
    }

    @Test
    void getEphemeralsListsThisSessionsEphemeralsUnderAPrefix() throws Exception {
        zk.create(p("sub"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("e1"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        zk.create(p("sub/e2"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        String seq = zk.create(p("sub/s-"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL_SEQUENTIAL);
        zk.create(p("persistent"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        ZooKeeper other = connect();
        other.create(p("theirs"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);

        assertEquals(sorted(List.of(p("e1"), p("sub/e2"), seq)), sorted(zk.getEphemerals(base)));
        assertEquals(sorted(List.of(p("sub/e2"), seq)), sorted(zk.getEphemerals(p("sub"))));
        assertEquals(List.of(p("theirs")), other.getEphemerals(base));
        assertEquals(sorted(List.of(p("e1"), p("sub/e2"), seq)), sorted(zk.getEphemerals()),
            "without a prefix: all of this session's ephemerals");
        assertEquals(List.of(), connect().getEphemerals());
    }

    @Test
    void getAllChildrenNumberCountsAllDescendants() throws Exception {
        assertEquals(0, zk.getAllChildrenNumber(base));
        zk.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("a/b"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("a/b/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        zk.create(p("a/d"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("e"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        // a sibling sharing the name prefix "a" is not a descendant of a
        zk.create(p("ab"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        assertEquals(6, zk.getAllChildrenNumber(base));
        assertEquals(3, zk.getAllChildrenNumber(p("a")));
        assertEquals(0, zk.getAllChildrenNumber(p("e")));
        expectCode(Code.NONODE, () -> zk.getAllChildrenNumber(p("missing")));
    }

    @Test
    void whoAmIReportsTheSessionsIdentities() throws Exception {
        List<ClientInfo> plain = zk.whoAmI();
        assertEquals(1, plain.size(), "an unauthenticated session has its ip identity: " + plain);
        assertEquals("ip", plain.get(0).getAuthScheme());
        assertEquals("127.0.0.1", plain.get(0).getUser());

        ZooKeeper alice = connect();
        alice.addAuthInfo("digest", bytes("alice:secret"));
        Set<String> ids = new HashSet<>();
        for (ClientInfo info : alice.whoAmI()) {
            ids.add(info.getAuthScheme() + ":" + info.getUser());
        }
        assertEquals(Set.of("ip:127.0.0.1", "digest:alice"), ids);
    }

    @Test
    void getConfigOnAStandaloneServer() throws Exception {
        Stat stat = new Stat();
        byte[] config = zk.getConfig(false, stat);
        assertNotNull(stat);
        assertEquals(zk.exists("/zookeeper/config", false), stat, "getConfig reads /zookeeper/config");
        // A standalone server has no dynamic configuration: the node is empty.
        assertEquals(0, config == null ? 0 : config.length, "standalone config: " + new String(config));
        assertEquals(0, stat.getDataLength());
    }

    @Test
    void syncWaitsForTheServerToCatchUp() throws Exception {
        ZooKeeper writer = connect();
        writer.create(p("n"), bytes("x"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.sync(base);
        assertNotNull(zk.exists(p("n"), false), "after sync a reader sees an earlier write");

        CompletableFuture<String> done = new CompletableFuture<>();
        zk.sync(p("n"), (rc, path, ctx) -> {
            if (rc == 0) {
                done.complete(path);
            } else {
                done.completeExceptionally(new AssertionError("sync rc " + rc));
            }
        }, null);
        assertEquals(p("n"), done.get(WAIT_MS, TimeUnit.MILLISECONDS), "async sync reports the synced path");
        // sync of a missing path still succeeds: it only orders this session's view
        zk.sync(p("missing"));
        assertTrue(zk.getState().isConnected());
    }
}
