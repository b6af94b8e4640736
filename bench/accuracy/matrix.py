#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""matrix.py --build DIR [--results DIR] [--runs N] [--only NAME,...] [--reduced] [--report-only]
            [--markdown FILE] [--plot FILE]

The accuracy matrix (docs/accuracy.md): for every configuration of configs.py, boots the test VM
(tests/vm/vm-run.sh, real cgroup v2 kernel, nested KVM or TCG), runs run-config.py in it, and
keeps its JSON in the results folder (default: bench-results/accuracy under the build folder).
A configuration whose result is already there is not run again (delete it to redo it).  Then
writes the Markdown table and the PNG plot: the measured peak overhead against the budget of
vmmem and of each peer, OOM kills and stalls per method, budget / measured per method.

Runs as root on the host (vm-run.sh needs it); a full matrix takes a few hours on 2 cores.
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import configs  # noqa: E402
import peers  # noqa: E402
from vmboot import run_config  # noqa: E402

MiB = 1 << 20
METHODS = [("vmmem", "vmmem")] + [(k, label) for k, label, _ in peers.METHODS]


def mib(b):
    return f"{b / MiB:.1f}"


def summarize(results):
    """Per method: OOM kills, stalls, failures, and budget/measured min/median/max, over
    KVM and over all configurations."""
    lines = []
    for key, label in METHODS:
        rows = [r for r in results if key in r["runs"]]
        if not rows:
            continue
        ooms = sum(r["runs"][key]["outcome"] == "oom" for r in rows)
        stalls = sum(r["runs"][key]["outcome"] == "stall" for r in rows)
        failed = sum(r["runs"][key]["outcome"] == "failed" for r in rows)

        def ratios(sel):
            return [r["budgets"][key] / r["measured_peak"] for r in sel]

        kvm = ratios([r for r in rows if r["spec"].get("accel", "kvm") == "kvm"])
        tcg = ratios([r for r in rows if r["spec"].get("accel", "kvm") == "tcg"])

        def span(v):
            return (f"{min(v):.2f} / {statistics.median(v):.2f} / {max(v):.2f}" if v else "-")

        lines.append(f"| {label} | {ooms} | {stalls} | {failed} | {span(kvm)} | {span(tcg)} |")
    return lines


def markdown(results, path):
    out = []
    out.append("| configuration | measured peak (MiB) | " +
               " | ".join(label for _, label in METHODS) + " |")
    out.append("|---|---:|" + "---|" * len(METHODS))
    for r in results:
        cells = []
        for key, _ in METHODS:
            if key not in r["runs"]:
                cells.append("-")
                continue
            run = r["runs"][key]
            mark = {"ok": "", "oom": " **OOM**", "stall": " **stall**",
                    "failed": " **failed**"}[run["outcome"]]
            cells.append(f"{mib(r['budgets'][key])} ({r['budgets'][key] / r['measured_peak']:.2f}x)"
                         f"{mark}")
        out.append(f"| `{r['config']}` | {mib(r['measured_peak'])} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| method | OOM kills | stalls | failed | budget / measured, KVM (min / median / "
               "max) | TCG |")
    out.append("|---|---:|---:|---:|---|---|")
    out += summarize(results)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["config"] for r in results]
    fig, ax = plt.subplots(figsize=(13, 6.5))
    x = list(range(len(results)))
    ax.bar(x, [r["measured_peak"] / MiB for r in results], color="#cccccc", width=0.8,
           label="measured peak overhead (max of 3 runs)", zorder=1)
    markers = {"vmmem": ("o", "#1b7837"), "kubevirt": ("v", "#d6604d"),
               "harvester": ("^", "#b2182b"), "ovirt": ("s", "#2166ac"),
               "eve": ("D", "#762a83"), "eve600": ("x", "#555555")}
    for key, label in METHODS:
        xs, ys, bad = [], [], []
        for i, r in enumerate(results):
            if key in r["runs"]:
                xs.append(i)
                ys.append(r["budgets"][key] / MiB)
                if r["runs"][key]["outcome"] != "ok":
                    bad.append((i, r["budgets"][key] / MiB))
        m, col = markers[key]
        ax.scatter(xs, ys, marker=m, color=col, label=f"{label} budget", zorder=3, s=36)
        for i, y in bad:
            ax.scatter([i], [y], marker="o", s=170, facecolors="none", edgecolors="red",
                       linewidths=1.5, zorder=4)
    ax.scatter([], [], marker="o", s=170, facecolors="none", edgecolors="red",
               label="OOM kill or stall under that budget")
    ax.set_yscale("log")
    ax.set_ylabel("overhead beyond guest RAM (MiB, log scale)")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=55, ha="right", fontsize=8)
    ax.set_title("QEMU overhead: measured peak vs. each method's budget")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--results")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--methods", default="all",
                    help="the envelopes to try: all, or a list of vmmem and peers.py's keys")
    ap.add_argument("--rerun", action="store_true",
                    help="run --methods again on configurations that have a result, keeping "
                    "their unlimited runs (after a change of vmmem's model)")
    ap.add_argument("--only")
    ap.add_argument("--reduced", action="store_true")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--markdown")
    ap.add_argument("--plot")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    results_dir = os.path.abspath(args.results or os.path.join(build, "bench-results", "accuracy"))
    os.makedirs(results_dir, exist_ok=True)

    names = list(configs.CONFIGS)
    if args.only:
        names = args.only.split(",")
    elif args.reduced:
        names = [n for n in names if configs.CONFIGS[n].get("reduced")]
    if not args.report_only:
        for name in names:
            run_config(name, configs.CONFIGS[name], build, results_dir, args.runs, args.methods,
                       args.rerun)
    results = []
    for name in names:
        p = os.path.join(results_dir, f"{name}.json")
        if os.path.exists(p):
            with open(p) as f:
                results.append(json.load(f))
    if not results:
        sys.exit("matrix: no results to report")
    md = args.markdown or os.path.join(results_dir, "accuracy-table.md")
    png = args.plot or os.path.join(results_dir, "accuracy.png")
    markdown(results, md)
    try:
        plot(results, png)
    except ImportError:
        # Not in tests/install-deps.sh: only this report needs it.
        png = "none (apt-get install python3-matplotlib)"
    print(f"matrix: {len(results)} configurations; table {md}, plot {png}")
    with open(md) as f:
        print(f.read())


if __name__ == "__main__":
    main()
