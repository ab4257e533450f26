#!/usr/bin/env python3
"""Writes bench/RESULTS.md from the raw figures scripts/bench collected (standard library only).

    bench_report.py RESULTS_TSV OUT_MD SHA_KBS CORES MACHINE VERSIONS RUNS PARTS SHAPE

RESULTS_TSV: the raw figures, as bench_results.py reads them. Every ratio is between two
medians of the same run of scripts/bench (rows of parts not run, PARTS names those that
were, come from the previous run and are marked). bench/analysis.md, the hand-written
reading of the figures, is appended.
"""
import datetime
import os
import statistics
import sys

import bench_results

tsv, out, sha_kbs, cores, machine, versions, runs, parts, shape = sys.argv[1:]
# (seconds, peak RSS KiB, client CPU, server CPU) of each run, by (category, workload, tool).
rows = {k: [(r.seconds, r.rss_kib, r.cpu, r.server_cpu) for r in v] for k, v in bench_results.grouped(tsv).items()}


def median(values):
    return statistics.median(values)


# (median wall, max RSS, median client CPU, median server CPU, runs)
med = {
    k: (median(s for s, *_ in v), max(r for _, r, *_ in v), median(c for *_, c, _ in v), median(x for *_, x in v), len(v))
    for k, v in rows.items()
}
MIB = {"W": 8 * 150 + 6 * 20 + 4 * 5 + 2 * 8 / 1024, "S": 200 * 64 / 1024, "L": 4096, "T": 20000 / 1024}
# What is copied of W: the artifacts, their signatures, SHA256SUMS(.asc), manifest.json.
MIB["W-signed"] = MIB["W"] + 0.05
# T signed: 20,000 x 1 KiB, a signature of about 0.3 KiB each, SHA256SUMS and the manifest.
MIB["T-signed"] = MIB["T"] * 1.3 + 3
per_core = float(sha_kbs) * 1000 / 2**20
limit = per_core * int(cores)
ran = parts.split()
carried = {part: part not in ran for part in ("sign", "copy", "small", "pipeline", "verify")}


def from_previous(part):
    return " (rows from the previous run: this run did not measure them)" if carried[part] else ""


lines = ["# relsign benchmark", "",
         f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `scripts/bench` on {machine}; parts run: {parts}.",
         f"Tools: {versions}.", f"Median of {runs} runs (moto: 1 run), tools alternating; every signature checked with gpgv, every copy compared byte for byte.",
         "sq signs with an unprotected RSA-4096 key (it cannot take a passphrase non-interactively); the others use a protected one.", ""]
targets = []

# ---- signing -------------------------------------------------------------------------
lines += [f"## Signing{from_previous('sign')}", "", "| workload | tool | median s | MiB/s | peak RSS MiB | relsign speed-up |", "|---|---|---:|---:|---:|---:|"]
for wl in ["W", "S", "L"]:
    base = med.get(("sign", wl, "relsign"))
    for (cat, w, tool), (s, rss, *_rest) in sorted(med.items(), key=lambda kv: (kv[0][1], kv[1][0])):
        if cat != "sign" or w != wl:
            continue
        ratio = f"{s / base[0]:.1f}x" if base and tool != "relsign" else ""
        lines.append(f"| {wl} | {tool} | {s:.2f} | {MIB[wl] / s:.0f} | {rss / 1024:.1f} | {ratio} |")
    ref = med.get(("sign", wl, "gpg-reference-loop"))
    if base and ref and wl in ("W", "S"):
        want = 10 if wl == "W" else 50
        targets.append((f"sign {wl} at least {want}x faster than the reference loop", f"{ref[0] / base[0]:.1f}x", ref[0] / base[0] >= want))
    if base and wl == "W":
        share = MIB["W"] / base[0] / limit
        targets.append((f"sign W at 80% or more of the {cores}-core SHA-256 limit ({limit:.0f} MiB/s)", f"{share * 100:.0f}%", share >= 0.8))
    if base and wl == "L":
        targets.append(("sign L with peak RSS at most 64 MiB", f"{base[1] / 1024:.1f} MiB", base[1] / 1024 <= 64))
