"""Shared fixtures: a sample program in a temporary folder, run through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from builders import Program


@pytest.fixture
def program(tmp_path: Path) -> Program:
    return Program(tmp_path / "program")


@pytest.fixture
def stub():
    """The local Slack Web API stub (tests/slack_stub.py) on a free loopback port."""
    from slack_stub import SlackStub

    server = SlackStub().start()
    yield server
    server.stop()
