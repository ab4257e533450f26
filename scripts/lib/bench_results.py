#!/usr/bin/env python3
"""The one reader of scripts/bench's raw results (bench/results.tsv), used by bench_report.py,
bench_chart.py and bench_pipeline.sh (standard library only).

One measurement a line, tab-separated: category, workload, tool, run, wall seconds, peak RSS
KiB, client CPU seconds, server CPU seconds. Lines of runs made before the CPU columns
existed have six fields: their CPU figures read as 0. Blank lines and lines starting with
`#` are skipped; any other line that is not 6 or 8 fields, or whose figures are not
numbers, stops the reader (a report must not quietly lose a measurement).

    bench_results.py total CATEGORY WORKLOAD TOOL RUN < ROWS
        prints one row summing the rows on stdin: seconds and CPU added, the peak RSS the
        largest (a stage's steps run one after another)
"""
import collections
import sys
from typing import NamedTuple


class Row(NamedTuple):
    category: str
    workload: str
    tool: str
    run: str
    seconds: float  # bc writes .52 for 0.52: float() takes it
    rss_kib: int
    cpu: float
    server_cpu: float


def parse(lines, name="<stdin>"):
    """The rows of `lines`."""
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 6:
            fields += ["0", "0"]
        if len(fields) != 8:
            raise SystemExit(f"bench_results: {name}:{number}: {len(fields)} fields, want 6 or 8")
        try:
            rows.append(Row(*fields[:4], float(fields[4]), int(fields[5]), float(fields[6]), float(fields[7])))
        except ValueError as e:
            raise SystemExit(f"bench_results: {name}:{number}: {e}") from None
    return rows


def read(path):
    """The rows of the file at `path`."""
    with open(path, encoding="utf-8") as f:
        return parse(f, path)


def grouped(path):
    """{(category, workload, tool): [Row, one per run]}."""
    out = collections.defaultdict(list)
    for row in read(path):
        out[(row.category, row.workload, row.tool)].append(row)
    return out


def main(argv):
    if len(argv) != 6 or argv[1] != "total":
        raise SystemExit(__doc__)
    rows = parse(sys.stdin)
    total = Row(*argv[2:6], sum(r.seconds for r in rows), max((r.rss_kib for r in rows), default=0),
                sum(r.cpu for r in rows), sum(r.server_cpu for r in rows))
    print("\t".join(str(f) for f in total))


if __name__ == "__main__":
    main(sys.argv)
