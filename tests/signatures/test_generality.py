"""Generalization: grouping accuracy on corpora in the styles of systems the rules were never tuned on.

Two sets, both synthetic, with expected groups written by hand from the meaning of each event
(Loghub's convention: every value filled in at run time is `<*>`):

* `generality_corpora.CORPORA` imitate the other Loghub systems (sshd, Hadoop, Spark, Windows CBS,
  Android, HealthApp, macOS, Thunderbird-style syslog). They guided the general fixes, so their
  scores are optimistic; the floors are the issue's bar for unseen systems.
* `validation_corpora.VALIDATION` (nginx, a Go service, Postgres, Spring, systemd) were written
  afterwards and never tuned on: their floors only guard against regressions and their misses
  document what still fails (few-valued word variables inside one event, multi-word values).

Lines go through the production path (redaction, the shape-cached `Signer`, the `mined-v1`
grouper) in three line orders, because an online miner must not depend on which line comes first.

Run ``python tests/signatures/test_generality.py [-v]`` for the per-corpus table (and the misses).
"""

from __future__ import annotations

import random
import sys
from collections import defaultdict

import pytest
from generality_corpora import CORPORA, Event, generate
from validation_corpora import VALIDATION

from errorsift.signatures.mined import MinedGrouper
from errorsift.signatures.redact import Redactor
from errorsift.signatures.signer import Signer

AVERAGE_FLOOR = 0.90  # the bar for unseen systems
SYSTEM_FLOOR = 0.70
VALIDATION_AVERAGE_FLOOR = 0.75  # measured 0.79 when written; guards against regressions
VALIDATION_SYSTEM_FLOOR = 0.55
SEEDS = (7, 11, 23)  # line orders (and values) per corpus


def grouping_accuracy(predicted: list[str], truth: list[str]) -> float:
    pred: dict[str, set[int]] = defaultdict(set)
    true: dict[str, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        pred[p].add(i)
        true[t].add(i)
    return sum(pred[p] == true[t] for p, t in zip(predicted, truth, strict=True)) / len(truth)


def sign_all(lines: list[str]) -> tuple[list[str], MinedGrouper]:
    grouper = MinedGrouper()
    signer = Signer(grouper, Redactor().redact_with_counts)
    keys = [signer.sign(line)[0].key for line in lines]
    final = {k: grouper.resolve(k) for k in set(keys)}
    return [final[k] for k in keys], grouper


def score(events: list[Event], seed: int) -> tuple[float, int, int]:
    """(GA, predicted groups, true groups) of one corpus drawn with one seed."""
    lines, truth = generate(events, seed=seed)
    keys, _ = sign_all(lines)
    return grouping_accuracy(keys, truth), len(set(keys)), len(set(truth))


def mistakes(events: list[Event], seed: int = SEEDS[0]) -> list[str]:
    """Human-readable over-merges and over-splits, for the script output."""
    lines, truth = generate(events, seed=seed)
    keys, grouper = sign_all(lines)
    by_key: dict[str, set[str]] = defaultdict(set)
    by_truth: dict[str, set[str]] = defaultdict(set)
    for k, t in zip(keys, truth, strict=True):
        by_key[k].add(t)
        by_truth[t].add(k)
    out = [f"  merged: {sorted(ts)} -> {grouper.template(k)}" for k, ts in by_key.items() if len(ts) > 1]
    out += [
        f"  split:  {t} -> " + " | ".join(grouper.template(k) for k in sorted(ks))
        for t, ks in by_truth.items()
        if len(ks) > 1
    ]
    return out


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_each_corpus_groups_well_in_any_line_order(name: str) -> None:
    scores = [score(CORPORA[name], seed)[0] for seed in SEEDS]
    assert min(scores) >= SYSTEM_FLOOR, (name, scores, mistakes(CORPORA[name]))


def test_average_grouping_accuracy_on_unseen_styles() -> None:
    averages = [sum(score(events, seed)[0] for events in CORPORA.values()) / len(CORPORA) for seed in SEEDS]
    assert min(averages) >= AVERAGE_FLOOR, averages


def test_untuned_validation_corpora_do_not_regress() -> None:
    scores = {name: min(score(events, seed)[0] for seed in SEEDS) for name, events in VALIDATION.items()}
    assert min(scores.values()) >= VALIDATION_SYSTEM_FLOOR, scores
    assert sum(scores.values()) / len(scores) >= VALIDATION_AVERAGE_FLOOR, scores


def test_corpora_are_deterministic_and_labelled() -> None:
    for name, events in {**CORPORA, **VALIDATION}.items():
        assert generate(events, lines=50, seed=1) == generate(events, lines=50, seed=1), name
        templates = [t for t, _, _ in events]
        assert len(set(templates)) == len(templates), f"{name}: two events share a label"


def test_shuffled_order_keeps_the_same_groups() -> None:
    """Determinism within one order; a shuffled order may name groups differently but not group differently."""
    lines, truth = generate(CORPORA["sshd"], seed=3)
    keys, _ = sign_all(lines)
    assert keys == sign_all(lines)[0]
    order = list(range(len(lines)))
    random.Random(5).shuffle(order)
    shuffled, _ = sign_all([lines[i] for i in order])
    expected = grouping_accuracy(keys, truth)
    assert grouping_accuracy(shuffled, [truth[i] for i in order]) == pytest.approx(expected, abs=0.05)


def _table(title: str, corpora: dict[str, list[Event]], verbose: bool) -> None:
    total = [0.0] * len(SEEDS)
    print(f"{title:<12} {'true':>5} " + " ".join(f"{'GA s' + str(s):>8} {'groups':>6}" for s in SEEDS))
    for name in sorted(corpora):
        results = [score(corpora[name], s) for s in SEEDS]
        for i, (ga, _, _) in enumerate(results):
            total[i] += ga
        print(f"{name:<12} {results[0][2]:>5} " + " ".join(f"{ga:>8.3f} {groups:>6}" for ga, groups, _ in results))
        if verbose:
            print("\n".join(mistakes(corpora[name])))
    print(f"{'average':<12} {'':>5} " + " ".join(f"{t / len(corpora):>8.3f} {'':>6}" for t in total))


if __name__ == "__main__":
    _table("styles", CORPORA, "-v" in sys.argv)
    print()
    _table("validation", VALIDATION, "-v" in sys.argv)
