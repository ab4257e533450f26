#!/usr/bin/env python3
"""Draws scripts/bench's raw results as one SVG bar chart (standard library only).

    python3 scripts/lib/bench_chart.py RESULTS_TSV OUT_SVG [SUBTITLE]

RESULTS_TSV is the results.tsv scripts/bench writes, as bench_results.py reads it. For each group (sign W, S, L; copy W to s3s-fs, to the
S3-shaped server and to moto; T and its re-run; the pipeline) it draws one horizontal bar per
tool at its median seconds: relsign's own bar (tool `relsign`, `copier` or
`relsign-batch`) first and in its own
colour, the other tools (the anchors) after it in grey, each labelled with its median and
how many times slower (or faster) than relsign it is. `start` and `phase` rows are not
drawn. SUBTITLE (for instance the machine description) goes under the title.

The x axis is logarithmic: the anchors take 3 to 50 times as long as relsign, so on a
linear axis relsign's bar would be a sliver and the groups would not share one scale.
"""
import math
import statistics
import sys

import bench_results

TITLE = "relsign against GnuPG, sq, s5cmd, rclone, the AWS CLI and CRT (median wall seconds, log scale)"
# (category, workload, heading), in drawing order; a group without data is left out.
GROUPS = [
    ("sign", "W", "sign W"),
    ("sign", "S", "sign S"),
    ("sign", "L", "sign L"),
    ("copy-s3s-fs", "W", "copy W to s3s-fs"),
    ("copy-shaped", "W", "copy W to s3s-fs shaped like S3 (per-connection cap, first-byte latency)"),
    ("copy-moto", "W", "copy W to moto"),
    ("copy-small", "T", "copy T (20,000 x 1 KiB) to s3s-fs"),
    ("rerun-small", "T", "copy T again, nothing to do"),
    ("verify-shaped", "W", "verify W where it is published (S3-shaped) against a download alone"),
    ("pipeline", "W4", "the Sign and Copy stages for W over 4 builds: build outputs to published release"),
    ("pipeline", "W12", "the Sign and Copy stages for W over 12 builds: build outputs to published release"),
]
RELSIGN_TOOLS = ("relsign", "copier", "relsign-batch", "signer verify")
# Anchors in this order (a prefix match: gpg-xargs-P<cores>); any other tool after them.
ANCHOR_ORDER = ["gpg-reference-loop", "gpg-xargs-P", "sq-per-file", "relsign-today", "reference", "s5cmd", "rclone",
                "aws_sync", "aws_crt", "aws_loop"]

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
RELSIGN_COLOUR, ANCHOR_COLOUR = "#d9480f", "#9aa0a6"
# Widths of one character (12 px text; the 16 px bold title) in DejaVu Sans, the widest of
# the fonts above, with a little to spare: the margins are sized from the labels.
CHAR_W, TITLE_CHAR_W = 6.6, 9.0
PLOT_W, BAR_H, ROW_H, HEAD_H, GROUP_GAP = 520, 18, 26, 24, 14


def esc(text):
    """Text for XML content or a double-quoted attribute."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def read_medians(path):
    """{(category, workload, tool): (median seconds, runs)} from the raw TSV."""
    return {k: (statistics.median(r.seconds for r in v), len(v)) for k, v in bench_results.grouped(path).items()}


def tool_rank(tool):
    if tool in RELSIGN_TOOLS:
        return (0, "")
    for i, prefix in enumerate(ANCHOR_ORDER):
        if tool.startswith(prefix):
            return (1 + i, tool)
    return (1 + len(ANCHOR_ORDER), tool)


def groups(medians):
    """[(heading, runs, [(tool, seconds, is_relsign)])], relsign's bar first."""
    out = []
    for cat, wl, heading in GROUPS:
        # A floor of 1 ms: log10 and the ratios need more than zero (a 0 from bc, a clock step).
        bars = [(tool, max(s, 1e-3), n) for (c, w, tool), (s, n) in medians.items() if c == cat and w == wl]
        if not bars:
            continue
        bars.sort(key=lambda b: tool_rank(b[0]))
        counts = sorted({n for _, _, n in bars})
        out.append((heading, counts, [(tool, s, tool in RELSIGN_TOOLS) for tool, s, _ in bars]))
    return out


def nice(value, up):
    """The nearest 1, 2 or 5 x 10^k at or above (up) or at or below (not up) value."""
    k = math.floor(math.log10(value))
    steps = [float(f"{m}e{e}") for e in (k - 1, k, k + 1) for m in (1, 2, 5)]
    return min(s for s in steps if s >= value) if up else max(s for s in steps if s <= value)


def scale(values):
    """(lo, hi) of the axis: nice ticks around the data, the shortest bar still visible."""
    lo, hi = min(values), max(values)
    lo = nice(lo / 1.25, up=False)  # room on the left: no bar starts at zero length
    hi = nice(hi, up=True)
    return lo, max(hi, lo * 10)  # at least one decade


def ticks(lo, hi):
    """[(value, labelled)]: decades and their 2x and 5x; only decades labelled over a wide range."""
    wide = math.log10(hi / lo) > 3
    out = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = float(f"{m}e{e}")
            if lo * 0.999 <= v <= hi * 1.001:
                out.append((v, m == 1 or not wide))
    return out


