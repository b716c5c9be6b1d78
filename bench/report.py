#!/usr/bin/env python3
"""report.py: the benchmark's report, from the measurements bench/run.sh recorded.

Reads RAW/meta.tsv (versions, settings), RAW/datasets.tsv (each source database: name, kind,
scale, size, tables, rows), RAW/runs.tsv (one line per timed run: dataset, section, contender,
jobs, round, seconds, phases, pgsluice's JSON report, throughput samples, the CPU seconds both
servers spent in the run) and the files these name. Writes:

  - the table on stdout: per contender the median wall time over the rounds, min, max, MB/s,
    the ratio to the peer (pgcopydb for a clone, the server-side hashing for a verification)
    and to the floor; the servers' CPU per contender, and the least wall time it allows on the
    machine's cores; pgsluice's CPU seconds per GB moved and peak RSS; the targets, PASS/FAIL;
  - RESULTS/NAME.json with the machine, the versions, the settings, every round and the
    targets, and RESULTS/NAME.png (gnuplot): bars of wall time per contender and pgsluice's
    throughput over its runs; both also copied to latest[-MODE].json and .png.

MB is 2^20 bytes and GB 2^30. MB/s divides the same number of bytes for every contender of a
dataset: the size of the COPY (FORMAT binary) stream that pgsluice moved (its JSON "bytes").

Usage: report.py --mode standard|shapes|scaling --raw DIR --results DIR --name NAME
                 [--started EPOCH]
       report.py --redraw RESULTS.json       (draws RESULTS.png again from the JSON)
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

MB = 1 << 20
GB = 1 << 30

CLONE = [  # contender, label, role
    ("pgsluice", "pgsluice clone", "subject"),
    ("pgcopydb", "pgcopydb clone", "peer"),
    ("pg_dump", "pg_dump -Fd + pg_restore", "other"),
    ("spill", "pgsluice dump + restore", "other"),
    ("spillclone", "pgsluice clone --spill", "other"),
    ("floor", "target-side floor", "floor"),
]
VERIFY = [
    ("verify", "pgsluice verify", "subject"),
    ("hashing", "server-side hashing", "peer"),
    ("readfloor", "read floor", "floor"),
]

# The targets of issue 3, on the standard database (SCALE 30) with --jobs 2.
TARGET_CLONE_VS_PEER = 0.6
TARGET_CLONE_VS_FLOOR = 1.3
TARGET_VERIFY_VS_PEER = 0.6
TARGET_VERIFY_VS_FLOOR = 2.0
TARGET_CPU_PER_GB = 0.5
TARGET_GROWTH_100_30 = 3.6


def read_tsv(path, width):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) < width:
                fields += [""] * (width - len(fields))
            rows.append(fields)
    return rows


def seconds_by_name(text):
    """{"a": 1.5, "b": 2.0} from "a=1.5,b=2.0" ("-" or "": {})."""
    return dict((p.split("=", 1)[0], float(p.split("=", 1)[1])) for p in text.split(",") if "=" in p)


def load_json(path):
    if not path or path == "-" or not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def machine():
    info = {"nproc": os.cpu_count(), "kernel": platform.release(), "arch": platform.machine()}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["memory_bytes"] = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    info["os"] = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return info


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(value, spec, none="-"):
    return none if value is None else format(value, spec)


def throughput(samples_path):
    """[[seconds since start, target database MB, MB/s]] from the sampler's lines."""
    points = []
    if not samples_path or samples_path == "-" or not os.path.exists(samples_path):
        return points
    with open(samples_path, encoding="utf-8") as f:
        for line in f:
            fields = line.split("\t")
            if len(fields) < 3:
                continue
            try:
                points.append((float(fields[0]), int(fields[1]), int(fields[2])))
            except ValueError:
                continue
    if len(points) < 2:
        return []
    start = points[0][0]
    series = []
    for i, (t, size, _) in enumerate(points):
        # centred difference over about one second, so that 0.5 s jitter does not show
        lo, hi = points[max(0, i - 1)], points[min(len(points) - 1, i + 1)]
        rate = (hi[1] - lo[1]) / MB / (hi[0] - lo[0]) if hi[0] > lo[0] else 0.0
        series.append([round(t - start, 3), round(size / MB, 1), round(max(rate, 0.0), 1)])
    return series


