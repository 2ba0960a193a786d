#!/usr/bin/env python3
"""The latency files of a real mnv2det run, against each other.

  check_latency.py --summary S.json --csv L.csv [--frames F.jsonl]
                   [--threads 1,2] [--headless yes|no]

S.json: the one-line JSON report (--bench --json on stdout, or --stats=json's
last stderr line). L.csv: --latency-log's file. F.jsonl: the
per-frame JSON lines of the same run (--json without --bench).

Checks: the CSV's header and rows (complete, newline-terminated); its runs
(one block of rows per run, in the report's order); in each row the
timestamps in the order a frame goes (captured <= dequeued <= taken <=
detect_start <= detect_end <= display_start <= presented); the counts
(captured = processed + dropped + unfinished, processed = the run's rows);
every stage's n, median, p90, p99 and max recomputed from the CSV by nearest
rank; and with F.jsonl, one JSON line per row: the same frames in the same
order with the same detection counts, drops, timings and latency.
Prints one FAIL line per problem; exit status 1 when there was any.
"""
import argparse
import csv
import io
import json
import math
import sys

FIELDS = ["threads", "seq", "captured_ms", "dequeued_ms", "taken_ms", "detect_start_ms",
          "detect_end_ms", "display_start_ms", "presented_ms", "preprocess_ms", "inference_ms",
          "postprocess_ms", "dropped", "skipped", "n_detections"]
STAGES = ["capture_to_dequeue", "mailbox_wait", "preprocess", "inference", "postprocess",
          "display", "end_to_end"]
# The CSV has 3 decimals: a timestamp is off by at most 0.0005 ms, a
# difference of two by 0.001 ms.
TOL = 0.0012

failures = []
checks = 0


def check(cond, msg):
    global checks
    checks += 1
    if not cond:
        failures.append(msg)
    return cond


def near(a, b, tol=TOL):
    return abs(a - b) <= tol + 1e-9 * max(abs(a), abs(b))


def nearest_rank(sorted_v, p):
    """The p-th percentile by nearest rank: the smallest value with at least
    p% of the values at or below it (an independent spelling of the rule)."""
    n = len(sorted_v)
    for k in range(1, n + 1):
        if k * 100 >= p * n:
            return sorted_v[k - 1]
    return sorted_v[-1]


def num(row, name):
    v = row[name]
    return float(v) if v != "" else None


def stage_values(row, headless):
    cap, deq, taken = num(row, "captured_ms"), num(row, "dequeued_ms"), num(row, "taken_ms")
    dend, pres = num(row, "detect_end_ms"), num(row, "presented_ms")
    out = {}
    if cap is not None and deq is not None:
        out["capture_to_dequeue"] = deq - cap
    if deq is not None and taken is not None:
        out["mailbox_wait"] = taken - deq
    for s in ("preprocess", "inference", "postprocess"):
        if row[s + "_ms"] != "":
            out[s] = float(row[s + "_ms"])
    if pres is not None and dend is not None:
        out["display"] = pres - dend
    if cap is not None:
        if pres is not None:
            out["end_to_end"] = pres - cap
        elif headless and dend is not None:
            out["end_to_end"] = dend - cap
    return out


def read_csv(path):
    raw = open(path, "rb").read()
    check(raw.endswith(b"\n"), f"{path}: does not end with a newline")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    with open(path, newline="") as f:
        header = next(csv.reader(f), [])
    check(header == FIELDS, f"{path}: header {header}")
    for i, r in enumerate(rows):
        if not check(None not in r and all(r.get(k) is not None for k in FIELDS),
                     f"{path}: row {i + 2} has {len(r)} fields: {r}"):
            raise SystemExit(report())
    return rows


def split_runs(rows):
    """Blocks of rows, one per run: a run's frame numbers only grow, and the
    next run starts again from its source's first frame (or another team)."""
    runs = []
    for r in rows:
        seq, threads = int(r["seq"]), int(r["threads"])
        if not runs or threads != int(runs[-1][-1]["threads"]) or seq <= int(runs[-1][-1]["seq"]):
            runs.append([])
        runs[-1].append(r)
    return runs


