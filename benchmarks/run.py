"""``python -m benchmarks.run [--only NAME ...] [--quick]``: run benchmarks, print and save the table."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path

from benchmarks.report import RESULTS, Result, machine, row, text_table, write

# run order: corpus first (it measures the cold ingest and leaves the index the others use)
BENCHMARKS = {
    "corpus": "benchmarks.corpus_scale",
    "overhead": "benchmarks.overhead",
    "prompt_growth": "benchmarks.prompt_growth",
    "ttft": "benchmarks.ttft",
    "concurrency": "benchmarks.concurrency",
    "scaleout": "benchmarks.scaleout",
}
OPT_IN = {"scaleout"}  # starts PostgreSQL, a Chroma server and replicas (~4.5 min): only with --only scaleout


def selected(only: list[str] | None) -> list[str]:
    """The benchmarks to run, in run order: the named ones, else all but the opt-in ones."""
    return [n for n in BENCHMARKS if n in only] if only else [n for n in BENCHMARKS if n not in OPT_IN]


def run_one(name: str, quick: bool) -> Result:
    started = time.perf_counter()
    result = Result(name)
    try:
        importlib.import_module(BENCHMARKS[name]).run(quick=quick, res=result)
    except Exception as exc:  # keep what was measured, report the failure, go on with the next benchmark
        traceback.print_exc()
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = round(time.perf_counter() - started, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}; "
                             f"{', '.join(sorted(OPT_IN))} runs only when named")
    parser.add_argument("--quick", action="store_true", help="smaller samples: a smoke run of about two minutes")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for <timestamp>.json and latest.md")
    args = parser.parse_args(argv)
    names = selected(args.only)
    meta = {"started": datetime.now().isoformat(timespec="seconds"), "started_ts": time.time(),
            "quick": args.quick, "machine": machine(), "benchmarks": names}
    print(f"mockround benchmarks ({'quick' if args.quick else 'full'}): {', '.join(names)}; "
          f"load average {meta['machine']['load_avg_1m']} on {meta['machine']['cpus']} CPUs", flush=True)
    results: list[Result] = []
    for name in names:
        print(f"\n== {name} ...", flush=True)
        result = run_one(name, args.quick)
        results.append(result)
        rows = [row(name, f) for f in result.figures]
        if rows:
            print(text_table(rows), flush=True)
        if result.error:
            print(f"{name} failed: {result.error}", flush=True)
        print(f"({result.seconds:.0f} s)", flush=True)
    meta["seconds"] = round(time.time() - meta["started_ts"], 1)
    meta["load_avg_end"] = machine()["load_avg_1m"]
    json_path, md_path = write(results, meta, args.out)
    print("\n" + text_table([row(r.name, f) for r in results for f in r.figures]))
    failed = [f"{r.name}: {f.name}" for r in results for f in r.figures if f.passed is False]
    failed += [f"{r.name}: error {r.error}" for r in results if r.error]
    print(f"\n{len(failed)} figure(s) missed their target; {meta['seconds']:.0f} s in total. "
          f"Wrote {json_path} and {md_path}")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
