"""pytest fixtures for the kazoo peer tests.

The server under test is started once per session with tests/peers/server:
  ZK_SERVER_KIND=zk|apache   which server to start (default: zk)
  ZK_CONNECT=host:port       use an already running server instead (nothing is started)
Every test gets its own base path (see `base`) so tests are independent of each other.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import socket
import subprocess
import uuid

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

from zkpeer import split_hosts

HERE = pathlib.Path(__file__).resolve().parent
SERVER_SCRIPT = HERE.parent / "server"
SUPER_AUTH = ("digest", "super:test")
# Reconnect quickly in tests: the default backoff grows to a minute.
FAST_RETRY = {"max_tries": -1, "delay": 0.05, "backoff": 1.5, "max_jitter": 0.05, "max_delay": 0.5}


def _server_kind() -> str:
    return os.environ.get("ZK_SERVER_KIND", "zk")


def pytest_report_header(config):
    if os.environ.get("ZK_CONNECT"):
        return f"zk peer tests: server at ZK_CONNECT={os.environ['ZK_CONNECT']}"
    return f"zk peer tests: server kind ZK_SERVER_KIND={_server_kind()}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(kind: str, server_dir, extra_config=()):
    """Starts a `kind` server (apache or zk) with tests/peers/server in server_dir on a free port,
    yields its host:port and stops it afterwards. Ends the pytest run when it cannot start."""
    errors = []
    hosts = None
    for _ in range(3):  # the free port may be taken between probing and binding
        port = _free_port()
        proc = subprocess.run(
            [str(SERVER_SCRIPT), "up", kind, str(server_dir), str(port), *extra_config],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=900,  # the first run may fetch Apache ZooKeeper from Maven Central
        )
        if proc.returncode == 0:
            hosts = proc.stdout.strip().splitlines()[-1]
            break
        errors.append(proc.stderr)
        if "during startup" not in proc.stderr and "already in use" not in proc.stderr:
            break  # not a port clash: retrying will not help
    if hosts is None:
        pytest.exit(
            f"could not start the {kind} server (log: {server_dir}/server.log):\n" + "\n".join(errors),
            returncode=3,
        )
    try:
        yield hosts
    finally:
        subprocess.run([str(SERVER_SCRIPT), "down", str(server_dir)], timeout=60, check=False)


@pytest.fixture(scope="session")
def zk_hosts(tmp_path_factory):
    """host:port of the server under test."""
    connect = os.environ.get("ZK_CONNECT")
    if connect:
        yield connect
        return
    kind = _server_kind()
    with running_server(kind, tmp_path_factory.mktemp(f"{kind}-server")) as hosts:
        yield hosts


@pytest.fixture(scope="session")
def zk_address(zk_hosts):
    """(host, port) of the server under test, for raw sockets."""
    return split_hosts(zk_hosts)


@pytest.fixture
def make_client(zk_hosts):
    """Factory for started KazooClients; all are stopped and closed when the test ends."""
    clients = []

    def make(hosts=None, start=True, **kwargs):
        kwargs.setdefault("timeout", 10.0)
        kwargs.setdefault("connection_retry", dict(FAST_RETRY))
        client = KazooClient(hosts=hosts or zk_hosts, **kwargs)
        clients.append(client)
        if start:
            client.start(timeout=15)
        return client

    yield make
    for client in clients:
        try:
            client.stop()
            client.close()
        except Exception:  # noqa: BLE001 - teardown must not mask the test's outcome
            pass


@pytest.fixture
def zk(make_client):
    """A connected KazooClient with no authentication."""
    return make_client()


@pytest.fixture
def base(zk, make_client, request):
    """A fresh persistent znode for this test, removed afterwards (as the super user, so nodes
    with restrictive ACLs are removed too)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:80]
    path = f"/peers-python/{name}-{uuid.uuid4().hex[:8]}"
    zk.ensure_path(path)
    yield path
    try:
        cleaner = make_client(auth_data=[SUPER_AUTH])
        cleaner.delete(path, recursive=True)
    except NoNodeError:
        pass
    except Exception:  # noqa: BLE001
        pass
