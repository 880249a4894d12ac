#!/usr/bin/env python3
"""Write the module fixture with a real Redis Stack 7.4.1 (its RedisJSON,
RediSearch, RedisBloom and RedisTimeSeries), through ordinary commands:

    scripts/install-servers.sh && scripts/gen-module-fixtures.py
    scripts/gen-module-fixtures.py --views-only

The first form writes a new snapshot; --views-only keeps the committed
modules.rdb (its bytes are what the tests hold on to) and only records its
views again, for when scripts/module_views.py learns to read more.

writes fixtures/modules/redis-stack-7.4.1/modules.rdb (the server's SAVE)
and modules.json (its logical contents as scripts/module_views.py reads
them with the modules' own commands, read again from a second server that
loaded the saved file: the file holds what the JSON says). What each key is
for: fixtures/modules/README.md.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import module_views  # noqa: E402

SERVERS = os.environ.get("RDBKIT_SERVERS_DIR") or os.path.join(ROOT, "target", "servers")
STACK = os.path.join(SERVERS, "redis-stack-7.4")
LIB = os.path.join(STACK, "lib")
OUT = os.path.join(ROOT, "fixtures", "modules", "redis-stack-7.4.1")
MODULES = ["rejson.so", "redisearch.so", "redisbloom.so", "redistimeseries.so"]
# 2100-01-01: far enough that no test run sees these keys expire.
FAR = 4102444800000


def start(d, port, rdb=None):
    if rdb:
        shutil.copy(rdb, os.path.join(d, "dump.rdb"))
    args = [os.path.join(STACK, "redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
            "--save", "", "--appendonly", "no", "--logfile", os.path.join(d, "log")]
    for m in MODULES:
        args += ["--loadmodule", os.path.join(LIB, m)]
    p = subprocess.Popen(args, env={**os.environ, "LD_LIBRARY_PATH": LIB})
    for _ in range(300):
        try:
            c = module_views.Conn(port)
            if c.cmd("PING") == "PONG":
                return p, c
        except (OSError, RuntimeError):
            time.sleep(0.1)
    sys.exit(f"Redis Stack did not start: {open(os.path.join(d, 'log')).read()[-2000:]}")


def write_data(c):
    j = lambda key, doc: c.cmd("JSON.SET", key, "$", json.dumps(doc, ensure_ascii=False))
    # JSON documents: shapes, text, numbers at the edges, root scalars.
    j("json:nested", {"a": {"b": {"c": [1, [2, [3, {"d": None}]]]}}, "list": [{"x": 1}, {"y": [True, False]}]})
    j("json:unicode", {"fr": "caf\u00e9", "ja": "\u65e5\u672c\u8a9e", "emoji": "\U0001F600 \U0001F680",
                       "escapes": "quote \" backslash \\ newline \n tab \t ctrl \u0001 slash /",
                       "k\u00e9y \"quoted\"": "value"})
    c.cmd("JSON.SET", "json:numbers", "$",
          '{"big":9007199254740993,"min_i64":-9223372036854775808,"max_i64":9223372036854775807,'
          '"neg_zero":-0.0,"huge":1e308,"tiny":5e-324,"tenth":0.1,"exp":1.5e-10,"zero":0,"neg":-42,'
          '"float_int":3.0}')
    j("json:literals", [True, False, None, "", 0])
    j("json:empty_object", {})
    j("json:empty_array", [])
    j("json:root_string", "just a string")
    j("json:root_number", 42.5)
    j("json:root_null", None)
    j("json:root_true", True)
    j("json:big", [{"id": i, "name": f"item {i}", "tags": ["t%d" % (i % 7), "u%d" % (i % 11)],
                     "price": round(i * 1.25, 2), "nested": {"level": i % 5, "ok": i % 2 == 0}}
                    for i in range(2500)])
    for i in range(3):
        j(f"json:ttl:{i}", {"expires": True, "i": i})
        c.cmd("PEXPIREAT", f"json:ttl:{i}", FAR + i)
    # Documents for the search index over JSON.
    for i in range(25):
        j(f"user:{i}", {"name": f"user number {i}", "age": 20 + i, "city": ["paris", "tokyo", "lima"][i % 3]})
    c.cmd("FT.CREATE", "idx:users", "ON", "JSON", "PREFIX", 1, "user:", "SCHEMA",
          "$.name", "AS", "name", "TEXT", "$.age", "AS", "age", "NUMERIC", "$.city", "AS", "city", "TAG")
    # Hashes and their index.
    for i in range(30):
        c.cmd("HSET", f"doc:{i}", "title", f"title {i}", "body", f"the body of document {i}", "year", 1990 + i,
              "tags", "a,b" if i % 2 else "c")
    c.cmd("FT.CREATE", "idx:docs", "ON", "HASH", "PREFIX", 1, "doc:", "SCHEMA",
          "title", "TEXT", "body", "TEXT", "year", "NUMERIC", "SORTABLE", "tags", "TAG")
    # Probabilistic types (RedisBloom), each with module_views.ADDED.
    added = module_views.ADDED
    c.cmd("BF.RESERVE", "bf:reserved", 0.001, 1000)
    c.cmd("BF.MADD", "bf:reserved", *added)
    c.cmd("BF.MADD", "bf:auto", *added)
    # A scaling filter that grew past its first layer.
    c.cmd("BF.RESERVE", "bf:scaled", 0.01, 10, "EXPANSION", 2)
    c.cmd("BF.MADD", "bf:scaled", *added)
    c.cmd("CF.RESERVE", "cf:1", 1000)
    for m in added:
        c.cmd("CF.ADD", "cf:1", m)
    c.cmd("CMS.INITBYDIM", "cms:1", 2000, 5)
    c.cmd("CMS.INCRBY", "cms:1", *sum(([m, i + 1] for i, m in enumerate(added)), []))
    c.cmd("TOPK.RESERVE", "topk:1", 5)
    for i, m in enumerate(added[:10]):
        c.cmd("TOPK.INCRBY", "topk:1", m, (i + 1) * 3)
    c.cmd("TDIGEST.CREATE", "td:1")
    c.cmd("TDIGEST.ADD", "td:1", *[i * 0.5 for i in range(1, 500)])
    # Time series: labels, a compaction rule, small chunks (many of them).
    c.cmd("TS.CREATE", "ts:temp", "RETENTION", 0, "CHUNK_SIZE", 128, "LABELS", "sensor", "temp", "room", "kitchen")
    c.cmd("TS.CREATE", "ts:temp:avg", "LABELS", "sensor", "temp", "agg", "avg")
    c.cmd("TS.CREATERULE", "ts:temp", "ts:temp:avg", "AGGREGATION", "avg", 60000)
    base = 1700000000000
    for i in range(3000):
        c.cmd("TS.ADD", "ts:temp", base + i * 1000, 20 + (i % 50) * 0.25)
    c.cmd("TS.CREATE", "ts:ttl", "LABELS", "kind", "expiring")
    c.cmd("TS.ADD", "ts:ttl", base, 1)
    c.cmd("PEXPIREAT", "ts:ttl", FAR)
    # Plain keys, an expiry, another database.
    c.cmd("SET", "plain:string", "hello")
    c.cmd("SET", "plain:ttl", "soon")
    c.cmd("PEXPIREAT", "plain:ttl", FAR)
    c.cmd("RPUSH", "plain:list", "a", "b", "c")
    c.cmd("SADD", "plain:set", "x", "y", "z")
    c.cmd("ZADD", "plain:zset", 1.5, "one", 2.5, "two")
    c.cmd("HSET", "plain:hash", "f1", "v1", "f2", "v2")
    c.cmd("SELECT", 1)
    c.cmd("JSON.SET", "db1:json", "$", '{"db":1}')
    c.cmd("SET", "db1:string", "in db 1")
    c.cmd("SELECT", 0)


def write_views(views):
    with open(os.path.join(OUT, "modules.json"), "w") as f:
        json.dump(views, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")


def views_only():
    d = tempfile.mkdtemp()
    try:
        p, _ = start(d, 7803, os.path.join(OUT, "modules.rdb"))
        views = module_views.dump(7803)
        p.terminate()
        p.wait()
        write_views(views)
        print(f"wrote {OUT}/modules.json (views of the committed modules.rdb)")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    if not os.path.exists(os.path.join(STACK, "redis-server")):
        sys.exit(f"no Redis Stack in {STACK}: run scripts/install-servers.sh")
    if sys.argv[1:] == ["--views-only"]:
        return views_only()
    if sys.argv[1:]:
        sys.exit(__doc__)
    os.makedirs(OUT, exist_ok=True)
    d1, d2 = tempfile.mkdtemp(), tempfile.mkdtemp()
    try:
        p, c = start(d1, 7801)
        write_data(c)
        first = module_views.dump(7801)
        c.cmd("SAVE")
        p.terminate()
        p.wait()
        rdb = os.path.join(d1, "dump.rdb")
        p2, _ = start(d2, 7802, rdb)
        again = module_views.dump(7802)
        p2.terminate()
        p2.wait()
        if again != first:
            sys.exit("the saved file, loaded again, does not hold what was written")
        shutil.copy(rdb, os.path.join(OUT, "modules.rdb"))
        write_views(again)
        print(f"wrote {OUT}/modules.rdb ({os.path.getsize(os.path.join(OUT, 'modules.rdb'))} bytes) and modules.json")
    finally:
        shutil.rmtree(d1, ignore_errors=True)
        shutil.rmtree(d2, ignore_errors=True)


if __name__ == "__main__":
    main()
