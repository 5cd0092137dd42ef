"""Sessions as kazoo sees them: ephemerals vanish when a session closes or expires, watchers on
them fire, a dropped connection resumes the same session with its ephemerals and watches, sync."""

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionClosedError
from kazoo.protocol.states import EventType, KazooState

from conftest import FAST_RETRY
from zkpeer import Events, TcpProxy, split_hosts, wait_until


@pytest.fixture
def proxy(zk_hosts):
    p = TcpProxy(*split_hosts(zk_hosts))
    yield p
    p.close()


def test_session_id_and_password(zk, make_client):
    session_id, password = zk.client_id
    assert session_id != 0
    assert len(password) == 16
    other = make_client()
    assert other.client_id[0] != session_id


def test_close_removes_ephemerals_and_fires_watches(zk, make_client, base):
    owner = make_client()
    path = f"{base}/eph"
    owner.create(path, ephemeral=True)
    exists_events, data_events, child_events = Events(), Events(), Events()
    assert zk.exists(path, watch=exists_events) is not None
    zk.get(path, watch=data_events)
    zk.get_children(base, watch=child_events)

    owner.stop()

    assert exists_events.next().type == EventType.DELETED
    assert data_events.next().type == EventType.DELETED
    event = child_events.next()
    assert (event.type, event.path) == (EventType.CHILD, base)
    assert zk.exists(path) is None


def test_session_expired_by_another_client_closing_it(zk, make_client, zk_hosts, base):
    victim = make_client(timeout=10)
    states = Events()
    victim.add_listener(states)
    path = f"{base}/victim-eph"
    victim.create(path, b"v", ephemeral=True)
    watch = Events()
    assert zk.exists(path, watch=watch) is not None
    session_id, password = victim.client_id

    # A second client that presents the same session id and password takes the session over;
    # closing it ends the session on the server, so the first client finds it expired.
    thief = KazooClient(hosts=zk_hosts, client_id=(session_id, password), connection_retry=dict(FAST_RETRY))
    thief.start(timeout=15)
    try:
        assert thief.client_id[0] == session_id
    finally:
        thief.stop()
        thief.close()

    event = watch.next()
    assert (event.type, event.path) == (EventType.DELETED, path)
    assert zk.exists(path) is None
    states.wait_for(lambda s: s == KazooState.LOST, timeout=30)
    # kazoo starts a new session after LOST
    wait_until(lambda: victim.connected and victim.client_id[0] != session_id, timeout=30,
               message="a new session for the expired client")
    assert victim.exists(path) is None


def test_reattach_with_wrong_password_gets_a_new_session(zk, make_client, zk_hosts, base):
    zk.create(f"{base}/owned", ephemeral=True)
    session_id, password = zk.client_id
    wrong = bytes(b ^ 0xFF for b in password)
    impostor = KazooClient(hosts=zk_hosts, client_id=(session_id, wrong), connection_retry=dict(FAST_RETRY))
    try:
        impostor.start(timeout=15)  # the server refuses the session; kazoo starts a new one
        assert impostor.client_id[0] != session_id
        assert impostor.exists(f"{base}/owned").ephemeralOwner == session_id
    finally:
        impostor.stop()
        impostor.close()
    # The owner keeps its session (Apache ZooKeeper drops the owner's connection, and the owner
    # reconnects to the same session).
    wait_until(lambda: zk.connected, timeout=15, message="the owner to be connected")
    assert zk.client_id[0] == session_id
    assert zk.exists(f"{base}/owned").ephemeralOwner == session_id


