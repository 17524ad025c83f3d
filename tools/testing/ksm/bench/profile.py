#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# profile.py PROFDIR BUILD OUT: the report of `bench.sh --profile`. For
# each kernel (PROFDIR/stock, PROFDIR/ours: one boot each, ksm_bench's
# profile workload) write OUT/profile-<kernel>.txt with
#
#   - perf's cpu-clock samples of ksmd standing still and while it merges
#     from nothing (perf-still.data, perf-merge.data): the functions by
#     their own samples (self) and by the samples under them (children),
#     symbols from BUILD/<kernel>-profile/vmlinux;
#   - ftrace's function profile of the KSM functions and those they call,
#     standing still (ftrace-function<cpu>.txt): hits and time in the
#     function itself, per full scan;
#   - KSM's slab caches from before ksmd started to the merged memory,
#     per tracked page,
#
# and OUT/profile-summary.txt, the top 15 of each side by side.
import os
import re
import subprocess
import sys

prof, build, out = sys.argv[1:4]
KERNELS = ("stock", "ours")
TOP = 30
SUMMARY = 15
THREAD_FRAMES = {"kthread", "ret_from_fork", "ret_from_fork_asm"}


def load(path):
    d = {}
    try:
        with open(path) as f:
            for line in f:
                if "=" in line:
                    k, v = line.strip().split("=", 1)
                    d[k] = v
    except OSError:
        pass
    return d


def load_line(path):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return None


def fnum(d, key, default=0.0):
    try:
        return float(d.get(key, default))
    except ValueError:
        return default


def perf_report(data, vmlinux, children):
    """[(symbol, self %, children % or None, samples)] from perf report."""
    if not os.path.exists(data):
        return [], 0
    fields = "overhead_children,overhead,sample,sym" if children else "overhead,sample,sym"
    cmd = ["perf", "report", "-i", data, "--stdio", "-g", "none",
           "--children" if children else "--no-children", "--sort", "sym",
           "-F", fields, "-t", "|", "--percent-limit", "0"]
    if os.path.exists(vmlinux):
        cmd += ["--vmlinux", vmlinux]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       universal_newlines=True)
    rows = []
    for line in p.stdout.splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        cells = [c.strip() for c in line.split("|")]
        try:
            if children:
                ch, se, n, sym = float(cells[0].rstrip("%")), float(cells[1].rstrip("%")), int(cells[2]), cells[3]
            else:
                ch, se, n, sym = None, float(cells[0].rstrip("%")), int(cells[1]), cells[2]
        except (ValueError, IndexError):
            continue
        sym = re.sub(r"^\[[k.]\]\s*", "", sym)
        # The frames every sample of a kernel thread has.
        if children and sym in THREAD_FRAMES:
            continue
        rows.append((sym, se, ch, n))
    rows.sort(key=lambda r: (-r[2], -r[1]) if children else (-r[1], r[0]))
    return rows, sum(r[3] for r in rows)


def ftrace_profile(d):
    """{function: [hits, microseconds]} summed over the CPUs."""
    prof = {}
    for name in sorted(os.listdir(d)):
        if not re.match(r"ftrace-function\d+\.txt$", name):
            continue
        with open(os.path.join(d, name)) as f:
            for line in f:
                m = re.match(r"\s*(\S+)\s+(\d+)\s+([\d.]+)\s+(us|ms|s)\s", line)
                if not m:
                    continue
                t = float(m.group(3)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(4)]
                e = prof.setdefault(m.group(1), [0, 0.0])
                e[0] += int(m.group(2))
                e[1] += t
    return prof


def slab(path):
    """{cache: (active objects, object size, bytes in its slabs)} of ksm_*."""
    caches = {}
    try:
        with open(path) as f:
            for line in f:
                x = line.split()
                if len(x) < 16 or not x[0].startswith("ksm_") or x[6] != ":":
                    continue
                # name active num objsize objperslab pagesperslab : tunables
                # l b s : slabdata active_slabs num_slabs sharedavail
                caches[x[0]] = (int(x[1]), int(x[3]), int(x[14]) * int(x[5]) * 4096)
    except OSError:
        pass
    return caches


