"""kazoo's recipes, each driven by several clients the way applications use them: Lock, Election,
Queue, LockingQueue, Counter, Barrier, DoubleBarrier, and a small service registry."""

import json
import threading
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionClosedError, LockTimeout

from conftest import FAST_RETRY
from zkpeer import Events, wait_until


def _run_threads(targets, timeout=60):
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as exc:  # noqa: BLE001 - reported to the test below
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(fn), daemon=True) for fn in targets]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "worker threads did not finish in time"
    if errors:
        raise errors[0]


def test_lock_gives_mutual_exclusion_across_clients(make_client, base):
    path = f"{base}/lock"
    state = {"holder": None, "count": 0, "violations": 0}
    guard = threading.Lock()
    workers = 4
    rounds = 5

    def worker(name):
        client = make_client()
        lock = client.Lock(path, identifier=name)

        def run():
            for _ in range(rounds):
                with lock:
                    with guard:
                        if state["holder"] is not None:
                            state["violations"] += 1
                        state["holder"] = name
                    time.sleep(0.005)
                    with guard:
                        state["count"] += 1
                        state["holder"] = None

        return run

    _run_threads([worker(f"worker-{i}") for i in range(workers)])
    assert state["violations"] == 0
    assert state["count"] == workers * rounds
    assert make_client().get_children(path) == [], "every lock node is removed on release"


def test_lock_timeout_contenders_and_release_on_session_close(make_client, base):
    path = f"{base}/lock"
    holder_client = make_client()
    holder = holder_client.Lock(path, identifier="holder")
    assert holder.acquire(timeout=10)
    assert holder.is_acquired

    waiter = make_client().Lock(path, identifier="waiter")
    assert waiter.acquire(blocking=False) is False
    with pytest.raises(LockTimeout):
        waiter.acquire(timeout=0.5)
    assert holder.contenders() == ["holder"]

    acquired = threading.Event()

    def wait_for_lock():
        if waiter.acquire(timeout=30):
            acquired.set()

    t = threading.Thread(target=wait_for_lock, daemon=True)
    t.start()
    wait_until(lambda: holder.contenders() == ["holder", "waiter"], message="the waiter to queue up")
    holder_client.stop()  # session closed: its lock node goes away
    assert acquired.wait(15), "the waiter gets the lock once the holder's session ends"
    t.join(5)
    assert waiter.contenders() == ["waiter"]
    waiter.release()


def test_read_write_lock(make_client, base):
    path = f"{base}/rwlock"
    readers = [make_client().ReadLock(path, identifier=f"r{i}") for i in range(2)]
    for reader in readers:
        assert reader.acquire(timeout=10), "readers share the lock"
    writer = make_client().WriteLock(path, identifier="w")
    with pytest.raises(LockTimeout):
        writer.acquire(timeout=0.5)
    for reader in readers:
        reader.release()
    assert writer.acquire(timeout=10)
    late_reader = make_client().ReadLock(path, identifier="late")
    with pytest.raises(LockTimeout):
        late_reader.acquire(timeout=0.5)
    writer.release()
    assert late_reader.acquire(timeout=10)
    late_reader.release()


