"""`errorsift worker` options: the same analyzer choices and default as `run`."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from errorsift.build import ANALYZERS
from errorsift.cli import main
from errorsift.cli import run as run_command
from errorsift.service import command, once
from errorsift.service.once import OnceResult


def _analyzer_option(cmd: click.Command) -> click.Option:
    return next(p for p in cmd.params if isinstance(p, click.Option) and p.name == "analyzer")


def test_worker_offers_the_same_analyzers_and_default_as_run():
    opt = _analyzer_option(command.worker)
    assert isinstance(opt.type, click.Choice) and tuple(opt.type.choices) == ANALYZERS
    assert opt.type.choices == _analyzer_option(run_command).type.choices
    assert opt.help == _analyzer_option(run_command).help
    assert "default auto" in (opt.help or "") and "default offline" not in (opt.help or "")
    text = CliRunner().invoke(main, ["worker", "--help"], terminal_width=200).output
    assert "[auto|offline|anthropic|openai-compatible]" in text


@pytest.mark.parametrize("analyzer", ANALYZERS)
def test_worker_passes_every_analyzer_choice_to_the_run(monkeypatch, tmp_path, analyzer):
    seen: dict[str, Any] = {}

    def fake_run_once(settings, source_spec, **_: Any) -> OnceResult:
        seen["analyzer"] = settings.analyzer
        return OnceResult("ok")

    monkeypatch.setattr(once, "run_once", fake_run_once)
    monkeypatch.setattr(command, "_stop_on_signals", lambda stop: None)
    monkeypatch.setattr(command, "_logging", lambda verbose: None)
    args = ["worker", "--once", "--source", "x.jsonl", "--db", str(tmp_path / "w.db"), "--analyzer", analyzer]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert seen == {"analyzer": analyzer}