lines += ["", f"Hashing limit: OpenSSL SHA-256 (16 KiB blocks) {per_core:.0f} MiB/s per core, {limit:.0f} MiB/s on {cores} cores.", ""]
lines += ["## Start-up", "", "| command | median ms |", "|---|---:|"]
for (cat, w, tool), (s, *_rest) in sorted(med.items()):
    if cat == "start":
        lines.append(f"| {tool} | {s * 1000:.1f} |")
        targets.append((f"{tool} under 10 ms (median of 50, fork and exec included)", f"{s * 1000:.1f} ms", s < 0.010))
lines += ["", "Inside a relsign run (from `signer sign --json`; the key is fetched and unlocked while the artifacts are read):", "",
          "| workload | key unlock s | start to first artifact hashed ms |", "|---|---:|---:|"]
for wl in ["W", "S", "L"]:
    key, first = med.get(("phase", wl, "key_seconds")), med.get(("phase", wl, "first_hashed_seconds"))
    if key and first:
        lines.append(f"| {wl} | {key[0]:.3f} | {first[0] * 1000:.1f} |")

# ---- copying -------------------------------------------------------------------------
# The anchors at their documented defaults (the reference loop is the pipeline, not a client).
DEFAULTS = ["s5cmd", "rclone", "rclone_debian", "aws_sync", "aws_crt"]
SERVERS = {"s3s-fs": "s3s-fs on loopback", "shaped": f"s3s-fs behind the S3-shaped proxy ({shape})", "moto": "moto on loopback"}


