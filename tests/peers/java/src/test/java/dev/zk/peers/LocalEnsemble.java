package dev.zk.peers;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A 3-member ensemble of real server processes for the failover tests, laid out the way an
 * operator runs one: each member on its own loopback address 127.0.{net}.{id} with its own zoo.cfg,
 * dataDir and myid; `zk server` from $ZK_BIN (set by tests/peers/java/run), or Apache ZooKeeper
 * when the run is against the reference. The tests kill members with SIGKILL, so they get an
 * ensemble of their own rather than the shared server the other tests use.
 */
final class LocalEnsemble implements AutoCloseable {

    /**
     * The command that runs one member given its zoo.cfg (appended), or null when this run cannot
     * start an ensemble (then the failover tests are skipped). For zk.server.kind=zk: $ZK_BIN
     * (or -Dzk.bin) `server --config`; for apache: Apache ZooKeeper's QuorumPeerMain from the
     * jars in -Dzk.apache.lib (the run script passes what `tests/peers/server fetch-apache`
     * resolved), so the same tests can be checked against the reference server.
     */
    static List<String> serverCommand() {
        if ("apache".equals(PeerTest.serverKind())) {
            String lib = System.getProperty("zk.apache.lib", "");
            if (lib.isEmpty() || !Files.isDirectory(Path.of(lib))) {
                return null;
            }
            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> cmd = new ArrayList<>(List.of(java, "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC"));
            Path logback = Path.of("..", "zookeeper", "logback.xml").toAbsolutePath().normalize();
            if (Files.isRegularFile(logback)) {
                cmd.add("-Dlogback.configurationFile=" + logback);
            }
            cmd.addAll(List.of("-cp", lib + "/*", "org.apache.zookeeper.server.quorum.QuorumPeerMain"));
            return cmd;
        }
        String bin = System.getProperty("zk.bin");
        if (bin == null || bin.isEmpty()) {
            bin = System.getenv("ZK_BIN");
        }
        if (bin == null || bin.isEmpty() || !Files.isExecutable(Path.of(bin))) {
            return null;
        }
        return List.of(bin, "server", "--config");
    }

    /** One member process and where it listens. */
    static final class Member {
        final int id;
        final String ip;
        final int clientPort;
        final Path dir;
        Process process;

        Member(int id, String ip, int clientPort, Path dir) {
            this.id = id;
            this.ip = ip;
            this.clientPort = clientPort;
            this.dir = dir;
        }

        String address() {
            return ip + ":" + clientPort;
        }

        InetSocketAddress socketAddress() {
            return new InetSocketAddress(ip, clientPort);
        }

        boolean running() {
            return process != null && process.isAlive();
        }

