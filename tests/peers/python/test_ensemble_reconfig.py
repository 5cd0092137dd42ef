"""kazoo's `reconfig` against a `zk server` ensemble with reconfigEnabled: a fourth member started
fresh (its zoo.cfg lists the ensemble and itself) is added as a participant and serves the old
data, then removed again; a non-incremental change with the current version succeeds while a
stale version, an unauthenticated client and a bad server spec are refused with ZooKeeper's
errors.

Starts its own ensemble (processes on 127.0.57.x) from $ZK_BIN, so it runs only for
ZK_SERVER_KIND=zk without ZK_CONNECT.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import time

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import BadArgumentsError, BadVersionError, NoAuthError

from test_ensemble_failover import REPO, _free_ports, _word

NET = "127.0.57"
SETTINGS = (
    "tickTime=200\ninitLimit=10\nsyncLimit=5\n4lw.commands.whitelist=*\n"
    "admin.enableServer=false\nforceSync=no\nreconfigEnabled=true\n"
    # super:test
    "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n"
)

pytestmark = pytest.mark.skipif(
    os.environ.get("ZK_SERVER_KIND", "zk") != "zk" or bool(os.environ.get("ZK_CONNECT")),
    reason="starts its own zk ensemble",
)


class Ensemble:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.binary = os.environ.get("ZK_BIN", str(REPO / "target" / "release" / "zk"))
        self.members = []

    def _new(self, myid: int):
        ip = f"{NET}.{myid}"
        quorum, election, client = _free_ports(ip, 3)
        m = {"id": myid, "ip": ip, "port": client, "dir": self.root / f"m{myid}",
             "spec": f"server.{myid}={ip}:{quorum}:{election}:participant;{ip}:{client}"}
        self.members.append(m)
        return m

    def _launch(self, m):
        """Starts `m` with a zoo.cfg listing every member so far (itself included)."""
        data = m["dir"] / "data"
        data.mkdir(parents=True)
        (data / "myid").write_text(f"{m['id']}\n")
        cfg = m["dir"] / "zoo.cfg"
        lines = "\n".join(x["spec"] for x in self.members)
        cfg.write_text(
            f"{SETTINGS}dataDir={data}\nclientPort={m['port']}\nclientPortAddress={m['ip']}\n"
            f"{lines}\n"
        )
        log = open(m["dir"] / "server.log", "ab")
        m["proc"] = subprocess.Popen(
            [self.binary, "server", "--config", str(cfg)], stdout=subprocess.DEVNULL, stderr=log
        )

    def start(self, size: int):
        for myid in range(1, size + 1):
            self._new(myid)
        for m in list(self.members):
            self._launch(m)

    def add(self, myid: int):
        """A fresh member prepared to join: its zoo.cfg lists the ensemble and itself."""
        m = self._new(myid)
        self._launch(m)
        return m

    def mode(self, m) -> str | None:
        for line in _word(m["ip"], m["port"], "srvr").splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):]
        return None

    def wait_for_modes(self, members, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            modes = [self.mode(m) for m in members]
            if modes.count("leader") == 1 and all(x in ("leader", "follower") for x in modes):
                return
            time.sleep(0.05)
        raise AssertionError(f"no leader among {[self.mode(m) for m in members]}")

    def hosts(self, members) -> str:
        return ",".join(f"{m['ip']}:{m['port']}" for m in members)

    def stop(self):
        for m in self.members:
            if m["proc"].poll() is None:
                m["proc"].kill()
                m["proc"].wait()


@pytest.fixture
def ensemble(tmp_path):
    e = Ensemble(tmp_path)
    try:
        e.start(3)
        e.wait_for_modes(e.members)
        yield e
    finally:
        e.stop()


def _client(hosts: str, auth=None) -> KazooClient:
    c = KazooClient(hosts=hosts, timeout=10.0, auth_data=auth)
    c.start(timeout=15)
    return c


def _participants(config: bytes) -> list[int]:
    out = []
    for line in config.decode().splitlines():
        if line.startswith("server.") and ":participant" in line:
            out.append(int(line.split("=")[0][len("server."):]))
    return sorted(out)


def test_kazoo_reconfig_adds_and_removes_a_member(ensemble):
    first = list(ensemble.members)
    admin = _client(ensemble.hosts(first), auth=[("digest", "super:test")])
    anonymous = _client(ensemble.hosts(first))
    try:
        for i in range(20):
            admin.create(f"/old-{i}", b"old")
        config, stat = admin.get("/zookeeper/config")
        assert _participants(config) == [1, 2, 3]

        with pytest.raises(NoAuthError):
            anonymous.reconfig(joining=None, leaving="3", new_members=None)

        fourth = ensemble.add(4)
        data, stat = admin.reconfig(joining=fourth["spec"], leaving=None, new_members=None)
        assert _participants(data) == [1, 2, 3, 4]
        assert fourth["spec"] in data.decode()
        ensemble.wait_for_modes(ensemble.members, 30)

        reader = _client(ensemble.hosts([fourth]))
        try:
            reader.sync("/")
            assert [reader.get(f"/old-{i}")[0] for i in range(20)] == [b"old"] * 20
            assert reader.get("/zookeeper/config")[0] == data
        finally:
            reader.stop()
            reader.close()

        with pytest.raises(BadVersionError):
            admin.reconfig(joining=None, leaving="4", new_members=None, from_config=stat.mzxid - 1)
        with pytest.raises(BadArgumentsError):
            admin.reconfig(joining="server.9=nonsense", leaving=None, new_members=None)

        data, stat = admin.reconfig(
            joining=None, leaving=None, new_members=",".join(m["spec"] for m in first),
            from_config=stat.mzxid,
        )
        assert _participants(data) == [1, 2, 3]
        assert f"server.4=" not in data.decode()
        anonymous.sync("/")
        assert anonymous.get("/zookeeper/config")[0] == data
        admin.create("/after", b"")
    finally:
        for c in (admin, anonymous):
            c.stop()
            c.close()