def summarise(dataset, runs):
    """Per contender of one dataset: rounds, median, min, max, MB/s, ratios; pgsluice's costs."""
    mine = [r for r in runs if r["dataset"] == dataset["name"]]
    pgsluice_runs = [r for r in mine if r["contender"] == "pgsluice" and r["report"] and r["status"] == "ok"]
    copy_bytes = None
    rows = None
    # the bytes pgsluice read from the source, also from a run whose copy was then found wrong
    sized = pgsluice_runs or [r for r in mine if r["contender"] == "pgsluice" and r["report"]]
    if sized:
        copy_bytes = int(statistics.median(r["report"]["bytes"] for r in sized))
        rows = int(statistics.median(r["report"]["rows"] for r in sized))
    dataset["copy_bytes"] = copy_bytes
    dataset["rows"] = rows

    for section, contenders in (("clone", CLONE), ("verify", VERIFY)):
        entries = []
        for name, label, role in contenders:
            these = sorted((r for r in mine if r["section"] == section and r["contender"] == name),
                           key=lambda r: r["round"])
            if not these:
                entry = {"contender": name, "label": label, "role": role, "measured": False}
                if name == "verify":
                    entry["note"] = "pgsluice verify is not available in this build (pgsluice verify --help fails)"
                entries.append(entry)
                continue
            bad = ["%s in round %d" % ("wrong result" if r["status"] == "wrong" else "failed", r["round"])
                   for r in these if r["status"] != "ok"]
            these_ok = [r for r in these if r["status"] == "ok"]
            entry = {
                "contender": name, "label": label, "role": role, "measured": True,
                "jobs": these[0]["jobs"],
                "rounds_seconds": [r["seconds"] for r in these],
                "rounds_status": [r["status"] for r in these],
            }
            if bad:
                # a wrong copy or a failure: no median, no ratio; it cannot win
                entry.update({"measured": False, "disqualified": True,
                              "note": "DISQUALIFIED: " + ", ".join(bad)})
                entries.append(entry)
                continue
            seconds = [r["seconds"] for r in these_ok]
            entry.update({
                "disqualified": False,
                "median_seconds": statistics.median(seconds),
                "min_seconds": min(seconds),
                "max_seconds": max(seconds),
            })
            phases = {}
            for r in these:
                for key, value in r["phases"].items():
                    phases.setdefault(key, []).append(value)
            if name == "pgsluice":
                for r in these:
                    if r["report"]:
                        for key, value in r["report"]["seconds"].items():
                            phases.setdefault(key, []).append(value)
            if phases:
                entry["median_phase_seconds"] = {k: statistics.median(v) for k, v in phases.items()}
            if name in ("spill", "pg_dump") and copy_bytes and phases.get("dump") and phases.get("restore"):
                # the spill path: dump and restore speed over the same COPY bytes, and the dump's size
                dumped = [r["report"]["dump_bytes"] for r in these_ok if r["report"]]
                entry["dump_mb_per_second"] = copy_bytes / MB / statistics.median(phases["dump"])
                entry["restore_mb_per_second"] = copy_bytes / MB / statistics.median(phases["restore"])
                if dumped:
                    entry["dump_bytes"] = int(statistics.median(dumped))
                    entry["compression_ratio"] = copy_bytes / entry["dump_bytes"]
            cpu = [r["server_cpu"] for r in these_ok if r["server_cpu"]]
            if cpu:
                # the least wall time the servers' own work allows on this machine's cores
                total = statistics.median(c.get("source", 0) + c.get("target", 0) for c in cpu)
                entry["server_cpu_seconds"] = {
                    "source": statistics.median(c.get("source", 0) for c in cpu),
                    "target": statistics.median(c.get("target", 0) for c in cpu),
                    "total": total,
                }
                entry["server_bound_cores"] = os.cpu_count() or 1
                entry["server_bound_seconds"] = total / entry["server_bound_cores"]
            entry["mb_per_second"] = (copy_bytes / MB / entry["median_seconds"]
                                      if copy_bytes and entry["median_seconds"] > 0 else None)
            entries.append(entry)
        by_role = {e["role"]: e for e in entries if e["measured"]}
        for e in entries:
            if not e["measured"]:
                continue
            peer = by_role.get("peer")
            floor = by_role.get("floor")
            e["ratio_to_peer"] = ratio(e["median_seconds"], peer and peer["median_seconds"])
            e["ratio_to_floor"] = ratio(e["median_seconds"], floor and floor["median_seconds"])
            e["server_bound_ratio_to_peer"] = ratio(e.get("server_bound_seconds"), peer and peer["median_seconds"])
        dataset[section] = entries
        dataset[section + "_ratios"] = {
            "ratio_to_peer": "median time over %s's" % ("pgcopydb clone" if section == "clone"
                                                         else "the server-side hashing"),
            "ratio_to_floor": "median time over %s's" % ("the target-side floor" if section == "clone"
                                                          else "the read floor"),
        }

    cost = None
    if pgsluice_runs:
        per_gb = []
        for r in pgsluice_runs:
            rep = r["report"]
            if rep.get("bytes"):
                per_gb.append((rep.get("cpu_user_seconds", 0) + rep.get("cpu_system_seconds", 0))
                              / (rep["bytes"] / GB))
        cost = {
            "cpu_seconds_per_gb": statistics.median(per_gb) if per_gb else None,
            "cpu_user_seconds": [r["report"].get("cpu_user_seconds") for r in pgsluice_runs],
            "cpu_system_seconds": [r["report"].get("cpu_system_seconds") for r in pgsluice_runs],
            "max_rss_kb": max(r["report"].get("max_rss_kb", 0) for r in pgsluice_runs),
            "io": pgsluice_runs[0]["report"].get("io"),
            "chunk_size": pgsluice_runs[0]["report"].get("chunk_size"),
        }
    dataset["pgsluice"] = cost
    plans = [r for r in mine if r["contender"] == "plan" and r["status"] == "ok" and r["report"]]
    clones = [r for r in mine if r["contender"] == "pgsluice" and r["section"] == "clone" and r["status"] == "ok"]
    if plans and clones:
        def chunks(report):
            return {t["name"]: [c["where"] for c in t["chunks"]] for t in report["tables"]}
        estimate = plans[0]["seconds"]
        median = statistics.median(r["seconds"] for r in clones)
        dataset["plan"] = {
            "estimate_seconds": estimate,
            "clone_median_seconds": median,
            "clone_over_estimate": median / estimate if estimate > 0 else None,
            "same_chunks": all(r["report"] and chunks(r["report"]) == chunks(plans[0]["report"]) for r in clones),
            "chunks": sum(len(t["chunks"]) for t in plans[0]["report"]["tables"]),
        }
    verify_runs = [r for r in mine if r["contender"] == "verify" and r["report"] and r["status"] == "ok"]
    verify_cost = None
    if verify_runs and copy_bytes:
        verify_cost = {
            # per GB of the dataset (its COPY binary size), read once on each side
            "cpu_seconds_per_gb": statistics.median(
                (r["report"].get("cpu_user_seconds", 0) + r["report"].get("cpu_system_seconds", 0))
                / (copy_bytes / GB) for r in verify_runs),
            "cpu_user_seconds": [r["report"].get("cpu_user_seconds") for r in verify_runs],
            "cpu_system_seconds": [r["report"].get("cpu_system_seconds") for r in verify_runs],
            "max_rss_kb": max(r["report"].get("max_rss_kb", 0) for r in verify_runs),
            "bytes": [r["report"].get("bytes") for r in verify_runs],
            "chunks_checked": [r["report"].get("chunks_checked") for r in verify_runs],
        }
    dataset["pgsluice_verify"] = verify_cost
    dataset["pgsluice_throughput"] = [
        {"round": r["round"], "samples": throughput(r["samples"])}
        for r in sorted(pgsluice_runs, key=lambda r: r["round"])]
    return dataset