def test_election_has_one_leader_at_a_time(make_client, base):
    path = f"{base}/election"
    names = ["alpha", "beta", "gamma"]
    clients = {name: make_client() for name in names}
    elections = {name: clients[name].Election(path, identifier=name) for name in names}
    step_down = {name: threading.Event() for name in names}
    leaders = Events()
    active = set()
    overlaps = []
    guard = threading.Lock()

    def lead(name):
        with guard:
            if active:
                overlaps.append((name, set(active)))
            active.add(name)
        leaders(name)
        step_down[name].wait(30)
        with guard:
            active.discard(name)

    failures = {}

    def contend(name):
        try:
            elections[name].run(lead, name)
        except Exception as exc:  # noqa: BLE001 - checked below
            failures[name] = exc

    threads = [threading.Thread(target=contend, args=(name,), daemon=True) for name in names]
    for t in threads:
        t.start()
    first = leaders.next()
    wait_until(lambda: sorted(elections[first].contenders()) == sorted(names), message="all contenders")
    assert elections[first].contenders()[0] == first, "the leader is listed first"

    step_down[first].set()  # abdicate
    second = leaders.next()
    assert second != first

    # The second leader's process "dies": its session closes, and the last one takes over.
    with guard:
        active.discard(second)
    clients[second].stop()
    step_down[second].set()
    third = leaders.next()
    assert {first, second, third} == set(names)
    step_down[third].set()
    for t in threads:
        t.join(10)
    assert overlaps == []
    # Only the leader whose client was stopped may fail (releasing leadership on a closed client).
    assert set(failures) <= {second}
    assert all(isinstance(exc, ConnectionClosedError) for exc in failures.values())


def test_queue_is_fifo_within_a_priority(make_client, base):
    producer = make_client()
    queue = producer.Queue(f"{base}/queue")
    for item in [b"one", b"two", b"three"]:
        queue.put(item)
    queue.put(b"urgent", priority=1)
    assert len(queue) == 4

    consumer = make_client().Queue(f"{base}/queue")
    assert [consumer.get() for _ in range(4)] == [b"urgent", b"one", b"two", b"three"]
    assert consumer.get() is None
    assert len(consumer) == 0


