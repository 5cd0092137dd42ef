package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.utils.CloseableUtils;
import org.junit.jupiter.api.Test;

/** Curator's LeaderSelector: exactly one leader at a time, and leadership passes between candidates. */
class CuratorLeaderTest extends CuratorTestBase {

    @Test
    void oneLeaderAtATimeAndLeadershipPassesOn() throws Exception {
        int candidates = 3;
        int termsWanted = 9;
        String electionPath = p("election");

        AtomicInteger leaders = new AtomicInteger();
        AtomicInteger maxLeaders = new AtomicInteger();
        AtomicInteger terms = new AtomicInteger();
        List<String> order = new CopyOnWriteArrayList<>();
        Set<String> distinct = ConcurrentHashMap.newKeySet();

        List<LeaderSelector> selectors = new ArrayList<>();
        try {
            for (int i = 0; i < candidates; i++) {
                String name = "candidate-" + i;
                CuratorFramework client = curator();
                LeaderSelector selector = new LeaderSelector(client, electionPath, new LeaderSelectorListenerAdapter() {
                    @Override
                    public void takeLeadership(CuratorFramework c) throws Exception {
                        int now = leaders.incrementAndGet();
                        maxLeaders.accumulateAndGet(now, Math::max);
                        order.add(name);
                        distinct.add(name);
                        try {
                            Thread.sleep(50);
                        } finally {
                            leaders.decrementAndGet();
                            terms.incrementAndGet();
                        }
                        // returning gives up leadership; autoRequeue puts this candidate back in line
                    }
                });
                selector.setId(name);
                selector.autoRequeue();
                selectors.add(selector);
            }
            selectors.forEach(LeaderSelector::start);

            eventually(60_000, termsWanted + " leadership terms", () -> terms.get() >= termsWanted);
            assertEquals(1, maxLeaders.get(), "never two leaders at once; order " + order);
            assertEquals(candidates, distinct.size(), "every candidate led at some point; order " + order);
            // the participants' view agrees on who leads: exactly one participant says it is leader
            // (read while leadership keeps rotating, so a node may vanish between list and read: retry)
            eventually(WAIT_MS, "a current leader among participants", () -> {
                try {
                    return selectors.get(0).getParticipants().stream().filter(p -> p.isLeader()).count() == 1;
                } catch (Exception e) {
                    return false;
                }
            });
        } finally {
            selectors.forEach(CloseableUtils::closeQuietly);
        }
        eventually(WAIT_MS, "election nodes removed after close", () -> {
            try {
                return zk.getChildren(electionPath, false).isEmpty();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void leadershipPassesWhenTheLeaderLeaves() throws Exception {
        AtomicInteger leading = new AtomicInteger();
        List<String> order = new CopyOnWriteArrayList<>();
        CuratorFramework first = curator();
        CuratorFramework second = curator();
        String electionPath = p("election");

        LeaderSelector a = new LeaderSelector(first, electionPath, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework c) throws Exception {
                order.add("a");
                leading.incrementAndGet();
                try {
                    Thread.sleep(Long.MAX_VALUE); // lead until interrupted
                } finally {
                    leading.decrementAndGet();
                }
            }
        });
        LeaderSelector b = new LeaderSelector(second, electionPath, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework c) throws Exception {
                order.add("b");
                leading.incrementAndGet();
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } finally {
                    leading.decrementAndGet();
                }
            }
        });
        boolean aClosed = false;
        try {
            a.start();
            eventually(WAIT_MS, "a leads", () -> order.contains("a"));
            b.start();
            assertTrue(a.hasLeadership());
            // a steps down: its leader thread is interrupted, its election node deleted, b's watch fires
            a.close();
            aClosed = true;
            eventually(WAIT_MS, "b leads after a left", () -> order.contains("b"));
            assertEquals(List.of("a", "b"), order);
            assertEquals(1, leading.get(), "a stopped leading before b started");
        } finally {
            if (!aClosed) {
                a.close();
            }
            b.close();
        }
    }
}
