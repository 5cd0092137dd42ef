"""Differential testing of two ZooKeeper servers: the same randomized operation sequence is run
against both (Apache ZooKeeper as the oracle, `zk` as the server under test) through mirrored
kazoo sessions, and every observable outcome is compared step by step.

Pieces:
- `Op`: one client operation as plain data (JSON-able), so a failing sequence can be written out,
  replayed and shrunk. Paths are relative to the sequence's base znode ("" is the base itself,
  "/a/b" is base + "/a/b").
- `Generator`: draws ops from a seeded RNG over a small path universe so that collisions
  (NodeExists, NoNode, NotEmpty, BadVersion, NoAuth, ...) are frequent. It keeps a rough model
  of the tree fed from the *oracle's* outcomes (to pick existing paths and current versions
  often); the model only steers the choice of ops, it never decides what is correct.
- `Side`: the sessions (slots) on one server, an admin session (super user) per server, and
  the recorders of watch events.
- `Runner`: executes each op on both sides at the same time, lets watch events settle, and
  compares results, error codes, normalized Stats, children, data, ACLs, sequential names and
  watch events per session; at the end it compares a full dump of the sequence's subtree.

What is normalized before comparing (never compared raw):
- ctime/mtime: dropped.
- zxids (czxid/mzxid/pzxid in Stats and the zxid of every reply header): replaced by the step
  that produced them. Ops run one at a time, so a zxid larger than any seen so far on that server
  belongs to the current step (a write, a failed write, which Apache also gives a zxid, a session
  start or close); zxids from before the sequence are "?". So a pzxid that points at the wrong
  write, or a failed op that does (not) take a zxid, is a divergence; the zxid values are not.
- ephemeralOwner: a per-session token ("s<slot>.<generation>", "admin"), 0 stays 0.
- session ids and passwords are never compared.
- lists Apache builds from hash sets are sorted: children (getChildren, multiRead), getEphemerals,
  whoAmI, and the digest entries an `auth` ACL expands to (see Side.acls).
- watch events per session within one step: compared as multisets. Apache deletes a closing
  session's ephemerals in hash-set order, so the NodeDeleted events of a session close come in an
  arbitrary order (apart from that the arrival order matched in every run; `ordered_events`
  compares it).

Test-side nondeterminism handled here:
- watch events travel asynchronously; a step "settles" by a sync on every session of both
  servers (a server delivers every event a write triggered for a session before the reply to any
  later request of that session) followed by a marker callback through kazoo's callback queue
  (kazoo runs watch callbacks on a separate thread, in order).
- Python's set iteration order changes with PYTHONHASHSEED: every random choice is made from a
  sorted list so a seed reproduces the same sequence.
- time-driven server behaviour (container/TTL sweeps, session expiry) is not part of the
  sequences: the servers are started with a container sweep interval of a day, TTLs are large,
  and sessions are closed explicitly, never expired.
- kazoo calls every watcher it holds with a NONE event when a session ends; whether that still
  happens when we close the session races with kazoo stopping its callback thread, so NONE
  callbacks are left out (the raw events the server sent are all compared).
- kazoo normalizes paths ("//a" -> "/a", "." and ".." raise ValueError in the client), so odd
  paths reach the server only through the raw requests (create_raw, multi_raw, addWatch, ...).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import json
import random
import threading
from typing import Any, Callable, Optional

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NoNodeError
from kazoo.protocol.serialization import (
    MultiHeader,
    Watch,
    int_struct,
    long_struct,
    read_buffer,
    read_string,
    stat_struct,
    write_buffer,
    write_string,
)
from kazoo.protocol.states import ZnodeStat
from kazoo.security import ACL, Id, Permissions, make_digest_acl_credential

from zkpeer import create_container, create_ttl, send

# zoo.cfg lines for both servers: no container/TTL sweep during a test (it runs on its own clock,
# independently on each server, so what it removes and when would differ between them).
SERVER_CONFIG = ["znode.container.checkIntervalMs=86400000"]

SUPER_AUTH = ("digest", "super:test")
FAST_RETRY = {"max_tries": -1, "delay": 0.05, "backoff": 1.5, "max_jitter": 0.05, "max_delay": 0.5}
OP_TIMEOUT = 10.0

# --- ACL shapes -----------------------------------------------------------------------------

R, W, C, D, A = (Permissions.READ, Permissions.WRITE, Permissions.CREATE, Permissions.DELETE,
                 Permissions.ADMIN)
ALL = Permissions.ALL
ALICE = make_digest_acl_credential("alice", "pw")
BOB = make_digest_acl_credential("bob", "pw")


def _acl(perms, scheme, ident):
    return ACL(perms, Id(scheme, ident))


ACL_SHAPES: dict[str, list] = {
    # valid
    "open": [_acl(ALL, "world", "anyone")],
    "read": [_acl(R, "world", "anyone")],
    "read-create": [_acl(R | C, "world", "anyone")],
    "no-delete": [_acl(ALL & ~D, "world", "anyone")],
    "no-admin": [_acl(ALL & ~A, "world", "anyone")],
    "none": [_acl(0, "world", "anyone")],
    "alice": [_acl(ALL, "digest", ALICE)],
    "alice+world-ra": [_acl(ALL, "digest", ALICE), _acl(R | A, "world", "anyone")],
    "bob-rc": [_acl(R | C, "digest", BOB), _acl(R, "world", "anyone")],
    "ip-local": [_acl(ALL, "ip", "127.0.0.1")],
    "ip-net-rwc": [_acl(R | W | C, "ip", "127.0.0.0/8")],
    "ip-other": [_acl(ALL, "ip", "10.1.0.0/16")],
    "auth": [_acl(ALL, "auth", "")],
    "auth+world-r": [_acl(ALL, "auth", ""), _acl(R, "world", "anyone")],
    "duplicates": [_acl(ALL, "world", "anyone"), _acl(ALL, "world", "anyone")],
    "high-perms": [_acl(0x7F, "world", "anyone")],
    "negative-perms": [_acl(-1, "world", "anyone")],
    "ip-host-bits": [_acl(ALL, "ip", "127.0.0.1/8")],
    "ip-v6": [_acl(ALL, "ip", "::1")],
    "digest-empty-user": [_acl(ALL, "digest", ":abc")],
    # Apache checks a digest id with Java's String.split(":"), which drops trailing empty
    # strings: "alice:abc:" has two parts (valid), "alice:" and ":" have fewer (invalid).
    "digest-trailing-colon": [_acl(ALL, "digest", "alice:abc:")],
    "ip-leading-zero": [_acl(ALL, "ip", "127.0.0.01")],
    # invalid (InvalidACL expected)
    "empty": [],
    "bad-ip": [_acl(ALL, "ip", "not-an-address")],
    "bad-cidr": [_acl(ALL, "ip", "127.0.0.1/33")],
    "bad-scheme": [_acl(ALL, "nosuchscheme", "x")],
    "world-someone": [_acl(ALL, "world", "someone")],
    "digest-no-colon": [_acl(ALL, "digest", "alice")],
    "open+bad-ip": [_acl(ALL, "world", "anyone"), _acl(R, "ip", "1.2.3")],
    "digest-two-colons": [_acl(ALL, "digest", "alice:abc:def")],
    "digest-empty-hash": [_acl(ALL, "digest", "alice:")],
    "world-uppercase": [_acl(ALL, "world", "ANYONE")],
    "sasl": [_acl(ALL, "sasl", "alice")],
    "super-scheme": [_acl(ALL, "super", "")],
    "ip-short": [_acl(ALL, "ip", "127.1")],
    "digest-colon-only": [_acl(ALL, "digest", ":")],
    "ip-v4-mapped-v6": [_acl(ALL, "ip", "::ffff:127.0.0.1")],
}
VALID_ACLS = [
    "read", "read-create", "no-delete", "no-admin", "none", "alice", "alice+world-ra", "bob-rc",
    "ip-local", "ip-net-rwc", "ip-other", "auth", "auth+world-r", "duplicates", "high-perms",
    "negative-perms", "ip-host-bits", "ip-v6", "digest-empty-user", "digest-trailing-colon",
    "ip-leading-zero",
]
INVALID_ACLS = ["empty", "bad-ip", "bad-cidr", "bad-scheme", "world-someone", "digest-no-colon",
                "open+bad-ip", "digest-two-colons", "digest-empty-hash", "world-uppercase", "sasl",
                "super-scheme", "ip-short", "digest-colon-only", "ip-v4-mapped-v6"]

# Identities a session may add with add_auth (all valid digest credentials; "super" bypasses ACLs).
AUTHS = ["alice:pw", "bob:pw", "alice:wrong", "super:test", "ip:anything"]


def slot_auth(slot: int) -> list:
    """The auth_data a session in this slot starts (and restarts) with."""
    return [("digest", "alice:pw")] if slot % 3 == 1 else []


# --- requests kazoo 2.11 has no API for (sent with zkpeer.send) ----------------------------

class _PathInt:
    """A request of a path and an int (AddWatch, CheckWatches, RemoveWatches) answered by the
    reply header alone."""

    def __init__(self, type_, path, value):
        self.type, self.path, self.value = type_, path, value

    def serialize(self):
        return write_string(self.path) + int_struct.pack(self.value)

    @staticmethod
    def deserialize(buffer, offset):
        return True


class _PathOnly:
    """getEphemerals (a list of paths back) and getAllChildrenNumber (an int back)."""

    def __init__(self, type_, path):
        self.type, self.path = type_, path

    def serialize(self):
        return write_string(self.path)

    def deserialize(self, buffer, offset):
        if self.type == OP_GET_ALL_CHILDREN_NUMBER:
            return int_struct.unpack_from(buffer, offset)[0]
        count = int_struct.unpack_from(buffer, offset)[0]
        offset += int_struct.size
        paths = []
        for _ in range(max(count, 0)):
            path, offset = read_string(buffer, offset)
            paths.append(path)
        return paths


class _RawCreate:
    """create (1), create2 (15), createContainer (19), createTTL (21) with any flags."""

    def __init__(self, type_, body):
        self.type, self.body = type_, body

    def serialize(self):
        return self.body

    def deserialize(self, buffer, offset):
        path, offset = read_string(buffer, offset)
        if self.type == 1:
            return path
        return path, ZnodeStat._make(stat_struct.unpack_from(buffer, offset))


class _WhoAmI:
    type = 107

    @staticmethod
    def serialize():
        return b""

    @staticmethod
    def deserialize(buffer, offset):
        count = int_struct.unpack_from(buffer, offset)[0]
        offset += int_struct.size
        infos = []
        for _ in range(max(count, 0)):
            scheme, offset = read_string(buffer, offset)
            user, offset = read_string(buffer, offset)
            infos.append([scheme, user])
        return infos


class _Multi:
    """multi (14) and multiRead (22) with every sub-op kind ZooKeeper 3.9 accepts, and a reply
    parser that keeps each result's header type and error (kazoo's own transaction parser
    knows create/delete/setData/check results only)."""

    def __init__(self, type_, ops):
        self.type, self.ops = type_, ops  # ops: [(type, body bytes)]

    def serialize(self):
        b = bytearray()
        for type_, body in self.ops:
            b.extend(MultiHeader(type_, False, -1).serialize())
            b.extend(body)
        b.extend(MultiHeader(-1, True, -1).serialize())
        return b

    @staticmethod
    def deserialize(buffer, offset):
        results = []
        while True:
            header, offset = MultiHeader.deserialize(buffer, offset)
            if header.done:
                return results
            t = header.type
            if t == 1:
                value, offset = read_string(buffer, offset)
            elif t == 15:
                path, offset = read_string(buffer, offset)
                value = [path, ZnodeStat._make(stat_struct.unpack_from(buffer, offset))]
                offset += stat_struct.size
            elif t in (2, 13):
                value = None
            elif t == 5:
                value = ZnodeStat._make(stat_struct.unpack_from(buffer, offset))
                offset += stat_struct.size
            elif t == 8:
                count = int_struct.unpack_from(buffer, offset)[0]
                offset += int_struct.size
                value = []
                for _ in range(max(count, 0)):
                    child, offset = read_string(buffer, offset)
                    value.append(child)
            elif t == 4:
                data, offset = read_buffer(buffer, offset)
                value = [data, ZnodeStat._make(stat_struct.unpack_from(buffer, offset))]
                offset += stat_struct.size
            elif t == -1:
                value = int_struct.unpack_from(buffer, offset)[0]
                offset += int_struct.size
            else:
                raise ValueError(f"unknown result type {t} in a multi reply")
            results.append([t, header.err, value])


def _create_body(path, data, acl, flags):
    b = bytearray(write_string(path))
    b.extend(write_buffer(data))
    b.extend(int_struct.pack(len(acl)))
    for entry in acl:
        b.extend(int_struct.pack(entry.perms) + write_string(entry.id.scheme) + write_string(entry.id.id))
    b.extend(int_struct.pack(flags))
    return bytes(b)


MODE_FLAGS = {"persistent": 0, "ephemeral": 1, "sequential": 2, "ephemeral_sequential": 3}

OP_CHECK_WATCHES, OP_REMOVE_WATCHES = 17, 18
OP_GET_EPHEMERALS, OP_GET_ALL_CHILDREN_NUMBER, OP_ADD_WATCH = 103, 104, 106
# WatcherType of check/removeWatches: Children 1, Data 2, Any 3, Persistent 4, PersistentRecursive 5
WATCHER_TYPES = [1, 2, 3, 4, 5]
# AddWatchMode: persistent 0, persistent recursive 1
ADD_WATCH_MODES = [0, 1]


# --- ops -------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Op:
    kind: str
    slot: int
    args: dict

    def __str__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"s{self.slot}.{self.kind}({inner})"

    def to_json(self):
        return {"kind": self.kind, "slot": self.slot, "args": self.args}

    @staticmethod
    def from_json(obj):
        args = dict(obj["args"])
        if "ops" in args:
            args["ops"] = [list(sub) for sub in args["ops"]]
        return Op(obj["kind"], obj["slot"], args)


# ops that can change the tree or fire watches; the runner settles watch events after these
WRITES = {"create", "create2", "container", "ttl", "delete", "set", "set_acls", "multi",
          "multi_raw", "create_raw", "close"}

CREATE_MODES = ["persistent", "ephemeral", "sequential", "ephemeral_sequential"]
# TTLs around the valid range (1 .. a maximum) and far outside it; all are large enough that no
# TTL node can expire during a test
TTL_EDGES = [0, -5, 1, (1 << 40) - 1, 1 << 40, (1 << 56) - 1, 1 << 62]
# raw create requests: (opcode, flags); container and TTL flags through the wrong opcode too
RAW_CREATES = [(op, flags) for op in (1, 15, 19, 21) for flags in (0, 1, 2, 3, 4, 5, 6, 7, -1)]
DATA = ["", "x", "data", "0123456789" * 4, "\u00fc\u00df"]
# null data (a buffer of length -1) is only possible where kazoo passes None through
DATA_OR_NULL = DATA + [None]
NAMES = ["a", "b", "c"]
# The static universe: the base, 3 children, 6 grandchildren, 4 great-grandchildren.
STATIC_PATHS = sorted(
    [""]
    + [f"/{x}" for x in NAMES]
    + [f"/{x}/{y}" for x in NAMES for y in "ab"]
    + [f"/{x}/{y}/a" for x in "ab" for y in "ab"]
)
# Paths the server must reject (kazoo sends them unchecked).
INVALID_PATHS = ["/a/", "//a", "/a//b", "/a/.", "/a/..", "/./a", "/a\u0000b"]
# Absolute paths outside the base ("!" marks them): the root and the system nodes. Reads of them
# give the same answers on both servers (only this test uses them). Writes are limited to ones
# that fail (create or delete of / and /zookeeper): a write that succeeded would change state
# outside the base that later seeds would see (a root ACL, say), so seeds would not be independent.
SPECIAL_PATHS = ["!/", "!/zookeeper", "!/zookeeper/quota", "!/zookeeper/config"]
SPECIAL_FAILING_WRITES = ["!/", "!/zookeeper"]
# op kinds (and multi sub-op kinds) that only read
READS = {"get", "exists", "children", "get_acls", "sync", "add_watch", "remove_watches",
         "check_watches", "count", "check"}


# --- generator -----------------------------------------------------------------------------

class Generator:
    """Draws ops for one seed. observe() feeds back the oracle's outcome of each op."""

    def __init__(self, seed: int, slots: int, skip=()):
        self.rng = random.Random(seed)
        self.slots = slots
        self.skip = set(skip)
        self.existing: set[str] = {""}
        self.versions: dict[str, tuple] = {}  # path -> (version, aversion)
        self.ephemerals: dict[int, set] = collections.defaultdict(set)
        self.watched: dict[int, set] = collections.defaultdict(set)  # paths a slot watched
        weights = {
            "create": 10, "create2": 6, "container": 3, "ttl": 3, "delete": 10, "set": 9,
            "get": 7, "exists": 7, "children": 7, "get_acls": 3, "set_acls": 5, "multi": 9,
            "add_auth": 2, "sync": 2, "close": 2, "add_watch": 3, "remove_watches": 2,
            "check_watches": 1, "ephemerals": 2, "count": 2, "whoami": 1, "multi_raw": 5,
            "multi_read": 3, "create_raw": 3,
        }
        self.kinds = sorted(k for k in weights if k not in self.skip)
        # ACL shapes can be left out too, by name ("acl:<shape>")
        self.valid_acls = [a for a in VALID_ACLS if f"acl:{a}" not in self.skip]
        self.invalid_acls = [a for a in INVALID_ACLS if f"acl:{a}" not in self.skip]
        self.weights = [weights[k] for k in self.kinds]

    # choices --------------------------------------------------------------------------------
    def _existing(self):
        return sorted(self.existing)

    def path(self, kind: str) -> str:
        r = self.rng.random()
        existing = self._existing()
        if r < 0.55 and existing:
            return self.rng.choice(existing)
        if r < 0.96:
            return self.rng.choice(STATIC_PATHS)
        if r < 0.985:
            return self.rng.choice(INVALID_PATHS)
        if kind in READS:
            return self.rng.choice(SPECIAL_PATHS)
        if kind == "delete":
            return self.rng.choice(SPECIAL_FAILING_WRITES)
        return self.rng.choice(STATIC_PATHS)

    def parent(self) -> str:
        existing = [p for p in self._existing() if p.count("/") < 3]
        if existing and self.rng.random() < 0.75:
            return self.rng.choice(existing)
        return self.rng.choice([p for p in STATIC_PATHS if p.count("/") < 3])

    def create_path(self, sequential: bool) -> str:
        r = self.rng.random()
        if r < 0.03:
            return self.rng.choice(INVALID_PATHS)
        if r < 0.045 and not sequential:
            return self.rng.choice(SPECIAL_FAILING_WRITES)
        parent = self.parent()
        if sequential:
            return parent + "/" + self.rng.choice(["", "s", "a"])
        if r < 0.1:
            return parent  # often exists already
        return parent + "/" + self.rng.choice(NAMES)

    def version(self, path: str, field: int = 0) -> int:
        known = self.versions.get(path, (0, 0))[field]
        r = self.rng.random()
        if r < 0.35:
            return -1
        if r < 0.75:
            return known
        if r < 0.88:
            return known + 1
        return self.rng.randint(0, 3)

    def data(self, nullable=False) -> Optional[str]:
        return self.rng.choice(DATA_OR_NULL if nullable else DATA)

    def acl(self, invalid_rate=0.1) -> str:
        r = self.rng.random()
        if r < 0.55:
            return "open"
        if r < 1 - invalid_rate:
            return self.rng.choice(self.valid_acls)
        return self.rng.choice(self.invalid_acls)

    # ops ------------------------------------------------------------------------------------
    def next(self) -> Op:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        slot = self.rng.randrange(self.slots)
        rng = self.rng
        if kind in ("create", "create2"):
            mode = rng.choice(CREATE_MODES)
            args = {"path": self.create_path("sequential" in mode), "mode": mode,
                    "data": self.data(True), "acl": self.acl()}
        elif kind == "container":
            args = {"path": self.create_path(False), "data": self.data(), "acl": self.acl(0.05)}
        elif kind == "ttl":
            seq = rng.random() < 0.4
            ttl = rng.choice([3_600_000] * 6 + TTL_EDGES)
            args = {"path": self.create_path(seq), "sequential": seq, "ttl": ttl,
                    "data": self.data(), "acl": self.acl(0.05)}
        elif kind == "delete":
            p = self.path(kind)
            args = {"path": p, "version": self.version(p)}
        elif kind == "set":
            p = self.path(kind)
            args = {"path": p, "data": self.data(True), "version": self.version(p)}
        elif kind in ("get", "exists"):
            args = {"path": self.path(kind), "watch": rng.random() < 0.6}
        elif kind == "children":
            args = {"path": self.path(kind), "watch": rng.random() < 0.6, "stat": rng.random() < 0.5}
        elif kind == "get_acls":
            args = {"path": self.path(kind)}
        elif kind == "set_acls":
            p = self.path(kind)
            args = {"path": p, "acl": self.acl(0.2), "version": self.version(p, 1)}
        elif kind == "multi":
            args = {"ops": [self._sub_op() for _ in range(rng.choice([0, 1, 2, 2, 3, 3, 4, 5]))]}
        elif kind == "create_raw":
            opcode, flags = rng.choice(RAW_CREATES)
            ttls = [3_600_000] * 3 + TTL_EDGES
            if opcode == 21 and flags not in (5, 6):
                # Apache ZooKeeper 3.9.5 accepts createTTL with a non-TTL mode and a negative
                # ttl, then fails applying it and exits for good (its txn log replays the same
                # failure): never sent, it would take the oracle down.
                ttls = [t for t in ttls if t >= 0]
            args = {"opcode": opcode, "flags": flags, "path": self.create_path(flags in (2, 3, 6)),
                    "data": self.data(), "acl": self.acl(0.05), "ttl": rng.choice(ttls)}
        elif kind == "multi_raw":
            n = rng.choice([0, 1, 2, 3, 3, 4])
            args = {"ops": [self._sub_op(extended=True) for _ in range(n)]}
        elif kind == "multi_read":
            n = rng.choice([0, 1, 2, 3, 4])
            args = {"ops": [[rng.choice(["get", "children"]), self.path("get")] for _ in range(n)]}
        elif kind == "add_auth":
            args = {"credential": rng.choice(AUTHS[:3] * 3 + AUTHS[3:])}
            if args["credential"].startswith("ip:"):
                # the ip provider ignores the data and adds the connection's address
                args = {"scheme": "ip", "credential": args["credential"][3:]}
        elif kind == "sync":
            args = {"path": self.path(kind)}
        elif kind == "close":
            args = {}
        elif kind == "add_watch":
            args = {"path": self.path(kind), "mode": rng.choice(ADD_WATCH_MODES)}
        elif kind in ("remove_watches", "check_watches"):
            watched = sorted(self.watched[slot])
            path = rng.choice(watched) if watched and rng.random() < 0.7 else self.path(kind)
            args = {"path": path, "type": rng.choice(WATCHER_TYPES)}
        elif kind in ("ephemerals", "count"):
            args = {"path": rng.choice(["", "!/"] + self._existing()) if kind == "ephemerals"
                    else self.path(kind)}
        elif kind == "whoami":
            args = {}
        else:
            raise AssertionError(kind)
        if args.get("watch") or kind == "add_watch":
            self.watched[slot].add(args["path"])
        elif kind == "close":
            self.watched[slot].clear()
        return Op(kind, slot, args)

    def _sub_op(self, extended=False) -> list:
        kinds = ["check", "create", "create", "set", "delete"]
        if extended:
            kinds += ["create2", "container", "ttl"]
        kind = self.rng.choice(kinds)
        if kind == "container":
            return ["container", self.create_path(False), self.data(), self.acl(0.05)]
        if kind == "ttl":
            seq = self.rng.random() < 0.4
            return ["ttl", self.create_path(seq), self.data(), self.acl(0.05), seq,
                    self.rng.choice([3_600_000] * 5 + TTL_EDGES)]
        if kind == "create2":
            mode = self.rng.choice(CREATE_MODES)
            return ["create2", self.create_path("sequential" in mode), self.data(True),
                    self.acl(0.05), mode]
        if kind == "create":
            mode = self.rng.choice(CREATE_MODES)
            return ["create", self.create_path("sequential" in mode), self.data(),
                    self.acl(0.05), mode]
        p = self.path(kind)
        if kind == "check":
            return ["check", p, self.version(p)]
        if kind == "set":
            return ["set", p, self.data(), self.version(p)]
        return ["delete", p, self.version(p)]

    # feedback from the oracle ---------------------------------------------------------------
    def observe(self, op: Op, outcome):
        status, value = outcome[0], outcome[1]
        a = op.args
        if op.kind in ("create", "create2", "container", "ttl", "create_raw"):
            if status == "ok":
                made = value if isinstance(value, str) else value[0]
                self._exists(made)
                self.versions[made] = (0, 0)
                if "ephemeral" in a.get("mode", "") or a.get("flags") in (1, 3):
                    self.ephemerals[op.slot].add(made)
            elif value == "NodeExistsError":
                self._exists(a["path"])
        elif op.kind == "delete" and (status == "ok" or value == "NoNodeError"):
            self._gone(a["path"])
        elif op.kind in ("set", "get", "exists", "children", "get_acls", "set_acls"):
            if value == "NoNodeError" or (op.kind == "exists" and status == "ok" and value is None):
                self._gone(a["path"])
            elif status == "ok":
                self._exists(a["path"])
                stat = _find_stat(value)
                if stat:
                    self.versions[a["path"]] = (stat["version"], stat["aversion"])
                if op.kind == "children":
                    kids = value[0] if a["stat"] else value
                    for kid in kids:
                        self._exists(f"{a['path']}/{kid}")
        elif op.kind == "multi" and status == "ok" and not _multi_failed(value):
            for sub, res in zip(a["ops"], value):
                if sub[0] == "create":
                    self._exists(res)
                    self.versions[res] = (0, 0)
                    if "ephemeral" in sub[4]:
                        self.ephemerals[op.slot].add(res)
                elif sub[0] == "delete":
                    self._gone(sub[1])
                elif sub[0] == "set":
                    old = self.versions.get(sub[1], (0, 0))
                    self.versions[sub[1]] = (res["version"], old[1])
        elif op.kind == "multi_raw" and status == "ok" and all(r[0] != -1 for r in value):
            for sub, res in zip(a["ops"], value):
                if sub[0] in ("create", "create2", "container", "ttl"):
                    made = res[2] if isinstance(res[2], str) else res[2][0]
                    self._exists(made)
                    self.versions[made] = (0, 0)
                    if "ephemeral" in str(sub[-1]):
                        self.ephemerals[op.slot].add(made)
                elif sub[0] == "delete":
                    self._gone(sub[1])
        elif op.kind == "close":
            for p in self.ephemerals.pop(op.slot, set()):
                self._gone(p)

    def _exists(self, path):
        # Only paths under the base: the generator writes to paths it believes exist, and the
        # nodes outside the base must only see writes that fail (see SPECIAL_PATHS).
        if isinstance(path, str) and not path.startswith("!"):
            self.existing.add(path)

    def _gone(self, path):
        for p in list(self.existing):
            if p == path or p.startswith(path + "/"):
                self.existing.discard(p)
        if path == "":
            self.existing.add("")  # keep the base as a candidate (create may bring it back)