def target(name, value, limit, unit="x", note=None, strict=False):
    passed = None
    if value is not None:
        passed = value < limit if strict else value <= limit
    t = {"name": name, "limit": limit, "unit": unit, "value": value, "pass": passed}
    if note:
        t["note"] = note
    return t


def standard_targets(dataset, settings, results_dir):
    clone = {e["contender"]: e for e in dataset["clone"] if e["measured"]}
    verify = {e["contender"]: e for e in dataset["verify"] if e["measured"]}
    clone_dq = next((e["note"] for e in dataset["clone"] if e["contender"] == "pgsluice" and e.get("disqualified")), None)
    verify_dq = next((e["note"] for e in dataset["verify"] if e["contender"] == "verify" and e.get("disqualified")), None)
    no_verify = verify_dq or (None if "verify" in verify else "not measured: pgsluice verify is not available yet")
    peer_dq = next((e["note"] for e in dataset["clone"] if e["contender"] == "pgcopydb" and e.get("disqualified")), None)
    floor_dq = next((e["note"] for e in dataset["clone"] if e["contender"] == "floor" and e.get("disqualified")), None)
    def bound_note(entry, peer):
        if entry.get("server_bound_ratio_to_peer") is None:
            return None
        return "the servers' own CPU in these runs allows no less than %.2fx %s's time" % (
            entry["server_bound_ratio_to_peer"], peer)

    targets = [
        target("pgsluice clone <= 0.6x pgcopydb's wall time",
               clone.get("pgsluice", {}).get("ratio_to_peer"), TARGET_CLONE_VS_PEER,
               note=clone_dq or (peer_dq and "pgcopydb clone: " + peer_dq)
               or bound_note(clone.get("pgsluice", {}), "pgcopydb")),
        target("pgsluice clone <= 1.3x the target-side floor",
               clone.get("pgsluice", {}).get("ratio_to_floor"), TARGET_CLONE_VS_FLOOR,
               note=clone_dq or (floor_dq and "target-side floor: " + floor_dq)),
        target("pgsluice verify <= 0.6x the server-side hashing",
               verify.get("verify", {}).get("ratio_to_peer"), TARGET_VERIFY_VS_PEER,
               note=no_verify or bound_note(verify.get("verify", {}), "the hashing")),
        target("pgsluice verify <= 2x the read floor",
               verify.get("verify", {}).get("ratio_to_floor"), TARGET_VERIFY_VS_FLOOR, note=no_verify),
        target("pgsluice CPU < 0.5 s per GB moved",
               (dataset.get("pgsluice") or {}).get("cpu_seconds_per_gb"), TARGET_CPU_PER_GB,
               unit="s/GB", strict=True, note=clone_dq),
    ]
    # a disqualified pgsluice misses its targets, whatever its times
    for t in targets:
        if (t["name"].startswith("pgsluice clone") or t["name"].startswith("pgsluice CPU")) and clone_dq:
            t["value"], t["pass"] = None, False
        if t["name"].startswith("pgsluice verify") and verify_dq:
            t["value"], t["pass"] = None, False
    # Linear growth is measured by the scaling run; quote its latest result.
    growth = None
    note = "not measured in this run: see bench/run.sh --scaling"
    scaling = load_json(os.path.join(results_dir, "latest-scaling.json"))
    if scaling:
        for t in scaling.get("targets", []):
            if t.get("name", "").startswith("SCALE 100"):
                growth = t.get("value")
                note = "from the scaling run of %s (%s)" % (scaling.get("date", "?"), scaling.get("name", "?"))
    targets.append(target("SCALE 100 clone within 3.6x of SCALE 30", growth, TARGET_GROWTH_100_30, note=note))
    if settings.get("scale") != 30 or settings.get("jobs") != 2:
        for t in targets:
            t["note"] = ((t.get("note") + "; ") if t.get("note") else "") + \
                "the targets are set for SCALE 30 with --jobs 2"
    return targets


