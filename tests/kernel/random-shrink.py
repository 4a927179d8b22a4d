#!/usr/bin/env python3
"""Shrink a failure of random.py: drop ops of the final stack one at a
time (then halves) while the failure still shows.

  random-shrink.py CONFIG SEED OPS PATTERN [OPS.json]

PATTERN is a regular expression searched in the failure lines random.py
writes with RT_RESULTS (kind, key and fsck output / view diff), e.g.
'^R1 .*IM_MISSING' or '^R2 .*data'.  Without OPS.json the ops are those
of SEED's sequence (taken from a KEEP=1 run).  Prints the shortest op
list found and leaves its sequence dir (with repro.sh) under $RT_DIR.
Same environment as random.py (FSCK, RT_DIR).
"""
import json, os, re, subprocess, sys, tempfile

here = os.path.dirname(os.path.abspath(__file__))
config, seed, nops, pat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    re.compile(sys.argv[4], re.M)
tmp = tempfile.mkdtemp(prefix="shrink.", dir=os.environ.get("RT_DIR", "."))
env = dict(os.environ, SEED=str(seed), SEEDS="1", OPS=str(nops),
           CONFIG=config, RT_DIR=tmp)


def run(ops, keep=False):
    res = os.path.join(tmp, "res.jsonl")
    if os.path.exists(res):
        os.unlink(res)
    e = dict(env, RT_RESULTS=res)
    if ops is not None:
        with open(os.path.join(tmp, "ops.json"), "w") as f:
            json.dump(ops, f)
        e["RT_REPLAY"] = os.path.join(tmp, "ops.json")
    if keep:
        e["KEEP"] = "1"
    else:
        e["RT_NOKEEP"] = "1"
    subprocess.run([sys.executable, os.path.join(here, "random.py")], env=e,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not os.path.exists(res):
        return False
    for l in open(res):
        r = json.loads(l)
        if pat.search("%s\n%s\n%s" % (r["kind"], r["key"], r["text"])):
            return True
    return False


if len(sys.argv) > 5:
    ops = json.load(open(sys.argv[5]))
else:
    run(None, keep=True)
    d = [x for x in os.listdir(tmp) if x.startswith("random-tests.")][0]
    ops = json.load(open(os.path.join(tmp, d, "%s-%d" % (config, seed),
                                      "ops.json")))
if not run(ops):
    sys.exit("the failure does not show with these ops")
chunk = len(ops) // 2
while chunk >= 1:
    i = 0
    while i < len(ops):
        cand = ops[:i] + ops[i + chunk:]
        if run(cand):
            ops = cand
        else:
            i += chunk
    chunk //= 2
run(ops, keep=True)
print(json.dumps(ops))
print("sequence dirs (repro.sh) under", tmp)
