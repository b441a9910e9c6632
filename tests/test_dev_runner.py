"""dev/didww.py finds the Odoo a previous command set up under .work/ (no download without need)."""

import argparse
import importlib.util
import os
import tempfile
import time
from pathlib import Path
from unittest.mock import patch

import odoo
from odoo.tests import BaseCase, tagged

RUNNER = Path(__file__).resolve().parent.parent / "dev" / "didww.py"


def load_runner():
    spec = importlib.util.spec_from_file_location("didww_dev_runner", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install", "didww_connector")
class TestDevRunner(BaseCase):

    def setUp(self):
        super().setUp()
        self.runner = load_runner()
        work = Path(tempfile.mkdtemp(prefix="didww-runner-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(work, ignore_errors=True))
        # the runner's own globals, pointed at a scratch .work/ (nothing of Odoo is replaced)
        self.runner.WORK = work
        self.runner.LAST_ODOO = work / "last-odoo"
        self.runner.ODOO_DEFAULT_SOURCE = "http://127.0.0.1:9/no-download-expected.tar.gz"
        self.odoo_tree = Path(odoo.__file__).resolve().parent.parent

    def unpacked(self, key, age):
        tree = self.runner.WORK / "odoo" / key / "odoo-18.0"
        (tree / "odoo").mkdir(parents=True)
        (tree / "odoo" / "release.py").write_text("version = '18.0'\n")
        done = tree.parent / ".unpacked"
        done.write_text(key)
        os.utime(done, (time.time() - age, time.time() - age))
        return tree

    def test_without_a_record_the_tree_last_unpacked_is_used(self):
        self.assertIsNone(self.runner.last_used_odoo())
        self.unpacked("old", age=600)
        newest = self.unpacked("new", age=10)
        self.assertEqual(self.runner.last_used_odoo(), newest)

    def test_the_tree_last_used_wins_and_a_vanished_one_is_skipped(self):
        old = self.unpacked("old", age=600)
        newest = self.unpacked("new", age=10)
        self.runner.remember_odoo(old)
        self.assertEqual(self.runner.last_used_odoo(), old)
        self.runner.remember_odoo(self.runner.WORK / "gone")
        self.assertEqual(self.runner.last_used_odoo(), newest)

    def test_run_serves_the_odoo_set_up_before_without_downloading(self):
        self.runner.remember_odoo(self.odoo_tree)
        options = argparse.Namespace(command="run", odoo=None, odoo_source=None)
        environ = {key: value for key, value in os.environ.items()
                   if key not in ("PYTHONPATH", "ODOO_PATH", "ODOO_SOURCE", "_DIDWW_ODOO_TREE")}
        with patch.dict(os.environ, environ, clear=True):
            found = self.runner.provide_odoo(options)
        self.assertEqual(Path(found[0]), self.odoo_tree)
        self.assertFalse((self.runner.WORK / "downloads").exists(), "nothing was downloaded")