def check_run(k, run, rows):
    where = f"run {k} ({run['threads']} threads)"
    fr = run["frames"]
    headless = run["headless"]
    check(fr["captured"] == fr["processed"] + fr["dropped"] + fr["unfinished"],
          f"{where}: captured {fr['captured']} != processed {fr['processed']} + dropped "
          f"{fr['dropped']} + unfinished {fr['unfinished']}")
    check(fr["processed"] == len(rows), f"{where}: processed {fr['processed']} but {len(rows)} CSV rows")
    check(all(int(r["threads"]) == run["threads"] for r in rows), f"{where}: CSV threads column differs")
    prev_dropped = 0
    for r in rows:
        seq = r["seq"]
        order = ["captured_ms", "dequeued_ms", "taken_ms", "detect_start_ms", "detect_end_ms",
                 "display_start_ms", "presented_ms"]
        times = [(name, num(r, name)) for name in order]
        for name, v in times[:5]:
            check(v is not None, f"{where} frame {seq}: {name} is empty")
        present = [(n, v) for n, v in times if v is not None]
        for (n1, a), (n2, b) in zip(present, present[1:]):
            check(a <= b, f"{where} frame {seq}: {n1} {a} > {n2} {b}")
        if headless:
            check(r["presented_ms"] == "", f"{where} frame {seq}: presented in a headless run")
        d = int(r["dropped"])
        check(d >= prev_dropped, f"{where} frame {seq}: drops went down from {prev_dropped} to {d}")
        prev_dropped = d
    if rows:
        check(prev_dropped <= fr["dropped"], f"{where}: a frame saw {prev_dropped} drops, the run {fr['dropped']}")
    values = {s: [] for s in STAGES}
    for r in rows:
        for s, v in stage_values(r, headless).items():
            values[s].append(v)
    for s in STAGES:
        got = run["stages"][s]
        v = sorted(values[s])
        check(got["n"] == len(v), f"{where} {s}: n {got['n']}, CSV has {len(v)}")
        if not v or got["n"] != len(v):
            continue
        for name, p in (("median", 50), ("p90", 90), ("p99", 99)):
            want = nearest_rank(v, p)
            check(near(got[name], want), f"{where} {s}: {name} {got[name]}, from the CSV {want}")
        check(near(got["max"], v[-1]), f"{where} {s}: max {got['max']}, CSV max {v[-1]}")
    if run["seconds"] > 0:
        check(near(run["detection_fps"], fr["processed"] / run["seconds"], 1e-6),
              f"{where}: detection_fps {run['detection_fps']} != processed / seconds")


def check_frames(path, rows):
    raw = open(path, "rb").read()
    check(raw == b"" or raw.endswith(b"\n"), f"{path}: last line unfinished")
    lines = raw.decode("utf-8").splitlines()
    objs = []
    for i, line in enumerate(lines):
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            check(False, f"{path}:{i + 1}: not JSON ({e}): {line[:120]}")
            return
    check(len(objs) == len(rows), f"{len(objs)} JSON lines, {len(rows)} CSV rows")
    check([o["frame"] for o in objs] == [int(r["seq"]) for r in rows],
          "the JSON lines' frames are not the CSV's, in the same order")
    for o, r in zip(objs, rows):
        f = o["frame"]
        check(len(o["detections"]) == int(r["n_detections"]),
              f"frame {f}: {len(o['detections'])} detections in JSON, {r['n_detections']} in the CSV")
        check(o["dropped"] == int(r["dropped"]), f"frame {f}: dropped {o['dropped']} vs {r['dropped']}")
        for s in ("preprocess", "inference", "postprocess"):
            check(near(o["timing_ms"][s], float(r[s + "_ms"]), 0.0011),
                  f"frame {f}: {s} {o['timing_ms'][s]} vs CSV {r[s + '_ms']}")
        lat = float(r["detect_end_ms"]) - float(r["captured_ms"])
        check(near(o["latency_ms"], lat, 0.0016), f"frame {f}: latency_ms {o['latency_ms']} vs CSV {lat}")


def report():
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    print(f"check_latency: {checks} checks, {len(failures)} failed")
    return 1 if failures or checks == 0 else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--summary", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--frames")
    ap.add_argument("--threads", help="the team sizes the runs must have, in order, e.g. 1,2")
    ap.add_argument("--headless", choices=["yes", "no"])
    a = ap.parse_args()
    summary = json.loads(open(a.summary).read())
    runs = summary["runs"]
    rows = read_csv(a.csv)
    blocks = split_runs(rows)
    if a.threads:
        want = [int(t) for t in a.threads.split(",")]
        check([r["threads"] for r in runs] == want, f"runs of {[r['threads'] for r in runs]} threads, want {want}")
    if a.headless:
        check(all(r["headless"] == (a.headless == "yes") for r in runs), f"headless flags {[r['headless'] for r in runs]}")
    # A run with no processed frame has no rows: match blocks to runs by count.
    nonempty = [r for r in runs if r["frames"]["processed"] > 0]
    if check(len(blocks) == len(nonempty), f"{len(blocks)} runs in the CSV, {len(nonempty)} in the report"):
        for k, (run, block) in enumerate(zip(nonempty, blocks)):
            check_run(k, run, block)
    if a.frames:
        check_frames(a.frames, rows)
    return report()


if __name__ == "__main__":
    sys.exit(main())