        /** The whole answer to a four-letter word, or "" when the member does not answer. */
        String fourLetter(String word) {
            try (Socket s = new Socket()) {
                s.connect(socketAddress(), 2_000);
                s.setSoTimeout(5_000);
                OutputStream out = s.getOutputStream();
                out.write(word.getBytes(StandardCharsets.US_ASCII));
                out.flush();
                InputStream in = s.getInputStream();
                ByteArrayOutputStream buf = new ByteArrayOutputStream();
                in.transferTo(buf);
                return buf.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        }

        /** The `Mode:` of `srvr` (leader, follower, ...), or null. */
        String mode() {
            for (String line : fourLetter("srvr").split("\n")) {
                if (line.startsWith("Mode: ")) {
                    return line.substring("Mode: ".length()).trim();
                }
            }
            return null;
        }

        /** Whether one of this member's client connections carries the session (`cons`). */
        boolean serves(long sessionId) {
            return fourLetter("cons").contains("sid=0x" + Long.toHexString(sessionId));
        }

        String log() {
            try {
                return Files.readString(dir.resolve("server.log"));
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }
    }

    private final List<String> command;
    private final Path root;
    final List<Member> members = new ArrayList<>();

    /** Starts members 1..size on 127.0.{net}.{id} and waits until they agree on a leader. */
    LocalEnsemble(List<String> command, int net, int size) throws Exception {
        this.command = command;
        this.root = Files.createTempDirectory("zk-java-ensemble-");
        List<String> servers = new ArrayList<>();
        for (int id = 1; id <= size; id++) {
            String ip = "127.0." + net + "." + id;
            int[] ports = freePorts(ip, 3);
            int quorum = ports[0];
            int election = ports[1];
            int client = ports[2];
            servers.add("server." + id + "=" + ip + ":" + quorum + ":" + election + ";" + ip + ":" + client);
            members.add(new Member(id, ip, client, root.resolve("m" + id)));
        }
        for (Member m : members) {
            Path data = m.dir.resolve("data");
            Files.createDirectories(data);
            Files.writeString(data.resolve("myid"), m.id + "\n");
            // tickTime 200 ms: sessions may ask for up to 20 ticks (4 s), so a failover that keeps a
            // session must finish well inside a few seconds; forceSync=no because a SIGKILLed
            // process keeps what it wrote in the page cache (no power loss is simulated here).
            String cfg = "tickTime=200\ninitLimit=10\nsyncLimit=5\n"
                + "dataDir=" + data + "\nclientPort=" + m.clientPort + "\nclientPortAddress=" + m.ip + "\n"
                + "4lw.commands.whitelist=*\nadmin.enableServer=false\nforceSync=no\n"
                + String.join("\n", servers) + "\n";
            Files.writeString(m.dir.resolve("zoo.cfg"), cfg);
        }
        for (Member m : members) {
            launch(m);
        }
        leader(60_000);
    }

    /** n distinct free ports on ip: all stay bound until chosen, as a released port may be handed out again. */
    private static int[] freePorts(String ip, int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(ip));
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    private void launch(Member m) throws IOException {
        List<String> cmd = new ArrayList<>(command);
        if ("apache".equals(PeerTest.serverKind())) {
            // Apache ZooKeeper's logback configuration writes to the file this property names.
            cmd.add(1, "-Dzk.log.file=" + m.dir.resolve("server.log"));
        }
        cmd.add(m.dir.resolve("zoo.cfg").toString());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.redirectError(ProcessBuilder.Redirect.appendTo(m.dir.resolve("server.log").toFile()));
        m.process = pb.start();
    }

    /** Every member's client address: the connect string a user gives the client. */
    String connectString() {
        return members.stream().map(Member::address).collect(Collectors.joining(","));
    }

    /**
     * Waits until the running members agree on exactly one leader and every other running member is
     * a follower; returns the leader.
     */
    Member leader(long timeoutMs) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            List<Member> leaders = new ArrayList<>();
            boolean settled = true;
            for (Member m : members) {
                if (!m.running()) {
                    continue;
                }
                String mode = m.mode();
                if ("leader".equals(mode)) {
                    leaders.add(m);
                } else if (!"follower".equals(mode)) {
                    settled = false;
                }
            }
            if (settled && leaders.size() == 1) {
                return leaders.get(0);
            }
            if (System.nanoTime() > deadline) {
                StringBuilder logs = new StringBuilder();
                for (Member m : members) {
                    logs.append("----- member ").append(m.id).append('\n').append(m.log());
                }
                throw new AssertionError("no settled leader within " + timeoutMs + " ms\n" + logs);
            }
            Thread.sleep(50);
        }
    }

    /** A running follower. */
    Member follower() throws InterruptedException {
        Member leader = leader(30_000);
        return members.stream().filter(m -> m != leader && m.running()).findFirst()
            .orElseThrow(() -> new AssertionError("no running follower"));
    }

    /** The member holding the session's connection, or null. */
    Member holding(long sessionId) {
        return members.stream().filter(m -> m.running() && m.serves(sessionId)).findFirst().orElse(null);
    }

    /** SIGKILL: the member gets no chance to close connections or hand anything over. */
    void kill(Member m) throws InterruptedException {
        m.process.destroyForcibly();
        m.process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Starts a killed member again with its data directory. */
    void restart(Member m) throws IOException {
        launch(m);
    }

    @Override
    public void close() throws IOException {
        for (Member m : members) {
            if (m.process != null) {
                m.process.destroyForcibly();
                try {
                    m.process.waitFor(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
