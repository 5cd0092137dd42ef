"""ACLs: world, digest (make_digest_acl + add_auth), ip (address and CIDR), the `auth` scheme,
the super user, get_acls/set_acls with aversion, and NoAuthError/InvalidACLError."""

import pytest
from kazoo.exceptions import BadVersionError, InvalidACLError, NoAuthError
from kazoo.security import (
    ACL,
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Id,
    Permissions,
    make_acl,
    make_digest_acl,
    make_digest_acl_credential,
)

from conftest import SUPER_AUTH


def test_default_acl_is_world_anyone_all(zk, base):
    zk.create(f"{base}/open")
    acls, stat = zk.get_acls(f"{base}/open")
    assert acls == [ACL(Permissions.ALL, Id("world", "anyone"))]
    assert acls == OPEN_ACL_UNSAFE
    assert stat.aversion == 0


def test_world_read_only_node(zk, make_client, base):
    path = f"{base}/read-only"
    zk.create(path, b"data", acl=READ_ACL_UNSAFE)
    other = make_client()
    assert other.get(path)[0] == b"data"
    with pytest.raises(NoAuthError):
        other.set(path, b"new")
    with pytest.raises(NoAuthError):
        other.create(f"{path}/child")
    with pytest.raises(NoAuthError):
        other.set_acls(path, OPEN_ACL_UNSAFE)
    # DELETE is checked on the parent, which is open: the read-only node itself can be deleted.
    other.delete(path)
    assert zk.exists(path) is None


def test_digest_acl(zk, make_client, base):
    path = f"{base}/secret"
    acl = make_digest_acl("alice", "wonderland", all=True)
    assert acl.id.scheme == "digest"
    assert acl.id.id == make_digest_acl_credential("alice", "wonderland")
    zk.create(path, b"s3cret", acl=[acl])

    anonymous = make_client()
    with pytest.raises(NoAuthError):
        anonymous.get(path)
    # exists on an existing node needs READ as well (ZooKeeper 3.9)
    with pytest.raises(NoAuthError):
        anonymous.exists(path)
    assert anonymous.exists(f"{base}/not-there") is None

    wrong = make_client()
    wrong.add_auth("digest", "alice:not-the-password")  # accepted; it is just another identity
    with pytest.raises(NoAuthError):
        wrong.get(path)

    alice = make_client()
    alice.add_auth("digest", "alice:wonderland")
    assert alice.get(path)[0] == b"s3cret"
    alice.set(path, b"updated")
    alice.create(f"{path}/child")

    # auth_data on the constructor is the same as add_auth after connecting
    alice_too = make_client(auth_data=[("digest", "alice:wonderland")])
    assert alice_too.get(path)[0] == b"updated"

    acls, _ = alice.get_acls(path)
    assert acls == [acl]


def test_acl_permissions_are_checked_per_operation(zk, make_client, base):
    path = f"{base}/perms"
    bob = make_digest_acl("bob", "pw", read=True, create=True)
    zk.create(path, b"x", acl=[bob, make_acl("world", "anyone", read=True)])
    client = make_client(auth_data=[("digest", "bob:pw")])
    assert client.get(path)[0] == b"x"
    client.create(f"{path}/made-by-bob")
    with pytest.raises(NoAuthError):
        client.set(path, b"y")
    with pytest.raises(NoAuthError):
        client.delete(f"{path}/made-by-bob")  # needs DELETE on the parent
    with pytest.raises(NoAuthError):
        client.set_acls(path, OPEN_ACL_UNSAFE)  # needs ADMIN


def test_ip_acl_with_address_and_cidr(zk, make_client, base):
    zk.create(f"{base}/loopback", b"1", acl=[make_acl("ip", "127.0.0.1", all=True)])
    zk.create(f"{base}/loopback-net", b"2", acl=[make_acl("ip", "127.0.0.0/8", all=True)])
    zk.create(f"{base}/elsewhere", b"3", acl=[make_acl("ip", "10.20.0.0/16", all=True)])
    zk.create(f"{base}/elsewhere-host", b"4", acl=[make_acl("ip", "192.0.2.7", all=True)])

    client = make_client()
    assert client.get(f"{base}/loopback")[0] == b"1"
    assert client.get(f"{base}/loopback-net")[0] == b"2"
    client.set(f"{base}/loopback-net", b"2b")
    with pytest.raises(NoAuthError):
        client.get(f"{base}/elsewhere")
    with pytest.raises(NoAuthError):
        client.get(f"{base}/elsewhere-host")


