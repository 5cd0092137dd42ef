package dev.zk.peers;

import static dev.zk.peers.CreateTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.ZooDefs.Perms;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;
import org.junit.jupiter.api.Test;

/** ACL schemes world, digest, ip and auth, the super user, getACL/setACL with aversion. */
class AclTest extends PeerTest {

    /** The digest ACL id of user:password, as zkCli's users compute it. */
    static String digestId(String userPassword) throws Exception {
        return DigestAuthenticationProvider.generateDigest(userPassword);
    }

    /** A mutable ACL list: the client's validateACL calls contains(null), which List.of() rejects. */
    static List<ACL> acl(ACL... entries) {
        return new ArrayList<>(Arrays.asList(entries));
    }

    private ZooKeeper as(String userPassword) throws Exception {
        ZooKeeper c = connect();
        c.addAuthInfo("digest", bytes(userPassword));
        return c;
    }

    @Test
    void digestAclAdmitsOnlyTheRightCredentials() throws Exception {
        List<ACL> aliceOnly = acl(new ACL(Perms.ALL, new Id("digest", digestId("alice:secret"))));
        zk.create(p("private"), bytes("mine"), aliceOnly, CreateMode.PERSISTENT);

        // without credentials even exists() is refused (it needs READ once the node exists) ...
        expectCode(Code.NOAUTH, () -> zk.exists(p("private"), false));
        expectCode(Code.NOAUTH, () -> zk.getData(p("private"), false, null));
        expectCode(Code.NOAUTH, () -> zk.setData(p("private"), bytes("x"), -1));
        expectCode(Code.NOAUTH, () -> zk.getChildren(p("private"), false));
        expectCode(Code.NOAUTH,
            () -> zk.create(p("private/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));

        ZooKeeper wrong = as("alice:guess");
        expectCode(Code.NOAUTH, () -> wrong.getData(p("private"), false, null));

        ZooKeeper alice = as("alice:secret");
        assertArrayEquals(bytes("mine"), alice.getData(p("private"), false, null));
        assertEquals(4, alice.exists(p("private"), false).getDataLength());
        // ... and a missing node below it is still just missing
        assertNull(zk.exists(p("private/nothing"), false));
        alice.setData(p("private"), bytes("changed"), -1);
        alice.create(p("private/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        // A session may carry several identities; any one that matches is enough.
        ZooKeeper both = as("bob:other");
        both.addAuthInfo("digest", bytes("alice:secret"));
        assertArrayEquals(bytes("changed"), both.getData(p("private"), false, null));

        // delete needs DELETE on the parent, not on the node itself
        expectCode(Code.NOAUTH, () -> zk.delete(p("private/c"), -1));
        alice.delete(p("private/c"), -1);
        zk.delete(p("private"), -1);
    }

    @Test
    void worldAclPermissionsAreEnforcedOneByOne() throws Exception {
        zk.create(p("ro"), bytes("r"), Ids.READ_ACL_UNSAFE, CreateMode.PERSISTENT);
        assertArrayEquals(bytes("r"), zk.getData(p("ro"), false, null));
        expectCode(Code.NOAUTH, () -> zk.setData(p("ro"), bytes("w"), -1));
        expectCode(Code.NOAUTH, () -> zk.create(p("ro/c"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT));
        expectCode(Code.NOAUTH, () -> zk.setACL(p("ro"), Ids.OPEN_ACL_UNSAFE, -1));

        // CREATE without DELETE: children can be added but not removed
        List<ACL> createOnly = acl(new ACL(Perms.CREATE | Perms.READ, Ids.ANYONE_ID_UNSAFE));
        zk.create(p("inbox"), null, createOnly, CreateMode.PERSISTENT);
        zk.create(p("inbox/m"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        expectCode(Code.NOAUTH, () -> zk.delete(p("inbox/m"), -1));

        // WRITE without READ
        List<ACL> writeOnly = acl(new ACL(Perms.WRITE, Ids.ANYONE_ID_UNSAFE));
        zk.create(p("wo"), null, writeOnly, CreateMode.PERSISTENT);
        zk.setData(p("wo"), bytes("w"), -1);
        expectCode(Code.NOAUTH, () -> zk.getData(p("wo"), false, null));
    }

    @Test
    void ipAclMatchesTheClientAddress() throws Exception {
        zk.create(p("local"), bytes("l"), acl(new ACL(Perms.ALL, new Id("ip", "127.0.0.1"))),
            CreateMode.PERSISTENT);
        assertArrayEquals(bytes("l"), zk.getData(p("local"), false, null));

        zk.create(p("subnet"), bytes("s"), acl(new ACL(Perms.READ, new Id("ip", "127.0.0.0/8"))),
            CreateMode.PERSISTENT);
        assertArrayEquals(bytes("s"), zk.getData(p("subnet"), false, null));

        zk.create(p("remote"), bytes("r"), acl(new ACL(Perms.ALL, new Id("ip", "10.1.2.3"))),
            CreateMode.PERSISTENT);
        expectCode(Code.NOAUTH, () -> zk.getData(p("remote"), false, null));
        zk.create(p("remote-net"), bytes("r"), acl(new ACL(Perms.ALL, new Id("ip", "192.168.0.0/16"))),
            CreateMode.PERSISTENT);
        expectCode(Code.NOAUTH, () -> zk.getData(p("remote-net"), false, null));
    }

    @Test
    void authSchemeMeansTheCreatorsIdentities() throws Exception {
        // without any authenticated identity, "auth" has nothing to expand to
        expectCode(Code.INVALIDACL,
            () -> zk.create(p("creator"), null, Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT));

        ZooKeeper alice = as("alice:secret");
        alice.create(p("creator"), bytes("a"), Ids.CREATOR_ALL_ACL, CreateMode.PERSISTENT);
        Stat stat = new Stat();
        List<ACL> acl = alice.getACL(p("creator"), stat);
        assertEquals(List.of(new ACL(Perms.ALL, new Id("digest", digestId("alice:secret")))), acl,
            "auth ACL is stored as the creator's digest identity");
        assertEquals(0, stat.getAversion());
        expectCode(Code.NOAUTH, () -> zk.getData(p("creator"), false, null));
        assertArrayEquals(bytes("a"), as("alice:secret").getData(p("creator"), false, null));
    }

    @Test
    void superUserBypassesAcls() throws Exception {
        List<ACL> aliceOnly = acl(new ACL(Perms.ALL, new Id("digest", digestId("alice:secret"))));
        zk.create(p("private"), bytes("mine"), aliceOnly, CreateMode.PERSISTENT);
        ZooKeeper alice = as("alice:secret");
        alice.create(p("private/c"), null, aliceOnly, CreateMode.PERSISTENT);

        ZooKeeper root = as("super:test");
        assertArrayEquals(bytes("mine"), root.getData(p("private"), false, null));
        root.setData(p("private"), bytes("seen"), -1);
        assertEquals(List.of("c"), root.getChildren(p("private"), false));
        root.setACL(p("private"), Ids.READ_ACL_UNSAFE, -1);
        assertArrayEquals(bytes("seen"), zk.getData(p("private"), false, null));
        root.delete(p("private/c"), -1);

        ZooKeeper notSuper = as("super:wrong");
        expectCode(Code.NOAUTH, () -> notSuper.setData(p("private"), bytes("x"), -1));
    }

    @Test
    void getAclAndSetAclWithAversion() throws Exception {
        zk.create(p("n"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Stat stat = new Stat();
        assertEquals(Ids.OPEN_ACL_UNSAFE, zk.getACL(p("n"), stat));
        assertEquals(0, stat.getAversion());
        assertEquals(zk.exists(p("n"), false), stat);

        List<ACL> two = acl(
            new ACL(Perms.READ | Perms.WRITE, Ids.ANYONE_ID_UNSAFE),
            new ACL(Perms.ALL, new Id("ip", "127.0.0.1")));
        Stat after = zk.setACL(p("n"), two, 0);
        assertEquals(1, after.getAversion());
        assertEquals(0, after.getVersion(), "setACL leaves the data version");
        assertEquals(two, zk.getACL(p("n"), stat));
        assertEquals(1, stat.getAversion());

        expectCode(Code.BADVERSION, () -> zk.setACL(p("n"), Ids.OPEN_ACL_UNSAFE, 0));
        assertEquals(2, zk.setACL(p("n"), Ids.OPEN_ACL_UNSAFE, -1).getAversion());

        expectCode(Code.NONODE, () -> zk.getACL(p("missing"), new Stat()));
        expectCode(Code.NONODE, () -> zk.setACL(p("missing"), Ids.OPEN_ACL_UNSAFE, -1));
        expectCode(Code.INVALIDACL, () -> zk.setACL(p("n"), acl(), -1));
        expectCode(Code.INVALIDACL,
            () -> zk.setACL(p("n"), acl(new ACL(Perms.ALL, new Id("nosuchscheme", "x"))), -1));
        expectCode(Code.INVALIDACL,
            () -> zk.create(p("bad"), null, acl(new ACL(Perms.ALL, new Id("ip", "not-an-ip"))),
                CreateMode.PERSISTENT));
        assertNull(zk.exists(p("bad"), false));
    }
}
