"""A local Kamailio (SIP over secure WebSocket) for the softphone's end-to-end tests.

Debian packages: ``kamailio``, ``kamailio-websocket-modules``, ``kamailio-tls-modules``. When the
binary is missing the tests fail with a clear error. They are tagged apart
(``didww_connector_kamailio``, ``didww_connector_browser``, not ``standard``): ``odoo-bin --test-enable``
runs them only when asked (``--test-tags didww_connector_browser``); ``dev/didww.py test`` runs them,
and leaves the Kamailio ones out, saying NOT RUN, when it could not install Kamailio.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .fake_didww import self_signed_certificate

HERE = Path(__file__).resolve().parent / "kamailio"


def missing(what, install):
    """A loud failure saying what to install."""
    raise RuntimeError(f"{what} is not installed: the softphone's browser tests cannot run. Install {install}.")


def require_binary(name, package):
    """The path of ``name``; a loud failure when it is missing."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None)
    return path or missing(name, f"the Debian package(s) {package}")


def require_browser():
    """What Odoo's browser tests need (they would skip silently without it): Chromium and
    websocket-client."""
    # imported here: odoo.tests is only importable inside Odoo's test run
    from odoo.tests.common import _find_executable

    try:
        import websocket  # noqa: F401 pylint: disable=unused-import,import-outside-toplevel
    except ImportError:
        missing("websocket-client", "it (pip install -r dev/requirements-dev.txt)")
    try:
        return _find_executable()
    except Exception:  # noqa: BLE001 Odoo raises a bare Exception when no Chrome is found
        return missing("Chromium", "the Debian package chromium")


class KamailioServer:
    """Kamailio on ``wss://127.0.0.1:<port>`` for SIP domain ``domain``; ``users`` maps SIP
    usernames to passwords."""

    def __init__(self, users, port, domain="sip.test"):
        self.binary = require_binary("kamailio", "kamailio kamailio-websocket-modules kamailio-tls-modules")
        self.users, self.port, self.domain = users, port, domain
        self.directory = tempfile.mkdtemp(prefix="didww_kamailio_")
        key, cert = self_signed_certificate(self.directory)
        self.tls_config = os.path.join(self.directory, "tls.cfg")
        Path(self.tls_config).write_text(
            (HERE / "tls.cfg").read_text().replace("{key}", key).replace("{cert}", cert))
        users_block = "\n".join(f'    $sht(users=>{name}) = "{password}";' for name, password in users.items())
        config = (HERE / "kamailio.cfg").read_text()
        for token, value in (("{domain}", domain), ("{wss_port}", str(port)),
                             ("{tls_config}", self.tls_config), ("{users}", users_block),
                             ("{ctl_socket}", os.path.join(self.directory, "kamailio.ctl"))):
            config = config.replace(token, value)
        self.config = os.path.join(self.directory, "kamailio.cfg")
        self.ctl_socket = os.path.join(self.directory, "kamailio.ctl")
        Path(self.config).write_text(config)
        self.log_path = os.path.join(self.directory, "kamailio.log")
        self.process = None

    @property
    def url(self):
        return f"wss://127.0.0.1:{self.port}"

    def start(self, timeout=15):
        check = subprocess.run([self.binary, "-c", "-f", self.config], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            raise RuntimeError(f"kamailio rejects its test configuration:\n{check.stderr[-3000:]}")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-DD", "-E", "-f", self.config, "-Y", self.directory, "-P",
                 os.path.join(self.directory, "kamailio.pid")],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kamailio exited at start:\n{self.log()[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kamailio did not listen on 127.0.0.1:{self.port}:\n{self.log()[-3000:]}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def contacts(self, username):
        """The contacts registered for ``username`` in the location table (read with kamcmd)."""
        kamcmd = require_binary("kamcmd", "kamailio")
        # "s:": kamcmd would send digits as an integer
        result = subprocess.run([kamcmd, "-s", f"unix:{self.ctl_socket}", "ul.lookup", "location", f"s:{username}"],
                                capture_output=True, text=True, check=False, timeout=10)
        output = result.stdout + result.stderr
        if "AOR not found" in output:
            return []
        if result.returncode != 0 or output.startswith("error"):
            raise RuntimeError(f"kamcmd ul.lookup failed: {output[-1000:]}")
        return [line.split(":", 1)[1].strip() for line in output.splitlines()
                if line.strip().startswith("Address:")]

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
