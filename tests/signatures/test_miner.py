"""The template miner and the `mined-v1` grouper: stable keys, merges, state round trips, GA."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import pytest
from golden_files import check_golden, inputs

from errorsift.signatures.base import Grouper
from errorsift.signatures.mined import STRATEGY_ID, MinedGrouper
from errorsift.signatures.miner import MinerConfig
from errorsift.signatures.seed import SeedNormalizer

LOGHUB = Path(__file__).resolve().parents[2] / "../shared/data/loghub2k"
GA_FLOOR = 0.97  # achieved 0.991 on the 8 shared systems; small margin for harmless rule changes

USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]


def roundtrip(grouper: MinedGrouper) -> MinedGrouper:
    """Export, go through JSON text (as the store does), import."""
    return MinedGrouper.from_state(json.loads(json.dumps(grouper.export_state())))


def test_is_a_grouper_with_seed_normalization() -> None:
    grouper: Grouper = MinedGrouper()
    message = "payment failed for customer_id: 991 at 2024-01-01 10:00:00 after 123456 ms"
    result = grouper.sign(message)
    assert result.strategy == STRATEGY_ID == grouper.strategy_id
    assert result.normalized == SeedNormalizer().normalize(message)
    assert len(result.key) == 16 and int(result.key, 16) >= 0


def test_word_variable_merges_once_it_takes_enough_values_and_older_key_wins() -> None:
    grouper = MinedGrouper()
    first = grouper.sign("session opened for user alice by uid=0").key
    keys = [grouper.sign(f"session opened for user {u} by uid=0").key for u in USERS[1:]]
    assert keys[-1] == first  # once `user` varies, new lines land on the oldest key
    assert {grouper.resolve(k) for k in [first, *keys]} == {first}
    assert grouper.aliases() == {k: first for k in keys if k != first}
    assert grouper.template(first) == "session opened for user <*> by uid=<*>"


def test_keyword_with_few_values_stays_apart() -> None:
    """Two events that differ in one constant (HTTPS vs SOCKS5) must not merge."""
    grouper = MinedGrouper()
    https = {grouper.sign(f"10.0.0.{i}:80 open through proxy p.example.com:5070 HTTPS").key for i in range(50)}
    socks = {grouper.sign(f"10.0.1.{i}:22 open through proxy p.example.com:5070 SOCKS5").key for i in range(3)}
    assert len(https) == len(socks) == 1 and https != socks


def test_identifier_like_values_vary_at_the_second_value() -> None:
    """`root14_local` / `root26_tmp`: a format string rarely switches between such names."""
    grouper = MinedGrouper()
    a = grouper.sign("ServerFileSystem: ServerFileSystem domain root14_local is full").key
    b = grouper.sign("ServerFileSystem: ServerFileSystem domain root26_tmp is full").key
    assert grouper.resolve(a) == grouper.resolve(b) == a
    assert grouper.template(a) == "ServerFileSystem: ServerFileSystem domain <*> is full"


def test_method_names_and_exception_types_stay_apart() -> None:
    grouper = MinedGrouper()
    methods = {grouper.sign(f"Step_LSC|{m} {n}").key for m in ("onStandStepChanged", "onExtend") for n in (3, 4)}
    errors = {grouper.sign(f"caught {e}: boom").key for e in ("java.io.IOException", "java.lang.IllegalStateException")}
    assert len({grouper.resolve(k) for k in methods}) == 2
    assert len({grouper.resolve(k) for k in errors}) == 2


def test_words_seen_as_values_make_a_few_valued_position_variable() -> None:
    """`user=root` / `user=fztu` elsewhere tell that `root` and `fztu` are values, in any order."""
    lines = [f"Failed password for {u} from 10.0.0.{i} port 22 ssh2" for i, u in enumerate(["root", "fztu", "root"])]
    hints = [f"authentication failure; logname= uid=0 rhost=10.0.0.9 user={u}" for u in ("root", "fztu")]
    for order in (lines + hints, hints + lines):
        grouper = MinedGrouper()
        keys = [grouper.sign(line).key for line in order]
        failed = {grouper.resolve(k) for k, line in zip(keys, order, strict=True) if line.startswith("Failed")}
        assert len(failed) == 1, order
        assert grouper.template(failed.pop()) == "Failed password for <*> from <*> port <*> ssh2"
    restored = roundtrip(grouper)
    assert {"root", "fztu"} <= restored.miner.vocabulary


def test_unknown_words_keep_two_events_apart() -> None:
    grouper = MinedGrouper()
    for i in range(20):
        grouper.sign(f"10.0.0.{i}:80 open through proxy p.example.com:5070 HTTPS user=alice")
    grouper.sign("10.0.1.1:80 open through proxy p.example.com:5070 SOCKS5 user=bob")
    assert len({grouper.resolve(k) for k in grouper.miner.keys}) == 2


def test_one_word_events_never_become_a_bare_wildcard() -> None:
    grouper = MinedGrouper()
    keys = {grouper.sign(word).key for word in ["normal", "warning", "running", "critical", "blocked", "halted"]}
    assert len({grouper.resolve(k) for k in keys}) == 6


def test_keys_survive_template_generalisation() -> None:
    grouper = MinedGrouper()
    key = grouper.sign("cache miss for tenant alpha in region east").key
    for i, user in enumerate(USERS):
        grouper.sign(f"cache miss for tenant {user} in region r{i}x")
    assert grouper.resolve(key) == key
    assert "<*>" in grouper.template(key)


def test_state_roundtrip_keeps_keys_and_learning() -> None:
    lines = [f"session closed for user {u}" for u in USERS] + [f"disk {d} is {p}% full" for d in "abc" for p in (5, 9)]
    uninterrupted = MinedGrouper()
    expected = [uninterrupted.sign(line).key for line in lines * 2]
    first = MinedGrouper()
    got = [first.sign(line).key for line in lines]
    restarted = roundtrip(first)
    got += [restarted.sign(line).key for line in lines]
    assert [restarted.resolve(k) for k in got] == [uninterrupted.resolve(k) for k in expected]
    assert restarted.export_state() == roundtrip(restarted).export_state()


def test_same_input_order_gives_same_keys() -> None:
    lines = [f"job {u} failed on host web-{i} after {i} retries" for i, u in enumerate(USERS * 3)]
    assert [MinedGrouper().sign(x).key for x in lines] == [MinedGrouper().sign(x).key for x in lines]


def test_manual_merge_survives_export_and_import() -> None:
    grouper = MinedGrouper()
    a = grouper.sign("upstream timed out talking to billing").key
    b = grouper.sign("connection reset by peer while reading response").key
    grouper.add_merge(a, b)
    restored = roundtrip(grouper)
    assert restored.sign("upstream timed out talking to billing").key == b
    assert restored.aliases()[a] == b
    assert "merged into" in restored.explain(a)


def test_reverse_merge_is_a_no_op_not_a_cycle() -> None:
    grouper = MinedGrouper()
    a = grouper.sign("alpha event happened").key
    b = grouper.sign("beta thing broke down badly").key
    grouper.add_merge(a, b)
    grouper.add_merge(b, a)
    assert grouper.resolve(a) == grouper.resolve(b) == b


def test_explain_names_masks_and_varying_positions() -> None:
    grouper = MinedGrouper()
    for user in USERS:
        key = grouper.sign(f"login failed for {user} from 10.0.0.7 after 3 tries").key
    text = grouper.explain(key)
    assert "masked:" in text and "ipv4" in text and "varies" in text


def test_template_cap_still_signs_stably() -> None:
    grouper = MinedGrouper(MinerConfig(max_templates=2))
    keys = [grouper.sign(f"{word} happened just now").key for word in ["alpha", "beta", "gamma", "gamma"]]
    assert len(set(keys)) == 3 and keys[2] == keys[3]
    assert roundtrip(grouper).sign("gamma happened just now").key == keys[2]


def test_unknown_state_version_is_refused() -> None:
    with pytest.raises(ValueError, match="start fresh"):
        MinedGrouper.from_state({"strategy": "mined-v0", "version": 1})


@pytest.mark.parametrize("path", inputs("miner_*.log"), ids=lambda p: p.stem)
def test_golden_templates(path: Path) -> None:
    grouper = MinedGrouper()
    keys = [grouper.sign(line).key for line in path.read_text(encoding="utf-8").splitlines()]
    final = sorted({grouper.resolve(k) for k in keys}, key=keys.index)
    actual = "".join(f"{grouper.template(k)}  x{sum(grouper.resolve(x) == k for x in keys)}\n" for k in final)
    check_golden(f"{path.stem}.txt", actual)


def grouping_accuracy(predicted: list[str], truth: list[str]) -> float:
    pred: dict[str, set[int]] = defaultdict(set)
    true: dict[str, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        pred[p].add(i)
        true[t].add(i)
    return sum(pred[p] == true[t] for p, t in zip(predicted, truth, strict=True)) / len(truth)


@pytest.mark.skipif(not LOGHUB.is_dir(), reason=f"Loghub-2k data not found at {LOGHUB} (../shared next to the repo)")
def test_grouping_accuracy_on_loghub() -> None:
    scores = {}
    for folder in sorted(p for p in LOGHUB.iterdir() if p.is_dir()):
        with next(folder.glob("*_structured_corrected.csv")).open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        grouper = MinedGrouper()
        keys = [grouper.sign(r["Content"]).key for r in rows]
        scores[folder.name] = grouping_accuracy([grouper.resolve(k) for k in keys], [r["EventTemplate"] for r in rows])
    assert sum(scores.values()) / len(scores) >= GA_FLOOR, scores
    assert min(scores.values()) >= 0.9, scores
