#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# report.py OUT ROUNDS UPSTREAM BUILD_S GUEST_S: gather the key=value results
# of every boot of `make bench` (OUT/runs/<kernel>-<round>/results.txt),
# take medians per kernel, ours/stock ratios, check the targets, and write
# OUT/results.json, OUT/results.csv, OUT/results.md (printed too) and
# OUT/results.rst (the table for Documentation/mm/ksm-performance.rst).
import csv
import json
import math
import os
import statistics
import sys

out, rounds, upstream = sys.argv[1], int(sys.argv[2]), sys.argv[3]
build_s, guest_s = int(sys.argv[4]), int(sys.argv[5])
KERNELS = ("stock", "ours")

# (key, workload, figure, unit, better, target) where better is "lower" or
# "higher" and target is None or (op, bound, on): on "ratio" the bound is
# on ours/stock, on "ours" it is on our figure itself.
W1D, W1F = "1 VM-like, default knobs", "1 VM-like, 1000 pages/0 ms"
FIGURES = []
for label, work in (("w1_default", W1D), ("w1_fast", W1F)):
    FIGURES += [
        (label + ".t50_s", work, "time to 50% of ideal sharing", "s", "lower", None),
        (label + ".t90_s", work, "time to 90% of ideal sharing", "s", "lower", ("<=", 0.45, "ratio")),
        (label + ".t100_s", work, "time to 100% of ideal sharing", "s", "lower", None),
        (label + ".rounds90", work, "rounds to 90%: pages looked at over pages tracked", "rounds", "lower", None),
        (label + ".rounds90_over_limit", work, "rounds to 90% over the fewest possible ({limit})", "x", "lower", None),
        (label + ".full_scans90", work, "full_scans completed at 90%", "rounds", "lower", None),
        (label + ".cpu50_s", work, "ksmd CPU to 50%", "s", "lower", None),
        (label + ".cpu90_s", work, "ksmd CPU to 90%", "s", "lower", None),
        (label + ".cpu100_s", work, "ksmd CPU to 100%", "s", "lower", None),
        (label + ".final_sharing", work, "final pages_sharing", "pages", "higher", (">=", 1.0, "ratio")),
    ]
FIGURES += [
    ("w2.cpu_us_per_page_scan", "2 standing still", "ksmd CPU per tracked page per full scan", "us", "lower", ("<=", 0.25, "ratio")),
    ("w2.cpu_us_per_scanned", "2 standing still", "ksmd CPU per page counted in pages_scanned", "us", "lower", None),
    ("w2.s_per_full_scan", "2 standing still", "time per full scan", "s", "lower", None),
    ("w3.cpu_us_per_page_scan", "3 volatile", "ksmd CPU per tracked page per full scan", "us", "lower", None),
    ("w3.pages_volatile_avg", "3 volatile", "pages_volatile (mean)", "pages", None, None),
    ("w3.pages_sharing_max", "3 volatile", "volatile pages merged: pages_sharing (max)", "pages", "lower", ("==", 0, "ours")),
    ("w3.cow_ksm", "3 volatile", "cow_ksm: merges broken again (want 0)", "events", "lower", None),
    ("w5.cow_us_per_page", "5 write cost, 100 MiB", "first write to a merged page (COW)", "us", "lower", ("<=", 1.0, "ratio")),
    ("w5.unmerge_us_per_page", "5 write cost, 100 MiB", "MADV_UNMERGEABLE per merged page", "us", "lower", ("<=", 1.0, "ratio")),
    ("up.P.seconds", "5 upstream ksm_tests", "-P -s 100: merge time", "s", "lower", None),
    ("up.H.seconds", "5 upstream ksm_tests", "-H -s 100: merge time, THP", "s", "lower", None),
    ("up.D.seconds", "5 upstream ksm_tests", "-D -s 100: unmerge time", "s", "lower", ("<=", 1.0, "ratio")),
    ("up.C.seconds", "5 upstream ksm_tests", "-C: COW of 2000 merged pages", "s", "lower", ("<=", 1.0, "ratio")),
    ("w6.bw_idle_mibs", "6 interference", "user memcpy bandwidth, ksmd off", "MiB/s", "higher", None),
    ("w6.bw_busy_mibs", "6 interference", "user memcpy bandwidth, ksmd at full speed", "MiB/s", "higher", None),
    ("w6.bw_busy_fraction", "6 interference", "bandwidth kept while ksmd runs", "fraction", "higher", None),
]
SCALE_FIGURES = [
    ("t100_s", "time to 100% of ideal sharing", "s", "lower"),
    ("s_per_full_scan", "time per full scan, merged", "s", "lower"),
    ("cpu_s_per_full_scan", "ksmd CPU per full scan, merged", "s", "lower"),
    ("cpu_us_per_page_scan", "ksmd CPU per tracked page per full scan, merged", "us", "lower"),
    ("meta_bytes_per_page", "KSM kernel memory per tracked page", "bytes", "lower"),
    ("general_profit", "general_profit", "bytes", "higher"),
    ("wall_s", "wall time of the point (fill, merge, scans)", "s", "lower"),
]
# Keys whose -1 means "never reached": as bad as it gets.
NEVER = ("_s", "seconds", "rounds90", "over_limit", "full_scans90")