def _find_stat(value):
    if isinstance(value, dict) and "version" in value:
        return value
    if isinstance(value, (list, tuple)):
        for v in value:
            if isinstance(v, dict) and "version" in v:
                return v
    return None


# --- one server ----------------------------------------------------------------------------

class Recorder:
    """Watch events of one session: raw events as the server sent them (recorded in kazoo's
    reader thread, before kazoo dispatches them), the callbacks kazoo ran, and state changes."""

    def __init__(self):
        self._lock = threading.Lock()
        self.items: list = []
        self.closing_zxid = 0  # last_zxid when the session ended (kazoo zeroes it right after)

    def add(self, item):
        with self._lock:
            self.items.append(item)

    def take(self):
        with self._lock:
            items, self.items = self.items, []
        return items


class Side:
    """One server: its base path, `slots` mirrored sessions and a super-user admin session."""

    def __init__(self, name: str, hosts: str, slots: int):
        self.name = name
        self.hosts = hosts
        self.slots = slots
        self.clients: list[Optional[KazooClient]] = [None] * slots
        self.recorders: list[Recorder] = [Recorder() for _ in range(slots)]
        self.generation = [0] * slots
        self.owner_tokens: dict[int, str] = {}
        self.zxid_steps: dict[int, str] = {}
        self.max_zxid = 0
        self.step = "start"
        self.base = ""
        self.admin: Optional[KazooClient] = None

    # sessions -------------------------------------------------------------------------------
    def _client(self, auth_data, recorder=None) -> KazooClient:
        client = KazooClient(hosts=self.hosts, timeout=10.0, connection_retry=dict(FAST_RETRY),
                             auth_data=list(auth_data))
        if recorder is not None:
            # Record every watch event the server sends, before kazoo filters it through its
            # client-side watcher table (kazoo only calls a watcher it registered itself, so a
            # stray or duplicate event would be invisible in callbacks alone).
            conn = client._connection
            original = conn._read_watch_event

            def read_watch_event(buffer, offset, _original=original, _rec=recorder):
                watch, _ = Watch.deserialize(buffer, offset)
                _rec.add(("event", watch.type, watch.state, self.rel(watch.path)))
                return _original(buffer, offset)

            conn._read_watch_event = read_watch_event

            def listener(state, _rec=recorder, _client=client):
                # Runs in kazoo's connection thread; on LOST (our close) it runs after the
                # close reply was read and before kazoo resets last_zxid.
                _rec.closing_zxid = _client.last_zxid
                _rec.add(("state", str(state)))

            client.add_listener(listener)
        client.start(timeout=15)
        return client

    def open_slot(self, slot: int):
        self.generation[slot] += 1
        client = self._client(slot_auth(slot), self.recorders[slot])
        self.see_zxid(client.last_zxid)
        self.owner_tokens[client.client_id[0]] = f"s{slot}.{self.generation[slot]}"
        self.clients[slot] = client

    def close_slot(self, slot: int):
        client = self.clients[slot]
        self.clients[slot] = None
        if client is None:
            return None
        try:
            client.stop()
            client.close()
        except Exception as exc:  # noqa: BLE001 - reported as the outcome
            return ("error", type(exc).__name__)
        return self.recorders[slot].closing_zxid

    def final_close(self, slot: int, step: str):
        self.step = step
        zxid = self.close_slot(slot)
        if isinstance(zxid, int):
            self.see_zxid(zxid)

    def start(self, base: str):
        self.base = base
        self.admin = self._client([SUPER_AUTH])
        self.owner_tokens[self.admin.client_id[0]] = "admin"
        self.admin.ensure_path(base.rsplit("/", 1)[0])
        self.admin.create(base)
        for slot in range(self.slots):
            self.open_slot(slot)

    def stop(self):
        for slot in range(self.slots):
            try:
                self.close_slot(slot)
            except Exception:  # noqa: BLE001
                pass
        if self.admin is not None:
            try:
                self.admin.delete(self.base, recursive=True)
            except Exception:  # noqa: BLE001
                pass
            try:
                self.admin.stop()
                self.admin.close()
            except Exception:  # noqa: BLE001
                pass
            self.admin = None

    # paths and normalization ------------------------------------------------------------------
    def abs(self, rel: str) -> str:
        if rel.startswith("!"):
            return rel[1:]
        return self.base + rel

    def rel(self, path: str):
        if isinstance(path, str):
            if path == self.base or path.startswith(self.base + "/"):
                return path[len(self.base):]
            return "!" + path
        return path

    def see_zxid(self, zxid: int):
        """Ops run one at a time, so a zxid above every zxid seen so far was made by the current
        step (a write, a failed write: Apache gives those a zxid too, a session start or close)."""
        if zxid and zxid > self.max_zxid:
            self.zxid_steps[zxid] = self.step
            self.max_zxid = zxid

    def _zxid(self, zxid: int) -> str:
        self.see_zxid(zxid)
        return self.zxid_steps.get(zxid, "?")

    def stat(self, stat: ZnodeStat) -> dict:
        owner = stat.ephemeralOwner
        return {
            "czxid": self._zxid(stat.czxid),
            "mzxid": self._zxid(stat.mzxid),
            "pzxid": self._zxid(stat.pzxid),
            "version": stat.version,
            "cversion": stat.cversion,
            "aversion": stat.aversion,
            "ephemeralOwner": self.owner_tokens.get(owner, f"unknown-session:{owner:#x}") if owner else 0,
            "dataLength": stat.dataLength,
            "numChildren": stat.numChildren,
        }

    def acls(self, acls) -> list:
        out = [[a.perms, a.id.scheme, a.id.id] for a in acls]
        # An `auth` ACL entry expands to every identity of the session, in the iteration order
        # of Apache's per-connection identity set (a Java hash set, so in hash order, not in
        # the order add_auth added them). Those entries are consecutive digest entries (the
        # ACL shapes used here never put an explicit digest entry next to another one or next
        # to an `auth` entry), so each run of consecutive digest entries is sorted.
        i = 0
        while i < len(out):
            j = i
            while j < len(out) and out[j][1] == "digest":
                j += 1
            if j > i + 1:
                out[i:j] = sorted(out[i:j])
            i = max(j, i + 1)
        return out

    # executing ops ------------------------------------------------------------------------------
    def execute(self, op: Op, step: str):
        """Runs op, returns (status, normalized value, zxid of the reply header as a step)."""
        self.step = step
        if op.kind == "close":
            zxid = self.close_slot(op.slot)
            if isinstance(zxid, tuple):
                return zxid + (None,)
            self.see_zxid(zxid)
            self.open_slot(op.slot)
            return ("ok", "closed", self._zxid(zxid))
        client = self.clients[op.slot]
        try:
            value = self._run(client, op)
            outcome = ("ok", value)
        except KazooException as exc:
            outcome = ("error", type(exc).__name__)
        except concurrent.futures.TimeoutError:
            outcome = ("error", "Timeout")
        except Exception as exc:  # noqa: BLE001 - anything else is an outcome to compare too
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        # kazoo keeps the zxid of the latest reply header (reads carry the server's last zxid)
        return outcome + (self._zxid(client.last_zxid),)

    def _run(self, client: KazooClient, op: Op):
        a = op.args
        kind = op.kind
        recorder = self.recorders[op.slot]

        def watcher(label):
            if not a.get("watch"):
                return None
            return lambda ev: recorder.add(("callback", label, ev.type, self.rel(ev.path)))

        if kind in ("create", "create2"):
            mode = a["mode"]
            result = client.create_async(
                self.abs(a["path"]), _bytes(a["data"]), acl=ACL_SHAPES[a["acl"]],
                ephemeral="ephemeral" in mode, sequence="sequential" in mode,
                include_data=kind == "create2",
            ).get(timeout=OP_TIMEOUT)
            if kind == "create2":
                return [self.rel(result[0]), self.stat(result[1])]
            return self.rel(result)
        if kind == "container":
            path, stat = create_container(client, self.abs(a["path"]), a["data"].encode(),
                                          acl=ACL_SHAPES[a["acl"]], timeout=OP_TIMEOUT)
            return [self.rel(path), self.stat(stat)]
        if kind == "ttl":
            path, stat = create_ttl(client, self.abs(a["path"]), a["ttl"], a["data"].encode(),
                                    acl=ACL_SHAPES[a["acl"]], sequence=a["sequential"],
                                    timeout=OP_TIMEOUT)
            return [self.rel(path), self.stat(stat)]
        if kind == "delete":
            return client.delete_async(self.abs(a["path"]), a["version"]).get(timeout=OP_TIMEOUT)
        if kind == "set":
            stat = client.set_async(self.abs(a["path"]), _bytes(a["data"]), a["version"]).get(
                timeout=OP_TIMEOUT)
            return self.stat(stat)
        if kind == "get":
            data, stat = client.get_async(self.abs(a["path"]), watcher("data")).get(timeout=OP_TIMEOUT)
            return [data.decode("utf-8", "replace") if data is not None else None, self.stat(stat)]
        if kind == "exists":
            stat = client.exists_async(self.abs(a["path"]), watcher("exists")).get(timeout=OP_TIMEOUT)
            return self.stat(stat) if stat is not None else None
        if kind == "children":
            result = client.get_children_async(self.abs(a["path"]), watcher("child"),
                                               include_data=a["stat"]).get(timeout=OP_TIMEOUT)
            if a["stat"]:
                return [sorted(result[0]), self.stat(result[1])]
            return sorted(result)
        if kind == "get_acls":
            acls, stat = client.get_acls_async(self.abs(a["path"])).get(timeout=OP_TIMEOUT)
            return [self.acls(acls), self.stat(stat)]
        if kind == "set_acls":
            stat = client.set_acls_async(self.abs(a["path"]), ACL_SHAPES[a["acl"]],
                                         a["version"]).get(timeout=OP_TIMEOUT)
            return self.stat(stat)
        if kind == "multi":
            tx = client.transaction()
            for sub in a["ops"]:
                if sub[0] == "check":
                    tx.check(self.abs(sub[1]), sub[2])
                elif sub[0] == "create":
                    tx.create(self.abs(sub[1]), sub[2].encode(), acl=ACL_SHAPES[sub[3]],
                              ephemeral="ephemeral" in sub[4], sequence="sequential" in sub[4])
                elif sub[0] == "set":
                    tx.set_data(self.abs(sub[1]), sub[2].encode(), sub[3])
                elif sub[0] == "delete":
                    tx.delete(self.abs(sub[1]), sub[2])
            results = tx.commit_async().get(timeout=OP_TIMEOUT)
            out = []
            for r in results:
                if isinstance(r, Exception):
                    out.append(type(r).__name__)
                elif isinstance(r, ZnodeStat):
                    out.append(self.stat(r))
                elif isinstance(r, str):
                    out.append(self.rel(r))
                else:
                    out.append(r)
            return out
        if kind in ("multi_raw", "multi_read"):
            return self._multi(client, kind, a["ops"])
        if kind == "create_raw":
            body = _create_body(self.abs(a["path"]), _bytes(a["data"]), ACL_SHAPES[a["acl"]],
                                a["flags"])
            if a["opcode"] == 21:
                body += long_struct.pack(a["ttl"])
            result = send(client, _RawCreate(a["opcode"], body), OP_TIMEOUT)
            if a["opcode"] == 1:
                return self.rel(result)
            return [self.rel(result[0]), self.stat(result[1])]
        if kind == "add_auth":
            client.add_auth_async(a.get("scheme", "digest"), a["credential"]).get(timeout=OP_TIMEOUT)
            return None
        if kind == "sync":
            return self.rel(client.sync_async(self.abs(a["path"])).get(timeout=OP_TIMEOUT))
        if kind == "add_watch":
            return send(client, _PathInt(OP_ADD_WATCH, self.abs(a["path"]), a["mode"]), OP_TIMEOUT)
        if kind == "remove_watches":
            return send(client, _PathInt(OP_REMOVE_WATCHES, self.abs(a["path"]), a["type"]),
                        OP_TIMEOUT)
        if kind == "check_watches":
            return send(client, _PathInt(OP_CHECK_WATCHES, self.abs(a["path"]), a["type"]),
                        OP_TIMEOUT)
        if kind == "ephemerals":
            # the server's order is its hash-set order: compare sorted
            paths = send(client, _PathOnly(OP_GET_EPHEMERALS, self.abs(a["path"])), OP_TIMEOUT)
            return sorted(self.rel(p) for p in paths)
        if kind == "count":
            return send(client, _PathOnly(OP_GET_ALL_CHILDREN_NUMBER, self.abs(a["path"])),
                        OP_TIMEOUT)
        if kind == "whoami":
            # Apache lists a session's identities in hash-set order: compare sorted
            return sorted(send(client, _WhoAmI(), OP_TIMEOUT))
        raise AssertionError(kind)

    def _multi(self, client, kind, ops):
        bodies = []
        for sub in ops:
            name, path = sub[0], self.abs(sub[1])
            if name in ("create", "create2"):
                body = _create_body(path, _bytes(sub[2]), ACL_SHAPES[sub[3]], MODE_FLAGS[sub[4]])
                bodies.append((1 if name == "create" else 15, body))
            elif name == "container":
                bodies.append((19, _create_body(path, _bytes(sub[2]), ACL_SHAPES[sub[3]], 4)))
            elif name == "ttl":
                body = _create_body(path, _bytes(sub[2]), ACL_SHAPES[sub[3]], 6 if sub[4] else 5)
                bodies.append((21, body + long_struct.pack(sub[5])))
            elif name == "delete":
                bodies.append((2, write_string(path) + int_struct.pack(sub[2])))
            elif name == "check":
                bodies.append((13, write_string(path) + int_struct.pack(sub[2])))
            elif name == "set":
                bodies.append((5, write_string(path) + write_buffer(_bytes(sub[2]))
                               + int_struct.pack(sub[3])))
            elif name == "get":
                bodies.append((4, write_string(path) + b"\x00"))
            elif name == "children":
                bodies.append((8, write_string(path) + b"\x00"))
        results = send(client, _Multi(14 if kind == "multi_raw" else 22, bodies), OP_TIMEOUT)
        out = []
        for t, err, value in results:
            if t in (1,):
                value = self.rel(value)
            elif t == 15:
                value = [self.rel(value[0]), self.stat(value[1])]
            elif t == 5:
                value = self.stat(value)
            elif t == 4:
                value = [value[0].decode("utf-8", "replace") if value[0] is not None else None,
                         self.stat(value[1])]
            elif t == 8:
                value = sorted(value)  # the server's order is its hash-set order
            out.append([t, err, value])
        return out

    # settling and events --------------------------------------------------------------------
    def settle(self):
        """Waits until every watch event caused by earlier steps has reached its session and
        kazoo has run its callbacks."""
        pending = []
        for slot, client in enumerate(self.clients):
            if client is not None:
                pending.append((slot, client.sync_async("/")))
        for slot, result in pending:
            try:
                result.get(timeout=OP_TIMEOUT)
            except Exception as exc:  # noqa: BLE001
                self.recorders[slot].add(("settle-sync-failed", type(exc).__name__))
        markers = []
        for client in self.clients:
            if client is not None:
                done = threading.Event()
                client.handler.callback_queue.put(done.set)
                markers.append(done)
        for done in markers:
            done.wait(OP_TIMEOUT)

    def take_events(self, ordered=False) -> list:
        """Per slot: the watch events the server sent (in arrival order when ordered, else
        sorted), the watch callbacks kazoo ran (for server events) and the session state
        changes. Callbacks are
        always sorted: kazoo keeps the watchers of a path in a Python set of functions, so
        several callbacks for one event run in an arbitrary order."""
        out = []
        for rec in self.recorders:
            items = rec.take()
            events = [str(i[1:]) for i in items if i[0] == "event"]
            # kazoo itself calls every registered watcher with a NONE event when a session
            # ends; whether those calls still run when we close the session is a race inside
            # kazoo (its callback thread is stopped concurrently), so they are left out.
            callbacks = sorted(str(i[1:]) for i in items if i[0] == "callback" and i[2] != "NONE")
            other = [str(i) for i in items if i[0] not in ("event", "callback")]
            out.append({"events": events if ordered else sorted(events),
                        "callbacks": callbacks, "other": other})
        return out

    # tree dump ------------------------------------------------------------------------------
    def dump(self) -> dict:
        """The whole subtree under the base, read as the super user."""
        out: dict = {}
        admin = self.admin

        def walk(path):
            try:
                data, stat = admin.get(path)
                acls, _ = admin.get_acls(path)
                children = sorted(admin.get_children(path))
            except NoNodeError:
                return
            except KazooException as exc:  # the admin is the super user: should not happen
                out[self.rel(path) or "(base)"] = {"error": type(exc).__name__}
                return
            out[self.rel(path) or "(base)"] = {
                "data": data.decode("utf-8", "replace") if data is not None else None,
                "stat": self.stat(stat),
                "acl": self.acls(acls),
                "children": children,
            }
            for child in children:
                walk(f"{path}/{child}")

        walk(self.base)
        return out


