#!/usr/bin/env python3
"""The logical contents of a running Redis with modules, read with the
modules' own commands: one JSON document on stdout.

    scripts/module_views.py PORT          # every key of every database, and the search indexes

This is the one reader of module views: `gen-module-fixtures.py` records a
fixture's `modules.json` with it, and the tests run it against a server that
loaded a rewritten file and compare the two documents.

Document:

    {"dbs": {"0": {"<key>": {"type": TYPE, "pexpiretime": ms | -1, "view": VIEW}}},
     "indexes": {"<name>": {"on": "HASH" | "JSON", "prefixes": [...],
                            "attributes": [[identifier, name, type], ...], "num_docs": n}}}

VIEW by TYPE (the name TYPE returns):

    string      the value (latin-1 text of its bytes)
    hash        {field: value}
    list        [items]
    set         [members, sorted]
    zset        [[member, score text], ...] (ZRANGE WITHSCORES order)
    ReJSON-RL   {"json": JSON.GET key $ parsed (the array of the root),
                 "text": JSON.GET key, the module's own text (it tells -0.0 from 0
                 and 3.0 from 3, which parsed numbers may not)}
    MBbloom--   {"info": BF.INFO, "exists": {member: 0|1}} for the members in the key's name list (below)
    MBbloomCF   {"info": CF.INFO, "exists": {member: 0|1}}
    CMSk-TYPE   {"info": CMS.INFO, "query": {member: count}}
    TopK-TYPE   {"list": TOPK.LIST WITHCOUNT}
    TDIS-TYPE   {"min", "max", "quantiles": [q0.1, q0.5, q0.9]}
    TSDB-TYPE   {"range": TS.RANGE - +, "labels": {..}, "rules": [..], "source": key | null,
                 "retention": ms, "chunk_count": n, "total_samples": n}

Members probed in Bloom/Cuckoo/CMS keys: PROBES below (what the generator
adds, and some it does not, so that a view can tell a filter that forgot).
"""

import json
import socket
import sys

# Members the generator adds to every probabilistic key, and ones it never adds.
ADDED = [f"member:{i}" for i in range(40)]
NEVER = [f"absent:{i}" for i in range(10)]
PROBES = ADDED + NEVER


class Conn:
    """A minimal RESP2 client."""

    def __init__(self, port, host="127.0.0.1"):
        self.s = socket.create_connection((host, port), timeout=60)
        self.f = self.s.makefile("rb")

    def cmd(self, *args):
        out = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(f"${len(b)}\r\n".encode() + b + b"\r\n")
        self.s.sendall(b"".join(out))
        return self.reply()

    def reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode("latin-1")
        if t == b"-":
            raise RuntimeError(rest.decode("latin-1"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data.decode("latin-1")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")


def pairs(flat):
    """[k, v, k, v] -> {k: v}."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def view(c, key, ty):
    if ty == "string":
        return c.cmd("GET", key)
    if ty == "hash":
        return pairs(c.cmd("HGETALL", key))
    if ty == "list":
        return c.cmd("LRANGE", key, 0, -1)
    if ty == "set":
        return sorted(c.cmd("SMEMBERS", key))
    if ty == "zset":
        flat = c.cmd("ZRANGE", key, 0, -1, "WITHSCORES")
        return [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]
    if ty == "ReJSON-RL":
        # The reply is UTF-8 JSON text (bulk strings are read as latin-1).
        utf8 = lambda reply: reply.encode("latin-1").decode("utf-8")
        return {"json": json.loads(utf8(c.cmd("JSON.GET", key, "$"))), "text": utf8(c.cmd("JSON.GET", key))}
    if ty == "MBbloom--":
        return {"info": pairs(c.cmd("BF.INFO", key)), "exists": dict(zip(PROBES, c.cmd("BF.MEXISTS", key, *PROBES)))}
    if ty == "MBbloomCF":
        info = pairs(c.cmd("CF.INFO", key))
        return {"info": info, "exists": {m: c.cmd("CF.EXISTS", key, m) for m in PROBES}}
    if ty == "CMSk-TYPE":
        return {"info": pairs(c.cmd("CMS.INFO", key)), "query": dict(zip(PROBES, c.cmd("CMS.QUERY", key, *PROBES)))}
    if ty == "TopK-TYPE":
        flat = c.cmd("TOPK.LIST", key, "WITHCOUNT")
        return {"list": [[flat[i], flat[i + 1]] for i in range(0, len(flat), 2)]}
    if ty == "TDIS-TYPE":
        return {"min": c.cmd("TDIGEST.MIN", key), "max": c.cmd("TDIGEST.MAX", key),
                "quantiles": c.cmd("TDIGEST.QUANTILE", key, 0.1, 0.5, 0.9)}
    if ty == "TSDB-TYPE":
        info = pairs(c.cmd("TS.INFO", key))
        return {
            "range": c.cmd("TS.RANGE", key, "-", "+"),
            "labels": {l[0]: l[1] for l in info.get("labels") or []},
            "rules": info.get("rules") or [],
            "source": info.get("sourceKey"),
            "retention": info.get("retentionTime"),
            "chunk_count": info.get("chunkCount"),
            "total_samples": info.get("totalSamples"),
        }
    return {"unknown_type": ty}


def indexes(c):
    out = {}
    try:
        names = c.cmd("FT._LIST")
    except RuntimeError:
        return out
    for name in sorted(names):
        info = pairs(c.cmd("FT.INFO", name))
        definition = pairs(info["index_definition"])
        attrs = []
        for a in info["attributes"]:
            d = pairs(a[:6])
            attrs.append([d["identifier"], d["attribute"], d["type"]])
        # Indexing runs in the background after a load: wait for it.
        for _ in range(600):
            if str(info.get("indexing")) in ("0", "None"):
                break
            import time
            time.sleep(0.05)
            info = pairs(c.cmd("FT.INFO", name))
        out[name] = {"on": definition["key_type"], "prefixes": definition["prefixes"],
                     "attributes": attrs, "num_docs": int(info["num_docs"])}
    return out


def dump(port):
    c = Conn(port)
    dbs = {}
    keyspace = c.cmd("INFO", "keyspace")
    for line in keyspace.splitlines():
        if not line.startswith("db"):
            continue
        db = int(line.split(":")[0][2:])
        c.cmd("SELECT", db)
        keys = {}
        cursor = "0"
        while True:
            cursor, batch = c.cmd("SCAN", cursor, "COUNT", 1000)
            for k in batch:
                ty = c.cmd("TYPE", k)
                keys[k] = {"type": ty, "pexpiretime": c.cmd("PEXPIRETIME", k), "view": view(c, k, ty)}
            if cursor == "0":
                break
        dbs[str(db)] = dict(sorted(keys.items()))
    c.cmd("SELECT", 0)
    return {"dbs": dbs, "indexes": indexes(c)}


if __name__ == "__main__":
    json.dump(dump(int(sys.argv[1])), sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")
