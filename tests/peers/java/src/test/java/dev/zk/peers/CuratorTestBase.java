package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.utils.CloseableUtils;
import org.junit.jupiter.api.AfterEach;

/** Curator clients for recipe tests: each started and connected, all closed after the test. */
abstract class CuratorTestBase extends PeerTest {

    private final List<CuratorFramework> curators = new ArrayList<>();

    protected CuratorFramework curator() throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.builder()
            .connectString(connectString())
            .sessionTimeoutMs(SESSION_TIMEOUT_MS)
            .connectionTimeoutMs(SESSION_TIMEOUT_MS)
            .retryPolicy(new ExponentialBackoffRetry(100, 5))
            .build();
        curators.add(c);
        c.start();
        assertTrue(c.blockUntilConnected((int) WAIT_MS, TimeUnit.MILLISECONDS), "Curator connected");
        return c;
    }

    @AfterEach
    void closeCurators() {
        for (int i = curators.size() - 1; i >= 0; i--) {
            CloseableUtils.closeQuietly(curators.get(i));
        }
        curators.clear();
    }
}