def test_queue_delivers_each_item_once_to_competing_consumers(make_client, base):
    path = f"{base}/work"
    total = 40
    received = []
    guard = threading.Lock()

    def producer(offset):
        q = make_client().Queue(path)

        def run():
            for i in range(total // 2):
                q.put(f"item-{offset + i}".encode())

        return run

    def consumer():
        q = make_client().Queue(path)

        def run():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with guard:
                    if len(received) >= total:
                        return
                item = q.get()
                if item is None:
                    time.sleep(0.01)
                    continue
                with guard:
                    received.append(item)

        return run

    _run_threads([producer(0), producer(total // 2), consumer(), consumer()])
    assert sorted(received) == sorted(f"item-{i}".encode() for i in range(total))


def test_locking_queue_holds_items_until_consumed(make_client, base):
    path = f"{base}/lq"
    make_client().LockingQueue(path).put_all([b"a", b"b", b"c"])
    first = make_client().LockingQueue(path)
    second = make_client().LockingQueue(path)

    assert first.get(timeout=5) == b"a"
    assert first.holds_lock()
    assert second.get(timeout=5) == b"b", "a locked item is skipped by other consumers"
    assert second.release()  # give it back
    assert first.consume()
    assert len(first) == 2

    assert second.get(timeout=5) == b"b"
    assert second.consume()
    assert first.get(timeout=5) == b"c"
    assert first.consume()
    assert len(first) == 0
    assert second.get(timeout=0.3) is None


def test_locking_queue_get_waits_for_a_producer(make_client, base):
    path = f"{base}/lq"
    consumer = make_client().LockingQueue(path)
    got = []

    def consume():
        got.append(consumer.get(timeout=15))

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    time.sleep(0.2)
    make_client().LockingQueue(path).put(b"late", priority=5)
    t.join(20)
    assert got == [b"late"]
    assert consumer.consume()


def test_counter_with_concurrent_increments(make_client, base):
    path = f"{base}/counter"
    per_worker = 10
    workers = []
    for _ in range(3):
        client = make_client()
        for _ in range(2):
            counter = client.Counter(path)

            def run(counter=counter):
                for _ in range(per_worker):
                    counter += 1

            workers.append(run)
    _run_threads(workers)
    assert make_client().Counter(path).value == 6 * per_worker


def test_counter_pre_and_post_values_and_floats(make_client, base):
    client = make_client()
    counter = client.Counter(f"{base}/int")
    assert counter.value == 0
    counter += 5
    assert (counter.pre_value, counter.post_value) == (0, 5)
    counter -= 2
    assert (counter.pre_value, counter.post_value) == (5, 3)
    assert client.Counter(f"{base}/int").value == 3

    floats = client.Counter(f"{base}/float", default=0.0)
    floats += 1.5
    floats += 1.25
    assert client.Counter(f"{base}/float", default=0.0).value == pytest.approx(2.75)


def test_barrier_blocks_until_removed(make_client, base):
    path = f"{base}/gate"
    barrier = make_client().Barrier(path)
    barrier.create()
    waiter = make_client().Barrier(path)
    assert waiter.wait(timeout=0.3) is False
    passed = threading.Event()
    t = threading.Thread(target=lambda: waiter.wait(timeout=15) and passed.set(), daemon=True)
    t.start()
    barrier.remove()
    assert passed.wait(15)
    t.join(5)


def test_double_barrier_enters_and_leaves_together(make_client, base):
    path = f"{base}/double"
    members = 3
    log = []
    guard = threading.Lock()

    def member(i):
        client = make_client()
        barrier = client.DoubleBarrier(path, members, identifier=f"member-{i}")

        def run():
            if i == members - 1:
                time.sleep(0.3)  # the last one is late: the others must wait for it
            with guard:
                log.append(("arrive", i))
            barrier.enter()
            with guard:
                log.append(("entered", i))
            if i == 0:
                time.sleep(0.3)  # the first one is slow to finish: the others must wait again
            with guard:
                log.append(("leave", i))
            barrier.leave()
            with guard:
                log.append(("left", i))

        return run

    _run_threads([member(i) for i in range(members)])
    kinds = [kind for kind, _ in log]
    assert kinds.index("entered") > max(k for k, kind in enumerate(kinds) if kind == "arrive")
    assert kinds.index("left") > max(k for k, kind in enumerate(kinds) if kind == "leave")
    assert sorted(i for kind, i in log if kind == "left") == list(range(members))


def test_service_registry_with_ephemeral_registrations(make_client, zk_hosts, base):
    services = f"{base}/services/payments"
    watcher = make_client()
    watcher.ensure_path(services)
    snapshots = Events()

    def on_children(children):
        endpoints = set()
        for child in children:
            try:
                data, _ = watcher.get(f"{services}/{child}")
            except Exception:  # noqa: BLE001 - the instance may be gone already
                continue
            info = json.loads(data)
            endpoints.add((info["host"], info["port"]))
        snapshots(endpoints)

    watcher.ChildrenWatch(services, on_children)
    assert snapshots.next() == set()

    def register(port):
        client = make_client()
        path = client.create(
            f"{services}/instance-",
            json.dumps({"host": "127.0.0.1", "port": port}).encode(),
            ephemeral=True,
            sequence=True,
        )
        return client, path

    instances = [register(8000 + i) for i in range(3)]
    all_three = {("127.0.0.1", 8000), ("127.0.0.1", 8001), ("127.0.0.1", 8002)}
    snapshots.wait_for(lambda s: s == all_three)

    # A clean shutdown deregisters at once.
    instances[0][0].stop()
    snapshots.wait_for(lambda s: s == all_three - {("127.0.0.1", 8000)})

    # A crashed instance's session ends (here: closed by another client using its session id).
    session_id, password = instances[1][0].client_id
    reaper = KazooClient(hosts=zk_hosts, client_id=(session_id, password), connection_retry=dict(FAST_RETRY))
    reaper.start(timeout=15)
    reaper.stop()
    reaper.close()
    snapshots.wait_for(lambda s: s == {("127.0.0.1", 8002)})

    register(9000)
    snapshots.wait_for(lambda s: s == {("127.0.0.1", 8002), ("127.0.0.1", 9000)})
    assert len(watcher.get_children(services)) == 2
