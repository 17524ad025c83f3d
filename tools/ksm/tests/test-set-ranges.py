#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# "ksmctl set" against the kernel's own table of knobs: every KSM_KNOB()
# of mm/ksm/sysfs.c, with its parser (kstrtouint, kstrtoul, kstrtoint,
# kstrtobool) and its min/max, is walked on a fake root. Both bounds must
# be written; one past either bound must be refused with one line on
# stderr and nothing written. Run from tools/ksm; prints TAP.
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
SYSFS_C = os.path.join(TOOLS, "..", "..", "mm", "ksm", "sysfs.c")
KSMCTL = os.path.join(TOOLS, "ksmctl", "ksmctl")

# The kernel's constants on a 64-bit build, and the parsers' own limits.
CONSTS = {
    "UINT_MAX": 2**32 - 1, "INT_MAX": 2**31 - 1, "ULONG_MAX": 2**64 - 1,
    "KSM_RUN_STOP": 0, "KSM_RUN_MERGE": 1, "KSM_RUN_UNMERGE": 2,
}
PARSER_RANGE = {
    "KNOB_UINT": (0, 2**32 - 1), "KNOB_ULONG": (0, 2**64 - 1),
    "KNOB_INT": (-2**31, 2**31 - 1), "KNOB_BOOL": (0, 1),
}


def value(text):
    text = text.strip()
    if text in CONSTS:
        return CONSTS[text]
    return int(text, 0)


def kernel_knobs(src):
    """name -> (type, min, max) from the KSM_KNOB() lines."""
    knobs = {}
    flat = re.sub(r"\s+", " ", src)
    for m in re.finditer(r"KSM_KNOB\((\w+), ([\w.]+), (KNOB_\w+), ([^,]+), ([^,]+),", flat):
        name, _, typ, lo, hi = m.groups()
        if name == "_name":
            continue	# the macro's own definition
        plo, phi = PARSER_RANGE[typ]
        # The store refuses what the parser cannot hold, then min/max.
        knobs[name] = (typ, max(value(lo), plo), min(value(hi), phi))
    return knobs


class Root:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ksmtest.ranges.")
        subprocess.run([os.path.join(HERE, "test-libksm"), "--mkroot", self.dir],
                       check=True)
        self.ksm = os.path.join(self.dir, "sys/kernel/mm/ksm")

    def files(self):
        out = {}
        for f in sorted(os.listdir(self.ksm)):
            with open(os.path.join(self.ksm, f)) as fh:
                out[f] = fh.read()
        return out

    def set(self, arg):
        return subprocess.run([KSMCTL, "--root", self.dir, "set", arg],
                              capture_output=True, text=True)

    def done(self):
        shutil.rmtree(self.dir)


def accepted(root, name, text, want):
    r = root.set("%s=%s" % (name, text))
    if r.returncode != 0:
        return "%s=%s refused: %s" % (name, text, r.stderr.strip())
    got = root.files()[name].strip()
    if got != want:
        return "%s=%s wrote '%s', expected '%s'" % (name, text, got, want)
    return None


def refused(root, name, text):
    before = root.files()
    r = root.set("%s=%s" % (name, text))
    lines = r.stderr.splitlines()
    if r.returncode != 1:
        return "%s=%s: exit %d, expected 1 (%s)" % (name, text, r.returncode,
                                                   r.stderr.strip())
    if len(lines) != 1 or not lines[0].startswith("ksmctl: ") or name not in lines[0]:
        return "%s=%s: stderr is not one line naming it: %r" % (name, text, r.stderr)
    if root.files() != before:
        return "%s=%s: refused, but a file changed" % (name, text)
    return None


def check_knob(root, name, typ, lo, hi):
    if typ == "KNOB_BOOL":
        good = [("0", "0"), ("1", "1")]
        bad = ["2", "-1"]
    else:
        good = [(str(lo), str(lo)), (str(hi), str(hi))]
        bad = [str(hi + 1), str(lo - 1)]
    for text, want in good:
        err = accepted(root, name, text, want)
        if err:
            return err
    for text in bad:
        err = refused(root, name, text)
        if err:
            return err
    return None


def main():
    try:
        with open(SYSFS_C) as fh:
            src = fh.read()
    except OSError:
        print("TAP version 13\n1..1\nok 1 # SKIP no mm/ksm/sysfs.c next to tools/ksm")
        return 0
    knobs = kernel_knobs(src)
    tests = []

    def add(name, fn):
        tests.append((name, fn))

    def writable_set():
        out = subprocess.run([KSMCTL, "--root", root.dir, "params", "-n", "-r"],
                             capture_output=True, text=True, check=True).stdout
        ours = {l.split()[0] for l in out.splitlines()
                if l.split()[3] == "rw" and not l.startswith("shm_")}
        theirs = set(knobs) | {"advisor_mode"}
        if ours != theirs:
            return "only in ksmctl: %s; only in the kernel: %s" % (
                sorted(ours - theirs), sorted(theirs - ours))
        return None

    add("ksmctl knows exactly the kernel's tunables", writable_set)
    for name, (typ, lo, hi) in sorted(knobs.items()):
        add("set %s: %s %d..%d" % (name, typ, lo, hi),
            lambda n=name, t=typ, a=lo, b=hi: check_knob(root, n, t, a, b))

    def advisor_mode():
        for text in ("scan-time", "none"):
            err = accepted(root, "advisor_mode", text, text)
            if err:
                return err
        for text in ("scan", "none scan-time", ""):
            err = refused(root, "advisor_mode", text)
            if err:
                return err
        return None

    add("set advisor_mode: none | scan-time", advisor_mode)

    print("TAP version 13\n1..%d" % len(tests))
    failed = 0
    root = Root()
    try:
        for i, (name, fn) in enumerate(tests, 1):
            err = fn()
            if err:
                print("# " + err)
                failed += 1
            print("%sok %d %s" % ("not " if err else "", i, name))
    finally:
        root.done()
    print("# %d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
