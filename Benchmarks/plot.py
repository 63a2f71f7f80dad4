#!/usr/bin/env python3
"""Draws loop-bench's JSON results as an SVG bar chart of ns/op per scenario.

    python3 Benchmarks/plot.py results/full.json results/full.svg

Dependency-free (writes the SVG by hand) so it runs on any machine with Python 3.
One row per implementation, grouped by scenario; the bar is the median ns/op on a
log scale, the thin line spans min..max of the runs.
"""
import json
import math
import sys
from html import escape

ROW = 18          # px per implementation row
GAP = 14          # px between scenario groups
LABEL_W = 330     # px for the "scenario / impl" labels
PLOT_W = 560      # px for the bars
RIGHT_W = 90      # px for the value labels
TOP = 46
COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2"]


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1]) as f:
        rows = [r for r in json.load(f) if r["ns_per_op"] is not None]
    if not rows:
        sys.exit("no results in " + argv[1])

    scenarios = []
    for r in rows:
        if r["scenario"] not in scenarios:
            scenarios.append(r["scenario"])

    lo = min(min(r["min_ns"], r["ns_per_op"]) for r in rows)
    hi = max(max(r["max_ns"], r["ns_per_op"]) for r in rows)
    lo_exp = math.floor(math.log10(max(lo, 1e-3)))
    hi_exp = math.ceil(math.log10(hi))

    def x(ns):
        ns = max(ns, 10 ** lo_exp)
        return LABEL_W + (math.log10(ns) - lo_exp) / (hi_exp - lo_exp) * PLOT_W

    height = TOP + len(rows) * ROW + len(scenarios) * GAP + 30
    width = LABEL_W + PLOT_W + RIGHT_W
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">'
        "loop-bench: ns per operation (median, log scale; line = min..max)</text>",
    ]
    for e in range(lo_exp, hi_exp + 1):
        gx = x(10 ** e)
        out.append(f'<line x1="{gx:.1f}" y1="{TOP - 6}" x2="{gx:.1f}" y2="{height - 24}" stroke="#ddd"/>')
        label = f"{10 ** e:g}" if e >= 0 else f"1e{e}"
        out.append(f'<text x="{gx:.1f}" y="{TOP - 10}" text-anchor="middle" fill="#555">{label}</text>')

    y = TOP
    for s_index, scenario in enumerate(scenarios):
        group = [r for r in rows if r["scenario"] == scenario]
        out.append(f'<text x="4" y="{y + 11}" font-weight="bold">{escape(scenario)}</text>')
        for i, r in enumerate(group):
            color = COLORS[i % len(COLORS)]
            top = y + 3
            out.append(f'<text x="{LABEL_W - 6}" y="{y + 12}" text-anchor="end">{escape(r["impl"])}</text>')
            out.append(
                f'<rect x="{LABEL_W}" y="{top}" width="{max(x(r["ns_per_op"]) - LABEL_W, 1):.1f}" '
                f'height="{ROW - 6}" fill="{color}"/>'
            )
            mid = top + (ROW - 6) / 2
            out.append(
                f'<line x1="{x(r["min_ns"]):.1f}" y1="{mid}" x2="{x(r["max_ns"]):.1f}" y2="{mid}" '
                'stroke="black" stroke-width="1"/>'
            )
            out.append(f'<text x="{LABEL_W + PLOT_W + 4}" y="{y + 12}">{fmt(r["ns_per_op"])} ns</text>')
            y += ROW
        y += GAP
        if s_index < len(scenarios) - 1:
            out.append(f'<line x1="0" y1="{y - GAP / 2}" x2="{width}" y2="{y - GAP / 2}" stroke="#eee"/>')
    out.append(f'<text x="{LABEL_W + PLOT_W / 2}" y="{height - 8}" text-anchor="middle" fill="#555">ns/op</text>')
    out.append("</svg>")
    with open(argv[2], "w") as f:
        f.write("\n".join(out) + "\n")


def fmt(ns):
    return f"{ns:.0f}" if ns >= 100 else f"{ns:.3g}"


if __name__ == "__main__":
    main(sys.argv)
