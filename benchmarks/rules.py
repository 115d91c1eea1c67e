"""All compliance rules over the province sample and the national-scale sample.

    .venv/bin/python benchmarks/rules.py [--national /tmp/national.db] [--province /tmp/hatang_province.db]
        [--runs 3] [--national-runs 1] [--row-by-row] [--only province|national]

Targets (issue 6): evaluating every rule in under 1 s for a province and under 10 s nationally.
The databases are copied first, afresh for every run (the check writes findings), and opened
once before timing (an old schema is upgraded then). Printed per database:
- evaluate: reading the frames and evaluating every rule, what the target is about;
- first check: evaluate and store every finding (all new: one insert, one change-log row and one
  R*Tree entry each, written set-wise), beside the evaluation alone measured in the same run;
- with --row-by-row, the first check stored row by row through the triggers (the path before);
- re-run: evaluate and reconcile with nothing changed (the steady state of a re-check);
- reference: the same run with the spatial predicates answered by a pairwise distance matrix on a
  sample of the records, scaled up, to show what the STRtree saves.
Timings are noisy: other jobs share the machine's 2 CPUs; the CPU time of this process and its
forked readers is printed beside the wall time as the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hatang_desktop.core.rules import load_rules, run_check  # noqa: E402
from hatang_desktop.core.rules.engine import evaluate  # noqa: E402
from hatang_desktop.core.rules.records import distance_m, read_frame  # noqa: E402
from hatang_desktop.core.rules.store import reconcile  # noqa: E402
from hatang_desktop.core.storage.database import Database  # noqa: E402

TARGETS = {"province": 1.0, "national": 10.0}


def _pairwise_reference(db: Database, sample: int = 4000) -> float:
    """Seconds a pairwise "pole within 5 m of a pole" test would take on all poles, measured on a
    sample and scaled by n^2 (what the STRtree avoids)."""
    poles = read_frame(db, "poles", set())
    n = len(poles)
    k = min(sample, n)
    lon, lat = poles["_lon"].to_numpy()[:k], poles["_lat"].to_numpy()[:k]
    t0 = time.perf_counter()
    for i in range(0, k, 500):
        d = distance_m(lon[i:i + 500, None], lat[i:i + 500, None], lon[None, :], lat[None, :])
        (d < 5).any(axis=1)
    return (time.perf_counter() - t0) * (n / k) ** 2


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the forked readers of
    rules/frames_apart.py are waited for before the evaluation goes on)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(fn):
    w, c = time.perf_counter(), _cpu()
    out = fn()
    return out, time.perf_counter() - w, _cpu() - c


def _fresh_copy(source: Path, work: Path) -> None:
    shutil.copyfile(source, work)
    for suffix in ("-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    # Write the copy out before timing: otherwise the kernel flushes ~1 GB of dirty pages while
    # the rules read, and the wall time measures the disk, not the rules.
    os.sync()


def _machine_yardstick() -> float:
    """Seconds for ten million additions in a Python loop, best of 3: how fast this machine
    runs Python right now (0.45-0.5 s on an idle 2-core machine of this project; the shared
    machines have taken up to 1.6 s), printed so the absolute figures can be read against it."""
    best = float("inf")
    for _ in range(3):
        t0, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best


def _line(label: str, best: dict, key: str, extra: str = "") -> str:
    wall, cpu, load = best[key]
    return f"  {label:44s} {wall:6.2f} s wall {cpu:6.2f} s CPU  (load {load:4.1f}){extra}"


def bench(name: str, source: Path, work: Path, runs: int, row_by_row: bool) -> None:
    """Best of `runs` of: the rules evaluated alone (the reference), a first check storing every
    finding on a fresh copy, and a re-run with nothing changed, alternating in each run; with
    `row_by_row` also a first check storing row by row through the triggers (the path before
    set-wise storing), on a fresh copy of its own."""
    if not source.exists():
        print(f"{name}: {source} is missing; make it with `hatang sample --province all` first")
        return
    rules = load_rules()
    selected = list(rules)
    best: dict[str, tuple[float, float, float]] = {}

    def keep(key: str, wall: float, cpu: float) -> None:
        if key not in best or wall < best[key][0]:
            best[key] = (wall, cpu, os.getloadavg()[0])

    first = again = ev = None
    for _ in range(runs):
        _fresh_copy(source, work)
        with Database.open(work) as db:  # upgrades an old schema here, outside the timings
            if first is None:
                with db.session() as s:
                    counts = {t: s.connection().exec_driver_sql(f"SELECT count(*) FROM {t} WHERE deleted = 0").scalar()
                              for t in ("sites", "poles", "pole_attachments", "fibre_routes")}
                print(f"\n{name}: {source} ({', '.join(f'{k} {v:,}' for k, v in counts.items())})")
            ev, wall, cpu = _timed(lambda: evaluate(db, selected))
            keep("evaluate", wall, cpu)
            first, wall, cpu = _timed(lambda: run_check(db, rules=rules))
            keep("first", wall, cpu)
            again, wall, cpu = _timed(lambda: run_check(db, rules=rules))
            keep("again", wall, cpu)
        if row_by_row:
            _fresh_copy(source, work)
            with Database.open(work) as db:
                def careful():
                    return reconcile(db, evaluate(db, selected), selected, setwise=False)
                _out, wall, cpu = _timed(careful)
                keep("row_by_row", wall, cpu)
    print(f"  machine yardstick (10 M additions in a Python loop, best of 3): {_machine_yardstick():.2f} s")
    slowest = sorted(ev.seconds.items(), key=lambda kv: -kv[1])[:3]
    target = TARGETS[name]
    print(f"  best of {runs}, one after the other in each run; load = 1-minute load average after the step")
    print(_line(f"evaluate {len(selected)} rules (reference)", best, "evaluate",
                f"  reading {ev.read_seconds:.2f} s; {ev.total():,} breaches; slowest: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in slowest)
                + f"; target < {target:g} s {'met' if best['evaluate'][0] < target else 'NOT met'}"))
    print(_line("first check (evaluate + store every finding)", best, "first",
                f"  {first.changes.new:,} new findings; store {first.seconds['store']:.2f} s; "
                f"{best['first'][0] / best['evaluate'][0]:.1f}x the evaluation"))
    if "row_by_row" in best:
        print(_line("first check, stored row by row (before)", best, "row_by_row",
                    f"  {best['row_by_row'][0] / best['first'][0]:.1f}x the set-wise first check"))
    print(_line("re-run, nothing changed", best, "again",
                f"  {again.changes.unchanged:,} unchanged, {again.changes.new} new, {again.changes.resolved} resolved; "
                f"{best['again'][0] / best['evaluate'][0]:.1f}x the evaluation"))
    with Database.open(work) as db:
        ref = _pairwise_reference(db)
    print(f"  reference: pairwise 5 m pole test without an index ~{ref:,.1f} s (scaled from a "
          f"sample) against the STRtree's {ev.seconds.get('new_pole_beside_shared_pole', np.nan):.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--province", default="/tmp/hatang_province.db")
    ap.add_argument("--national", default="/tmp/national.db")
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--runs", type=int, default=3, help="runs on the province (best of)")
    ap.add_argument("--national-runs", type=int, default=1, help="runs on the national copy (best of)")
    ap.add_argument("--row-by-row", action="store_true",
                    help="also time a first check stored row by row through the triggers (slow nationally)")
    ap.add_argument("--only", choices=("province", "national"))
    args = ap.parse_args()
    work = Path(args.workdir)
    if args.only != "national":
        bench("province", Path(args.province), work / "rules_bench_province.db", args.runs, args.row_by_row)
    if args.only != "province":
        bench("national", Path(args.national), work / "rules_bench_national.db", args.national_runs,
              args.row_by_row)
    print("\nTimings are noisy: other jobs share the machine's 2 CPUs.")


if __name__ == "__main__":
    main()
