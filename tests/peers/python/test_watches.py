"""One-shot data, exist and child watches (event types, paths, firing once) and kazoo's DataWatch
and ChildrenWatch recipes."""

from kazoo.protocol.states import EventType, KeeperState

from zkpeer import Events, wait_until


def _fence(zk, base, events: Events):
    """Waits until every event triggered so far has been delivered: sets an exists watch on a fresh
    path, creates it, and waits for that watch. Events reach a client in order, so anything fired
    before the fence has been delivered once the fence fires."""
    fence = f"{base}/__fence"
    fired = Events()
    assert zk.exists(fence, watch=fired) is None
    zk.create(fence)
    event = fired.next()
    assert event.type == EventType.CREATED
    zk.delete(fence)
    return events.snapshot()


def test_data_watch_fires_once_on_change(zk, base):
    path = f"{base}/watched"
    zk.create(path, b"a")
    events = Events()
    data, _ = zk.get(path, watch=events)
    assert data == b"a"

    zk.set(path, b"b")
    event = events.next()
    assert event.type == EventType.CHANGED
    assert event.path == path
    assert event.state == KeeperState.CONNECTED

    zk.set(path, b"c")  # the watch was one-shot
    assert _fence(zk, base, events) == [event]


def test_data_watch_fires_on_delete(zk, base):
    path = f"{base}/doomed"
    zk.create(path)
    events = Events()
    zk.get(path, watch=events)
    zk.delete(path)
    event = events.next()
    assert (event.type, event.path) == (EventType.DELETED, path)


def test_exists_watch_on_missing_node_fires_on_create(zk, make_client, base):
    path = f"{base}/later"
    events = Events()
    assert zk.exists(path, watch=events) is None
    other = make_client()
    other.create(path, b"here")
    event = events.next()
    assert (event.type, event.path) == (EventType.CREATED, path)
    other.delete(path)
    other.create(path)
    assert _fence(zk, base, events) == [event]


def test_exists_watch_on_existing_node_fires_on_change_and_delete(zk, base):
    path = f"{base}/present"
    zk.create(path)
    changed = Events()
    assert zk.exists(path, watch=changed) is not None
    zk.set(path, b"x")
    assert changed.next().type == EventType.CHANGED

    deleted = Events()
    zk.exists(path, watch=deleted)
    zk.delete(path)
    assert deleted.next().type == EventType.DELETED


def test_child_watch_fires_on_child_create_and_delete_not_on_data(zk, base):
    parent = f"{base}/parent"
    zk.create(parent)
    events = Events()
    assert zk.get_children(parent, watch=events) == []

    zk.set(parent, b"data changes do not fire child watches")
    zk.create(f"{parent}/kid")
    event = events.next()
    assert (event.type, event.path) == (EventType.CHILD, parent)

    events2 = Events()
    zk.get_children(parent, watch=events2)
    zk.set(f"{parent}/kid", b"grandchild data does not fire it either")
    zk.delete(f"{parent}/kid")
    event2 = events2.next()
    assert (event2.type, event2.path) == (EventType.CHILD, parent)

    assert _fence(zk, base, events) == [event]
    assert events2.snapshot() == [event2]


def test_child_watch_fires_deleted_when_the_parent_goes(zk, base):
    parent = f"{base}/parent"
    zk.create(parent)
    events = Events()
    zk.get_children(parent, watch=events)
    zk.delete(parent)
    event = events.next()
    assert (event.type, event.path) == (EventType.DELETED, parent)


def test_data_watch_is_not_fired_by_child_changes(zk, base):
    parent = f"{base}/parent"
    zk.create(parent)
    events = Events()
    zk.get(parent, watch=events)
    zk.create(f"{parent}/kid")
    assert _fence(zk, base, events) == []
    zk.set(parent, b"now")
    assert events.next().type == EventType.CHANGED


def test_watches_fire_for_every_client_that_set_one(zk, make_client, base):
    path = f"{base}/shared"
    zk.create(path)
    watchers = [make_client() for _ in range(3)]
    recorders = []
    for client in watchers:
        events = Events()
        client.get(path, watch=events)
        recorders.append(events)
    zk.set(path, b"broadcast")
    for events in recorders:
        event = events.next()
        assert (event.type, event.path) == (EventType.CHANGED, path)


def test_event_arrives_before_the_data_it_announces(zk, make_client, base):
    """A client that reads after being notified sees the new data (watch ordering guarantee)."""
    path = f"{base}/ordered"
    zk.create(path, b"0")
    reader = make_client()
    seen = []

    def on_change(event):
        seen.append(reader.get(path)[0])

    events = Events()
    reader.get(path, watch=lambda e: (on_change(e), events(e)))
    zk.set(path, b"1")
    events.next()
    assert seen == [b"1"]


def test_data_watch_recipe(zk, make_client, base):
    path = f"{base}/config"
    calls = Events()

    @zk.DataWatch(path)
    def watcher(data, stat):
        calls((data, stat.version if stat else None))

    assert calls.next() == (None, None), "called at once, with None while the node is missing"

    writer = make_client()
    writer.create(path, b"v0")
    assert calls.next() == (b"v0", 0)
    writer.set(path, b"v1")
    assert calls.next() == (b"v1", 1)
    writer.set(path, b"v2")
    assert calls.next() == (b"v2", 2)
    writer.delete(path)
    assert calls.next() == (None, None)


def test_data_watch_recipe_stops_when_the_function_returns_false(zk, base):
    path = f"{base}/stop"
    zk.create(path, b"0")
    calls = Events()

    def watcher(data, stat):
        calls(data)
        return data != b"1"

    zk.DataWatch(path, watcher)
    assert calls.next() == b"0"
    zk.set(path, b"1")
    assert calls.next() == b"1"
    zk.set(path, b"2")
    zk.set(path, b"3")
    assert _fence(zk, base, calls) == [b"0", b"1"]


def test_children_watch_recipe(zk, make_client, base):
    parent = f"{base}/members"
    zk.create(parent)
    calls = Events()
    zk.ChildrenWatch(parent, lambda children: calls(sorted(children)))
    assert calls.next() == []

    other = make_client()
    other.create(f"{parent}/a")
    assert calls.wait_for(lambda c: c == ["a"]) == ["a"]
    other.create(f"{parent}/b")
    assert calls.wait_for(lambda c: c == ["a", "b"]) == ["a", "b"]
    other.delete(f"{parent}/a")
    assert calls.wait_for(lambda c: c == ["b"]) == ["b"]


def test_children_watch_recipe_with_events(zk, base):
    parent = f"{base}/members"
    zk.create(parent)
    calls = Events()
    zk.ChildrenWatch(parent, lambda children, event: calls((sorted(children), event)), send_event=True)
    children, event = calls.next()
    assert children == [] and event is None
    zk.create(f"{parent}/x")
    children, event = calls.wait_for(lambda c: c[0] == ["x"])
    assert event.type == EventType.CHILD
    assert event.path == parent


def test_many_watches_on_many_nodes(zk, make_client, base):
    writer = make_client()
    paths = [f"{base}/n{i}" for i in range(50)]
    for path in paths:
        zk.create(path)
    events = Events()
    for path in paths:
        zk.get(path, watch=events)
    for path in paths:
        writer.set(path, b"x")
    wait_until(lambda: len(events.snapshot()) == len(paths), message="one event per watched node")
    assert sorted(e.path for e in events.snapshot()) == sorted(paths)
    assert {e.type for e in events.snapshot()} == {EventType.CHANGED}
