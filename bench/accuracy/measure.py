#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""measure.py --build DIR [--results DIR] [--runs N] [--only NAME,...] [--report-only]

The measurements behind the overhead model's terms (docs/measurements.md): every variant of
configs.MEASUREMENTS (one thing changed at a time) runs N times (default 3) under
`vmmem calibrate` in its own test VM, nested KVM or TCG; no envelope is tried.  Prints a
Markdown table per variant: the peak overhead (largest and smallest of the runs) and, for the
run with the largest, what it was made of.  Results are kept in the results folder (default
bench-results/measure under the build folder); a variant whose result is there is not run again.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import configs  # noqa: E402
from vmboot import run_config  # noqa: E402

MiB = 1 << 20


def f1(b):
    return f"{b / MiB:.1f}"


def row(name, r):
    cals = r["calibrations"]
    peaks = [c["peak_overhead"] for c in cals]
    top = cals[peaks.index(max(peaks))]
    mf = top["must_fit"]
    kern_other = mf["slab"] + mf["percpu"] + mf["kernel_stack"] + mf["kernel_other"]
    return (f"| `{name}` | {len(cals)} | {f1(max(peaks))} | {f1(min(peaks))} | "
            f"{f1(mf['peak'])} | {f1(top['bound']['peak'])} | {f1(mf['anon'])} | "
            f"{f1(mf['tcg_cache'])} | {f1(mf['pagetables'])} | {f1(mf['sec_pagetables'] or 0)} | "
            f"{f1(kern_other)} | {f1(mf['sock'])} | {f1(mf['shmem'])} | "
            f"{f1(max(c['reclaimable']['peak'] for c in cals))} | "
            f"{min(c['elapsed_s'] for c in cals):.0f}-{max(c['elapsed_s'] for c in cals):.0f} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--results")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--argv", action="store_true",
                    help="also print each variant's qemu command line")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    results = os.path.abspath(args.results or os.path.join(build, "bench-results", "measure"))
    os.makedirs(results, exist_ok=True)
    names = args.only.split(",") if args.only else list(configs.MEASUREMENTS)
    for n in names:
        if configs.find(n) is None:
            sys.exit(f"measure: unknown variant '{n}'")
    if not args.report_only:
        for n in names:
            run_config(n, configs.find(n), build, results, args.runs, methods="none")
    print("| variant | runs | peak overhead max | min | must-fit peak | bound | anon | "
          "tcg_cache | pagetables | sec_pagetables | other kernel | sock | shmem | page cache "
          "max | run (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for n in names:
        p = os.path.join(results, f"{n}.json")
        if os.path.exists(p):
            with open(p) as f:
                print(row(n, json.load(f)))
        else:
            print(f"| `{n}` | failed |")
    if args.argv:
        print()
        print("| variant | qemu arguments (in the test VM) |")
        print("|---|---|")
        for n in names:
            p = os.path.join(results, f"{n}.json")
            if os.path.exists(p):
                with open(p) as f:
                    argv = json.load(f)["argv"]
                print(f"| `{n}` | `{' '.join(argv)}` |")


if __name__ == "__main__":
    main()