def test_invalid_acls_are_rejected(zk, base):
    with pytest.raises(InvalidACLError):
        zk.create(f"{base}/bad-ip", acl=[make_acl("ip", "not-an-address", all=True)])
    with pytest.raises(InvalidACLError):
        zk.create(f"{base}/bad-scheme", acl=[make_acl("no-such-scheme", "x", all=True)])
    with pytest.raises(InvalidACLError):
        # the `auth` scheme needs an authenticated identity on the session
        zk.create(f"{base}/no-identity", acl=CREATOR_ALL_ACL)
    assert zk.get_children(base) == []


def test_auth_scheme_grants_the_creators_identities(make_client, zk, base):
    carol = make_client(auth_data=[("digest", "carol:pw")])
    path = f"{base}/carols"
    carol.create(path, b"mine", acl=CREATOR_ALL_ACL)

    acls, _ = carol.get_acls(path)
    assert acls == [ACL(Permissions.ALL, Id("digest", make_digest_acl_credential("carol", "pw")))]
    assert carol.get(path)[0] == b"mine"

    with pytest.raises(NoAuthError):
        zk.get(path)
    other_carol_session = make_client(auth_data=[("digest", "carol:pw")])
    assert other_carol_session.get(path)[0] == b"mine"


def test_super_user_bypasses_acls(zk, make_client, base):
    path = f"{base}/locked"
    zk.create(path, b"locked", acl=[make_digest_acl("nobody", "secret", all=True)])
    zk.create(f"{base}/no-perms", acl=[make_acl("world", "anyone")])  # no permissions at all

    with pytest.raises(NoAuthError):
        zk.get(path)

    root = make_client(auth_data=[SUPER_AUTH])
    assert root.get(path)[0] == b"locked"
    root.set(path, b"opened")
    root.create(f"{path}/child")
    root.delete(f"{path}/child")
    assert root.get(f"{base}/no-perms")[0] == b""
    root.set_acls(path, OPEN_ACL_UNSAFE)
    assert zk.get(path)[0] == b"opened"

    not_super = make_client(auth_data=[("digest", "super:wrong")])
    with pytest.raises(NoAuthError):
        not_super.get(f"{base}/no-perms")


def test_set_acls_with_aversion(zk, base):
    path = f"{base}/versioned-acl"
    zk.create(path, b"x")
    acls, stat = zk.get_acls(path)
    assert stat.aversion == 0

    read_admin = [ACL(Permissions.READ | Permissions.ADMIN, Id("world", "anyone"))]
    new_stat = zk.set_acls(path, read_admin, version=0)
    assert new_stat.aversion == 1
    assert new_stat.version == 0, "an ACL change does not change the data version"
    assert zk.get_acls(path) == (read_admin, new_stat)
    with pytest.raises(NoAuthError):
        zk.set(path, b"y")

    with pytest.raises(BadVersionError):
        zk.set_acls(path, OPEN_ACL_UNSAFE, version=0)
    assert zk.get_acls(path)[0] == read_admin

    assert zk.set_acls(path, READ_ACL_UNSAFE, version=1).aversion == 2
    # Without ADMIN on the node the permission check fails before the version check.
    with pytest.raises(NoAuthError):
        zk.set_acls(path, OPEN_ACL_UNSAFE, version=2)
    with pytest.raises(NoAuthError):
        zk.set_acls(path, OPEN_ACL_UNSAFE, version=0)


def test_multiple_acl_entries_union_their_permissions(zk, make_client, base):
    path = f"{base}/shared"
    zk.create(
        path,
        b"x",
        acl=[
            make_digest_acl("reader", "r", read=True),
            make_digest_acl("writer", "w", write=True),
        ],
    )
    both = make_client(auth_data=[("digest", "reader:r"), ("digest", "writer:w")])
    assert both.get(path)[0] == b"x"
    both.set(path, b"y")
    writer = make_client(auth_data=[("digest", "writer:w")])
    writer.set(path, b"z")
    with pytest.raises(NoAuthError):
        writer.get(path)
