package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/**
 * Sessions: negotiated timeouts, resuming a session from another ZooKeeper object with its id and
 * password, refusal of a wrong password, and expiry of an abandoned session.
 *
 * <p>A client "vanishing" is made with the client's own test hook {@code getTestable()
 * .injectSessionExpiration()}: it drops the connection without sending closeSession, as a killed process
 * would, so the server still holds the session.
 */
class SessionTest extends PeerTest {

    /** Opens a session resuming (sessionId, password) and returns it with the events it saw. */
    private ZooKeeper resume(long sessionId, byte[] password, List<WatchedEvent> events, CountDownLatch done) throws Exception {
        return track(new ZooKeeper(connectString(), SESSION_TIMEOUT_MS, event -> {
            events.add(event);
            if (event.getState() == KeeperState.SyncConnected || event.getState() == KeeperState.Expired) {
                done.countDown();
            }
        }, sessionId, password));
    }

    private static void abandon(ZooKeeper client) {
        client.getTestable().injectSessionExpiration();
    }

    @Test
    void negotiatedTimeoutIsClampedToTheServersBounds() throws Exception {
        // tickTime=2000: minSessionTimeout 4000, maxSessionTimeout 40000
        assertEquals(SESSION_TIMEOUT_MS, zk.getSessionTimeout());
        assertTrue(zk.getSessionId() != 0);
        assertEquals(16, zk.getSessionPasswd().length, "session password length");

        CountDownLatch up = new CountDownLatch(2);
        Watcher w = e -> {
            if (e.getState() == KeeperState.SyncConnected) {
                up.countDown();
            }
        };
        ZooKeeper shortOne = track(new ZooKeeper(connectString(), 100, w));
        ZooKeeper longOne = track(new ZooKeeper(connectString(), 3_600_000, w));
        assertTrue(up.await(WAIT_MS, TimeUnit.MILLISECONDS));
        assertEquals(4_000, shortOne.getSessionTimeout(), "clamped up to 2 * tickTime");
        assertEquals(40_000, longOne.getSessionTimeout(), "clamped down to 20 * tickTime");
        assertTrue(shortOne.getSessionId() != longOne.getSessionId());
    }

    @Test
    void sessionResumesOnAnotherClientObjectWithItsEphemerals() throws Exception {
        ZooKeeper first = connect();
        first.create(p("eph"), CreateTest.bytes("mine"), Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        long sessionId = first.getSessionId();
        byte[] password = first.getSessionPasswd();
        abandon(first);

        List<WatchedEvent> events = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        ZooKeeper second = resume(sessionId, password, events, done);
        assertTrue(done.await(WAIT_MS, TimeUnit.MILLISECONDS), "resume answered: " + events);
        assertEquals(KeeperState.SyncConnected, events.get(0).getState(), "resume accepted: " + events);
        assertEquals(sessionId, second.getSessionId(), "the same session continues");
        assertArrayEquals(password, second.getSessionPasswd());

        Stat stat = second.exists(p("eph"), false);
        assertNotNull(stat, "the session's ephemeral survived the move");
        assertEquals(sessionId, stat.getEphemeralOwner());
        second.create(p("eph2"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        assertEquals(2, second.getEphemerals(base).size());

        second.close();
        zk.sync(base);
        assertTrue(absent(p("eph")) && absent(p("eph2")), "closing the resumed session removes its ephemerals");
    }

    @Test
    void wrongPasswordIsRefusedAndTheOwnerKeepsItsSession() throws Exception {
        List<WatchedEvent> ownerEvents = new CopyOnWriteArrayList<>();
        ZooKeeper owner = connect(ownerEvents::add);
        owner.create(p("eph"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        long sessionId = owner.getSessionId();
        byte[] wrong = owner.getSessionPasswd().clone();
        wrong[0] ^= 0x5a;

        List<WatchedEvent> events = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        ZooKeeper intruder = resume(sessionId, wrong, events, done);
        assertTrue(done.await(WAIT_MS, TimeUnit.MILLISECONDS), "resume answered: " + events);
        assertEquals(KeeperState.Expired, events.get(0).getState(), "a wrong password is refused: " + events);
        eventually(WAIT_MS, "refused client closed", () -> !intruder.getState().isAlive());

        // The owner still holds its session and its ephemeral. (Apache ZooKeeper drops the owner's connection
        // when a connect for its session arrives, so the owner may reconnect once; it is never expired.)
        Stat stat = retryOnConnectionLoss(() -> owner.exists(p("eph"), false));
        assertNotNull(stat, "the owner's ephemeral is still there");
        assertEquals(sessionId, stat.getEphemeralOwner());
        assertEquals(sessionId, owner.getSessionId());
        retryOnConnectionLoss(() -> owner.setData(p("eph"), CreateTest.bytes("still mine"), -1));
        assertNotNull(zk.exists(p("eph"), false));
        assertFalse(ownerEvents.stream().anyMatch(e -> e.getState() == KeeperState.Expired),
            "the owner never sees Expired: " + ownerEvents);
        if (serverKind().equals("zk")) {
            // zk does better than ZooKeeper here (DESIGN.md): the owner is not even disconnected.
            assertFalse(ownerEvents.stream().anyMatch(e -> e.getState() == KeeperState.Disconnected),
                "zk keeps the owner connected: " + ownerEvents);
        }
    }

    @Test
    void abandonedSessionExpiresWithItsEphemeralsAndCannotBeResumed() throws Exception {
        CountDownLatch up = new CountDownLatch(1);
        ZooKeeper shortLived = track(new ZooKeeper(connectString(), 4_000, e -> {
            if (e.getState() == KeeperState.SyncConnected) {
                up.countDown();
            }
        }));
        assertTrue(up.await(WAIT_MS, TimeUnit.MILLISECONDS));
        shortLived.create(p("eph"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
        long sessionId = shortLived.getSessionId();
        byte[] password = shortLived.getSessionPasswd();
        Events deleted = new Events();
        zk.exists(p("eph"), deleted);
        abandon(shortLived);

        // The server expires it after its 4 s timeout (plus up to a tick) and deletes the ephemeral.
        deleted.expect(Watcher.Event.EventType.NodeDeleted, p("eph"));
        assertTrue(absent(p("eph")));

        List<WatchedEvent> events = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        resume(sessionId, password, events, done);
        assertTrue(done.await(WAIT_MS, TimeUnit.MILLISECONDS), "resume answered: " + events);
        assertEquals(KeeperState.Expired, events.get(0).getState(), "an expired session stays expired: " + events);
    }

    @Test
    void closedSessionCannotBeResumed() throws Exception {
        ZooKeeper first = connect();
        long sessionId = first.getSessionId();
        byte[] password = first.getSessionPasswd();
        first.close();

        List<WatchedEvent> events = new CopyOnWriteArrayList<>();
        CountDownLatch done = new CountDownLatch(1);
        resume(sessionId, password, events, done);
        assertTrue(done.await(WAIT_MS, TimeUnit.MILLISECONDS), "resume answered: " + events);
        assertEquals(KeeperState.Expired, events.get(0).getState(), events.toString());
    }

    @FunctionalInterface
    interface Call<T> {
        T call() throws Exception;
    }

    /** Retries a call that fails with ConnectionLoss while the client reconnects, for up to WAIT_MS. */
    static <T> T retryOnConnectionLoss(Call<T> call) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (true) {
            try {
                return call.call();
            } catch (KeeperException.ConnectionLossException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
