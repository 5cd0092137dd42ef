"""Multi transactions (kazoo's client.transaction()): per-op results, and atomic failure that
leaves nothing changed."""

from kazoo.exceptions import (
    BadVersionError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.states import ZnodeStat


def test_successful_transaction_returns_a_result_per_op(zk, base):
    zk.create(f"{base}/config", b"v1")
    zk.create(f"{base}/old")
    version = zk.exists(f"{base}/config").version

    tx = zk.transaction()
    tx.check(f"{base}/config", version)
    tx.create(f"{base}/new", b"fresh")
    tx.set_data(f"{base}/config", b"v2")
    tx.delete(f"{base}/old")
    results = tx.commit()

    assert len(results) == 4
    assert results[0] is True
    assert results[1] == f"{base}/new"
    assert isinstance(results[2], ZnodeStat)
    assert results[2].version == version + 1
    assert results[2].dataLength == 2
    assert results[3] is True

    assert zk.get(f"{base}/new")[0] == b"fresh"
    assert zk.get(f"{base}/config")[0] == b"v2"
    assert zk.exists(f"{base}/old") is None


def test_all_ops_of_a_transaction_share_one_zxid(zk, base):
    tx = zk.transaction()
    tx.create(f"{base}/a")
    tx.create(f"{base}/b")
    tx.create(f"{base}/a/child")
    tx.commit()
    a = zk.exists(f"{base}/a")
    b = zk.exists(f"{base}/b")
    child = zk.exists(f"{base}/a/child")
    assert a.czxid == b.czxid == child.czxid
    assert a.numChildren == 1


def test_failed_transaction_changes_nothing(zk, base):
    zk.create(f"{base}/config", b"v1")
    zk.create(f"{base}/old")
    before_root = zk.exists(base)
    before_config = zk.exists(f"{base}/config")

    tx = zk.transaction()
    tx.create(f"{base}/new", b"fresh")
    tx.set_data(f"{base}/config", b"v2")
    tx.check(f"{base}/config", before_config.version + 7)  # wrong version
    tx.delete(f"{base}/old")
    results = tx.commit()

    # Ops before the failure are rolled back, the failing op carries its error, later ops are
    # reported as runtime inconsistencies (not executed).
    assert [type(r) for r in results] == [
        RolledBackError,
        RolledBackError,
        BadVersionError,
        RuntimeInconsistency,
    ]

    assert zk.exists(f"{base}/new") is None
    assert zk.get(f"{base}/config") == (b"v1", before_config)
    assert zk.exists(f"{base}/old") is not None
    assert zk.exists(base) == before_root


def test_failure_codes_inside_transactions(zk, base):
    zk.create(f"{base}/exists")
    zk.create(f"{base}/parent/child", makepath=True)

    cases = [
        (lambda tx: tx.create(f"{base}/exists"), NodeExistsError),
        (lambda tx: tx.create(f"{base}/missing/child"), NoNodeError),
        (lambda tx: tx.delete(f"{base}/parent"), NotEmptyError),
        (lambda tx: tx.delete(f"{base}/missing"), NoNodeError),
        (lambda tx: tx.set_data(f"{base}/exists", b"x", version=3), BadVersionError),
        (lambda tx: tx.check(f"{base}/missing", 0), NoNodeError),
    ]
    for add_failing_op, expected in cases:
        tx = zk.transaction()
        tx.create(f"{base}/marker")
        add_failing_op(tx)
        results = tx.commit()
        assert [type(r) for r in results] == [RolledBackError, expected], expected
        assert zk.exists(f"{base}/marker") is None


def test_transaction_sees_its_own_earlier_ops(zk, base):
    tx = zk.transaction()
    tx.create(f"{base}/tmp", b"x")
    tx.set_data(f"{base}/tmp", b"y")
    tx.check(f"{base}/tmp", 1)
    tx.delete(f"{base}/tmp", version=1)
    tx.create(f"{base}/seq-", sequence=True)
    results = tx.commit()
    assert results[:4] == [f"{base}/tmp", results[1], True, True]
    assert results[1].version == 1
    assert results[4] == f"{base}/seq-0000000001"
    assert zk.get_children(base) == ["seq-0000000001"]


def test_transaction_as_context_manager_with_ephemeral_create(zk, base):
    with zk.transaction() as tx:
        tx.create(f"{base}/eph", b"e", ephemeral=True)
        tx.create(f"{base}/plain", b"p")
    assert zk.exists(f"{base}/eph").ephemeralOwner == zk.client_id[0]
    assert zk.exists(f"{base}/plain").ephemeralOwner == 0
