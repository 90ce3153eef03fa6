#!/usr/bin/env python3
"""accuracy.py SERVER-BINARY: MEMORY USAGE against what keys really cost in kevy.

For each load: a fresh server with one shard, N keys of one type and size created,
then (growth of INFO used_memory) / N and (growth of RSS) / N beside the average
MEMORY USAGE ... SAMPLES 0 over the keys. Prints a markdown table."""
import socket, subprocess, sys, tempfile, time
import redis

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024

def used(r):
    return int(r.info("memory")["used_memory"])

def members(n, prefix="m"):
    return [f"{prefix}{j:07d}" for j in range(n)]

# name: (keys, fill(pipeline, key index))
LOADS = {
    "string 10 B": (200_000, lambda p, i: p.set(f"k:{i}", "v" * 10)),
    "string 100 B": (100_000, lambda p, i: p.set(f"k:{i}", "v" * 100)),
    "string 1000 B": (20_000, lambda p, i: p.set(f"k:{i}", "v" * 1000)),
    "string 10 B + TTL": (100_000, lambda p, i: p.set(f"k:{i}", "v" * 10, ex=10_000)),
    "list of 10": (50_000, lambda p, i: p.rpush(f"l:{i}", *members(10))),
    "list of 1000": (500, lambda p, i: p.rpush(f"l:{i}", *members(1000))),
    "hash of 10 (listpack)": (50_000, lambda p, i: p.hset(f"h:{i}", mapping={f: "value" for f in members(10)})),
    "hash of 1000 (hashtable)": (500, lambda p, i: p.hset(f"h:{i}", mapping={f: "value" for f in members(1000)})),
    "set of 10 ints (intset)": (50_000, lambda p, i: p.sadd(f"s:{i}", *range(10))),
    "set of 1000 (hashtable)": (500, lambda p, i: p.sadd(f"s:{i}", *members(1000))),
    "zset of 10 (listpack)": (50_000, lambda p, i: p.zadd(f"z:{i}", {m: 1 for m in members(10)})),
    "zset of 1000 (skiplist)": (500, lambda p, i: p.zadd(f"z:{i}", {m: j for j, m in enumerate(members(1000))})),
    "stream of 100": (2_000, lambda p, i: [p.xadd(f"x:{i}", {"f": "v"}) for _ in range(100)]),
}

def measure(binary, name, n, fill):
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--shards", "1"], cwd=tempfile.mkdtemp(), stdout=subprocess.DEVNULL)
    try:
        r = redis.Redis(port=port)
        for _ in range(100):
            try:
                r.ping(); break
            except Exception:
                time.sleep(0.1)
        time.sleep(0.2)
        u0, r0 = used(r), rss(proc.pid)
        for start in range(0, n, 500):
            p = r.pipeline(transaction=False)
            for i in range(start, min(n, start + 500)):
                fill(p, i)
            p.execute()
        u1, r1 = used(r), rss(proc.pid)
        keys = [k for k in r.scan_iter(count=1000)][:2000]
        p = r.pipeline(transaction=False)
        for k in keys:
            p.memory_usage(k, samples=0)
        sizes = p.execute()
        est = sum(sizes) / len(sizes)
        grow_used, grow_rss = (u1 - u0) / n, (r1 - r0) / n
        err = (est - grow_used) / grow_used * 100
        print(f"| {name} | {n} | {est:.0f} | {grow_used:.0f} | {grow_rss:.0f} | {err:+.1f}% |", flush=True)
    finally:
        proc.terminate(); proc.wait()

print("| load | keys | MEMORY USAGE (avg, SAMPLES 0) | used_memory growth / key | RSS growth / key | estimate vs used_memory |")
print("|---|---|---|---|---|---|")
for name, (n, fill) in LOADS.items():
    if len(sys.argv) > 2 and sys.argv[2] not in name:
        continue
    measure(sys.argv[1], name, n, fill)
