"""Helpers shared by the kazoo peer tests: polling, event collection, four-letter words over a raw
socket, a loopback TCP proxy that can cut a client off from the server, and the two create
variants (container, TTL) that kazoo 2.11 has no public API for.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections import namedtuple

from kazoo.protocol.serialization import Create2, long_struct

# CreateMode flags as sent on the wire.
CREATE_CONTAINER_FLAGS = 4
PERSISTENT_WITH_TTL = 5
PERSISTENT_SEQUENTIAL_WITH_TTL = 6


def wait_until(predicate, timeout=10.0, interval=0.05, message="condition"):
    """Polls predicate() until it returns a truthy value, which is returned; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Events:
    """A thread-safe recorder for watch callbacks and listener states."""

    def __init__(self):
        self._queue: queue.Queue = queue.Queue()
        self.seen: list = []
        self._lock = threading.Lock()

    def __call__(self, item):
        with self._lock:
            self.seen.append(item)
        self._queue.put(item)

    def next(self, timeout=10.0):
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s (seen so far: {self.seen})") from None

    def wait_for(self, predicate, timeout=10.0):
        """Consumes items until one matches predicate; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event within {timeout}s (seen: {self.seen})")
            item = self.next(timeout=remaining)
            if predicate(item):
                return item

    def snapshot(self):
        with self._lock:
            return list(self.seen)


def four_letter_word(host: str, port: int, word: str, timeout=5.0) -> str:
    """Sends a four-letter word on the client port and returns the whole reply."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(word.encode("ascii"))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def split_hosts(hosts: str) -> tuple[str, int]:
    """The first host:port of a connect string (without chroot)."""
    first = hosts.split("/", 1)[0].split(",")[0]
    host, _, port = first.rpartition(":")
    return host, int(port)


class TcpProxy:
    """A loopback TCP proxy between a client and the server under test.

    drop() cuts every open connection (the client sees a connection loss and reconnects through
    the proxy to the same session); block() also refuses new connections until unblock(), so the
    server stops hearing from the client and eventually expires its session.
    """

    def __init__(self, upstream_host: str, upstream_port: int):
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = self._listener.getsockname()[1]
        self.hosts = f"127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._pairs: set = set()
        self._blocked = False
        self._closed = False
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    downstream.close()
                    return
                blocked = self._blocked
            if blocked:
                _close(downstream)
                continue
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(downstream)
                continue
            pair = (downstream, upstream)
            with self._lock:
                self._pairs.add(pair)
                self.accepted += 1
            for src, dst in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair(pair)

    def _close_pair(self, pair):
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            _close(sock)

    def drop(self):
        """Closes every proxied connection now."""
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._close_pair(pair)

    def block(self):
        """Cuts current connections and refuses new ones until unblock()."""
        with self._lock:
            self._blocked = True
        self.drop()

    def unblock(self):
        with self._lock:
            self._blocked = False

    def close(self):
        with self._lock:
            self._closed = True
        _close(self._listener)
        self.drop()


def _close(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


# kazoo 2.11's KazooClient.create() has no container or TTL option (it only sets the ephemeral and
# sequential flags). These request records reuse kazoo's own serialization (a CreateRequest, plus
# the ttl for CreateTTLRequest; both answered with a Create2Response) and are sent through the
# client's session with KazooClient._call (see `send`), the one internal kazoo entry point these
# tests use (differential.py also sends a few other requests kazoo lacks the same way).
class _CreateContainer(namedtuple("CreateContainer", "path data acl flags")):
    type = 19

    def serialize(self):
        return Create2(self.path, self.data, self.acl, self.flags).serialize()

    @classmethod
    def deserialize(cls, buffer, offset):
        return Create2.deserialize(buffer, offset)


class _CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    type = 21

    def serialize(self):
        body = Create2(self.path, self.data, self.acl, self.flags).serialize()
        return body + long_struct.pack(self.ttl)

    @classmethod
    def deserialize(cls, buffer, offset):
        return Create2.deserialize(buffer, offset)


def send(client, request, timeout=10.0):
    """Sends a request record (kazoo-style: `type`, serialize(), deserialize()) through the
    client's session with KazooClient._call and waits for its reply; for requests kazoo has no
    API for."""
    result = client.handler.async_result()
    client._call(request, result)
    return result.get(timeout=timeout)



def _acl(client, acl):
    if acl is not None:
        return list(acl)
    from kazoo.security import OPEN_ACL_UNSAFE

    return list(client.default_acl or OPEN_ACL_UNSAFE)


def create_container(client, path, value=b"", acl=None, timeout=10.0):
    """Creates a container node; returns (path, stat)."""
    if client.chroot:
        raise ValueError("create_container does not support chrooted clients")
    return send(client, _CreateContainer(path, value, _acl(client, acl), CREATE_CONTAINER_FLAGS), timeout)


def create_ttl(client, path, ttl_ms, value=b"", acl=None, sequence=False, timeout=10.0):
    """Creates a persistent node with a TTL in milliseconds; returns (path, stat)."""
    if client.chroot:
        raise ValueError("create_ttl does not support chrooted clients")
    flags = PERSISTENT_SEQUENTIAL_WITH_TTL if sequence else PERSISTENT_WITH_TTL
    return send(client, _CreateTTL(path, value, _acl(client, acl), flags, ttl_ms), timeout)
