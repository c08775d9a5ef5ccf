"""Shared fixtures: a sample program in a temporary folder, run through the real pipeline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from attendbot import config
from attendbot.demo import ATTENDBOT_TOML, PAYERS_TOML
from attendbot.model import DayOutcome
from attendbot.run import run_day

from builders import DAY


class Program:
    """A program folder: config/, inbox/, and the ledger and audit folder the runs write."""

    def __init__(self, root: Path):
        self.root = root
        self.inbox = root / "inbox"
        (root / "config").mkdir(parents=True, exist_ok=True)
        self.inbox.mkdir(exist_ok=True)
        self.write_config(ATTENDBOT_TOML, PAYERS_TOML)

    def write_config(self, main: str, payers: str) -> None:
        (self.root / "config" / "attendbot.toml").write_text(main, encoding="utf-8")
        (self.root / "config" / "payers.toml").write_text(payers, encoding="utf-8")

    @property
    def config_path(self) -> Path:
        return self.root / "config" / "attendbot.toml"

    def settings(self) -> config.Settings:
        return config.load(self.config_path, base=self.root)

    def run(self, day: dt.date = DAY) -> DayOutcome:
        return run_day(self.settings(), day, dry_run=True)

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"


@pytest.fixture
def program(tmp_path: Path) -> Program:
    return Program(tmp_path / "program")
