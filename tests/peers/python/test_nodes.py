"""Znode basics as a kazoo user sees them: create/get/set/delete, Stat fields, ephemeral,
sequential, container and TTL nodes, and the exceptions each failure maps to."""

import re

import pytest
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
)

from zkpeer import create_container, create_ttl, wait_until


def test_create_get_set_delete_round_trip(zk, base):
    path = f"{base}/node"
    assert zk.create(path, b"hello") == path
    data, stat = zk.get(path)
    assert data == b"hello"
    assert stat.version == 0
    assert stat.dataLength == 5

    stat = zk.set(path, b"world!")
    assert stat.version == 1
    assert stat.dataLength == 6
    assert zk.get(path)[0] == b"world!"

    zk.delete(path)
    assert zk.exists(path) is None
    with pytest.raises(NoNodeError):
        zk.get(path)


def test_stat_fields_of_a_new_node(zk, base):
    path, stat = zk.create(f"{base}/fresh", b"abc", include_data=True)
    assert path == f"{base}/fresh"
    assert stat.version == 0
    assert stat.cversion == 0
    assert stat.aversion == 0
    assert stat.dataLength == 3
    assert stat.numChildren == 0
    assert stat.ephemeralOwner == 0
    assert stat.czxid == stat.mzxid == stat.pzxid
    assert stat.czxid > 0
    assert stat.ctime == stat.mtime
    assert stat.ctime > 0
    assert zk.exists(path) == stat
    assert zk.get(path)[1] == stat


def test_stat_fields_track_data_children_and_acl_changes(zk, base):
    parent = f"{base}/parent"
    _, created = zk.create(parent, b"", include_data=True)

    set_stat = zk.set(parent, b"12345678")
    assert set_stat.version == 1
    assert set_stat.dataLength == 8
    assert set_stat.mzxid > created.czxid
    assert set_stat.czxid == created.czxid
    assert set_stat.mtime >= created.mtime
    assert set_stat.cversion == 0

    _, child = zk.create(f"{parent}/a", include_data=True)
    zk.create(f"{parent}/b")
    stat = zk.exists(parent)
    assert stat.numChildren == 2
    assert stat.cversion == 2
    assert stat.version == 1, "child changes do not touch the data version"
    assert stat.pzxid > child.czxid
    assert stat.mzxid == set_stat.mzxid, "child changes do not touch mzxid"

    zk.delete(f"{parent}/a")
    after_delete = zk.exists(parent)
    assert after_delete.numChildren == 1
    assert after_delete.cversion == 3
    assert after_delete.pzxid > stat.pzxid

    acls, acl_stat = zk.get_acls(parent)
    assert acl_stat.aversion == 0
    new_stat = zk.set_acls(parent, acls)
    assert new_stat.aversion == 1
    assert new_stat.version == 1
    assert new_stat.cversion == 3

    children, children_stat = zk.get_children(parent, include_data=True)
    assert children == ["b"]
    assert children_stat == zk.exists(parent)


def test_data_can_be_empty_or_large(zk, base):
    _, stat = zk.create(f"{base}/empty", include_data=True)
    assert stat.dataLength == 0
    assert zk.get(f"{base}/empty")[0] == b""

    big = bytes(range(256)) * 2000  # 512000 bytes, below the 1 MiB packet limit
    zk.create(f"{base}/big", big)
    data, stat = zk.get(f"{base}/big")
    assert data == big
    assert stat.dataLength == len(big)


def test_get_children_lists_names_only(zk, base):
    for name in ["b", "a", "c"]:
        zk.create(f"{base}/{name}")
    zk.create(f"{base}/a/nested")
    assert sorted(zk.get_children(base)) == ["a", "b", "c"]
    assert zk.get_children(f"{base}/b") == []


