package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.junit.jupiter.api.Test;

/** Curator's InterProcessMutex: at most one holder at a time across sessions and threads. */
class CuratorMutexTest extends CuratorTestBase {

    @Test
    void mutualExclusionAcrossClientsAndThreads() throws Exception {
        int clients = 4;
        int threadsPerClient = 2;
        int rounds = 5;
        String lockPath = p("lock");

        List<CuratorFramework> sessions = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            sessions.add(curator());
        }
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        AtomicInteger acquisitions = new AtomicInteger();
        // Read, pause, write: a lost update would show a broken lock.
        AtomicInteger counter = new AtomicInteger();

        ExecutorService pool = Executors.newFixedThreadPool(clients * threadsPerClient);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (CuratorFramework session : sessions) {
                for (int t = 0; t < threadsPerClient; t++) {
                    futures.add(pool.submit(() -> {
                        InterProcessMutex mutex = new InterProcessMutex(session, lockPath);
                        for (int r = 0; r < rounds; r++) {
                            if (!mutex.acquire(WAIT_MS, TimeUnit.MILLISECONDS)) {
                                throw new AssertionError("lock not acquired within " + WAIT_MS + " ms");
                            }
                            try {
                                int now = holders.incrementAndGet();
                                maxHolders.accumulateAndGet(now, Math::max);
                                int seen = counter.get();
                                Thread.sleep(5);
                                counter.set(seen + 1);
                                acquisitions.incrementAndGet();
                                holders.decrementAndGet();
                            } finally {
                                mutex.release();
                            }
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        int total = clients * threadsPerClient * rounds;
        assertEquals(1, maxHolders.get(), "never more than one holder");
        assertEquals(total, acquisitions.get());
        assertEquals(total, counter.get(), "no lost update under the lock");
        assertEquals(0, zk.getChildren(lockPath, false).size(), "all lock nodes are gone after release");
    }

    @Test
    void reentrantAndVisibleToOthers() throws Exception {
        CuratorFramework a = curator();
        CuratorFramework b = curator();
        InterProcessMutex mine = new InterProcessMutex(a, p("lock"));
        InterProcessMutex theirs = new InterProcessMutex(b, p("lock"));

        assertTrue(mine.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        assertTrue(mine.acquire(WAIT_MS, TimeUnit.MILLISECONDS), "reentrant in the same thread");
        assertTrue(mine.isAcquiredInThisProcess());
        assertEquals(1, zk.getChildren(p("lock"), false).size(), "one lock node for a reentrant holder");
        assertFalse(theirs.acquire(300, TimeUnit.MILLISECONDS), "another session must wait");
        mine.release();
        assertFalse(theirs.acquire(300, TimeUnit.MILLISECONDS), "still held once");
        mine.release();
        assertTrue(theirs.acquire(WAIT_MS, TimeUnit.MILLISECONDS), "free after the last release");
        theirs.release();
    }

    @Test
    void lockOfAClosedSessionIsReleased() throws Exception {
        CuratorFramework a = curator();
        CuratorFramework b = curator();
        InterProcessMutex held = new InterProcessMutex(a, p("lock"));
        assertTrue(held.acquire(WAIT_MS, TimeUnit.MILLISECONDS));
        InterProcessMutex waiting = new InterProcessMutex(b, p("lock"));
        assertFalse(waiting.acquire(200, TimeUnit.MILLISECONDS));
        a.close(); // the holder's session ends: its ephemeral lock node goes, the waiter's watch fires
        assertTrue(waiting.acquire(WAIT_MS, TimeUnit.MILLISECONDS), "lock passes when the holder's session ends");
        waiting.release();
    }
}
