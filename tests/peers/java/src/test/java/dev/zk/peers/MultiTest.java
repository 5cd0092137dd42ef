package dev.zk.peers;

import static dev.zk.peers.CreateTest.bytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.Op;
import org.apache.zookeeper.OpResult;
import org.apache.zookeeper.OpResult.CheckResult;
import org.apache.zookeeper.OpResult.CreateResult;
import org.apache.zookeeper.OpResult.DeleteResult;
import org.apache.zookeeper.OpResult.ErrorResult;
import org.apache.zookeeper.OpResult.GetChildrenResult;
import org.apache.zookeeper.OpResult.GetDataResult;
import org.apache.zookeeper.OpResult.SetDataResult;
import org.apache.zookeeper.ZooDefs.Ids;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.Test;

/** multi (atomic writes with per-op results) and multiRead (independent reads). */
class MultiTest extends PeerTest {

    private static List<Integer> codes(List<OpResult> results) {
        List<Integer> out = new ArrayList<>();
        for (OpResult r : results) {
            out.add(((ErrorResult) r).getErr());
        }
        return out;
    }

    @Test
    void successfulMultiReturnsOneResultPerOp() throws Exception {
        zk.create(p("old"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("data"), bytes("v0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        List<OpResult> results = zk.multi(List.of(
            Op.check(p("data"), 0),
            Op.create(p("new"), bytes("n"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
            Op.create(p("seq-"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT_SEQUENTIAL),
            Op.create(p("box"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.CONTAINER),
            Op.setData(p("data"), bytes("v1"), 0),
            Op.delete(p("old"), 0)));

        assertEquals(6, results.size());
        assertInstanceOf(CheckResult.class, results.get(0));
        assertEquals(p("new"), ((CreateResult) results.get(1)).getPath());
        assertEquals(p("seq-0000000003"), ((CreateResult) results.get(2)).getPath(),
            "sequence number from the parent's cversion inside the same multi");
        CreateResult box = (CreateResult) results.get(3);
        assertEquals(p("box"), box.getPath());
        assertNotNull(box.getStat(), "a container create in a multi returns a Stat");
        assertEquals(CreateTest.EXTENDED_OWNER_SEEN, box.getStat().getEphemeralOwner());
        assertEquals(box.getStat(), zk.exists(p("box"), false));
        Stat set = ((SetDataResult) results.get(4)).getStat();
        assertEquals(1, set.getVersion());
        assertInstanceOf(DeleteResult.class, results.get(5));

        // All of it happened, in one transaction: one zxid for every change.
        Stat created = zk.exists(p("new"), false);
        assertEquals(created.getCzxid(), set.getMzxid(), "the whole multi commits at one zxid");
        assertEquals(created.getCzxid(), zk.exists(p("seq-0000000003"), false).getCzxid());
        assertArrayEquals(bytes("v1"), zk.getData(p("data"), false, null));
        assertNull(zk.exists(p("old"), false));
    }

    @Test
    void failedMultiChangesNothingAndReportsEachOp() throws Exception {
        zk.create(p("data"), bytes("v0"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        Stat before = zk.exists(base, false);

        KeeperException e = expectCode(Code.BADVERSION, () -> zk.multi(List.of(
            Op.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
            Op.setData(p("data"), bytes("x"), -1),
            Op.setData(p("data"), bytes("y"), 5),
            Op.create(p("b"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
            Op.delete(p("data"), -1))));

        List<OpResult> results = e.getResults();
        assertNotNull(results, "a failed multi carries its per-op results");
        assertEquals(List.of(0, 0, Code.BADVERSION.intValue(), Code.RUNTIMEINCONSISTENCY.intValue(),
            Code.RUNTIMEINCONSISTENCY.intValue()), codes(results),
            "0 before the failing op, its code, -2 after");

        assertNull(zk.exists(p("a"), false), "nothing of a failed multi is applied");
        assertNull(zk.exists(p("b"), false));
        assertEquals(0, zk.exists(p("data"), false).getVersion());
        assertEquals(before, zk.exists(base, false));
    }

    @Test
    void failingFirstOpAndEachErrorCode() throws Exception {
        zk.create(p("full"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("full/child"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        KeeperException e = expectCode(Code.NONODE, () -> zk.multi(List.of(
            Op.check(p("missing"), -1),
            Op.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT))));
        assertEquals(List.of(-101, -2), codes(e.getResults()));

        e = expectCode(Code.BADVERSION, () -> zk.multi(List.of(
            Op.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
            Op.check(p("full"), 3))));
        assertEquals(List.of(0, -103), codes(e.getResults()));

        e = expectCode(Code.NODEEXISTS, () -> zk.multi(List.of(
            Op.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
            Op.create(p("a"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT),
            Op.check(p("full"), 0))));
        assertEquals(List.of(0, -110, -2), codes(e.getResults()), "ops see the effects of earlier ops");

        e = expectCode(Code.NOTEMPTY, () -> zk.multi(List.of(
            Op.delete(p("full"), -1))));
        assertEquals(List.of(-111), codes(e.getResults()));

        // Deleting the child first in the same multi makes the parent deletable.
        List<OpResult> ok = zk.multi(List.of(Op.delete(p("full/child"), -1), Op.delete(p("full"), -1)));
        assertEquals(2, ok.size());
        assertNull(zk.exists(p("full"), false));
        assertNull(zk.exists(p("a"), false));
    }

    @Test
    void transactionBuilderCommits() throws Exception {
        List<OpResult> results = zk.transaction()
            .create(p("t"), bytes("1"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT)
            .setData(p("t"), bytes("2"), 0)
            .check(p("t"), 1)
            .commit();
        assertEquals(3, results.size());
        assertArrayEquals(bytes("2"), zk.getData(p("t"), false, null));
        assertEquals(List.of(), zk.multi(List.of()), "an empty multi is a no-op");
    }

    @Test
    void multiReadAnswersEachReadIndependently() throws Exception {
        Stat stat = new Stat();
        zk.create(p("r"), bytes("payload"), Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT, stat);
        zk.create(p("r/x"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
        zk.create(p("r/y"), null, Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);

        // The 3.9 client sends a multi made only of Op.getData/Op.getChildren as multiRead (opcode 22);
        // a failing read does not throw, it becomes that op's ErrorResult.
        List<OpResult> results = zk.multi(List.of(
            Op.getData(p("r")),
            Op.getChildren(p("r")),
            Op.getData(p("missing")),
            Op.getChildren(p("r/x")),
            Op.getChildren(p("missing"))));

        assertEquals(5, results.size());
        GetDataResult data = (GetDataResult) results.get(0);
        assertArrayEquals(bytes("payload"), data.getData());
        assertEquals(zk.exists(p("r"), false), data.getStat());
        List<String> children = new ArrayList<>(((GetChildrenResult) results.get(1)).getChildren());
        Collections.sort(children);
        assertEquals(List.of("x", "y"), children);
        assertEquals(Code.NONODE.intValue(), ((ErrorResult) results.get(2)).getErr());
        assertEquals(List.of(), ((GetChildrenResult) results.get(3)).getChildren());
        assertEquals(Code.NONODE.intValue(), ((ErrorResult) results.get(4)).getErr());
    }
}
