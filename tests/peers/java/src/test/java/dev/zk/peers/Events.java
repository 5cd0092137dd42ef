package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.Watcher.Event.EventType;

/**
 * A watcher that queues the node events it receives (connection-state events with type None are
 * dropped), so a test can assert which events arrive and in which order.
 */
final class Events implements Watcher {

    private final LinkedBlockingQueue<WatchedEvent> queue = new LinkedBlockingQueue<>();

    @Override
    public void process(WatchedEvent event) {
        if (event.getType() != EventType.None) {
            queue.add(event);
        }
    }

    /** Waits for the next node event, failing the test if none comes in time. */
    WatchedEvent next() throws InterruptedException {
        WatchedEvent e = queue.poll(PeerTest.WAIT_MS, TimeUnit.MILLISECONDS);
        assertNotNull(e, "no watch event arrived within " + PeerTest.WAIT_MS + " ms");
        return e;
    }

    /** Waits for the next event and checks its type and path. */
    WatchedEvent expect(EventType type, String path) throws InterruptedException {
        WatchedEvent e = next();
        assertEquals(type + " " + path, e.getType() + " " + e.getPath(), "watch event " + e);
        return e;
    }

    /** True if no event is queued right now (use after a marker event proved delivery caught up). */
    boolean isEmpty() {
        return queue.isEmpty();
    }

    @Override
    public String toString() {
        return queue.toString();
    }
}