def load(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if "=" in line:
                    k, v = line.split("=", 1)
                    d[k] = v
    except OSError:
        pass
    return d


def num(v, key):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    if x < 0 and key.endswith(NEVER):
        return math.inf
    return x


def fmt(x):
    if x is None:
        return "n/a"
    if math.isinf(x):
        return "not reached"
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return "%.0f" % x
    return "%.4g" % x


def read1(path, default=None):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return default


boots = {k: [] for k in KERNELS}
for k in KERNELS:
    for r in range(1, rounds + 1):
        d = os.path.join(out, "runs", "%s-%d" % (k, r))
        res = load(os.path.join(d, "results.txt"))
        boots[k].append({"round": r, "verdict": read1(os.path.join(d, "verdict"), "no run"),
                         "wall_s": read1(os.path.join(d, "wall_s")), "results": res})

# Workload 7 at the sizes that were run; workload 4 is its 1 GiB point
# (or the largest size, when 1 GiB was not run).
sizes = sorted({int(k.split(".")[0][3:]) for kk in KERNELS for b in boots[kk]
                for k in b["results"] if k.startswith("w7_")})
if sizes:
    meta = 1024 if 1024 in sizes else sizes[-1]
    w = "4 metadata, %d MiB" % meta
    FIGURES += [
        ("w7_%d.meta_bytes_per_page" % meta, w, "KSM kernel memory per tracked page", "bytes", "lower", ("<=", 0.35, "ratio")),
        ("w7_%d.general_profit" % meta, w, "general_profit", "bytes", "higher", None),
    ]
for size in sizes:
    for key, fig, unit, better in SCALE_FIGURES:
        target = None
        if key == "meta_bytes_per_page" and size == sizes[-1] and size != meta:
            target = ("<=", 0.35, "ratio")
        FIGURES.append(("w7_%d.%s" % (size, key), "7 scale, %d MiB" % size, fig, unit, better, target))

# Linear growth: each boot's CPU per tracked page per full scan at the
# largest point over the same at the smallest, a figure of its own.
if len(sizes) > 1:
    lo, hi = sizes[0], sizes[-1]
    for k in KERNELS:
        for b in boots[k]:
            res = b["results"]
            x = num(res.get("w7_%d.cpu_us_per_page_scan" % hi), "")
            y = num(res.get("w7_%d.cpu_us_per_page_scan" % lo), "")
            if x is not None and y is not None and x >= 0 and y > 0:
                res["w7.growth"] = "%.4f" % (x / y)
    FIGURES.append(("w7.growth", "7 scale, %d over %d MiB" % (hi, lo),
                    "growth of ksmd CPU per tracked page per full scan (1 = linear)",
                    "x", "lower", ("<=", 1.2, "ours")))

# The fewest rounds to 90% comes with the results (it depends on BENCH_PROCS).
for i, f in enumerate(FIGURES):
    if "{limit}" in f[2]:
        lims = {fmt(num(b["results"].get(f[0].replace("over_limit", "limit")), ""))
                for k in KERNELS for b in boots[k]} - {"n/a"}
        FIGURES[i] = (f[0], f[1], f[2].replace("{limit}", "/".join(sorted(lims)) or "?")) + f[3:]


def target_text(t):
    if not t:
        return ""
    op, bound, on = t
    op = {"==": "="}.get(op, op)
    return "%s %s" % (op, bound) if on == "ratio" else "ours %s %s" % (op, bound)


def target_verdict(t, ratio, ours):
    op, bound, on = t
    x = ratio if on == "ratio" else ours
    if x is None:
        return "NOT met (no %s)" % ("ratio" if on == "ratio" else "figure")
    ok = {"<=": x <= bound, ">=": x >= bound, "==": x == bound}[op]
    return "met" if ok else "NOT met"


FIGURES.sort(key=lambda f: int(f[1].split()[0]))
summary = []
for key, work, fig, unit, better, target in FIGURES:
    med = {}
    n = {}
    for k in KERNELS:
        vals = [num(b["results"].get(key), key) for b in boots[k]]
        vals = [v for v in vals if v is not None]
        n[k] = len(vals)
        med[k] = statistics.median(vals) if vals else None
    if med["stock"] is None and med["ours"] is None:
        continue
    ratio = None
    if med["stock"] is not None and med["ours"] is not None:
        s, o = med["stock"], med["ours"]
        if math.isinf(s) and math.isinf(o):
            ratio = None
        elif math.isinf(o):
            ratio = math.inf
        elif math.isinf(s):
            ratio = 0.0
        elif s != 0:
            ratio = o / s
    summary.append({
        "key": key, "workload": work, "figure": fig, "unit": unit,
        "better": better, "stock": med["stock"], "ours": med["ours"],
        "ratio": ratio, "samples": n, "target": target_text(target) or None,
        "verdict": target_verdict(target, ratio, med["ours"]) if target else "",
    })


def jsonable(x):
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, list):
        return [jsonable(v) for v in x]
    return x