def _bytes(data: Optional[str]) -> Optional[bytes]:
    return None if data is None else data.encode()


def _multi_failed(results) -> bool:
    return any(isinstance(r, str) and r.endswith(("Error", "Inconsistency")) for r in results)


# --- running a sequence on both servers ----------------------------------------------------

@dataclasses.dataclass
class Divergence:
    step: int
    op: Optional[Op]
    what: str  # "result", "events", "tree"
    apache: Any
    zk: Any
    history: list

    def describe(self, seed=None) -> str:
        lines = []
        if seed is not None:
            lines.append(f"seed {seed}: ")
        lines.append(f"divergence in {self.what} at step {self.step}")
        if self.op is not None:
            lines.append(f", op {self.op}")
        lines.append(f"\n  apache: {_show(self.apache)}\n  zk:     {_show(self.zk)}")
        if self.history:
            lines.append(f"\n  the {len(self.history)} ops up to it:")
            for i, op in self.history:
                lines.append(f"\n    {i:4d} {op}")
        return "".join(lines)


def _show(value):
    return json.dumps(value, default=str, ensure_ascii=False)


def _diff_dicts(a: dict, b: dict):
    """Only the entries that differ, for a readable report."""
    keys = sorted(set(a) | set(b))
    return ({k: a.get(k, "<missing>") for k in keys if a.get(k) != b.get(k)},
            {k: b.get(k, "<missing>") for k in keys if a.get(k) != b.get(k)})


