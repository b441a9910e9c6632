"""Load the addon's plain-Python parts (tools/, tests/fake_didww.py) without Odoo.

The repository root is the addon, and its ``__init__`` imports Odoo: these loaders import the
files as stand-alone modules ``didww_tools`` and ``fake_didww`` instead.
"""

import importlib.util
import sys
from pathlib import Path

ADDON = Path(__file__).resolve().parents[1]


def _load(name, path, package=False):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_tools():
    return _load("didww_tools", ADDON / "tools" / "__init__.py", package=True)


def load_fake():
    return _load("fake_didww", ADDON / "tests" / "fake_didww.py")