def scaling_summary(datasets, runs, jobs):
    """Per (scale, jobs): pgsluice clone's times and costs; growth with size, speed-up with jobs."""
    configs = []
    for ds in datasets:
        for j in sorted({r["jobs"] for r in runs if r["dataset"] == ds["name"]}):
            every = sorted((r for r in runs if r["dataset"] == ds["name"] and r["jobs"] == j),
                           key=lambda r: r["round"])
            these = [r for r in every if r["status"] == "ok"]
            bad = ["%s in round %d" % ("wrong copy" if r["status"] == "wrong" else "failed", r["round"])
                   for r in every if r["status"] != "ok"]
            if bad or not these:
                configs.append({"dataset": ds["name"], "scale": ds["scale"], "jobs": j, "disqualified": True,
                                "note": "DISQUALIFIED: " + ", ".join(bad),
                                "rounds_seconds": [r["seconds"] for r in every],
                                "rounds_status": [r["status"] for r in every]})
                continue
            seconds = [r["seconds"] for r in these]
            reports = [r["report"] for r in these if r["report"]]
            copy_bytes = int(statistics.median(rep["bytes"] for rep in reports)) if reports else None
            per_gb = [(rep.get("cpu_user_seconds", 0) + rep.get("cpu_system_seconds", 0)) / (rep["bytes"] / GB)
                      for rep in reports if rep.get("bytes")]
            med = statistics.median(seconds)
            configs.append({
                "dataset": ds["name"], "scale": ds["scale"], "jobs": j, "disqualified": False,
                "database_bytes": ds["database_bytes"], "copy_bytes": copy_bytes,
                "rounds_seconds": seconds, "median_seconds": med,
                "min_seconds": min(seconds), "max_seconds": max(seconds),
                "mb_per_second": copy_bytes / MB / med if copy_bytes and med > 0 else None,
                "cpu_seconds_per_gb": statistics.median(per_gb) if per_gb else None,
                "max_rss_kb": max((rep.get("max_rss_kb", 0) for rep in reports), default=None),
                "median_phase_seconds": {
                    k: statistics.median(rep["seconds"][k] for rep in reports)
                    for k in (reports[0]["seconds"] if reports else {})},
                "throughput": [{"round": r["round"], "samples": throughput(r["samples"])} for r in these],
            })
    by = {(c["scale"], c["jobs"]): c for c in configs if not c["disqualified"]}
    for c in by.values():
        base = by.get((c["scale"], 1))
        c["speedup_vs_jobs_1"] = ratio(base and base["median_seconds"], c["median_seconds"])
        s30 = by.get((30, c["jobs"]))
        c["time_ratio_to_scale_30"] = ratio(c["median_seconds"], s30 and s30["median_seconds"])
        c["bytes_ratio_to_scale_30"] = ratio(c["copy_bytes"], s30 and s30["copy_bytes"])
    growth = None
    if (100, jobs) in by and (30, jobs) in by:
        growth = by[(100, jobs)]["median_seconds"] / by[(30, jobs)]["median_seconds"]
    note = None if growth is not None else "needs SCALE 30 and SCALE 100 with --jobs %d" % jobs
    targets = [target("SCALE 100 clone within 3.6x of SCALE 30 (--jobs %d)" % jobs, growth,
                      TARGET_GROWTH_100_30, note=note)]
    return configs, targets


# ---------------------------------------------------------------------------------------------
# The terminal table

def verdict(t):
    return "n/a " if t["pass"] is None else ("PASS" if t["pass"] else "FAIL")


