package dev.zk.peers;

import static dev.zk.peers.CreateTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.Test;

/** More Curator recipes: counters, semaphore, double barrier, queue, and the fluent create API. */
class CuratorRecipesTest extends CuratorTestBase {

    @Test
    void sharedCountCompareAndSetAcrossClients() throws Exception {
        int clients = 3;
        int incrementsEach = 10;
        List<SharedCount> counts = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            for (int i = 0; i < clients; i++) {
                SharedCount count = new SharedCount(curator(), p("count"), 0);
                count.start();
                counts.add(count);
            }
            List<Future<?>> futures = new ArrayList<>();
            for (SharedCount count : counts) {
                futures.add(pool.submit(() -> {
                    for (int n = 0; n < incrementsEach; n++) {
                        // setData with the version read: retried until no one else wrote in between
                        while (true) {
                            VersionedValue<Integer> current = count.getVersionedValue();
                            if (count.trySetCount(current, current.getValue() + 1)) {
                                break;
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertEquals(clients * incrementsEach, readInt(p("count")),
                "every compare-and-set increment counted once (SharedCount stores a 4-byte int)");
            eventually(WAIT_MS, "all clients see the final count",
                () -> counts.stream().allMatch(c -> c.getCount() == clients * incrementsEach));
        } finally {
            pool.shutdownNow();
            for (SharedCount c : counts) {
                c.close();
            }
        }
    }

    private int readInt(String path) throws Exception {
        byte[] data = zk.getData(path, false, null);
        return java.nio.ByteBuffer.wrap(data).getInt();
    }

    @Test
    void distributedAtomicLongIncrements() throws Exception {
        DistributedAtomicLong a = new DistributedAtomicLong(curator(), p("long"), new RetryNTimes(50, 10));
        DistributedAtomicLong b = new DistributedAtomicLong(curator(), p("long"), new RetryNTimes(50, 10));
        for (int i = 0; i < 5; i++) {
            assertTrue(a.increment().succeeded());
            assertTrue(b.increment().succeeded());
        }
        AtomicValue<Long> v = a.add(100L);
        assertTrue(v.succeeded());
        assertEquals(10L, v.preValue());
        assertEquals(110L, v.postValue());
        assertEquals(110L, b.get().postValue());
    }

    @Test
    void semaphoreGivesOutAtMostItsLeases() throws Exception {
        int leases = 2;
        int workers = 6;
        AtomicInteger holding = new AtomicInteger();
        AtomicInteger maxHolding = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < workers; i++) {
                CuratorFramework client = curator();
                futures.add(pool.submit(() -> {
                    InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(client, p("sem"), leases);
                    for (int r = 0; r < 3; r++) {
                        Lease lease = semaphore.acquire(WAIT_MS, TimeUnit.MILLISECONDS);
                        assertNotNull(lease, "lease within " + WAIT_MS + " ms");
                        try {
                            maxHolding.accumulateAndGet(holding.incrementAndGet(), Math::max);
                            Thread.sleep(10);
                            holding.decrementAndGet();
                        } finally {
                            semaphore.returnLease(lease);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(maxHolding.get() <= leases, "at most " + leases + " holders, saw " + maxHolding.get());
        assertTrue(maxHolding.get() >= 1);
    }

    @Test
    void doubleBarrierReleasesWhenAllHaveEntered() throws Exception {
        int members = 3;
        AtomicInteger entered = new AtomicInteger();
        AtomicInteger enteredEarly = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(members);
        try {
            List<Future<Boolean>> futures = new ArrayList<>();
            for (int i = 0; i < members; i++) {
                CuratorFramework client = curator();
                futures.add(pool.submit(() -> {
                    DistributedDoubleBarrier barrier = new DistributedDoubleBarrier(client, p("barrier"), members);
                    entered.incrementAndGet();
                    boolean in = barrier.enter(WAIT_MS, TimeUnit.MILLISECONDS);
                    if (entered.get() < members) {
                        enteredEarly.incrementAndGet();
                    }
                    boolean out = barrier.leave(WAIT_MS, TimeUnit.MILLISECONDS);
                    return in && out;
                }));
            }
            for (Future<Boolean> f : futures) {
                assertTrue(f.get(60, TimeUnit.SECONDS), "entered and left the barrier");
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, enteredEarly.get(), "nobody passed enter() before all members arrived");
    }

    @Test
    void simpleQueueIsFifoAcrossClients() throws Exception {
        SimpleDistributedQueue producer = new SimpleDistributedQueue(curator(), p("queue"));
        SimpleDistributedQueue consumer = new SimpleDistributedQueue(curator(), p("queue"));
        assertNull(consumer.poll(), "empty queue");
        for (int i = 0; i < 5; i++) {
            assertTrue(producer.offer(bytes("item-" + i)));
        }
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(bytes("item-" + i), consumer.poll(WAIT_MS, TimeUnit.MILLISECONDS));
        }
        assertNull(consumer.poll(200, TimeUnit.MILLISECONDS));
        // a blocked consumer wakes up on the next offer (child watch)
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<byte[]> taken = pool.submit(() -> consumer.take());
            Thread.sleep(100);
            producer.offer(bytes("late"));
            assertArrayEquals(bytes("late"), taken.get(WAIT_MS, TimeUnit.MILLISECONDS));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void fluentCreateWithParentsAndProtection() throws Exception {
        CuratorFramework client = curator();
        String path = client.create().creatingParentContainersIfNeeded()
            .forPath(p("a/b/c"), bytes("deep"));
        assertEquals(p("a/b/c"), path);
        assertArrayEquals(bytes("deep"), zk.getData(p("a/b/c"), false, null));

        // protected ephemeral sequential: Curator prefixes a GUID and finds its node after a lost reply
        String prot = client.create().withProtection().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
            .forPath(p("a/job-"), bytes("x"));
        assertTrue(prot.startsWith(p("a/_c_")) && prot.matches(".*job-\\d{10}"), prot);
        assertEquals(client.getZookeeperClient().getZooKeeper().getSessionId(),
            zk.exists(prot, false).getEphemeralOwner());

        Collection<String> children = client.getChildren().forPath(p("a"));
        assertEquals(2, children.size());
        client.delete().deletingChildrenIfNeeded().forPath(p("a"));
        assertTrue(absent(p("a")));
    }
}
