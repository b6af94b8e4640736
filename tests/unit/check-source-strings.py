#!/usr/bin/env python3
"""The "source" of each overhead term is printed from its constant (fmt(QEMU_BASE_BYTES)), so a
recalibration cannot leave an old figure in a string.  This check fails on any size written
into a C string literal of the model's files, except facts about other software that do not
move with vmmem's constants (page sizes, a kernel default, libvirt's figure).

usage: check-source-strings.py FILE.c..."""
import re
import sys

SIZE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:[KMGT]i?B|[KMGT]i)\b")
# Figures that belong to someone else: they stay true when a vmmem constant moves.
FACTS = [
    "2 MiB pages",         # x86 huge page
    "4 KiB pages",         # x86 base page
    "tcp_rmem's 6 MiB",    # Linux net.ipv4.tcp_rmem maximum (ip-sysctl.rst)
    "add 1 GiB",           # libvirt qemuDomainGetMemLockLimitBytes(), KubeVirt
    "rounded up to 4 KiB", # the page the limits are rounded to
]
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def literals(text):
    # Comments say where figures come from; only strings reach the user.
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    for lineno, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("#"):
            continue
        for m in STRING.finditer(line):
            yield lineno, m.group(1)


def main(files):
    bad = 0
    for path in files:
        with open(path) as f:
            text = f.read()
        for lineno, lit in literals(text):
            rest = lit
            for fact in FACTS:
                rest = rest.replace(fact, "")
            for m in SIZE.finditer(rest):
                print(f"not ok - {path}:{lineno}: '{m.group(0)}' written into a string: print "
                      f"it from its constant")
                bad += 1
    print(f"{'ok' if bad == 0 else 'not ok'} - {len(files)} file(s), {bad} size(s) in strings")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