def print_dataset(ds, out):
    size = ds["database_bytes"] / MB
    copy = ds["copy_bytes"] / MB if ds["copy_bytes"] else None
    out.write("\ndataset %s (%s, SCALE %d): %.0f MB on disk, %s MB as COPY binary, %s rows, %d tables\n"
              % (ds["name"], ds["kind"], ds["scale"], size, fmt(copy, ".0f"),
                 "{:,}".format(ds["rows"]) if ds["rows"] is not None else "-", ds["tables"]))
    for section, title, peer, floor in (("clone", "clone", "vs pgcopydb", "vs floor"),
                                        ("verify", "verify", "vs hashing", "vs floor")):
        out.write("\n  %-28s %9s %9s %9s %8s %12s %9s\n"
                  % (title, "median s", "min s", "max s", "MB/s", peer, floor))
        for e in ds[section]:
            if not e["measured"]:
                if e.get("disqualified"):
                    out.write("  %-28s %s (times: %s)\n" % (e["label"], e["note"], ", ".join(
                        "%.1f s %s" % (sec, st) for sec, st in zip(e["rounds_seconds"], e["rounds_status"]))))
                else:
                    out.write("  %-28s %s\n" % (e["label"], "not run: " + e.get("note", "not measured")))
                continue
            out.write("  %-28s %9.1f %9.1f %9.1f %8s %12s %9s\n"
                      % (e["label"], e["median_seconds"], e["min_seconds"], e["max_seconds"],
                         fmt(e["mb_per_second"], ".1f"),
                         fmt(e["ratio_to_peer"], ".2f") + "x" if e["ratio_to_peer"] is not None else "-",
                         fmt(e["ratio_to_floor"], ".2f") + "x" if e["ratio_to_floor"] is not None else "-"))
        if section == "clone" and ds.get("plan"):
            p = ds["plan"]
            out.write("    pgsluice plan: estimated %.1f s, pgsluice clone took %.1f s (%.2fx the estimate); "
                      "the clones used the plan's %d chunks: %s\n"
                      % (p["estimate_seconds"], p["clone_median_seconds"], p["clone_over_estimate"] or 0,
                         p["chunks"], "yes" if p["same_chunks"] else "NO"))
        cpu = [e for e in ds[section] if e["measured"] and e.get("server_cpu_seconds")]
        if cpu:
            out.write("    servers' CPU (median CPU s, source + target = total; the least wall time that allows on %d cores):\n"
                      % cpu[0]["server_bound_cores"])
            for e in cpu:
                c = e["server_cpu_seconds"]
                out.write("      %-26s %5.1f + %5.1f = %5.1f  ->  %.1f s (%s)\n" % (
                    e["label"], c["source"], c["target"], c["total"], e["server_bound_seconds"],
                    fmt(e["server_bound_ratio_to_peer"], ".2f") + "x " + ("pgcopydb" if section == "clone" else "hashing")
                    if e.get("server_bound_ratio_to_peer") is not None else "-"))
        for e in ds[section]:
            phases = e.get("median_phase_seconds")
            if e["measured"] and phases:
                out.write("    %s phases (median s): %s\n" % (
                    e["label"], ", ".join("%s %.1f" % (k, v) for k, v in phases.items() if k != "released")))
            if e["measured"] and phases and "read" in phases and phases.get("data"):
                out.write("    %s: every chunk read %.1f s into a data step of %.1f s (%.0f%%)%s\n" % (
                    e["label"], phases["read"], phases["data"], 100 * phases["read"] / phases["data"],
                    ": the source snapshot released then" if phases.get("released") else ""))
            if e["measured"] and e.get("dump_mb_per_second"):
                out.write("    %s: dump %.1f MB/s, restore %.1f MB/s%s\n" % (
                    e["label"], e["dump_mb_per_second"], e["restore_mb_per_second"],
                    ", files %.0f MB, %.2fx smaller than the COPY data" % (
                        e["dump_bytes"] / MB, e["compression_ratio"]) if e.get("dump_bytes") else ""))
    cost = ds.get("pgsluice")
    if cost:
        out.write("\n  pgsluice clone's own cost: %s CPU s per GB moved (user+system, median), peak RSS %.1f MB, io %s\n"
                  % (fmt(cost["cpu_seconds_per_gb"], ".2f"), cost["max_rss_kb"] / 1024, cost.get("io")))
    cost = ds.get("pgsluice_verify")
    if cost:
        out.write("  pgsluice verify's own cost: %s CPU s per GB verified (user+system, median), peak RSS %.1f MB\n"
                  % (fmt(cost["cpu_seconds_per_gb"], ".2f"), cost["max_rss_kb"] / 1024))


def print_header(doc, out):
    m = doc["machine"]
    v = doc["versions"]
    s = doc["settings"]
    out.write("\npgsluice benchmark (%s), %s\n" % (doc["mode"], doc["date"]))
    out.write("machine: %s, %d cores, %.1f GiB, Linux %s, %s\n"
              % (m.get("cpu_model", "?"), m.get("nproc", 0), m.get("memory_bytes", 0) / GB,
                 m.get("kernel", "?"), m.get("os", "?")))
    out.write("versions: %s; %s; %s\n" % (v.get("pgsluice"), v.get("postgresql"), v.get("pgcopydb")))
    out.write("settings: --scale %s --jobs %s --rounds %s; both clusters: %s\n"
              % (s["scale"], s["jobs"], s["rounds"], s["postgresql_conf_line"]))
    out.write("command: %s\n" % doc["command"])


def print_targets(targets, out):
    out.write("\ntargets\n")
    for t in targets:
        value = "-" if t["value"] is None else ("%.2f%s" % (t["value"], t["unit"] if t["unit"] == "x" else " " + t["unit"]))
        out.write("  %s  %-48s %12s%s\n" % (verdict(t), t["name"], value,
                                            ("   (" + t["note"] + ")") if t.get("note") else ""))