with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(jsonable({
        "upstream": upstream, "rounds": rounds, "build_seconds": build_s,
        "guest_seconds": guest_s, "boots": boots, "summary": summary,
    }), f, indent=1)

with open(os.path.join(out, "results.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["key", "workload", "figure", "unit", "stock", "ours",
                "ours_over_stock", "target", "verdict"])
    for s in summary:
        w.writerow([s["key"], s["workload"], s["figure"], s["unit"],
                    fmt(s["stock"]), fmt(s["ours"]),
                    fmt(s["ratio"]) if s["ratio"] is not None else "",
                    s["target"] or "", s["verdict"]])

lines = []
lines.append("KSM benchmark, upstream %s, medians of %d boot(s) per kernel "
             "(QEMU TCG; only the ratios mean something)." % (upstream, rounds))
lines.append("")
lines.append("| workload | figure | unit | stock | ours | ours/stock | target | verdict | boots |")
lines.append("|---|---|---|---:|---:|---:|---|---|---:|")
for s in summary:
    ratio = fmt(s["ratio"]) if s["ratio"] is not None else "—"
    lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (
        s["workload"], s["figure"], s["unit"], fmt(s["stock"]),
        fmt(s["ours"]), ratio, s["target"] or "", s["verdict"],
        s["samples"]["stock"], s["samples"]["ours"]))
lines.append("")
# The notes under the table (also under the reStructuredText one).
notes = []
for k in KERNELS:
    for b in boots[k]:
        if not b["verdict"].startswith("run-guest: ok"):
            notes.append("Boot %s round %d did not pass: %s" % (k, b["round"], b["verdict"]))
targets = [s for s in summary if s["target"]]
met = [s for s in targets if s["verdict"] == "met"]


def shown(s):
    x = s["ratio"] if not s["target"].startswith("ours") else s["ours"]
    return fmt(x) if x is not None else "none"


notes.append("Targets met: %d of %d.%s" % (
    len(met), len(targets),
    "" if len(met) == len(targets) else " NOT met: " + "; ".join(
        "%s, %s (%s; target %s)" % (s["workload"], s["figure"], shown(s), s["target"])
        for s in targets if s["verdict"] != "met") + "."))
walls = []
for k in KERNELS + ("nodom",):
    for r in range(1, rounds + 1):
        wall = read1(os.path.join(out, "runs", "%s-%d" % (k, r), "wall_s"))
        if wall:
            walls.append("%s %d: %s s" % (k, r, wall))
if walls:
    notes.append("Wall time per boot: %s. Guests %d s in all, builds %d s." % (
        ", ".join(walls), guest_s, build_s))
lines += notes

