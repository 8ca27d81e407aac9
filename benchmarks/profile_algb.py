"""Profile one algb solve: CPU and wall seconds per part (first bushes, searches with
bush updates, sweeps), iterations, gap, peak RSS and the load average.

    PYTHONPATH=$PWD nice -n 10 python benchmarks/profile_algb.py --case Sydney --gap 1e-6
    PYTHONPATH=$PWD python benchmarks/profile_algb.py --case Berlin-Center --gap 1e-10 --split

``--split`` also runs each iteration's searches alone once more (no bush update), to
split searches from bush updates (it adds their time to the run; the parts say which).
CPU seconds are the process's (all threads); run it alone to quote wall time.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="Sydney")
    parser.add_argument("--gap", type=float, default=1e-6)
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--split", action="store_true", help="time searches alone too")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="NAME=VALUE",
        help="set constants of transitopt.assignment.bush (e.g. SKIM_GAP=0)",
    )  # fmt: skip
    args = parser.parse_args()

    from _cases import load_case

    from transitopt.assignment import assign, bush

    for item in args.set:
        name, value = item.split("=")
        setattr(bush, name, type(getattr(bush, name))(float(value)))
    case = load_case(args.case)
    parts_cpu: dict[str, float] = defaultdict(float)
    parts_wall: dict[str, float] = defaultdict(float)

    def timed(name, fn):
        def wrapper(*a, **k):
            c0, w0 = time.process_time(), time.perf_counter()
            out = fn(*a, **k)
            parts_cpu[name] += time.process_time() - c0
            parts_wall[name] += time.perf_counter() - w0
            return out

        return wrapper

    real_grow = bush.gap_and_grow

    def grow(*a):
        if args.split:  # the same searches without bush updates (grow_above = inf)
            b = list(a)
            b[21] = np.inf
            timed("searches alone (extra)", real_grow)(*b)
        searched.append(int(a[20].size))
        out = timed("searches + bush updates", real_grow)(*a)
        excess, todo, grow_above = a[24], a[20], a[21]
        updated.append(int(np.count_nonzero(excess[todo] >= grow_above)))
        return out

    bush.gap_and_grow = grow
    bush._first_bushes = timed("first bushes", bush._first_bushes)
    bush._sweep = timed("sweeps", bush._sweep)
    bush._enlarge = timed("enlarge regions", bush._enlarge)
    bush.sum_bush_flows = timed("sum bush flows", bush.sum_bush_flows)
    if hasattr(bush, "CompressedAON"):  # the gap's zone-to-zone searches on the core graph
        aon = bush.CompressedAON
        aon.skim = timed("gap skims (core graph)", aon.skim)
        aon.of_problem = classmethod(timed("core graph build", aon.of_problem.__func__))

    from transitopt.assignment import _monitor

    marks: list[float] = []  # process CPU seconds at each recorded iteration
    searched: list[int] = []  # origins searched on the bush graph, per call
    updated: list[int] = []  # bushes updated, per call
    per_iteration: list[tuple[int, int]] = []  # ... both per iteration
    record = _monitor.Monitor.record

    def record_cpu(self, *a, **k):
        marks.append(time.process_time())
        per_iteration.append((sum(searched), sum(updated)))
        searched.clear()
        updated.clear()
        return record(self, *a, **k)

    _monitor.Monitor.record = record_cpu

    # warm-up (compilation) on a small case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = load_case("SiouxFalls")
        assign(small.network, small.demand, algorithm="algb", gap=1e-4)
    parts_cpu.clear()
    parts_wall.clear()
    marks.clear()
    searched.clear()
    updated.clear()
    per_iteration.clear()
    load0 = os.getloadavg()
    c0, w0 = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = assign(
            case.network, case.demand, algorithm="algb", gap=args.gap, max_iter=args.max_iter,
            time_limit_s=args.time_limit,
        )  # fmt: skip
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    load1 = os.getloadavg()
    h = result.history
    print(f"case {args.case}: {result.iterations} iterations, gap {h['relative_gap'].iloc[-1]:.3g}")
    print(f"solve: {cpu:.1f} CPU s, {wall:.1f} wall s, setup {result.setup_s:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB; load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    for name in sorted(parts_cpu, key=parts_cpu.get, reverse=True):
        print(f"  {name:28s} {parts_cpu[name]:8.1f} CPU s {parts_wall[name]:8.1f} wall s")
    for g, t, c, (n, u) in zip(h["relative_gap"], h["time_s"], marks, per_iteration, strict=True):
        print(
            f"    gap {g:.3e} at {t:.1f} wall s, {c - c0:.1f} CPU s; {n} bush-graph searches, "
            f"{u} bush updates"
        )


if __name__ == "__main__":
    main()