def test_session_expires_when_the_client_goes_silent(zk, make_client, proxy, base):
    victim = make_client(hosts=proxy.hosts, timeout=4.0)  # the server clamps to >= 2 * tickTime
    states = Events()
    victim.add_listener(states)
    path = f"{base}/silent-eph"
    victim.create(path, ephemeral=True)
    session_id = victim.client_id[0]
    watch = Events()
    assert zk.exists(path, watch=watch) is not None

    proxy.block()
    states.wait_for(lambda s: s == KazooState.SUSPENDED)
    event = watch.next(timeout=30)
    assert (event.type, event.path) == (EventType.DELETED, path)
    assert zk.exists(path) is None

    proxy.unblock()
    states.wait_for(lambda s: s == KazooState.LOST, timeout=30)
    wait_until(lambda: victim.connected, timeout=30, message="kazoo to start a new session")
    assert victim.client_id[0] != session_id


def test_reconnect_keeps_session_ephemerals_and_recipe_watches(zk, make_client, proxy, base):
    client = make_client(hosts=proxy.hosts, timeout=10.0)
    states = Events()
    client.add_listener(states)
    eph = f"{base}/eph"
    client.create(eph, b"still here", ephemeral=True)
    session_id = client.client_id[0]

    config = f"{base}/config"
    members = f"{base}/members"
    zk.create(config, b"0")
    zk.create(members)
    data_calls, child_calls = Events(), Events()
    client.DataWatch(config, lambda data, stat: data_calls(data))
    client.ChildrenWatch(members, lambda children: child_calls(sorted(children)))
    assert data_calls.next() == b"0"
    assert child_calls.next() == []

    proxy.block()
    states.wait_for(lambda s: s == KazooState.SUSPENDED)
    # Changes the client cannot see while it is disconnected.
    zk.set(config, b"1")
    zk.create(f"{members}/joined-while-away")
    proxy.unblock()
    states.wait_for(lambda s: s == KazooState.CONNECTED)

    assert client.client_id[0] == session_id
    assert proxy.accepted >= 2, "the client came back through a new connection"
    stat = zk.exists(eph)
    assert stat is not None and stat.ephemeralOwner == session_id
    assert client.get(eph)[0] == b"still here"

    # The recipes catch up with what changed while away, and keep watching afterwards.
    data_calls.wait_for(lambda d: d == b"1")
    child_calls.wait_for(lambda c: c == ["joined-while-away"])
    zk.set(config, b"2")
    data_calls.wait_for(lambda d: d == b"2")
    zk.create(f"{members}/joined-later")
    child_calls.wait_for(lambda c: c == ["joined-later", "joined-while-away"])


def test_connection_loss_is_reported_to_one_shot_watches(zk, make_client, proxy, base):
    """kazoo does not re-register one-shot watches after a reconnect: each pending watcher gets a
    single session event (type NONE, state CONNECTING) instead, and the session stays the same."""
    client = make_client(hosts=proxy.hosts, timeout=10.0)
    states = Events()
    client.add_listener(states)
    zk.create(f"{base}/n", b"0")
    events = Events()
    client.get(f"{base}/n", watch=events)
    session_id = client.client_id[0]

    proxy.drop()
    event = events.next()
    assert (event.type, event.state, event.path) == (EventType.NONE, "CONNECTING", None)
    states.wait_for(lambda s: s == KazooState.CONNECTED)
    assert client.client_id[0] == session_id
    # A watch set after the reconnect works as usual.
    rearmed = Events()
    client.get(f"{base}/n", watch=rearmed)
    zk.set(f"{base}/n", b"1")
    assert rearmed.next().type == EventType.CHANGED
    assert events.snapshot() == [event]


def test_sync_then_read_sees_other_clients_writes(zk, make_client, base):
    reader = make_client()
    path = f"{base}/synced"
    zk.create(path, b"0")
    for i in range(1, 20):
        zk.set(path, str(i).encode())
        assert reader.sync(path) == path
        assert reader.get(path)[0] == str(i).encode()


def test_operations_on_a_closed_session_fail(zk, make_client, base):
    client = make_client()
    client.create(f"{base}/x")
    client.stop()
    with pytest.raises(ConnectionClosedError):
        client.get(f"{base}/x")