def test_makepath_creates_missing_parents(zk, base):
    path = f"{base}/x/y/z"
    assert zk.create(path, b"deep", makepath=True) == path
    assert zk.exists(f"{base}/x/y").numChildren == 1
    assert zk.get(path)[0] == b"deep"


def test_conditional_set_and_delete_with_versions(zk, base):
    path = f"{base}/versioned"
    zk.create(path, b"v0")
    assert zk.set(path, b"v1", version=0).version == 1
    with pytest.raises(BadVersionError):
        zk.set(path, b"stale", version=0)
    assert zk.get(path)[0] == b"v1"
    with pytest.raises(BadVersionError):
        zk.delete(path, version=0)
    zk.delete(path, version=1)
    assert zk.exists(path) is None


def test_ephemeral_node_belongs_to_the_session(make_client, zk, base):
    owner = make_client()
    path = f"{base}/ephemeral"
    _, stat = owner.create(path, b"me", ephemeral=True, include_data=True)
    session_id = owner.client_id[0]
    assert stat.ephemeralOwner == session_id
    assert zk.exists(path).ephemeralOwner == session_id

    owner.stop()
    assert zk.exists(path) is None, "ephemeral must be gone once its session is closed"


def test_ephemeral_nodes_cannot_have_children(zk, base):
    zk.create(f"{base}/eph", ephemeral=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(f"{base}/eph/child")


def test_sequential_names_count_child_creations(zk, base):
    # Apache ZooKeeper names a sequential child after the number of children ever *created* under
    # the parent (its stored cversion), while the Stat.cversion it reports counts creations and
    # deletions (reported = 2 * stored - numChildren). So deletions do not advance the counter.
    first = zk.create(f"{base}/job-", b"1", sequence=True)
    second = zk.create(f"{base}/job-", b"2", sequence=True)
    assert first == f"{base}/job-0000000000"
    assert second == f"{base}/job-0000000001"

    zk.create(f"{base}/plain")  # creation 3
    zk.delete(f"{base}/plain")
    assert zk.exists(base).cversion == 4
    third = zk.create(f"{base}/job-", sequence=True)
    assert third == f"{base}/job-0000000003"
    assert re.fullmatch(r"job-\d{10}", third.rsplit("/", 1)[1])
    assert zk.exists(base).cversion == 5

    zk.delete(first)
    # A trailing slash makes the counter the whole name.
    assert zk.create(f"{base}/", sequence=True) == f"{base}/0000000004"
    assert zk.exists(base).cversion == 7
    assert zk.get(second)[0] == b"2"
    assert sorted(zk.get_children(base)) == ["0000000004", "job-0000000001", "job-0000000003"]


def test_ephemeral_sequential_node(make_client, zk, base):
    owner = make_client()
    path = owner.create(f"{base}/member-", ephemeral=True, sequence=True)
    assert re.fullmatch(re.escape(base) + r"/member-\d{10}", path)
    assert zk.exists(path).ephemeralOwner == owner.client_id[0]
    owner.stop()
    assert zk.exists(path) is None


def test_error_mapping(zk, base):
    with pytest.raises(NoNodeError):
        zk.get(f"{base}/missing")
    with pytest.raises(NoNodeError):
        zk.set(f"{base}/missing", b"x")
    with pytest.raises(NoNodeError):
        zk.delete(f"{base}/missing")
    with pytest.raises(NoNodeError):
        zk.get_children(f"{base}/missing")
    with pytest.raises(NoNodeError):
        zk.create(f"{base}/missing/child")
    assert zk.exists(f"{base}/missing") is None

    zk.create(f"{base}/dup")
    with pytest.raises(NodeExistsError):
        zk.create(f"{base}/dup")
    with pytest.raises(NodeExistsError):
        zk.create("/")

    zk.create(f"{base}/dup/child")
    with pytest.raises(NotEmptyError):
        zk.delete(f"{base}/dup")
    assert zk.exists(f"{base}/dup/child") is not None


@pytest.mark.parametrize(
    "name",
    ["ctrl\x01char", "del\x7fchar", "nul\x00char", "c1\u0085control"],
    ids=["0x01", "0x7f", "nul", "c1-control"],
)
def test_invalid_paths_are_rejected_by_the_server(zk, base, name):
    with pytest.raises(BadArgumentsError):
        zk.create(f"{base}/{name}")
    assert zk.get_children(base) == []


def test_delete_recursive(zk, base):
    zk.create(f"{base}/tree/a/b", makepath=True)
    zk.create(f"{base}/tree/c")
    zk.delete(f"{base}/tree", recursive=True)
    assert zk.exists(f"{base}/tree") is None


def test_container_is_removed_after_its_last_child_is_deleted(zk, base):
    # kazoo 2.11 cannot create containers; zkpeer sends createContainer over kazoo's session.
    used = f"{base}/container"
    never_used = f"{base}/container-never-used"
    path, stat = create_container(zk, used, b"c")
    assert path == used
    # The server stores containers with ephemeralOwner Long.MIN_VALUE, but a client is shown 0:
    # only real ephemerals report their owner.
    assert stat.ephemeralOwner == 0
    assert zk.exists(used).ephemeralOwner == 0
    create_container(zk, never_used)

    zk.create(f"{used}/child-1")
    zk.create(f"{used}/child-2")
    zk.delete(f"{used}/child-1")
    # Still has a child: the sweep (every second with the test config) must leave it alone.
    zk.sync(used)
    zk.delete(f"{used}/child-2")
    wait_until(lambda: zk.exists(used) is None, timeout=15, message="the emptied container to be removed")
    # A container that never had a child is not swept (maxNeverUsedIntervalMs is 0 by default).
    assert zk.exists(never_used) is not None


def test_container_with_children_survives_sweeps(zk, base):
    path = f"{base}/busy-container"
    create_container(zk, path)
    zk.create(f"{path}/child")
    other = f"{base}/emptied-container"
    create_container(zk, other)
    zk.create(f"{other}/child")
    zk.delete(f"{other}/child")
    # Once a sweep has removed `other`, it has also looked at `path`.
    wait_until(lambda: zk.exists(other) is None, timeout=15, message="the emptied container to be removed")
    assert zk.exists(path) is not None
    assert zk.get_children(path) == ["child"]


def test_ttl_node_expires_when_unmodified_and_childless(zk, base):
    # kazoo 2.11 cannot create TTL nodes; zkpeer sends createTTL over kazoo's session.
    path, stat = create_ttl(zk, f"{base}/ttl", 500, b"short-lived")
    assert path == f"{base}/ttl"
    # Stored as 0xFF << 56 | ttl, shown to clients as 0 (like containers).
    assert stat.ephemeralOwner == 0
    assert zk.get(path)[0] == b"short-lived"

    parent, _ = create_ttl(zk, f"{base}/ttl-parent", 500)
    zk.create(f"{parent}/child")

    wait_until(lambda: zk.exists(path) is None, timeout=15, message="the TTL node to expire")
    assert zk.exists(parent) is not None, "a TTL node with children must not expire"
    zk.delete(f"{parent}/child")
    wait_until(lambda: zk.exists(parent) is None, timeout=15, message="the emptied TTL node to expire")


def test_ttl_sequential_node(zk, base):
    path, stat = create_ttl(zk, f"{base}/ttl-seq-", 60_000, sequence=True)
    assert path == f"{base}/ttl-seq-0000000000"
    assert stat.ephemeralOwner == 0


@pytest.mark.parametrize("ttl", [0, -1, 1 << 40], ids=["zero", "negative", "too-large"])
def test_ttl_out_of_range_is_rejected(zk, base, ttl):
    with pytest.raises(BadArgumentsError):
        create_ttl(zk, f"{base}/bad-ttl", ttl)
    assert zk.exists(f"{base}/bad-ttl") is None
