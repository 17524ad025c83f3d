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
# "higher" and target is None or (op, bound) on ours/stock.
FIGURES = [
    ("w1_default.t50_s", "1 VM-like, default knobs", "time to 50% of ideal sharing", "s", "lower", None),
    ("w1_default.t90_s", "1 VM-like, default knobs", "time to 90% of ideal sharing", "s", "lower", ("<=", 0.5)),
    ("w1_default.t100_s", "1 VM-like, default knobs", "time to 100% of ideal sharing", "s", "lower", None),
    ("w1_default.cpu50_s", "1 VM-like, default knobs", "ksmd CPU to 50%", "s", "lower", None),
    ("w1_default.cpu90_s", "1 VM-like, default knobs", "ksmd CPU to 90%", "s", "lower", None),
    ("w1_default.cpu100_s", "1 VM-like, default knobs", "ksmd CPU to 100%", "s", "lower", None),
    ("w1_default.final_sharing", "1 VM-like, default knobs", "final pages_sharing", "pages", "higher", (">=", 1.0)),
    ("w1_fast.t50_s", "1 VM-like, 1000 pages/0 ms", "time to 50% of ideal sharing", "s", "lower", None),
    ("w1_fast.t90_s", "1 VM-like, 1000 pages/0 ms", "time to 90% of ideal sharing", "s", "lower", ("<=", 0.5)),
    ("w1_fast.t100_s", "1 VM-like, 1000 pages/0 ms", "time to 100% of ideal sharing", "s", "lower", None),
    ("w1_fast.cpu50_s", "1 VM-like, 1000 pages/0 ms", "ksmd CPU to 50%", "s", "lower", None),
    ("w1_fast.cpu90_s", "1 VM-like, 1000 pages/0 ms", "ksmd CPU to 90%", "s", "lower", None),
    ("w1_fast.cpu100_s", "1 VM-like, 1000 pages/0 ms", "ksmd CPU to 100%", "s", "lower", None),
    ("w1_fast.final_sharing", "1 VM-like, 1000 pages/0 ms", "final pages_sharing", "pages", "higher", (">=", 1.0)),
    ("w2.cpu_us_per_page_scan", "2 standing still", "ksmd CPU per tracked page per full scan", "us", "lower", ("<=", 0.5)),
    ("w2.cpu_us_per_scanned", "2 standing still", "ksmd CPU per page counted in pages_scanned", "us", "lower", None),
    ("w2.s_per_full_scan", "2 standing still", "time per full scan", "s", "lower", None),
    ("w3.cpu_us_per_page_scan", "3 volatile", "ksmd CPU per tracked page per full scan", "us", "lower", None),
    ("w3.pages_volatile_avg", "3 volatile", "pages_volatile (mean)", "pages", None, None),
    ("w3.pages_sharing_max", "3 volatile", "pages_sharing (max; want 0)", "pages", "lower", None),
    ("w3.cow_ksm", "3 volatile", "cow_ksm: merges broken again (want 0)", "events", "lower", None),
    ("w5.cow_us_per_page", "5 write cost, 100 MiB", "first write to a merged page (COW)", "us", "lower", ("<=", 1.0)),
    ("w5.unmerge_us_per_page", "5 write cost, 100 MiB", "MADV_UNMERGEABLE per merged page", "us", "lower", ("<=", 1.0)),
    ("up.P.seconds", "5 upstream ksm_tests", "-P -s 100: merge time", "s", "lower", None),
    ("up.H.seconds", "5 upstream ksm_tests", "-H -s 100: merge time, THP", "s", "lower", None),
    ("up.D.seconds", "5 upstream ksm_tests", "-D -s 100: unmerge time", "s", "lower", ("<=", 1.0)),
    ("up.C.seconds", "5 upstream ksm_tests", "-C: COW of 2000 merged pages", "s", "lower", ("<=", 1.0)),
    ("w6.bw_idle_mibs", "6 interference", "user memcpy bandwidth, ksmd off", "MiB/s", "higher", None),
    ("w6.bw_busy_mibs", "6 interference", "user memcpy bandwidth, ksmd at full speed", "MiB/s", "higher", None),
    ("w6.bw_busy_fraction", "6 interference", "bandwidth kept while ksmd runs", "fraction", "higher", None),
]
SCALE_FIGURES = [
    ("t100_s", "time to 100% of ideal sharing", "s", "lower"),
    ("s_per_full_scan", "time per full scan, merged", "s", "lower"),
    ("cpu_s_per_full_scan", "ksmd CPU per full scan, merged", "s", "lower"),
    ("meta_bytes_per_page", "KSM kernel memory per tracked page", "bytes", "lower"),
    ("general_profit", "general_profit", "bytes", "higher"),
]

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
    # "-1" marks a level never reached: as bad as it gets.
    if x < 0 and (key.endswith("_s") or key.endswith("seconds")):
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


