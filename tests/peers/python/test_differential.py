"""Differential test: randomized operation sequences against Apache ZooKeeper (the oracle) and
`zk server`, both started here whatever ZK_SERVER_KIND says, must give the same results, error
codes, Stats (zxids as "which step wrote it", times aside), children, data, ACLs, sequential names,
watch events and final trees. See differential.py for what is compared and how.

Environment (all optional):
  ZK_DIFF_SEEDS=30          how many seeds (one test each)
  ZK_DIFF_FIRST_SEED=1      the first seed
  ZK_DIFF_SEED=7,19         exactly these seeds (overrides the two above)
  ZK_DIFF_OPS=400           ops per seed
  ZK_DIFF_SLOTS=3           sessions per server (mirrored one to one)
  ZK_DIFF_SKIP=ttl,acl:sasl op kinds (see Generator) or ACL shapes ("acl:<name>", see ACL_SHAPES)
                            to leave out, e.g. to look past a known divergence
  ZK_DIFF_EVENT_ORDER=1     compare the events each session got in arrival order, not as a
                            multiset (Apache fires a session close's NodeDeleted events in
                            hash-set order, so this flags differences that are not bugs)
  ZK_DIFF_SHRINK=1          on a divergence, also search for a short op sequence that still diverges
  ZK_DIFF_REPLAY=file.json  run the ops written by a failing seed (instead of generating)
  ZK_DIFF_APACHE=host:port  use a running Apache ZooKeeper instead of starting one (it must be
  ZK_DIFF_ZK=host:port      started with differential.SERVER_CONFIG and serve nobody else during
                            the run: reply zxids are compared), likewise for zk
A failing seed writes its ops to <pytest tmp>/diff-seed<seed>.json (the path is in the message).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from kazoo.client import KazooClient
from kazoo.security import ACL, Id, Permissions

from conftest import running_server
from differential import FAST_RETRY, SERVER_CONFIG, SUPER_AUTH, Generator, Op, Runner, _WhoAmI, shrink
from zkpeer import send

RUN_ID = uuid.uuid4().hex[:8]


def _env_int(name, default):
    return int(os.environ.get(name, default))


def _seeds():
    if os.environ.get("ZK_DIFF_SEED"):
        return [int(s) for s in os.environ["ZK_DIFF_SEED"].split(",") if s.strip()]
    first = _env_int("ZK_DIFF_FIRST_SEED", 1)
    return list(range(first, first + _env_int("ZK_DIFF_SEEDS", 30)))


@pytest.fixture(scope="session")
def diff_runner(tmp_path_factory):
    """A Runner over an Apache ZooKeeper and a zk server, both started with tests/peers/server."""
    with contextlib.ExitStack() as stack:
        hosts = {}
        to_start = [k for k in ("apache", "zk") if not os.environ.get(f"ZK_DIFF_{k.upper()}")]
        for kind in ("apache", "zk"):
            if kind not in to_start:
                hosts[kind] = os.environ[f"ZK_DIFF_{kind.upper()}"]

        def start(kind):
            cm = running_server(kind, tmp_path_factory.mktemp(f"diff-{kind}"), SERVER_CONFIG)
            return kind, cm, cm.__enter__()

        with ThreadPoolExecutor(max_workers=2) as pool:  # the JVM starts while zk does
            futures = [pool.submit(start, kind) for kind in to_start]
        failure = None
        for future in futures:
            try:
                kind, cm, host = future.result()
            except BaseException as exc:  # noqa: BLE001 - pytest.exit; stop the other one first
                failure = failure or exc
                continue
            stack.push(cm.__exit__)
            hosts[kind] = host
        if failure is not None:
            raise failure
        runner = Runner(hosts["apache"], hosts["zk"], slots=_env_int("ZK_DIFF_SLOTS", 3),
                        ordered_events=os.environ.get("ZK_DIFF_EVENT_ORDER") == "1")
        stack.callback(runner.close)
        yield runner


_counter = iter(range(1_000_000))


def _new_base(seed) -> str:
    return f"/differential/{RUN_ID}-seed{seed}-{next(_counter)}"


def _fail(runner, seed, ops, divergence, tmp_path):
    log = tmp_path / f"diff-seed{seed}.json"
    log.write_text(json.dumps([op.to_json() for op in ops], indent=1, ensure_ascii=False))
    message = divergence.describe(seed) + f"\n  all {len(ops)} ops: {log} (replay: ZK_DIFF_REPLAY={log})"
    if os.environ.get("ZK_DIFF_SHRINK") == "1":
        small, small_div = shrink(runner, ops, divergence, lambda: _new_base(seed))
        small_log = tmp_path / f"diff-seed{seed}-shrunk.json"
        small_log.write_text(json.dumps([op.to_json() for op in small], indent=1, ensure_ascii=False))
        small_div.history = list(enumerate(small, 1))
        message += "\n\nshrunk to: " + small_div.describe(seed) + f"\n  ({small_log})"
    pytest.fail(message, pytrace=False)


@pytest.mark.skipif(bool(os.environ.get("ZK_DIFF_REPLAY")), reason="ZK_DIFF_REPLAY is set")
@pytest.mark.parametrize("seed", _seeds())
def test_random_sequence_matches_apache(seed, diff_runner, tmp_path):
    skip = [k for k in os.environ.get("ZK_DIFF_SKIP", "").split(",") if k]
    gen = Generator(seed, diff_runner.slots, skip=skip)
    remaining = _env_int("ZK_DIFF_OPS", 400)

    def next_op():
        nonlocal remaining
        if remaining == 0:
            return None
        remaining -= 1
        return gen.next()

    ops: list = []
    divergence = diff_runner.run(_new_base(seed), next_op, gen.observe, ops)
    if divergence is not None:
        _fail(diff_runner, seed, ops, divergence, tmp_path)


@pytest.mark.skipif(not os.environ.get("ZK_DIFF_REPLAY"), reason="set ZK_DIFF_REPLAY=ops.json")
def test_replay(diff_runner, tmp_path):
    with open(os.environ["ZK_DIFF_REPLAY"]) as f:
        ops = [Op.from_json(o) for o in json.load(f)]
    it = iter(ops)
    divergence = diff_runner.run(_new_base("replay"), lambda: next(it, None))
    if divergence is not None:
        _fail(diff_runner, "replay", ops, divergence, tmp_path)


# --- deterministic edge cases next to the random sequences ----------------------------------
# Each compares one request on both servers; they pin down what the random sequences found.

ACL_IDS = [
    # digest ids: Apache accepts an id whose String.split(":") has exactly two parts (Java's
    # split drops trailing empty strings)
    ("digest", "alice:abc"), ("digest", "alice:abc:"), ("digest", "a:b::"), ("digest", "alice:"),
    ("digest", ":"), ("digest", ":abc"), ("digest", "alice"), ("digest", "a:b:c"),
    # ip ids: decimal octets as Integer.parseInt reads them; IPv6 as hex groups only
    ("ip", "127.0.0.1"), ("ip", "127.0.0.01"), ("ip", "0127.0.0.1"), ("ip", "+127.0.0.1"),
    ("ip", "127.0.0.1/8"), ("ip", "127.0.0.1/+8"), ("ip", "127.0.0.1/33"), ("ip", "127.0.0.-1"),
    ("ip", "::1"), ("ip", "::ffff:127.0.0.1"), ("ip", "::ffff:7f00:1"), ("ip", "1::"),
    ("ip", "1:2:3:4:5:6:7:8"), ("ip", "::/0"), ("ip", "1::2::3"),
    ("world", "anyone"), ("world", "ANYONE"), ("auth", "x"), ("sasl", "alice"), ("super", "x"),
]


def _acl_outcome(hosts, scheme, ident, base):

    admin = KazooClient(hosts=hosts, auth_data=[SUPER_AUTH, ("digest", "alice:pw")],
                        connection_retry=dict(FAST_RETRY))
    plain = KazooClient(hosts=hosts, connection_retry=dict(FAST_RETRY))
    admin.start(timeout=15)
    plain.start(timeout=15)
    try:
        admin.ensure_path(base)
        node = admin.create(f"{base}/n", sequence=True)
        out = {}
        try:
            admin.set_acls(node, [ACL(Permissions.ALL, Id(scheme, ident))])
            # Sorted: an `auth` ACL expands to the caller's identities, which Apache keeps in a
            # HashSet, so their order is unspecified.
            out["set_acls"] = sorted((a.perms, a.id.scheme, a.id.id) for a in admin.get_acls(node)[0])
        except Exception as exc:  # noqa: BLE001 - the outcome to compare
            out["set_acls"] = type(exc).__name__
        try:  # does the entry match a session from 127.0.0.1 without credentials?
            plain.get(node)
            out["plain_read"] = "ok"
        except Exception as exc:  # noqa: BLE001
            out["plain_read"] = type(exc).__name__
        return out
    finally:
        for c in (admin, plain):
            c.stop()
            c.close()


@pytest.mark.skipif(bool(os.environ.get("ZK_DIFF_REPLAY")), reason="ZK_DIFF_REPLAY is set")
@pytest.mark.parametrize("scheme,ident", ACL_IDS, ids=[f"{s}:{i}" for s, i in ACL_IDS])
def test_acl_id_validation_matches_apache(scheme, ident, diff_runner):
    base = _new_base("acl-ids")
    apache = _acl_outcome(diff_runner.apache_hosts, scheme, ident, base)
    zk = _acl_outcome(diff_runner.zk_hosts, scheme, ident, base)
    assert zk == apache, f"ACL id {scheme}:{ident!r}: apache {apache}, zk {zk}"


@pytest.mark.skipif(bool(os.environ.get("ZK_DIFF_REPLAY")), reason="ZK_DIFF_REPLAY is set")
def test_whoami_matches_apache(diff_runner):
    def whoami(hosts):
        client = KazooClient(hosts=hosts, connection_retry=dict(FAST_RETRY))
        client.start(timeout=15)
        try:
            seen = []
            for scheme, credential in [("digest", "alice:pw"), ("digest", "alice:wrong"),
                                       ("ip", "ignored"), ("digest", "super:test")]:
                client.add_auth(scheme, credential)
                seen.append(sorted(send(client, _WhoAmI())))  # Apache: hash-set order
            return seen
        finally:
            client.stop()
            client.close()

    apache, zk = whoami(diff_runner.apache_hosts), whoami(diff_runner.zk_hosts)
    assert zk == apache