def print_scaling(configs, out):
    out.write("\n  %-6s %5s %9s %9s %9s %9s %8s %9s %9s %9s\n" % (
        "SCALE", "jobs", "COPY MB", "median s", "min s", "max s", "MB/s", "CPU s/GB", "vs S30", "speed-up"))
    for c in configs:
        if c["disqualified"]:
            out.write("  %-6d %5d %s\n" % (c["scale"], c["jobs"], c["note"]))
            continue
        out.write("  %-6d %5d %9s %9.1f %9.1f %9.1f %8s %9s %9s %9s\n" % (
            c["scale"], c["jobs"], fmt(c["copy_bytes"] and c["copy_bytes"] / MB, ".0f"),
            c["median_seconds"], c["min_seconds"], c["max_seconds"], fmt(c["mb_per_second"], ".1f"),
            fmt(c["cpu_seconds_per_gb"], ".2f"),
            fmt(c["time_ratio_to_scale_30"], ".2f") + "x" if c["time_ratio_to_scale_30"] else "-",
            fmt(c["speedup_vs_jobs_1"], ".2f") + "x" if c["speedup_vs_jobs_1"] else "-"))
    out.write("  (vs S30: wall time over SCALE 30's with the same jobs; speed-up: SCALE's jobs-1 time over this one)\n")


# ---------------------------------------------------------------------------------------------
# The picture (gnuplot, pngcairo)

def gp_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bars_plot(ds, tmp, tag):
    """Data and gnuplot commands for one dataset's bars of wall time (median, min to max)."""
    path = os.path.join(tmp, "bars-%s.dat" % tag)
    with open(path, "w", encoding="utf-8") as f:
        x = 0
        for section in ("clone", "verify"):
            for e in ds[section]:
                color = {"subject": 1, "peer": 2, "other": 3, "floor": 4}[e["role"]]
                if e["measured"]:
                    f.write("%d %s %.3f %.3f %.3f %d %s\n" % (
                        x, gp_quote(e["label"]), e["median_seconds"], e["min_seconds"], e["max_seconds"],
                        color, gp_quote("%.1f" % e["median_seconds"])))
                    x += 1
                elif e.get("disqualified"):
                    # no bar: a wrong copy has no time worth showing, only the verdict
                    f.write("%d %s 0 0 0 %d %s\n" % (x, gp_quote(e["label"]), color,
                                                      gp_quote("DISQUALIFIED")))
                    x += 1
            x += 1  # a gap between clone and verify
    return ("set style fill solid 0.8 border -1\n"
            "set boxwidth 0.7\n"
            "set xtics rotate by -30 nomirror font ',9'\n"
            "set ylabel 'wall time, s (median; bars: min to max)'\n"
            "set yrange [0:*]\nset offsets 0,0,graph 0.08,0\nset grid ytics\nunset key\n"
            "set palette defined (1 '#1b9e77', 2 '#d95f02', 3 '#7570b3', 4 '#888888')\n"
            "set cbrange [1:4]\nunset colorbox\n"
            "plot %s using 1:3:6:xtic(2) with boxes lc palette, "
            "'' using 1:3:4:5 with yerrorbars lc rgb 'black' pt 7 ps 0, "
            "'' using 1:5:7 with labels offset 0,0.8 font ',9'\n" % gp_quote(path))


def throughput_plot(series_by_round, tmp, tag, title):
    lines = []
    for item in series_by_round:
        if not item["samples"]:
            continue
        path = os.path.join(tmp, "tp-%s-r%d.dat" % (tag, item["round"]))
        with open(path, "w", encoding="utf-8") as f:
            for t, size_mb, rate in item["samples"]:
                f.write("%.3f %.1f %.1f\n" % (t, size_mb, rate))
        lines.append("%s using 1:3 with lines lw 2 lc %d title 'MB/s, round %d'"
                     % (gp_quote(path), item["round"], item["round"]))
        lines.append("%s using 1:2 axes x1y2 with lines dt 3 lc %d title 'database size, round %d'"
                     % (gp_quote(path), item["round"], item["round"]))
    if not lines:
        return ("unset xtics\nunset ytics\nunset border\nset label 1 'no samples' at graph 0.4,0.5\n"
                "plot [0:1][0:1] NaN notitle\nunset label 1\nset border\nset xtics\nset ytics\n")
    return ("set title %s\nset xlabel 'seconds since the start of pgsluice clone'\n"
            "set ylabel 'MB/s: growth of the target database, over 1 s'\nset yrange [0:*]\n"
            "set y2label 'target database size, MB (dotted)'\nset y2range [0:*]\nset y2tics\n"
            "set ytics nomirror\nset grid\nset key below horizontal font ',8'\nset bmargin 7\nplot %s\n"
            % (gp_quote(title), ", ".join(lines)))


def rounds_text(doc):
    n = doc["settings"]["rounds"]
    return "%d round%s" % (n, "" if n == 1 else "s")


