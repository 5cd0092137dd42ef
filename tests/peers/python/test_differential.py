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
  ZK_DIFF_ZK=host:port      started with differential.SERVER_CONFIG), likewise for zk
A failing seed writes its ops to <pytest tmp>/diff-seed<seed>.json (the path is in the message).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import running_server
from differential import SERVER_CONFIG, Generator, Op, Runner, shrink

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
