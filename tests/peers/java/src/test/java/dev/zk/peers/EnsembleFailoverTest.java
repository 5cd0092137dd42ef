package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Apache ZooKeeper Java client against a 3-member zk ensemble when a member dies by SIGKILL: the
 * client, given the full connect string, moves to another member inside its session timeout and
 * keeps its session (same id, no Expired), its ephemeral node and its watch; every write it had
 * acknowledged before the kill is still there.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EnsembleFailoverTest {

    /** Loopback net 127.0.77.x; the Rust tests use other nets. */
    private static final int NET = 77;
    /** The most a session may ask for at tickTime 200 (20 ticks). */
    private static final int SESSION_TIMEOUT_MS = 4_000;
    private static final int ACKED_WRITES = 50;

    private static LocalEnsemble ensemble;
    private final List<ZooKeeper> clients = new CopyOnWriteArrayList<>();

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

    /** Brings killed members back so the next test starts with all three. */
    @AfterEach
    void restoreMembers() throws Exception {
        if (ensemble == null) {
            return;
        }
        for (ZooKeeper c : clients) {
            c.close(2_000);
        }
        for (LocalEnsemble.Member m : ensemble.members) {
            if (!m.running()) {
                ensemble.restart(m);
            }
        }
        ensemble.leader(60_000);
    }

    /** A client with the full connect string whose first connection goes to {@code first}. */
    private ZooKeeper connectVia(LocalEnsemble.Member first, BlockingQueue<WatchedEvent> states) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper c = new ZooKeeper(ensemble.connectString(), SESSION_TIMEOUT_MS, event -> {
            if (event.getType() == Watcher.Event.EventType.None) {
                states.add(event);
                if (event.getState() == Watcher.Event.KeeperState.SyncConnected) {
                    connected.countDown();
                }
            }
        }, false, new FirstHostProvider(ensemble, first));
        clients.add(c);
        assertTrue(connected.await(20, TimeUnit.SECONDS), "connected to " + first.address());
        return c;
    }

    private ZooKeeper plainClient() throws Exception {
        return connectVia(ensemble.leader(30_000), new LinkedBlockingQueue<>());
    }

    /**
     * A watcher that keeps node events only: the Java client also hands connection-state events
     * (Disconnected, SyncConnected) to every registered watcher.
     */
    private static Watcher dataEvents(BlockingQueue<WatchedEvent> into) {
        return event -> {
            if (event.getType() != Watcher.Event.EventType.None) {
                into.add(event);
            }
        };
    }

    /** What the session looked like before the kill, to compare with afterwards. */
    private record Before(String base, String ephemeral, String watched, long sessionId) {}

    /** A base node, ACKED_WRITES acknowledged children, an ephemeral and a data watch. */
    private Before prepare(ZooKeeper c, String name, BlockingQueue<WatchedEvent> watchEvents) throws Exception {
        String base = c.create("/failover-" + name + "-", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE,
            CreateMode.PERSISTENT_SEQUENTIAL);
        for (int i = 0; i < ACKED_WRITES; i++) {
            c.create(base + "/w-" + i, ("v" + i).getBytes(StandardCharsets.UTF_8), ZooDefs.Ids.OPEN_ACL_UNSAFE,
                CreateMode.PERSISTENT);
        }
        String eph = c.create(base + "/eph", new byte[0], ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        String watched = c.create(base + "/watched", "0".getBytes(StandardCharsets.UTF_8),
            ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        c.getData(watched, dataEvents(watchEvents), null);
        return new Before(base, eph, watched, c.getSessionId());
    }

    /**
     * Waits for the client to report Disconnected then SyncConnected; fails on Expired or when the
     * reconnect takes longer than the session timeout after the kill.
     */
    private static long awaitReconnect(BlockingQueue<WatchedEvent> states, long killedAtNanos) throws Exception {
        boolean disconnected = false;
        long deadline = killedAtNanos + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            WatchedEvent e = states.poll(100, TimeUnit.MILLISECONDS);
            if (e == null) {
                continue;
            }
            assertNotEquals(Watcher.Event.KeeperState.Expired, e.getState(), "session expired");
            if (e.getState() == Watcher.Event.KeeperState.Disconnected) {
                disconnected = true;
            } else if (e.getState() == Watcher.Event.KeeperState.SyncConnected && disconnected) {
                return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAtNanos);
            }
        }
        throw new AssertionError("no Disconnected -> SyncConnected within 20 s of the kill");
    }

    /** Everything {@link #prepare} set up is still there after the failover, seen by the session and by another. */
    private void assertSurvived(ZooKeeper c, Before before, BlockingQueue<WatchedEvent> watchEvents,
                                BlockingQueue<WatchedEvent> states) throws Exception {
        assertEquals(before.sessionId(), c.getSessionId(), "same session after the failover");
        assertTrue(c.getState().isConnected());
        // The session's ephemeral, as the session and as an independent client see it.
        Stat eph = c.exists(before.ephemeral(), false);
        assertNotNull(eph, "ephemeral survives the failover");
        assertEquals(before.sessionId(), eph.getEphemeralOwner());
        ZooKeeper other = plainClient();
        CountDownLatch synced = new CountDownLatch(1);
        other.sync(before.base(), (rc, path, ctx) -> synced.countDown(), null);
        assertTrue(synced.await(10, TimeUnit.SECONDS), "sync");
        Stat seen = other.exists(before.ephemeral(), false);
        assertNotNull(seen, "ephemeral seen by another session");
        assertEquals(before.sessionId(), seen.getEphemeralOwner());
        // Every acknowledged write.
        for (int i = 0; i < ACKED_WRITES; i++) {
            byte[] data = c.getData(before.base() + "/w-" + i, false, null);
            assertEquals("v" + i, new String(data, StandardCharsets.UTF_8), "acknowledged write w-" + i);
        }
        assertEquals(ACKED_WRITES + 2, other.getChildren(before.base(), false).size());
        // The watch set before the kill fires on a later change made through another member.
        assertNull(watchEvents.poll(), "no watch event before the change");
        other.setData(before.watched(), "1".getBytes(StandardCharsets.UTF_8), -1);
        WatchedEvent fired = watchEvents.poll(10, TimeUnit.SECONDS);
        assertNotNull(fired, "the watch set before the failover fires");
        assertEquals(Watcher.Event.EventType.NodeDataChanged, fired.getType());
        assertEquals(before.watched(), fired.getPath());
        // The session can still write, and never saw Expired.
        c.setData(before.ephemeral(), "after".getBytes(StandardCharsets.UTF_8), -1);
        for (WatchedEvent e : states) {
            assertNotEquals(Watcher.Event.KeeperState.Expired, e.getState(), "session expired");
        }
    }

    @Test
    void sessionMovesOnWhenItsFollowerIsKilled() throws Exception {
        LocalEnsemble.Member follower = ensemble.follower();
        BlockingQueue<WatchedEvent> states = new LinkedBlockingQueue<>();
        BlockingQueue<WatchedEvent> watchEvents = new LinkedBlockingQueue<>();
        ZooKeeper c = connectVia(follower, states);
        Before before = prepare(c, "follower", watchEvents);
        assertTrue(follower.serves(before.sessionId()), "the client is on the follower");

        long killedAt = System.nanoTime();
        ensemble.kill(follower);
        long tookMs = awaitReconnect(states, killedAt);
        assertTrue(tookMs < c.getSessionTimeout(), "reconnected in " + tookMs + " ms, within the session timeout");
        LocalEnsemble.Member now = ensemble.holding(before.sessionId());
        assertNotNull(now, "a running member holds the session");
        assertNotEquals(follower.id, now.id);
        assertSurvived(c, before, watchEvents, states);
    }

    @Test
    void sessionSurvivesTheLeaderBeingKilled() throws Exception {
        LocalEnsemble.Member leader = ensemble.leader(30_000);
        LocalEnsemble.Member follower = ensemble.follower();
        BlockingQueue<WatchedEvent> states = new LinkedBlockingQueue<>();
        BlockingQueue<WatchedEvent> watchEvents = new LinkedBlockingQueue<>();
        ZooKeeper c = connectVia(follower, states);
        Before before = prepare(c, "leader", watchEvents);
        assertTrue(follower.serves(before.sessionId()), "the client is on a follower");

        ensemble.kill(leader);
        LocalEnsemble.Member next = ensemble.leader(30_000);
        assertNotEquals(leader.id, next.id, "a new leader among the survivors");
        // Whether or not the follower dropped its clients during the election, the session goes on:
        // a write through it succeeds (retried over a connection loss, as applications do).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try {
                c.setData(before.watched(), "0".getBytes(StandardCharsets.UTF_8), -1);
                break;
            } catch (KeeperException.ConnectionLossException e) {
                assertTrue(System.nanoTime() < deadline, "writes resume after the leader is replaced");
                Thread.sleep(100);
            }
        }
        // That write was the session's own change: it fires the watch set before the kill.
        WatchedEvent own = watchEvents.poll(10, TimeUnit.SECONDS);
        assertNotNull(own, "the watch fires on the first change after the failover");
        assertEquals(Watcher.Event.EventType.NodeDataChanged, own.getType());
        c.getData(before.watched(), dataEvents(watchEvents), null);
        assertSurvived(c, before, watchEvents, states);
        assertFalse(states.stream().anyMatch(e -> e.getState() == Watcher.Event.KeeperState.Expired));
    }
}
