package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZKUtil;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/**
 * What every Java peer test shares: the server's address (-Dzk.connect, set by tests/peers/java/run),
 * a unique base znode per test so tests never see each other's data, clients that are closed after the
 * test, and bounded waiting helpers. Every test method has a time limit.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
abstract class PeerTest {

    /** Session timeout asked for by test clients; the server clamps it to [2, 20] ticks. */
    static final int SESSION_TIMEOUT_MS = 10_000;
    /** Upper bound for anything the tests wait for (connects, events, recipe progress). */
    static final long WAIT_MS = 20_000;

    private final List<ZooKeeper> clients = new ArrayList<>();
    /** Unique base path of this test, created before it runs and removed after. */
    protected String base;
    /** A connected client, opened for each test. */
    protected ZooKeeper zk;

    static String connectString() {
        return System.getProperty("zk.connect", "127.0.0.1:2181");
    }

    /** "zk" or "apache": which server the run script started. Only used for documented differences. */
    static String serverKind() {
        return System.getProperty("zk.server.kind", "zk");
    }

    @BeforeEach
    void setUpBase(TestInfo info) throws Exception {
        String method = info.getTestMethod().map(m -> m.getName()).orElse("test");
        base = "/java-" + getClass().getSimpleName() + "-" + method + "-"
            + UUID.randomUUID().toString().substring(0, 8);
        zk = connect();
        zk.create(base, new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
    }

    @AfterEach
    void tearDownBase() throws Exception {
        try {
            // The super user can remove nodes whatever their ACLs say.
            ZooKeeper cleaner = connect();
            cleaner.addAuthInfo("digest", "super:test".getBytes());
            ZKUtil.deleteRecursive(cleaner, base);
        } catch (KeeperException.NoNodeException ignored) {
            // the test removed it already
        } catch (Exception e) {
            System.err.println("cleanup of " + base + " failed: " + e);
        } finally {
            for (ZooKeeper c : clients) {
                try {
                    c.close(5_000);
                } catch (Exception ignored) {
                    // closing is best effort
                }
            }
            clients.clear();
        }
    }

    /** Opens a new session and waits until it is connected; the test closes it at the end. */
    protected ZooKeeper connect() throws Exception {
        return connect(null);
    }

    /** Like {@link #connect()}, with an extra default watcher that also sees connection events. */
    protected ZooKeeper connect(Watcher extra) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper c = new ZooKeeper(connectString(), SESSION_TIMEOUT_MS, event -> {
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected) {
                connected.countDown();
            }
            if (extra != null) {
                extra.process(event);
            }
        });
        track(c);
        assertTrue(connected.await(WAIT_MS, TimeUnit.MILLISECONDS),
            "no session with the server at " + connectString());
        return c;
    }

    /** Registers a client so it is closed after the test. */
    protected <T extends ZooKeeper> T track(T client) {
        clients.add(client);
        return client;
    }

    /** The path of a child of the base path. */
    protected String p(String relative) {
        return base + "/" + relative;
    }

    /** Polls (every 50 ms) until the condition holds or fails the test after {@code timeoutMs}. */
    static void eventually(long timeoutMs, String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + timeoutMs + " ms waiting for: " + what);
            }
            Thread.sleep(50);
        }
    }

    /** Runs a call that must fail with exactly this KeeperException code. */
    static KeeperException expectCode(KeeperException.Code code, ThrowingRunnable call) throws Exception {
        try {
            call.run();
        } catch (KeeperException e) {
            assertEquals(code, e.code(), "error code of " + e);
            return e;
        }
        fail("expected KeeperException " + code + " (" + code.intValue() + "), the call succeeded");
        return null;
    }

    /** Whether the node is absent, as seen by this test's main client; for use in {@link #eventually}. */
    protected boolean absent(String path) {
        try {
            return zk.exists(path, false) == null;
        } catch (Exception e) {
            throw new IllegalStateException("exists(" + path + ")", e);
        }
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws Exception;
    }
}
