"""kazoo's read-only mode against a 3-member `zk server` ensemble with readonlymode.enabled: when
the two other members die, the survivor has no quorum; kazoo (read_only=True) reconnects to it in
read-only mode with the same session, reads, and gets NotReadOnly for writes. When the others
come back the survivor drops its read-only clients, kazoo finds a read/write member (it probes
with `isro`) and its session survives: same id, writes work again.

Members are killed rather than partitioned (no network namespace from pytest). Starts its own
ensemble on 127.0.43.x from $ZK_BIN, so it runs only for ZK_SERVER_KIND=zk without ZK_CONNECT.
"""

from __future__ import annotations

import signal
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.protocol.states import KeeperState

from conftest import FAST_RETRY
from test_ensemble_failover import Ensemble, _word, pytestmark  # noqa: F401


@pytest.fixture
def ensemble(tmp_path):
    e = Ensemble(tmp_path, net="127.0.43", extra=("readonlymode.enabled=true",))
    try:
        e.wait_for_leader()
        yield e
    finally:
        e.stop()


def _wait(what, pred, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_read_only_session_survives_until_a_quorum_is_back(ensemble):
    client = KazooClient(
        hosts=ensemble.connect_string(),
        timeout=4.0,
        read_only=True,
        connection_retry=dict(FAST_RETRY),
        command_retry=dict(FAST_RETRY),
    )
    client.start(timeout=15)
    try:
        assert client.client_state == KeeperState.CONNECTED
        client.create("/ro", b"before")
        session_id = client.client_id[0]
        survivor = ensemble.holding(session_id)
        assert survivor is not None
        others = [m for m in ensemble.members if m is not survivor]
        for m in others:
            m["proc"].send_signal(signal.SIGKILL)
            m["proc"].wait()

        _wait("read-only service", lambda: _word(survivor["ip"], survivor["port"], "isro") == "ro")
        _wait("a read-only connection", lambda: client.client_state == KeeperState.CONNECTED_RO)
        assert client.client_id[0] == session_id
        assert client.get("/ro")[0] == b"before"
        with pytest.raises(NotReadOnlyCallError):
            client.create("/during", b"")
        assert ensemble.mode(survivor) == "read-only"

        for m in others:
            ensemble.launch(m)
        ensemble.wait_for_leader(30)
        _wait("a read/write connection", lambda: client.client_state == KeeperState.CONNECTED)
        assert client.client_id[0] == session_id
        client.create("/after", b"")
        assert client.exists("/after") is not None
    finally:
        client.stop()
        client.close()
