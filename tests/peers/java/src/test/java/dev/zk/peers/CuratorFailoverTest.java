package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.SessionConnectionStateErrorPolicy;
import org.apache.curator.retry.RetryForever;
import org.apache.curator.utils.CloseableUtils;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Curator against a 3-member zk ensemble when the member its connection is on dies by SIGKILL:
 * the connection goes SUSPENDED then RECONNECTED, never LOST; an InterProcessMutex stays held (its
 * lock node is the same ephemeral of the same session, and nobody else gets the lock) and a
 * LeaderLatch keeps leadership without a notLeader() call.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class CuratorFailoverTest {

    /** Loopback net 127.0.78.x; the Rust tests use other nets. */
    private static final int NET = 78;
    /** The most a session may ask for at tickTime 200 (20 ticks). */
    private static final int SESSION_TIMEOUT_MS = 4_000;

    private static LocalEnsemble ensemble;
    private final List<CuratorFramework> curators = new ArrayList<>();

    @BeforeAll
    static void startEnsemble() throws Exception {
        List<String> command = LocalEnsemble.serverCommand();
        Assumptions.assumeTrue(command != null,
            "starts its own ensemble: needs ZK_BIN (zk) or -Dzk.apache.lib (apache)");
        ensemble = new LocalEnsemble(command, NET, 3);
    }

    @AfterAll
    static void stopEnsemble() throws Exception {
        if (ensemble != null) {
            ensemble.close();
        }
    }

    @AfterEach
    void restoreMembers() throws Exception {
        for (int i = curators.size() - 1; i >= 0; i--) {
            CloseableUtils.closeQuietly(curators.get(i));
        }
        if (ensemble == null) {
            return;
        }
        for (LocalEnsemble.Member m : ensemble.members) {
            if (!m.running()) {
                ensemble.restart(m);
            }
        }
        ensemble.leader(60_000);
    }

    /**
     * A started, connected Curator client with the full connect string whose first connection goes
     * to {@code first}. Only a lost session counts as an error for recipes
     * (SessionConnectionStateErrorPolicy): a short disconnect must not cost a lock or leadership.
     */
    private CuratorFramework curator(LocalEnsemble.Member first, List<ConnectionState> states) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
            .connectString(ensemble.connectString())
            .sessionTimeoutMs(SESSION_TIMEOUT_MS)
            .connectionTimeoutMs(SESSION_TIMEOUT_MS)
            .retryPolicy(new RetryForever(100))
            .connectionStateErrorPolicy(new SessionConnectionStateErrorPolicy())
            .zookeeperFactory((connect, timeout, watcher, readOnly) ->
                new ZooKeeper(connect, timeout, watcher, readOnly, new FirstHostProvider(ensemble, first)))
            .build();
        curators.add(c);
        c.getConnectionStateListenable().addListener((client, state) -> states.add(state));
        c.start();
        assertTrue(c.blockUntilConnected(20, TimeUnit.SECONDS), "Curator connected");
        return c;
    }

    /** Waits for SUSPENDED followed by RECONNECTED and fails if LOST shows up. */
    private static void awaitSuspendedThenReconnected(List<ConnectionState> states) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            assertFalse(states.contains(ConnectionState.LOST), "connection states " + states);
            int suspended = states.indexOf(ConnectionState.SUSPENDED);
            if (suspended >= 0 && states.subList(suspended, states.size()).contains(ConnectionState.RECONNECTED)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no SUSPENDED -> RECONNECTED within 20 s: " + states);
    }

    @Test
    void lockAndLeadershipSurviveTheLeaderBeingKilledUnderTheClient() throws Exception {
        LocalEnsemble.Member leader = ensemble.leader(30_000);
        List<ConnectionState> states = new CopyOnWriteArrayList<>();
        CuratorFramework c = curator(leader, states);
        long session = c.getZookeeperClient().getZooKeeper().getSessionId();
        assertTrue(leader.serves(session), "Curator is on the leader");

        String root = "/curator-failover-" + System.nanoTime();
        InterProcessMutex mutex = new InterProcessMutex(c, root + "/lock");
        assertTrue(mutex.acquire(10, TimeUnit.SECONDS), "lock acquired");
        LeaderLatch latch = new LeaderLatch(c, root + "/latch", "ours");
        AtomicInteger lostLeadership = new AtomicInteger();
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {}

            @Override
            public void notLeader() {
                lostLeadership.incrementAndGet();
            }
        });
        latch.start();
        assertTrue(latch.await(10, TimeUnit.SECONDS), "leadership");
        String latchPath = latch.getOurPath();
        List<String> lockNodes = c.getChildren().forPath(root + "/lock");
        assertEquals(1, lockNodes.size());
        String lockNode = root + "/lock/" + lockNodes.get(0);

        ensemble.kill(leader);
        awaitSuspendedThenReconnected(states);
        assertEquals(session, c.getZookeeperClient().getZooKeeper().getSessionId(), "same session");
        LocalEnsemble.Member now = ensemble.holding(session);
        assertNotNull(now, "a running member holds the session");
        assertNotEquals(leader.id, now.id);

        // The lock: same ephemeral node of the same session, still exclusive.
        assertTrue(mutex.isAcquiredInThisProcess());
        Stat lockStat = c.checkExists().forPath(lockNode);
        assertNotNull(lockStat, "lock node survives");
        assertEquals(session, lockStat.getEphemeralOwner());
        CuratorFramework rival = curator(ensemble.follower(), new CopyOnWriteArrayList<>());
        InterProcessMutex rivalMutex = new InterProcessMutex(rival, root + "/lock");
        assertFalse(rivalMutex.acquire(500, TimeUnit.MILLISECONDS), "a rival does not get a held lock");

        // Leadership: kept throughout, same latch node, and the rival sees us as leader.
        assertTrue(latch.hasLeadership());
        assertEquals(0, lostLeadership.get(), "notLeader() was never called");
        assertEquals(latchPath, latch.getOurPath());
        LeaderLatch rivalLatch = new LeaderLatch(rival, root + "/latch", "rival");
        rivalLatch.start();
        try {
            PeerTest.eventually(10_000, "rival sees the leader", () -> {
                try {
                    return "ours".equals(rivalLatch.getLeader().getId());
                } catch (Exception e) {
                    return false;
                }
            });
            assertFalse(rivalLatch.hasLeadership());

            // Handing both over still works on the new connection.
            mutex.release();
            assertTrue(rivalMutex.acquire(10, TimeUnit.SECONDS), "the rival gets the released lock");
            rivalMutex.release();
            latch.close();
            assertTrue(rivalLatch.await(10, TimeUnit.SECONDS), "leadership passes on when we leave");
        } finally {
            CloseableUtils.closeQuietly(rivalLatch);
        }
        assertFalse(states.contains(ConnectionState.LOST), "connection states " + states);
    }

    @Test
    void connectionIsSuspendedAndReconnectedWhenItsFollowerIsKilled() throws Exception {
        LocalEnsemble.Member follower = ensemble.follower();
        List<ConnectionState> states = new CopyOnWriteArrayList<>();
        CuratorFramework c = curator(follower, states);
        long session = c.getZookeeperClient().getZooKeeper().getSessionId();
        assertTrue(follower.serves(session), "Curator is on the follower");
        String root = "/curator-follower-" + System.nanoTime();
        LeaderLatch latch = new LeaderLatch(c, root + "/latch", "ours");
        latch.start();
        assertTrue(latch.await(10, TimeUnit.SECONDS), "leadership");
        List<String> acked = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            acked.add(c.create().creatingParentsIfNeeded().forPath(root + "/w/n-" + i, new byte[] {(byte) i}));
        }

        ensemble.kill(follower);
        awaitSuspendedThenReconnected(states);
        assertEquals(session, c.getZookeeperClient().getZooKeeper().getSessionId(), "same session");
        assertTrue(latch.hasLeadership());
        for (int i = 0; i < acked.size(); i++) {
            assertEquals(i, c.getData().forPath(acked.get(i))[0], "acknowledged write " + acked.get(i));
        }
        latch.close();
        assertFalse(states.contains(ConnectionState.LOST), "connection states " + states);
    }
}