def copy_table(cat, wl, mib, heading):
    base = med.get((cat, wl, "copier"))
    out_lines = [heading, "", "| tool | median s | MiB/s | client CPU s/GiB | server CPU s/GiB | peak RSS MiB | copier speed-up |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
    for (c, w, tool), (s, rss, cpu, server, n) in sorted(med.items(), key=lambda kv: kv[1][0]):
        if c != cat or w != wl:
            continue
        ratio = f"{s / base[0]:.2f}x" if base and tool != "copier" else ""
        gib = mib / 1024
        out_lines.append(f"| {tool} | {s:.2f} | {mib / s:.0f} | {cpu / gib:.2f} | {server / gib:.2f} | {rss / 1024:.1f} | {ratio} |")
    return out_lines + [""]


lines += ["", f"## Copying W with its signatures{from_previous('copy')}", "",
          "`_jobs` rows: the tool at copier's concurrency (8 transfers on this machine; copier sends its small"
          " files, at most 256 KiB, up to 64 at a time beside them); the others at the tool's documented defaults.",
          "Client CPU: user + system seconds of the tool and its children (GNU time); server CPU: s3s-fs (and the proxy) over the same run.", ""]
for server, title in SERVERS.items():
    cat = f"copy-{server}"
    if not any(k[0] == cat for k in med):
        continue
    lines += copy_table(cat, "W", MIB["W-signed"], f"### {title}")
    base = med.get((cat, "W", "copier"))
    anchors = {t: med[(cat, "W", t)] for t in DEFAULTS if (cat, "W", t) in med}
    if base and anchors and server in ("s3s-fs", "shaped"):
        fastest = min(anchors, key=lambda t: anchors[t][0])
        want = 1.2 if server == "s3s-fs" else 1.5
        ratio = anchors[fastest][0] / base[0]
        targets.append((f"copy W on {server}: at least {want}x the fastest anchor's defaults ({fastest})", f"{ratio:.2f}x", ratio >= want))
        every = {t: v for (c, w, t), v in med.items() if c == cat and w == "W"}
        lowest = min(every, key=lambda t: every[t][2])
        targets.append((f"copy W on {server}: lowest client CPU per GiB of all tools", f"copier {base[2] / (MIB['W-signed'] / 1024):.2f} s/GiB, lowest {lowest}", lowest == "copier"))
    if base and server == "s3s-fs" and (cat, "W", "aws_loop") in med:
        loop = med[(cat, "W", "aws_loop")][0]
        targets.append(("copy W at least 3x faster than the aws s3 cp loop", f"{loop / base[0]:.1f}x", loop / base[0] >= 3))
        targets.append(("copier peak RSS at most jobs x part size + 64 MiB (8 x 8 + 64 = 128 MiB)", f"{base[1] / 1024:.0f} MiB", base[1] / 1024 <= 128))

if any(k[0] == "copy-small" for k in med):
    lines += [f"## 20,000 x 1 KiB (T) to s3s-fs{from_previous('small')}", ""]
    lines += copy_table("copy-small", "T", MIB["T"], "### Copy")
    lines += copy_table("rerun-small", "T", MIB["T"], "### Again, with nothing to do")
    c, s5 = med.get(("copy-small", "T", "copier")), med.get(("copy-small", "T", "s5cmd"))
    if c and s5:
        targets.append(("copy T at least as fast as s5cmd", f"{s5[0] / c[0]:.2f}x", c[0] <= s5[0]))
    c, sync = med.get(("rerun-small", "T", "copier")), med.get(("rerun-small", "T", "aws_sync"))
    if c and sync:
        targets.append(("re-run of T with nothing to do at least as fast as aws s3 sync", f"{sync[0] / c[0]:.2f}x", c[0] <= sync[0]))
    if any(k[0] == "rerun-signed" for k in med):
        lines += copy_table("rerun-signed", "T-signed", MIB["T-signed"],
                            "### T signed (20,000 published files and their signatures), again with nothing to do"
                            " (copier proves each object by the SHA-256 S3 verified: one HeadObject each)")
    c, sync = med.get(("rerun-signed", "T-signed", "copier")), med.get(("rerun-signed", "T-signed", "aws_sync"))
    if c and sync:
        ok = c[0] <= 1.2 * sync[0] and c[1] / 1024 < 200
        targets.append(("re-run over 20,000 published files (T signed) with nothing to do: within 1.2x aws s3 sync, under 200 MiB",
                        f"{c[0] / sync[0]:.2f}x the time, {c[1] / 1024:.0f} MiB", ok))

# ---- verifying in place --------------------------------------------------------------
if any(k[0] == "verify-shaped" for k in med):
    lines += [f"## Verifying W where it is published{from_previous('verify')}", "",
              f"W with its signatures, published by copier to s3s-fs behind the S3-shaped proxy ({shape}). \"verify in place\":",
              "`signer verify s3://` checks every object's signature and SHA-256 as it streams from GetObject, the prefix listed,",
              "nothing written to disk. \"aws s3 cp --recursive\": the AWS CLI at its defaults downloads the release to disk and",
              "verifies nothing.", "",
              "| | tool | median s | MiB/s | client CPU s/GiB | peak RSS MiB |", "|---|---|---:|---:|---:|---:|"]
    gib = MIB["W-signed"] / 1024
    for name, tool in (("verify in place", "signer verify"), ("download only", "aws s3 cp --recursive")):
        if ("verify-shaped", "W", tool) in med:
            s, rss, cpu, _server, _n = med[("verify-shaped", "W", tool)]
            lines.append(f"| {name} | {tool} | {s:.2f} | {MIB['W-signed'] / s:.0f} | {cpu / gib:.2f} | {rss / 1024:.1f} |")
    lines.append("")
    v, cp = med.get(("verify-shaped", "W", "signer verify")), med.get(("verify-shaped", "W", "aws s3 cp --recursive"))
    if v and cp:
        targets.append(("verify W in place on the S3-shaped server at least as fast as aws s3 cp --recursive alone",
                        f"{cp[0] / v[0]:.2f}x", v[0] <= cp[0]))

# ---- the pipeline --------------------------------------------------------------------
DESIGNS = ("reference", "relsign-today", "relsign-batch")
ACTION_STEPS = ("sign_inputs", "sign_run", "sign_output", "copy_inputs", "copy_run")


def actions_median(wl, design):
    """The Sign and Copy stages alone: each run's five steps added up, then the median."""
    per_step = [rows.get(("pipeline-step", f"{wl}:{design}", step), []) for step in ACTION_STEPS]
    if not all(per_step):
        return None
    return median(sum(step[i][0] for step in per_step) for i in range(min(len(s) for s in per_step)))


def ratio(base, new):
    return f"{base / new:.2f}x" if base and new else ""


for wl, builds in (("W4", 4), ("W12", 12)):
    designs = [d for d in DESIGNS if ("pipeline", wl, d) in med]
    if not designs:
        continue
    lines += ([""] if lines[-1] else []) + [f"## The pipeline, W over {builds} builds: build outputs ready to release published and verified{from_previous('pipeline')}", "",
              "Each action as CodePipeline and CodeBuild run it: its inputs downloaded from the artifact bucket and unzipped,",
              "its commands, its output zipped and uploaded; the artifact bucket and the release bucket on the S3-shaped server.",
              "relsign-batch is the shipped template (one CodeBuild batch, combined artifacts, the hand-off); reference and",
              "relsign-today take one input per build, which CodePipeline refuses past four builds.",
              "\"Sign and Copy\" are the stages relsign ships, from the build outputs in the artifact bucket to the release",
              "published and verified (the targets). \"With the upload\" adds the end of the Build stage, the builds' outputs",
              "zipped and uploaded: one zip per build, all at once, for the others; for the batch its combined artifact as ONE",
              "zip made on one host, the slowest way (how CodeBuild makes it is not public; on CodeBuild each build of the",
              "batch runs on its own host, here all share two cores).", "",
              "| design | Sign and Copy s | over relsign-today | over the reference | with the upload s | over relsign-today | over the reference | client CPU s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    today, ref = med.get(("pipeline", wl, "relsign-today")), med.get(("pipeline", wl, "reference"))
    a_today, a_ref = actions_median(wl, "relsign-today"), actions_median(wl, "reference")
    for d in designs:
        s, _, cpu, _, _ = med[("pipeline", wl, d)]
        a = actions_median(wl, d)
        cells = [f"{a:.1f}" if a else "",
                 ratio(a_today, a) if d != "relsign-today" else "", ratio(a_ref, a) if d != "reference" else "",
                 f"{s:.1f}", ratio(today and today[0], s) if d != "relsign-today" else "",
                 ratio(ref and ref[0], s) if d != "reference" else "", f"{cpu:.1f}"]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    lines += ["", "Steps (median s):", "", "| design | step | median s | client CPU s |", "|---|---|---:|---:|"]
    for d in ["builds", "batch"] + designs:
        for (c, w, step), (s, _, cpu, _, _) in med.items():
            if c == "pipeline-step" and w == f"{wl}:{d}":
                who = {"builds": "one artifact per build", "batch": "the batch's combined artifact"}.get(d, d)
                lines.append(f"| {who} | {step} | {s:.2f} | {cpu:.2f} |")
    new = actions_median(wl, "relsign-batch")
    if a_today and new:
        targets.append((f"the Sign and Copy stages for W over {builds} builds at least 1.5x faster than relsign's before the batch", f"{a_today / new:.2f}x", a_today / new >= 1.5))
    if a_ref and new:
        targets.append((f"the Sign and Copy stages for W over {builds} builds at least 2x faster than the reference pipeline", f"{a_ref / new:.2f}x", a_ref / new >= 2))

lines += ["", "## Targets", "", "| target | measured | met |", "|---|---:|:---:|"]
lines += [f"| {t} | {m} | {'yes' if ok else 'NO'} |" for t, m, ok in targets]
analysis = os.path.join(os.path.dirname(out), "analysis.md")
if os.path.exists(analysis):
    lines += ["", open(analysis).read().rstrip()]
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