summary = {}
for k in KERNELS:
    d = os.path.join(prof, k)
    if not os.path.isdir(d):
        continue
    res = load(os.path.join(d, "results.txt"))
    kbuild = load_line(os.path.join(d, "kernel")) or "%s-profile" % k
    vmlinux = os.path.join(build, kbuild, "vmlinux")
    tracked = fnum(res, "prof.tracked_pages", 1) or 1
    txt = []
    txt.append("KSM profile, %s kernel (build/%s), workload 1's memory "
               "(%d pages tracked) at pages_to_scan=1000 sleep_millisecs=0"
               % (k, kbuild, tracked))
    txt.append("")
    merges = [res[x] for x in sorted(res) if re.match(r"prof_merge\d+\.t100_s$", x)]
    txt.append("Merging from nothing (perf): %d merge(s), time to the ideal %s s "
               "(under perf)." % (len(merges), ", ".join(merges)))
    traced = any(re.match(r"ftrace-function\d+\.txt$", x) for x in os.listdir(d))
    for phase in ("still", "ftrace") if traced else ("still",):
        sc = fnum(res, "prof.%s.full_scans" % phase)
        cpu = fnum(res, "prof.%s.cpu_s" % phase)
        txt.append("Standing still (%s): %.1f s, ksmd CPU %.2f s, %d full scans, "
                   "%.3f us per tracked page per full scan%s." % (
                       "perf" if phase == "still" else "function profiler",
                       fnum(res, "prof.%s.seconds" % phase), cpu, sc,
                       cpu * 1e6 / (tracked * sc) if sc else float("nan"),
                       "" if phase == "still" else " (slowed by the tracing)"))
    txt.append("")
    s = {"tracked": tracked}
    for phase, what in (("still", "standing still"), ("merge", "merging from nothing")):
        data = os.path.join(d, "perf-%s.data" % phase)
        rows, total = perf_report(data, vmlinux, False)
        crow, _ = perf_report(data, vmlinux, True)
        s[phase] = rows
        s[phase + "_children"] = crow
        txt.append("perf, ksmd %s: %d samples of cpu-clock (1 kHz), by own samples" % (what, total))
        txt.append("")
        txt.append("  %7s %8s  %s" % ("self", "samples", "function"))
        for sym, se, _, n in rows[:TOP]:
            txt.append("  %6.2f%% %8d  %s" % (se, n, sym))
        txt.append("")
        txt.append("perf, ksmd %s: by the samples in the function and what it calls" % what)
        txt.append("")
        txt.append("  %8s %7s  %s" % ("children", "self", "function"))
        for sym, se, ch, _ in crow[:TOP]:
            txt.append("  %7.2f%% %6.2f%%  %s" % (ch, se, sym))
        txt.append("")
    ft = ftrace_profile(d)
    if not ft:
        txt.append("ftrace: no function profile (the kernel has no CONFIG_FUNCTION_PROFILER)")
        txt.append("")
    scans = fnum(res, "prof.ftrace.full_scans") or float("nan")
    total = sum(v[1] for v in ft.values()) or 1
    rows = sorted(ft.items(), key=lambda x: -x[1][1])
    s["ftrace"] = [(f, v[0], v[1], 100 * v[1] / total, v[0] / scans) for f, v in rows]
    s["ftrace_scans"] = scans
    if ft:
        txt.append("ftrace function profile, ksmd standing still: %d functions traced, "
                   "%.0f ms in them, %d full scans; time in the function itself" % (
                       len(ft), total / 1e3, scans if scans == scans else -1))
        txt.append("")
        txt.append("  %7s %12s %10s %12s  %s" % ("time", "hits", "us/hit", "hits/scan", "function"))
        for f, hits, t, share, per_scan in s["ftrace"][:TOP]:
            txt.append("  %6.2f%% %12d %10.3f %12.1f  %s" % (
                share, hits, t / hits if hits else 0, per_scan, f))
        txt.append("")
    before = slab(os.path.join(d, "slabinfo-before.txt"))
    after = slab(os.path.join(d, "slabinfo-merged.txt"))
    s["slab"] = []
    txt.append("KSM's slab caches, merged against before ksmd started, per tracked page")
    txt.append("")
    txt.append("  %-24s %10s %8s %12s  %s" % ("cache", "objects", "objsize", "bytes/page", "slab bytes/page"))
    for c in sorted(set(before) | set(after)):
        b = before.get(c, (0, 0, 0))
        a = after.get(c, (0, b[1], 0))
        row = (c, a[0] - b[0], a[1], (a[0] - b[0]) * a[1] / tracked, (a[2] - b[2]) / tracked)
        s["slab"].append(row)
        txt.append("  %-24s %10d %8d %12.2f  %.2f" % row)
    tot = sum(r[4] for r in s["slab"])
    s["slab_total"] = tot
    txt.append("  %-24s %10s %8s %12.2f  %.2f" % (
        "all", "", "", sum(r[3] for r in s["slab"]), tot))
    txt.append("")
    with open(os.path.join(out, "profile-%s.txt" % k), "w") as f:
        f.write("\n".join(txt) + "\n")
    summary[k] = s


def side(title, rows_of, fmt_row):
    t = [title, ""]
    cols = [rows_of(summary[k])[:SUMMARY] if k in summary else [] for k in KERNELS]
    t.append("  %-46s  %-46s" % tuple("%s" % k for k in KERNELS))
    for i in range(max(len(c) for c in cols) if cols else 0):
        t.append("  %-46s  %-46s" % tuple(fmt_row(c[i]) if i < len(c) else "" for c in cols))
    return t + [""]


def short(name, width):
    return name if len(name) <= width else name[:width - 1] + "~"


txt = ["KSM profile: top %d functions of ksmd, stock and ours (bench.sh --profile)" % SUMMARY, ""]
txt += side("perf, standing still, own samples (share of ksmd's samples)",
            lambda s: s["still"], lambda r: "%6.2f%%  %s" % (r[1], short(r[0], 36)))
txt += side("perf, standing still, with what the function calls (children)",
            lambda s: s["still_children"], lambda r: "%6.2f%%  %s" % (r[2], short(r[0], 36)))
txt += side("perf, merging from nothing, own samples",
            lambda s: s["merge"], lambda r: "%6.2f%%  %s" % (r[1], short(r[0], 36)))
txt += side("ftrace, standing still: share of the traced time, hits per full scan",
            lambda s: s["ftrace"], lambda r: "%6.2f%% %8.0f  %s" % (
                r[3], r[4], short(r[0], 27)))
for k in KERNELS:
    if k in summary:
        txt.append("KSM slab per tracked page, %s: %.2f bytes (%s)" % (
            k, summary[k]["slab_total"], ", ".join(
                "%s %.2f" % (r[0], r[4]) for r in summary[k]["slab"] if r[4])))
with open(os.path.join(out, "profile-summary.txt"), "w") as f:
    f.write("\n".join(txt) + "\n")
sys.stdout.write("\n".join(txt) + "\n")
