"""Load the addon's plain-Python parts (tools/, tests/fake_didww.py) without Odoo."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from addon_tools import load_fake, load_tools

load_tools()
fake_didww = load_fake()


@pytest.fixture
def fake():
    server = fake_didww.FakeDidww().start()
    yield server
    server.stop()