def seconds(s):
    return f"{s:#.3g} s" if s < 100 else f"{s:.0f} s"  # 0.985 s, 1.02 s, 54.5 s, 140 s


def times(r):
    return f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def verdict(s, base):
    """How an anchor compares with relsign, whichever way it goes."""
    if base is None:
        return ""
    if round(s / base, 1) == 1.0 and round(base / s, 1) == 1.0:
        return "about as fast as relsign"
    if s >= base:
        return f"{times(s / base)} slower than relsign"
    return f"{times(base / s)} faster than relsign"


def label(s, is_relsign, base):
    text = seconds(s)
    if not is_relsign and base is not None:
        text += "  \u00b7  " + verdict(s, base)
    return text


def svg(data, subtitle):
    values = [s for _, _, bars in data for _, s, _ in bars]
    lo, hi = scale(values)
    names = [tool for _, _, bars in data for tool, _, _ in bars]
    labels = []
    for _, _, bars in data:
        base = next((s for _, s, r in bars if r), None)
        labels += [label(s, r, base) for _, s, r in bars]
    left = 24 + CHAR_W * max(len(n) for n in names)
    right = 16 + CHAR_W * max(len(t) for t in labels)
    width = round(max(left + PLOT_W + right, 32 + TITLE_CHAR_W * len(TITLE), 32 + CHAR_W * len(subtitle)))
    top = 86 if subtitle else 66
    height = top + 22 + sum(HEAD_H + ROW_H * len(bars) + GROUP_GAP for _, _, bars in data) + 40

    def x(v):
        return left + PLOT_W * math.log10(v / lo) / math.log10(hi / lo)

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="{esc(FONT)}" font-size="12">',
         # A white ground: GitHub's dark theme would otherwise put black text on black.
         f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
         f'<text x="16" y="28" font-size="16" font-weight="bold" fill="#222">{esc(TITLE)}</text>']
    if subtitle:
        o.append(f'<text x="16" y="48" fill="#555">{esc(subtitle)}</text>')
    ly = top - 16
    o += [f'<rect x="16" y="{ly - 10}" width="12" height="12" fill="{RELSIGN_COLOUR}"/>',
          f'<text x="34" y="{ly}" fill="#222">relsign (signer, copier)</text>',
          f'<rect x="200" y="{ly - 10}" width="12" height="12" fill="{ANCHOR_COLOUR}"/>',
          f'<text x="218" y="{ly}" fill="#222">the tools it is measured against</text>']

    plot_top, plot_bottom = top + 16, height - 40
    for v, labelled in ticks(lo, hi):
        gx = round(x(v), 1)
        o.append(f'<line x1="{gx}" y1="{plot_top}" x2="{gx}" y2="{plot_bottom}" '
                 f'stroke="{"#c8c8c8" if labelled else "#e6e6e6"}" stroke-width="1"/>')
        if labelled:
            for ty in (plot_top - 4, plot_bottom + 14):
                o.append(f'<text x="{gx}" y="{ty}" text-anchor="middle" font-size="11" fill="#555">{v:g} s</text>')
    o.append(f'<text x="{left + PLOT_W / 2}" y="{plot_bottom + 32}" text-anchor="middle" fill="#555">'
             f'wall-clock seconds, log scale (shorter is faster)</text>')

    y = plot_top + 4
    for heading, counts, bars in data:
        runs = "/".join(map(str, counts))
        note = f"median of {runs} runs" if counts != [1] else "1 run"
        o.append(f'<text x="16" y="{y + 16}" font-weight="bold" fill="#222">{esc(heading)}'
                 f'<tspan dx="8" font-weight="normal" fill="#777">({note})</tspan></text>')
        y += HEAD_H
        base = next((s for _, s, r in bars if r), None)
        for tool, s, is_relsign in bars:
            bw = max(x(s) - left, 1)
            mid = y + BAR_H / 2 + 4
            weight = ' font-weight="bold"' if is_relsign else ""
            o += [f'<text x="{left - 8}" y="{mid}" text-anchor="end" fill="#222"{weight}>{esc(tool)}</text>',
                  f'<rect x="{left}" y="{y}" width="{bw:.1f}" height="{BAR_H}" '
                  f'fill="{RELSIGN_COLOUR if is_relsign else ANCHOR_COLOUR}"/>',
                  f'<text x="{left + bw + 6:.1f}" y="{mid}" fill="#222"{weight}>{esc(label(s, is_relsign, base))}</text>']
            y += ROW_H
        y += GROUP_GAP
    o.append("</svg>")
    return "\n".join(o) + "\n"


def main(argv):
    if len(argv) not in (3, 4):
        sys.exit(f"usage: {argv[0]} RESULTS_TSV OUT_SVG [SUBTITLE]")
    data = groups(read_medians(argv[1]))
    if not data:
        sys.exit(f"bench_chart: no sign or copy results in {argv[1]}")
    with open(argv[2], "w", encoding="utf-8") as f:
        f.write(svg(data, argv[3] if len(argv) == 4 else ""))


if __name__ == "__main__":
    main(sys.argv)
