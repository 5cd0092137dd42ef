package dev.zk.peers;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.zookeeper.client.HostProvider;

/**
 * The client's host list in a fixed order, starting at one chosen member. The stock provider
 * shuffles the connect string; a failover test must know which member the client is on before it
 * kills one, while the client still holds every member's address (the full connect string) so it
 * can fail over exactly as it would in production.
 */
final class FirstHostProvider implements HostProvider {

    private final List<InetSocketAddress> hosts;
    private int next;
    /** Where the last successful connection went; a full circle back to it waits spinDelay. */
    private int connected = -1;
    private int current = -1;

    FirstHostProvider(LocalEnsemble ensemble, LocalEnsemble.Member first) {
        this.hosts = new ArrayList<>();
        int start = ensemble.members.indexOf(first);
        for (int i = 0; i < ensemble.members.size(); i++) {
            hosts.add(ensemble.members.get((start + i) % ensemble.members.size()).socketAddress());
        }
    }

    @Override
    public int size() {
        return hosts.size();
    }

    @Override
    public synchronized InetSocketAddress next(long spinDelay) {
        current = next;
        next = (next + 1) % hosts.size();
        if (current == connected && spinDelay > 0) {
            try {
                Thread.sleep(spinDelay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return hosts.get(current);
    }

    @Override
    public synchronized void onConnected() {
        connected = current;
    }

    @Override
    public boolean updateServerList(Collection<InetSocketAddress> serverAddresses, InetSocketAddress currentHost) {
        return false;
    }
}
