"""Grouping accuracy and throughput on Loghub-2k: errorsift (`mined-v1`), the seed rules, Drain3.

Usage: ``python benchmarks/loghub.py ../shared/data/loghub2k [--repeat 3] [--systems A,B]``

GA (grouping accuracy) = share of lines whose predicted group holds exactly the lines of their true
group (true group = `EventTemplate` of `*_structured_corrected.csv`; the message is `Content`).
Keys returned by `sign` are resolved through the final alias map first, as the pipeline re-points
counts. Throughput is the median of `--repeat` runs, each on a fresh instance. The `average` row
is the mean of the per-system medians (one fast system weighs as much as a slow one); the `pooled`
row divides all lines by the sum of the per-system median times, which is what a mixed input
would see. Prints figures only: it never passes or fails on time.
"""

from __future__ import annotations

import argparse
import csv
import logging
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.redact import Redactor
from errorsift.signatures.seed import SeedNormalizer
from errorsift.signatures.signer import Signer

Runner = Callable[[Sequence[str]], list[str]]


def load_system(folder: Path) -> tuple[list[str], list[str]]:
    """(messages, true templates) of one Loghub-2k system folder."""
    path = next(folder.glob("*_structured_corrected.csv"))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["Content"] for r in rows], [r["EventTemplate"] for r in rows]


def grouping_accuracy(predicted: Sequence[str], truth: Sequence[str]) -> float:
    pred_groups: dict[str, set[int]] = defaultdict(set)
    true_groups: dict[str, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        pred_groups[p].add(i)
        true_groups[t].add(i)
    correct = sum(1 for p, t in zip(predicted, truth, strict=True) if pred_groups[p] == true_groups[t])
    return correct / len(truth) if truth else 0.0


def run_errorsift(messages: Sequence[str]) -> list[str]:
    """Exactly what `errorsift run` / `errorsift signature` do: redact, shape cache, mined grouper."""
    grouper = MinedGrouper()
    signer = Signer(grouper, Redactor().redact_with_counts)
    sign = signer.sign
    keys = [sign(m)[0].key for m in messages]
    final = {k: grouper.resolve(k) for k in set(keys)}  # the pipeline re-points counts once per key
    return [final[k] for k in keys]


def run_seed(messages: Sequence[str]) -> list[str]:
    seed = SeedNormalizer()
    return [seed.sign(m).key for m in messages]


def run_drain3(messages: Sequence[str]) -> list[str]:
    from drain3 import TemplateMiner  # dev dependency; imported lazily so errorsift alone can run

    miner = TemplateMiner()
    return [str(miner.add_log_message(m)["cluster_id"]) for m in messages]


RUNNERS: dict[str, Runner] = {"errorsift": run_errorsift, "seed": run_seed, "drain3": run_drain3}


def measure(runner: Runner, messages: Sequence[str], truth: Sequence[str], repeat: int) -> tuple[float, int, float]:
    """(GA, groups, lines per second as the median of `repeat` fresh runs)."""
    rates: list[float] = []
    predicted: list[str] = []
    for _ in range(repeat):
        start = time.perf_counter()
        predicted = runner(messages)
        rates.append(len(messages) / max(time.perf_counter() - start, 1e-9))
    return grouping_accuracy(predicted, truth), len(set(predicted)), statistics.median(rates)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="folder holding one sub-folder per Loghub-2k system")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per system (median)")
    parser.add_argument("--systems", default="", help="comma-separated subset, e.g. HDFS,Linux")
    parser.add_argument("--only", default="", help="comma-separated subset of errorsift,seed,drain3")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # drain3 logs every config lookup
    wanted = {s for s in args.systems.split(",") if s}
    systems = sorted(p for p in args.path.iterdir() if p.is_dir() and (not wanted or p.name in wanted))
    if not systems:
        print(f"no Loghub systems under {args.path}", file=sys.stderr)
        return 2
    names = [n for n in RUNNERS if not args.only or n in args.only.split(",")]
    true_total = lines_total = 0
    totals = {n: [0.0, 0, 0.0] for n in names}
    seconds = {n: 0.0 for n in names}  # sum over systems of lines / median rate: the pooled time
    rates: dict[str, list[float]] = {n: [] for n in names}
    header = f"{'system':<11}{'true':>5}" + "".join(f" | {n:>9} GA  groups  lines/s" for n in names)
    print(header)
    print("-" * len(header))
    for folder in systems:
        messages, truth = load_system(folder)
        true_total += len(set(truth))
        lines_total += len(messages)
        row = f"{folder.name:<11}{len(set(truth)):>5}"
        for name in names:
            ga, groups, rate = measure(RUNNERS[name], messages, truth, args.repeat)
            totals[name][0] += ga
            totals[name][1] += groups
            totals[name][2] += rate
            seconds[name] += len(messages) / rate
            rates[name].append(rate)
            row += f" | {ga:>12.3f} {groups:>7} {rate:>8.0f}"
        print(row, flush=True)
    print("-" * len(header))
    row = f"{'average':<11}{true_total:>5}"
    for name in names:
        ga, groups, rate = totals[name]
        row += f" | {ga / len(systems):>12.3f} {groups:>7} {rate / len(systems):>8.0f}"
    print(row + "   (groups: total; lines/s: mean of per-system medians)")
    row = f"{'pooled':<11}{'':>5}"
    for name in names:
        row += f" | {'':>12} {'':>7} {lines_total / seconds[name]:>8.0f}"
    print(row + "   (lines/s: all lines / sum of per-system median times)")
    if "errorsift" in names and "drain3" in names:
        es, d3 = rates["errorsift"], rates["drain3"]
        per_system = [a / b for a, b in zip(es, d3, strict=True)]
        print(
            f"errorsift / drain3 lines/s: mean of per-system medians {sum(es) / sum(d3):.2f}x, "
            f"pooled {seconds['drain3'] / seconds['errorsift']:.2f}x, "
            f"per system {min(per_system):.2f}x to {max(per_system):.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
