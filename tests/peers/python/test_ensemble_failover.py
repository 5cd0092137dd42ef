"""kazoo against a 3-member `zk server` ensemble: when the member holding its connection is
SIGKILLed, kazoo reconnects to another member and keeps its session (same id, its ephemeral node
still there) and its writes keep working.

Starts its own ensemble (three processes on 127.0.41.x) from $ZK_BIN, so it runs only for
ZK_SERVER_KIND=zk without ZK_CONNECT.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import time

import pytest
from kazoo.client import KazooClient

from conftest import FAST_RETRY

REPO = pathlib.Path(__file__).resolve().parents[3]
NET = "127.0.41"

pytestmark = pytest.mark.skipif(
    os.environ.get("ZK_SERVER_KIND", "zk") != "zk" or bool(os.environ.get("ZK_CONNECT")),
    reason="starts its own zk ensemble",
)


def _free_ports(ip: str, n: int) -> list:
    """n distinct free ports on ip; the sockets stay bound until all are chosen, because the
    kernel may hand a just-released port out again."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(n)]
        for sock in socks:
            sock.bind((ip, 0))
        return [sock.getsockname()[1] for sock in socks]


def _word(ip: str, port: int, word: str) -> str:
    try:
        with socket.create_connection((ip, port), timeout=5) as sock:
            sock.sendall(word.encode())
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks).decode()
    except OSError:
        return ""


class Ensemble:
    def __init__(self, root: pathlib.Path, size: int = 3, net: str = NET, extra: tuple = ()):
        self.binary = os.environ.get("ZK_BIN", str(REPO / "target" / "release" / "zk"))
        self.members = []
        lines = []
        for myid in range(1, size + 1):
            ip = f"{net}.{myid}"
            quorum, election, client = _free_ports(ip, 3)
            lines.append(f"server.{myid}={ip}:{quorum}:{election};{client}")
            self.members.append({"id": myid, "ip": ip, "port": client, "dir": root / f"m{myid}"})
        for m in self.members:
            data = m["dir"] / "data"
            data.mkdir(parents=True)
            (data / "myid").write_text(f"{m['id']}\n")
            cfg = m["dir"] / "zoo.cfg"
            cfg.write_text(
                f"tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir={data}\nclientPort={m['port']}\n"
                f"clientPortAddress={m['ip']}\n4lw.commands.whitelist=*\nadmin.enableServer=false\n"
                "forceSync=no\n" + "\n".join(list(lines) + list(extra)) + "\n"
            )
            self.launch(m)

    def launch(self, m):
        """Starts (or restarts) one member's process with its existing zoo.cfg and data."""
        with open(m["dir"] / "server.log", "ab") as log:
            m["proc"] = subprocess.Popen(
                [self.binary, "server", "--config", str(m["dir"] / "zoo.cfg")],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def connect_string(self) -> str:
        return ",".join(f"{m['ip']}:{m['port']}" for m in self.members)

    def mode(self, m) -> str | None:
        for line in _word(m["ip"], m["port"], "srvr").splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):]
        return None

    def wait_for_leader(self, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = [m for m in self.members if m["proc"].poll() is None]
            modes = [self.mode(m) for m in running]
            if modes.count("leader") == 1 and all(x in ("leader", "follower") for x in modes):
                return
            time.sleep(0.05)
        raise AssertionError(f"no leader among {[self.mode(m) for m in self.members]}")

    def holding(self, session_id: int):
        for m in self.members:
            if f"sid=0x{session_id:x}" in _word(m["ip"], m["port"], "cons"):
                return m
        return None

    def stop(self):
        for m in self.members:
            if m["proc"].poll() is None:
                m["proc"].kill()
                m["proc"].wait()


@pytest.fixture
def ensemble(tmp_path):
    e = Ensemble(tmp_path)
    try:
        e.wait_for_leader()
        yield e
    finally:
        e.stop()


def test_session_survives_the_loss_of_its_member(ensemble):
    client = KazooClient(
        hosts=ensemble.connect_string(),
        timeout=4.0,
        connection_retry=dict(FAST_RETRY),
        command_retry=dict(FAST_RETRY),
    )
    client.start(timeout=15)
    try:
        client.create("/eph", b"before", ephemeral=True)
        session_id = client.client_id[0]
        member = ensemble.holding(session_id)
        assert member is not None, "no member lists the session's connection"
        member["proc"].send_signal(signal.SIGKILL)
        member["proc"].wait()
        ensemble.wait_for_leader(30)

        client.set("/eph", b"after")  # retried by kazoo across the reconnect
        assert client.client_id[0] == session_id
        data, stat = client.get("/eph")
        assert data == b"after"
        assert stat.ephemeralOwner == session_id
        assert ensemble.holding(session_id) not in (None, member)

        other = KazooClient(hosts=ensemble.connect_string(), timeout=4.0)
        other.start(timeout=15)
        try:
            other.sync("/eph")
            assert other.get("/eph")[1].ephemeralOwner == session_id
        finally:
            other.stop()
            other.close()
    finally:
        client.stop()
        client.close()