# Merge domains while off, against our kernel built without them (nodom
# boots, BENCH_NODOM): "within noise" when the ratio of medians is off 1
# by no more than the boots' own spread (half the range over the median,
# the larger of the two kernels), or by at most 3%.
NODOM_FIGURES = [
    ("w1_default.t90_s", "1 VM-like, default knobs", "time to 90% of ideal sharing", "s"),
    ("w1_default.cpu90_s", "1 VM-like, default knobs", "ksmd CPU to 90%", "s"),
    ("w1_fast.t90_s", "1 VM-like, 1000 pages/0 ms", "time to 90% of ideal sharing", "s"),
    ("w1_fast.cpu90_s", "1 VM-like, 1000 pages/0 ms", "ksmd CPU to 90%", "s"),
    ("w2.cpu_us_per_page_scan", "2 standing still", "ksmd CPU per tracked page per full scan", "us"),
    ("w2.s_per_full_scan", "2 standing still", "time per full scan", "s"),
]
nodom = []
for r in range(1, rounds + 1):
    d = os.path.join(out, "runs", "nodom-%d" % r)
    if os.path.isdir(d):
        nodom.append(load(os.path.join(d, "results.txt")))
nodom_summary = []
if nodom:
    lines.append("")
    lines.append("Merge domains off (merge_across_cgroups=1) against our kernel "
                 "built without CONFIG_KSM_MERGE_DOMAINS, medians of %d boot(s) each:" % len(nodom))
    lines.append("")
    lines.append("| workload | figure | unit | without domains | ours | ours/without | noise | verdict |")
    lines.append("|---|---|---|---:|---:|---:|---:|---|")
    for key, work, fig, unit in NODOM_FIGURES:
        a = [v for v in (num(b["results"].get(key), key) for b in boots["ours"]) if v is not None]
        b = [v for v in (num(x.get(key), key) for x in nodom) if v is not None]
        if not a or not b or any(math.isinf(v) for v in a + b):
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        if mb == 0 or ma == 0:
            continue
        noise = max((max(a) - min(a)) / (2 * ma), (max(b) - min(b)) / (2 * mb))
        ratio = ma / mb
        verdict = "within noise" if abs(ratio - 1) <= max(noise, 0.03) else "NOT within noise"
        nodom_summary.append({"key": key, "workload": work, "figure": fig,
                              "unit": unit, "nodom": mb, "ours": ma,
                              "ratio": ratio, "noise": noise, "verdict": verdict,
                              "samples": {"nodom": len(b), "ours": len(a)}})
        lines.append("| %s | %s | %s | %s | %s | %s | %.1f%% | %s |" % (
            work, fig, unit, fmt(mb), fmt(ma), fmt(ratio), 100 * noise, verdict))
    lines.append("")
    bad = [x for x in nodom_summary if x["verdict"] != "within noise"]
    lines.append("Domains off cost: %d of %d figures within noise.%s" % (
        len(nodom_summary) - len(bad), len(nodom_summary),
        "" if not bad else " Not: " + "; ".join(
            "%s, %s (%s)" % (x["workload"], x["figure"], fmt(x["ratio"])) for x in bad) + "."))
    with open(os.path.join(out, "results-nodom.json"), "w") as f:
        json.dump(jsonable({"boots": nodom, "summary": nodom_summary}), f, indent=1)
text = "\n".join(lines) + "\n"

# The same tables as reStructuredText, for Documentation/mm/ksm-performance.rst.
def rst_table(header, rows):
    t = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header] + rows:
        for i, c in enumerate(row):
            c = c.replace("*", "\\*") if c else ""
            if i == 0:
                t.append("   * - " + (c or "\\"))
            else:
                t.append("     - " + c if c else "     -")
    return t + [""]


rst = rst_table(
    ["workload", "figure", "unit", "stock", "ours", "ours/stock", "target", "verdict", "boots"],
    [[s["workload"], s["figure"], s["unit"], fmt(s["stock"]), fmt(s["ours"]),
      fmt(s["ratio"]) if s["ratio"] is not None else "-", s["target"] or "",
      s["verdict"], "%d/%d" % (s["samples"]["stock"], s["samples"]["ours"])]
     for s in summary])
rst += [l for n in notes for l in (n, "")]
if nodom_summary:
    rst += rst_table(
        ["workload", "figure", "unit", "without domains", "ours", "ours/without", "noise", "verdict"],
        [[x["workload"], x["figure"], x["unit"], fmt(x["nodom"]), fmt(x["ours"]),
          fmt(x["ratio"]), "%.1f%%" % (100 * x["noise"]), x["verdict"]]
         for x in nodom_summary])
with open(os.path.join(out, "results.rst"), "w") as f:
    f.write("\n".join(rst) + "\n")
with open(os.path.join(out, "results.md"), "w") as f:
    f.write(text)
sys.stdout.write(text)
sys.exit(0)
