package dev.zk.peers;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/**
 * zkCli in batch mode: {@code org.apache.zookeeper.ZooKeeperMain -server <connect> <cmd> <args>} run as
 * a separate JVM with this test's classpath, as a person would run bin/zkCli.sh. Its output is checked
 * line by line, and its effects through the Java client.
 */
class ZkCliTest extends PeerTest {

    record Result(int exit, String out, String err) {
        List<String> lines() {
            return Arrays.asList((out + "\n" + err).split("\\R"));
        }

        boolean hasLine(String line) {
            return lines().stream().anyMatch(l -> l.strip().equals(line));
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    static Result zkCli(String... command) throws Exception {
        return zkCli(SESSION_TIMEOUT_MS, command);
    }

    static Result zkCli(int sessionTimeoutMs, String... command) throws Exception {
        List<String> argv = new ArrayList<>();
        argv.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
        argv.add("-Xshare:auto");
        argv.add("-XX:TieredStopAtLevel=1");
        argv.add("-cp");
        argv.add(System.getProperty("java.class.path"));
        argv.add("org.apache.zookeeper.ZooKeeperMain");
        argv.add("-server");
        argv.add(connectString());
        argv.add("-timeout");
        argv.add(String.valueOf(sessionTimeoutMs));
        argv.add("-waitforconnection");
        argv.addAll(Arrays.asList(command));
        Process proc = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        proc.getOutputStream().close();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> slurp(proc.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> slurp(proc.getErrorStream()));
        if (!proc.waitFor(60, TimeUnit.SECONDS)) {
            proc.destroyForcibly();
            throw new AssertionError("zkCli " + String.join(" ", command) + " did not finish in 60 s");
        }
        return new Result(proc.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
    }

    private static String slurp(InputStream in) {
        try (in) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            in.transferTo(buf);
            return buf.toString(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void createGetLsSetStatDelete() throws Exception {
        String node = p("cli");

        Result r = zkCli("create", node, "hello");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.hasLine("Created " + node), r.toString());
        assertArrayEquals(CreateTest.bytes("hello"), zk.getData(node, false, null));

        r = zkCli("get", node);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.hasLine("hello"), r.toString());

        zk.create(p("other"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        r = zkCli("ls", base);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.hasLine("[cli, other]"), r.toString());

        r = zkCli("set", node, "world");
        assertEquals(0, r.exit(), r.toString());
        assertArrayEquals(CreateTest.bytes("world"), zk.getData(node, false, null));

        r = zkCli("stat", node);
        assertEquals(0, r.exit(), r.toString());
        Stat stat = zk.exists(node, false);
        assertTrue(r.hasLine("cZxid = 0x" + Long.toHexString(stat.getCzxid())), r.toString());
        assertTrue(r.hasLine("mZxid = 0x" + Long.toHexString(stat.getMzxid())), r.toString());
        assertTrue(r.hasLine("pZxid = 0x" + Long.toHexString(stat.getPzxid())), r.toString());
        assertTrue(r.hasLine("cversion = 0"), r.toString());
        assertTrue(r.hasLine("dataVersion = 1"), r.toString());
        assertTrue(r.hasLine("aclVersion = 0"), r.toString());
        assertTrue(r.hasLine("ephemeralOwner = 0x0"), r.toString());
        assertTrue(r.hasLine("dataLength = 5"), r.toString());
        assertTrue(r.hasLine("numChildren = 0"), r.toString());

        r = zkCli("delete", node);
        assertEquals(0, r.exit(), r.toString());
        assertTrue(absent(node));
        r = zkCli("ls", base);
        assertTrue(r.hasLine("[other]"), r.toString());
    }

    @Test
    void sequentialEphemeralAndVersionedCommands() throws Exception {
        Result r = zkCli("create", "-s", p("job-"), "x");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.hasLine("Created " + p("job-0000000000")), r.toString());

        // zkCli in batch mode exits without closing its session: its ephemeral outlives the process
        // until the server expires the session (4 s timeout here)
        Events deleted = new Events();
        zk.exists(p("eph"), deleted);
        r = zkCli(4_000, "create", "-e", p("eph"), "x");
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.hasLine("Created " + p("eph")), r.toString());
        deleted.expect(org.apache.zookeeper.Watcher.Event.EventType.NodeCreated, p("eph"));
        zk.exists(p("eph"), deleted);
        deleted.expect(org.apache.zookeeper.Watcher.Event.EventType.NodeDeleted, p("eph"));

        // get -s prints the data and the Stat
        r = zkCli("get", "-s", p("job-0000000000"));
        assertTrue(r.hasLine("x"), r.toString());
        assertTrue(r.hasLine("dataVersion = 0"), r.toString());

        // set -v with a stale version fails with the server's BadVersion
        r = zkCli("set", "-v", "5", p("job-0000000000"), "y");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.hasLine("version No is not valid : " + p("job-0000000000")), r.toString());
        assertArrayEquals(CreateTest.bytes("x"), zk.getData(p("job-0000000000"), false, null));

        // deleteall removes a subtree
        zk.create(p("tree"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("tree/a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("tree/a/b"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        r = zkCli("deleteall", p("tree"));
        assertEquals(0, r.exit(), r.toString());
        assertTrue(absent(p("tree")));
    }

    @Test
    void errorsAreReported() throws Exception {
        // each failing command prints the error and makes zkCli exit with status 1
        Result r = zkCli("get", p("missing"));
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.hasLine("Node does not exist: " + p("missing")), r.toString());

        zk.create(p("dup"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        r = zkCli("create", p("dup"));
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.hasLine("Node already exists: " + p("dup")), r.toString());

        zk.create(p("dup/child"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        r = zkCli("delete", p("dup"));
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.hasLine("Node not empty: " + p("dup")), r.toString());

        zk.create(p("locked"), null, Ids.READ_ACL_UNSAFE, CreateMode.PERSISTENT);
        r = zkCli("set", p("locked"), "x");
        assertEquals(1, r.exit(), r.toString());
        assertTrue(r.hasLine("Insufficient permission : " + p("locked")), r.toString());
    }
}