class Runner:
    """Runs op sequences on both servers (apache is the oracle)."""

    def __init__(self, apache_hosts: str, zk_hosts: str, slots: int = 3, history: int = 40,
                 ordered_events: bool = False):
        self.ordered_events = ordered_events
        self.apache_hosts = apache_hosts
        self.zk_hosts = zk_hosts
        self.slots = slots
        self.history_len = history
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="diff")

    def close(self):
        self.pool.shutdown(wait=False)

    def _both(self, fn: Callable[[Side], Any], sides):
        futures = [self.pool.submit(fn, side) for side in sides]
        return [f.result() for f in futures]

    def run(self, base: str, next_op: Callable[[], Optional[Op]],
            observe: Callable[[Op, Any], None] = lambda op, outcome: None,
            ops_log: Optional[list] = None) -> Optional[Divergence]:
        """Runs ops from next_op() (None ends the sequence) with every side under its own copy of
        base; returns the first divergence or None. ops_log receives every op run."""
        apache = Side("apache", self.apache_hosts, self.slots)
        zk = Side("zk", self.zk_hosts, self.slots)
        sides = (apache, zk)
        history: collections.deque = collections.deque(maxlen=self.history_len)
        try:
            self._both(lambda s: s.start(base), sides)
            step = 0
            while True:
                op = next_op()
                if op is None:
                    break
                step += 1
                history.append((step, op))
                if ops_log is not None:
                    ops_log.append(op)
                label = f"z@{step}"
                out_a, out_z = self._both(lambda s: s.execute(op, label), sides)
                if out_a != out_z:
                    return Divergence(step, op, "result", out_a, out_z, list(history))
                observe(op, out_a)
                if op.kind in WRITES or op.kind == "add_auth":
                    self._both(Side.settle, sides)
                    ev_a, ev_z = (s.take_events(self.ordered_events) for s in sides)
                    if ev_a != ev_z:
                        per_slot = [(i, x, y) for i, (x, y) in enumerate(zip(ev_a, ev_z)) if x != y]
                        return Divergence(
                            step, op, "events",
                            {f"s{i}": x for i, x, _ in per_slot},
                            {f"s{i}": y for i, _, y in per_slot},
                            list(history),
                        )
            # The whole tree, then again after every session closed (ephemerals gone).
            for phase in ("end", "after closing every session"):
                if phase != "end":
                    for slot in range(self.slots):
                        step += 1
                        op = Op("close", slot, {"final": True})
                        history.append((step, op))
                        self._both(lambda s: s.final_close(slot, f"z@{step}"), sides)
                        self._both(Side.settle, sides)
                        ev_a, ev_z = (s.take_events(self.ordered_events) for s in sides)
                        if ev_a != ev_z:
                            return Divergence(step, op, "events", ev_a, ev_z, list(history))
                dump_a, dump_z = self._both(Side.dump, sides)
                if dump_a != dump_z:
                    only_a, only_z = _diff_dicts(dump_a, dump_z)
                    return Divergence(step, None, f"tree ({phase})", only_a, only_z, list(history))
            return None
        finally:
            for side in sides:
                side.stop()


def shrink(runner: Runner, ops: list, divergence: Divergence, new_base: Callable[[], str],
           budget: int = 400) -> tuple[list, Divergence]:
    """Delta-debugging: the shortest sublist of ops (found greedily) that still ends in a
    divergence of the same kind on the same kind of op. Each try runs a fresh pair of sequences."""

    def same(d: Optional[Divergence]) -> bool:
        return (d is not None and d.what.split(" ")[0] == divergence.what.split(" ")[0]
                and (d.op.kind if d.op else None) == (divergence.op.kind if divergence.op else None))

    def attempt(candidate):
        it = iter(candidate)
        return runner.run(new_base(), lambda: next(it, None))

    best, best_div = list(ops[: divergence.step]) if divergence.op else list(ops), divergence
    tries = 0
    chunk = max(1, len(best) // 2)
    while chunk >= 1 and tries < budget:
        i = 0
        changed = False
        while i < len(best) and tries < budget:
            candidate = best[:i] + best[i + chunk:]
            if not candidate:
                i += chunk
                continue
            tries += 1
            d = attempt(candidate)
            if same(d):
                best, best_div = candidate[: d.step] if d.op else candidate, d
                changed = True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return best, best_div
