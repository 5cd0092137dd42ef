package dev.zk.peers;

import static dev.zk.peers.CreateTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener.Type;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.ZooDefs.Ids;
import org.junit.jupiter.api.Test;

/**
 * Curator's CuratorCache keeps a local copy of a subtree using one persistent-recursive watch (addWatch);
 * changes made by another session show up as create/change/delete events.
 */
class CuratorCacheTest extends CuratorTestBase {

    record Change(Type type, String path, byte[] data) {
        @Override
        public String toString() {
            return type + " " + path;
        }
    }

    @Test
    void cacheSeesCreatesUpdatesAndDeletes() throws Exception {
        String root = p("config");
        zk.create(root, bytes("r"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(root + "/existing", bytes("e"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        CuratorFramework client = curator();
        LinkedBlockingQueue<Change> changes = new LinkedBlockingQueue<>();
        CountDownLatch initialized = new CountDownLatch(1);
        try (CuratorCache cache = CuratorCache.build(client, root)) {
            cache.listenable().addListener(CuratorCacheListener.builder()
                .forAll((type, oldData, data) -> {
                    ChildData d = data != null ? data : oldData;
                    changes.add(new Change(type, d.getPath(), d.getData()));
                })
                .forInitialized(initialized::countDown)
                .build());
            cache.start();
            assertTrue(initialized.await(WAIT_MS, TimeUnit.MILLISECONDS), "cache initialized");
            // the initial load reports what was there
            assertEquals("NODE_CREATED " + root, next(changes).toString());
            assertEquals("NODE_CREATED " + root + "/existing", next(changes).toString());
            assertArrayEquals(bytes("e"), cache.get(root + "/existing").orElseThrow().getData());

            // changes by another session
            zk.create(root + "/a", bytes("1"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
            Change c = next(changes);
            assertEquals("NODE_CREATED " + root + "/a", c.toString());
            assertArrayEquals(bytes("1"), c.data());

            zk.setData(root + "/a", bytes("2"), -1);
            c = next(changes);
            assertEquals("NODE_CHANGED " + root + "/a", c.toString());
            assertArrayEquals(bytes("2"), c.data());

            zk.create(root + "/a/deep", bytes("d"), Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
            assertEquals("NODE_CREATED " + root + "/a/deep", next(changes).toString());

            zk.delete(root + "/a/deep", -1);
            assertEquals("NODE_DELETED " + root + "/a/deep", next(changes).toString());
            zk.delete(root + "/existing", -1);
            assertEquals("NODE_DELETED " + root + "/existing", next(changes).toString());

            assertEquals(2, cache.size(), "root and a remain");
            assertArrayEquals(bytes("2"), cache.get(root + "/a").orElseThrow().getData());
            assertNotNull(cache.get(root).orElse(null));
        }
    }

    private static Change next(LinkedBlockingQueue<Change> q) throws InterruptedException {
        Change c = q.poll(WAIT_MS, TimeUnit.MILLISECONDS);
        assertNotNull(c, "no CuratorCache event within " + WAIT_MS + " ms");
        return c;
    }
}
