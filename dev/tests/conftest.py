"""Load the addon's plain-Python parts (tools/, tests/fake_didww.py) without Odoo."""

import importlib.util
import sys
from pathlib import Path

import pytest

ADDON = Path(__file__).resolve().parents[2]


def _load(name, path, package=False):
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


didww_tools = _load("didww_tools", ADDON / "tools" / "__init__.py", package=True)
fake_didww = _load("fake_didww", ADDON / "tests" / "fake_didww.py")


@pytest.fixture
def fake():
    server = fake_didww.FakeDidww().start()
    yield server
    server.stop()