def draw(doc, png_path):
    tmp = tempfile.mkdtemp(prefix="bench-plot.")
    try:
        script = ["set terminal pngcairo noenhanced size 1500,650 font 'DejaVu Sans,10'",
                  "set output %s" % gp_quote(png_path)]
        mode = doc["mode"]
        if mode == "standard":
            ds = doc["datasets"][0]
            script.append("set multiplot layout 1,2 title %s" % gp_quote(
                "pgsluice benchmark, %s dataset at SCALE %d, --jobs %d, %s (%s)"
                % (ds["name"], ds["scale"], doc["settings"]["jobs"], rounds_text(doc), doc["date"])))
            script.append("set title 'wall time per contender'")
            script.append(bars_plot(ds, tmp, "s"))
            script.append("set xtics norotate font ',10'\nset autoscale\nset offsets 0,0,0,0\nunset title")
            script.append(throughput_plot(ds["pgsluice_throughput"], tmp, "s",
                                          "pgsluice clone: target database growth"))
            script.append("unset multiplot")
        elif mode == "shapes":
            n = len(doc["datasets"])
            script[0] = "set terminal pngcairo noenhanced size %d,650 font 'DejaVu Sans,10'" % (520 * max(n, 1))
            script.append("set multiplot layout 1,%d title %s" % (max(n, 1), gp_quote(
                "pgsluice benchmark, shapes at SCALE %d, --jobs %d, %s (%s)"
                % (doc["settings"]["scale"], doc["settings"]["jobs"], rounds_text(doc), doc["date"]))))
            for i, ds in enumerate(doc["datasets"]):
                script.append("set title %s" % gp_quote("%s (%.0f MB)" % (ds["kind"], ds["database_bytes"] / MB)))
                script.append(bars_plot(ds, tmp, "shape%d" % i))
            script.append("unset multiplot")
        else:
            configs = doc["scaling"]
            jobs = doc["settings"]["jobs"]
            script.append("set multiplot layout 1,2 title %s" % gp_quote(
                "pgsluice clone scaling, %s (%s)" % (rounds_text(doc), doc["date"])))
            size_path = os.path.join(tmp, "size.dat")
            with open(size_path, "w", encoding="utf-8") as f:
                for c in configs:
                    if c["jobs"] == jobs and not c["disqualified"] and c["copy_bytes"]:
                        f.write("%.4f %.3f %.3f %.3f %d\n" % (c["copy_bytes"] / GB, c["median_seconds"],
                                                               c["min_seconds"], c["max_seconds"], c["scale"]))
            jobs_path = os.path.join(tmp, "jobs.dat")
            base = None
            with open(jobs_path, "w", encoding="utf-8") as f:
                same_scale = [c for c in configs if c["scale"] == doc["settings"]["scale"] and not c["disqualified"]]
                for c in sorted(same_scale, key=lambda c: c["jobs"]):
                    if c["jobs"] == 1:
                        base = c["median_seconds"]
                for c in sorted(same_scale, key=lambda c: c["jobs"]):
                    if base:
                        f.write("%d %.3f\n" % (c["jobs"], base / c["median_seconds"]))
            # the proportional line through the reference point (SCALE 30, else the smallest)
            sized = sorted((c for c in configs if c["jobs"] == jobs and not c["disqualified"] and c["copy_bytes"]),
                           key=lambda c: (c["scale"] != 30, c["scale"]))
            slope = sized[0]["median_seconds"] / (sized[0]["copy_bytes"] / GB) if sized else 0
            script.append("set title 'wall time against size (--jobs %d)'\n"
                          "set xlabel 'GB moved (COPY binary)'\nset ylabel 'wall time, s'\n"
                          "set xrange [0:*]\nset yrange [0:*]\nset grid\nset key top left\n"
                          "plot %s using 1:2:3:4 with yerrorlines lw 2 pt 7 title 'pgsluice clone', "
                          "'' using 1:2:(sprintf('SCALE %%d', $5)) with labels offset 0,1 notitle, "
                          "%.6f * x with lines dt 2 lc rgb 'grey' title 'proportional to SCALE %d'"
                          % (jobs, gp_quote(size_path), slope, sized[0]["scale"] if sized else 0))
            script.append("set title 'speed-up with workers (SCALE %d)'\nset xlabel '--jobs'\n"
                          "set ylabel 'speed-up over --jobs 1'\nset xrange [0.5:*]\nset yrange [0:*]\n"
                          "set xtics 1\nplot %s using 1:2 with linespoints lw 2 pt 7 title 'pgsluice clone', "
                          "x with lines dt 2 lc rgb 'grey' title 'linear'"
                          % (doc["settings"]["scale"], gp_quote(jobs_path)))
            script.append("unset multiplot")
        script_path = os.path.join(tmp, "plot.gp")
        with open(script_path, "w", encoding="utf-8") as f:
            f.write("\n".join(script) + "\n")
        result = subprocess.run(["gnuplot", script_path], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.stderr.write("report: gnuplot failed:\n%s" % result.stderr)
            return False
        return True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mode", choices=("standard", "shapes", "scaling"))
    parser.add_argument("--raw")
    parser.add_argument("--results")
    parser.add_argument("--name")
    parser.add_argument("--started", type=float)
    parser.add_argument("--redraw", metavar="JSON", help="draw the PNG of a results JSON again, beside it")
    args = parser.parse_args()
    if args.redraw:
        doc = load_json(args.redraw)
        return 0 if draw(doc, os.path.splitext(args.redraw)[0] + ".png") else 1
    if not (args.mode and args.raw and args.results and args.name):
        parser.error("--mode, --raw, --results and --name are needed (or --redraw JSON)")

    meta = dict((k, v) for k, v in read_tsv(os.path.join(args.raw, "meta.tsv"), 2))
    datasets = []
    for name, kind, scale, db_bytes, tables, _ in read_tsv(os.path.join(args.raw, "datasets.tsv"), 6):
        datasets.append({"name": name, "kind": kind, "scale": int(scale),
                         "database_bytes": int(db_bytes), "tables": int(tables)})
    runs = []
    for ds, section, contender, jobs, rnd, seconds, status, phases, json_path, samples, cpu in \
            read_tsv(os.path.join(args.raw, "runs.tsv"), 11):
        runs.append({
            "dataset": ds, "section": section, "contender": contender, "jobs": int(jobs),
            "round": int(rnd), "seconds": float(seconds), "status": status,
            "phases": seconds_by_name(phases),
            "report": load_json(json_path), "samples": samples,
            "server_cpu": seconds_by_name(cpu),
        })
    if not runs:
        sys.stderr.write("report: no runs recorded in %s\n" % args.raw)
        return 1

    conf = {}
    for item in meta.get("postgresql_conf", "").split():
        key, _, value = item.partition("=")
        conf[key] = value
    settings = {
        "scale": int(meta.get("scale", 0)), "jobs": int(meta.get("jobs", 0)),
        "rounds": int(meta.get("rounds", 0)),
        "postgresql_conf": conf, "postgresql_conf_line": meta.get("postgresql_conf", ""),
        "postgresql_conf_note": "the same for the source and the target cluster, both on this machine, "
                                "Unix sockets; PostgreSQL's defaults otherwise (full_page_writes on)",
        "contenders": {
            "pgsluice": meta.get("pgsluice_options"),
            "pgcopydb": meta.get("pgcopydb_options"),
            "pg_dump": meta.get("pg_dump_options"),
            "spill": meta.get("spill_options"),
            "spillclone": meta.get("spillclone_options"),
            "floor": meta.get("floor_method"),
            "hashing": meta.get("hashing_method"),
            "readfloor": meta.get("readfloor_method"),
            "verify": meta.get("verify_options") if meta.get("verify_available") == "1"
                      else "not available in this build",
        },
        "checked_by": "tests/integration/compare.sh after every clone: per table row count and "
                      "order-independent digest of the rows' text, and every sequence",
    }
    if args.mode == "scaling":
        settings["scaling_scales"] = [int(x) for x in meta.get("scaling_scales", "").split()]
        settings["scaling_jobs"] = [int(x) for x in meta.get("scaling_jobs", "").split()]
    if args.mode == "shapes":
        settings["many_tables"] = int(meta.get("many_tables", 0))
    now = datetime.datetime.now(datetime.timezone.utc)
    doc = {
        "benchmark": "pgsluice bench/run.sh",
        "mode": args.mode,
        "name": args.name,
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "command": meta.get("command"),
        "duration_seconds": round(time.time() - args.started, 1) if args.started else None,
        "machine": machine(),
        "versions": {
            "pgsluice": meta.get("pgsluice_version"),
            "postgresql": meta.get("postgresql_version"),
            "pg_dump": meta.get("pg_dump_version"),
            "pgcopydb": meta.get("pgcopydb_version"),
            "gnuplot": meta.get("gnuplot_version"),
        },
        "settings": settings,
        "units": {"MB": 1048576, "GB": 1073741824,
                  "mb_per_second": "COPY (FORMAT binary) bytes that pgsluice moved, divided by the contender's wall time"},
    }

    out = sys.stdout
    os.makedirs(args.results, exist_ok=True)
    if args.mode in ("standard", "shapes"):
        doc["datasets"] = [summarise(ds, runs) for ds in datasets]
        if args.mode == "standard":
            doc["targets"] = standard_targets(doc["datasets"][0], settings, args.results)
        print_header(doc, out)
        for ds in doc["datasets"]:
            print_dataset(ds, out)
        if args.mode == "standard":
            print_targets(doc["targets"], out)
    else:
        doc["datasets"] = datasets
        doc["scaling"], doc["targets"] = scaling_summary(datasets, runs, settings["jobs"])
        print_header(doc, out)
        print_scaling(doc["scaling"], out)
        print_targets(doc["targets"], out)

    latest = {"standard": "latest", "shapes": "latest-shapes", "scaling": "latest-scaling"}[args.mode]
    json_path = os.path.join(args.results, args.name + ".json")
    png_path = os.path.join(args.results, args.name + ".png")
    with open(json_path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(json_path + ".tmp", json_path)
    shutil.copyfile(json_path, os.path.join(args.results, latest + ".json"))
    drawn = draw(doc, png_path)
    if drawn:
        shutil.copyfile(png_path, os.path.join(args.results, latest + ".png"))
    shown = os.path.relpath(args.results)
    if shown.startswith(".."):
        shown = os.path.abspath(args.results)
    out.write("\nresults: %s/%s.json%s (and %s.json%s)\n" % (
        shown, args.name, (", %s.png" % args.name) if drawn else "", latest, ", .png" if drawn else ""))
    return 0 if drawn else 1


if __name__ == "__main__":
    sys.exit(main())