boots = {k: [] for k in KERNELS}
for k in KERNELS:
    for r in range(1, rounds + 1):
        d = os.path.join(out, "runs", "%s-%d" % (k, r))
        res = load(os.path.join(d, "results.txt"))
        try:
            verdict = open(os.path.join(d, "verdict")).readline().strip()
        except OSError:
            verdict = "no run"
        boots[k].append({"round": r, "verdict": verdict, "results": res})

# Workload 7 at the sizes that were run; workload 4 is its 1 GiB point
# (or the largest size, when 1 GiB was not run).
sizes = sorted({int(k.split(".")[0][3:]) for kk in KERNELS for b in boots[kk]
                for k in b["results"] if k.startswith("w7_")})
if sizes:
    meta = 1024 if 1024 in sizes else sizes[-1]
    w = "4 metadata, %d MiB" % meta
    FIGURES += [
        ("w7_%d.meta_bytes_per_page" % meta, w, "KSM kernel memory per tracked page", "bytes", "lower", ("<=", 0.5)),
        ("w7_%d.general_profit" % meta, w, "general_profit", "bytes", "higher", None),
    ]
for size in sizes:
    for key, fig, unit, better in SCALE_FIGURES:
        FIGURES.append(("w7_%d.%s" % (size, key), "7 scale, %d MiB" % size, fig, unit, better, None))

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
    verdict = ""
    if target:
        op, bound = target
        if ratio is None:
            verdict = "NOT met (no ratio)"
        elif (op == "<=" and ratio <= bound) or (op == ">=" and ratio >= bound):
            verdict = "met"
        else:
            verdict = "NOT met"
    summary.append({
        "key": key, "workload": work, "figure": fig, "unit": unit,
        "better": better, "stock": med["stock"], "ours": med["ours"],
        "ratio": ratio, "samples": n,
        "target": "%s %s" % target if target else None, "verdict": verdict,
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
for k in KERNELS:
    for b in boots[k]:
        if not b["verdict"].startswith("run-guest: ok"):
            lines.append("Boot %s round %d did not pass: %s" % (k, b["round"], b["verdict"]))
targets = [s for s in summary if s["target"]]
met = [s for s in targets if s["verdict"] == "met"]
lines.append("Targets met: %d of %d.%s" % (
    len(met), len(targets),
    "" if len(met) == len(targets) else " Not met: " + "; ".join(
        "%s, %s (%s)" % (s["workload"], s["figure"],
                         fmt(s["ratio"]) if s["ratio"] is not None else "no ratio")
        for s in targets if s["verdict"] != "met") + "."))

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
nodom_start = len(lines)
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

# The same table as reStructuredText, for Documentation/mm/ksm-performance.rst.
rst = [".. list-table::", "   :header-rows: 1", "",
       "   * - workload", "     - figure", "     - unit", "     - stock",
       "     - ours", "     - ours/stock", "     - target", "     - verdict",
       "     - boots"]
for s in summary:
    ratio = fmt(s["ratio"]) if s["ratio"] is not None else "-"
    cells = [s["workload"], s["figure"], s["unit"], fmt(s["stock"]),
             fmt(s["ours"]), ratio, s["target"] or "", s["verdict"],
             "%d/%d" % (s["samples"]["stock"], s["samples"]["ours"])]
    rst.append("   * - " + (cells[0] or "\\"))
    for c in cells[1:]:
        c = c.replace("*", "\\*") if c else ""
        rst.append("     - " + c if c else "     -")
rst.append("")
rst += [l for l in lines[3 + len(summary) + 1:nodom_start] if l]
with open(os.path.join(out, "results.rst"), "w") as f:
    f.write("\n".join(rst) + "\n")
with open(os.path.join(out, "results.md"), "w") as f:
    f.write(text)
sys.stdout.write(text)
sys.exit(0)
