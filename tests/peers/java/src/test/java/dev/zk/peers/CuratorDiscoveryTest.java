package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.utils.CloseableUtils;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.ServiceProvider;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/**
 * curator-x-discovery: services register instances as ephemeral JSON znodes under
 * {@code <basePath>/<service>/<id>}; other processes find them with ServiceDiscovery and ServiceProvider.
 * (zk's Kubernetes discovery mirror reads this same layout.)
 */
class CuratorDiscoveryTest extends CuratorTestBase {

    private static ServiceInstance<Void> instance(String id, int port) throws Exception {
        return ServiceInstance.<Void>builder().name("api").id(id).address("127.0.0.1").port(port).build();
    }

    private static Set<Integer> ports(Collection<ServiceInstance<Void>> instances) {
        return instances.stream().map(ServiceInstance::getPort).collect(Collectors.toCollection(TreeSet::new));
    }

    @Test
    void registerDiscoverUnregister() throws Exception {
        String basePath = p("services");
        CuratorFramework serverSide = curator();
        CuratorFramework clientSide = curator();
        ServiceDiscovery<Void> registry = ServiceDiscoveryBuilder.builder(Void.class)
            .client(serverSide).basePath(basePath).build();
        ServiceDiscovery<Void> lookup = ServiceDiscoveryBuilder.builder(Void.class)
            .client(clientSide).basePath(basePath).watchInstances(true).build();
        ServiceProvider<Void> provider = null;
        try {
            registry.start();
            lookup.start();
            ServiceInstance<Void> one = instance("one", 8081);
            ServiceInstance<Void> two = instance("two", 8082);
            registry.registerService(one);
            registry.registerService(two);

            // the registration is an ephemeral znode holding the instance as JSON
            Stat stat = new Stat();
            String json = new String(zk.getData(basePath + "/api/one", false, stat), StandardCharsets.UTF_8);
            assertTrue(json.contains("\"port\":8081") && json.contains("\"address\":\"127.0.0.1\""), json);
            assertEquals(serverSide.getZookeeperClient().getZooKeeper().getSessionId(), stat.getEphemeralOwner());

            assertEquals(List.of("api"), List.copyOf(lookup.queryForNames()));
            assertEquals(Set.of(8081, 8082), ports(lookup.queryForInstances("api")));
            assertEquals(8082, lookup.queryForInstance("api", "two").getPort());

            provider = lookup.serviceProviderBuilder().serviceName("api").build();
            provider.start();
            ServiceProvider<Void> p1 = provider;
            eventually(WAIT_MS, "provider sees both instances", () -> {
                try {
                    return ports(p1.getAllInstances()).equals(Set.of(8081, 8082));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertNotNull(provider.getInstance());

            registry.unregisterService(one);
            assertEquals(Set.of(8082), ports(lookup.queryForInstances("api")));
            assertNull(lookup.queryForInstance("api", "one"));
            eventually(WAIT_MS, "provider sees the unregistration", () -> {
                try {
                    return ports(p1.getAllInstances()).equals(Set.of(8082));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(8082, provider.getInstance().getPort());

            // A registrant whose session ends (a crashed process) takes its instances with it: they are
            // ephemeral znodes. Its ServiceDiscovery is not closed, so nothing unregisters them explicitly.
            serverSide.close();
            registry = null;
            eventually(WAIT_MS, "provider sees no instances", () -> {
                try {
                    return p1.getAllInstances().isEmpty();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            assertTrue(lookup.queryForInstances("api").isEmpty());
        } finally {
            CloseableUtils.closeQuietly(provider);
            CloseableUtils.closeQuietly(lookup);
            if (registry != null) {
                CloseableUtils.closeQuietly(registry);
            }
        }
    }
}
