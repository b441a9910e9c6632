#!/usr/bin/env python3
"""Developer runner for didww_connector (not imported by Odoo).

    python3 dev/didww.py run     # Odoo on http://localhost:8069, addon installed on a demo database
    python3 dev/didww.py test    # lint + checks + pure-Python tests + the Odoo tier (pytest-odoo)

Odoo is found as users have it: ``--odoo PATH`` or ``$ODOO_PATH`` (an Odoo 18 source tree), else an
importable ``odoo``. PostgreSQL: ``--db-host/--db-port/--db-user/--db-password`` or ``$PGHOST``,
``$PGPORT``, ``$PGUSER``, ``$PGPASSWORD``; with none of them a private cluster is started under
``.work/`` (as the ``nobody`` user when run as root, since PostgreSQL refuses root).
"""

import argparse
import ast
import csv
import hashlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ADDON = "didww_connector"
ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".work"
# Odoo and pytest-odoo need the addon in a folder named didww_connector, whatever the clone is
# called: a link to the clone, kept outside it so that the tree never contains itself
CLONE_ID = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
ADDONS_LINK_DIR = Path(tempfile.gettempdir()) / f"didww-connector-addons-{CLONE_ID}"
RED, GREEN, BOLD, RESET = ("\033[31m", "\033[32m", "\033[1m", "\033[0m") if sys.stdout.isatty() else ("",) * 4


def say(message):
    print(f"{BOLD}[didww]{RESET} {message}", flush=True)


def fail(message, code=2):
    print(f"{RED}{BOLD}[didww] {message}{RESET}", file=sys.stderr, flush=True)
    sys.exit(code)


# ----------------------------------------------------------------------------------------------
# Finding Odoo
# ----------------------------------------------------------------------------------------------

def find_odoo(path_option):
    """Return ``(python_path_entry, odoo_package_dir)`` or ``None``."""
    for candidate in (path_option, os.environ.get("ODOO_PATH")):
        if candidate:
            root = Path(candidate).expanduser().resolve()
            if (root / "odoo" / "release.py").is_file():
                return str(root), root / "odoo"
            fail(f"{root} is not an Odoo source tree (no odoo/release.py). Point --odoo / ODOO_PATH at "
                 "the folder that holds odoo-bin.")
    probe = subprocess.run(
        [sys.executable, "-c", "import odoo, os; print(os.path.dirname(odoo.__file__))"],
        capture_output=True, text=True, check=False, cwd="/")
    if probe.returncode == 0 and probe.stdout.strip():
        package = Path(probe.stdout.strip().splitlines()[-1])
        return "", package
    return None


def check_odoo_importable(odoo, env):
    """Fail clearly unless Odoo 18 and its requirements import in this Python."""
    out = subprocess.run([sys.executable, "-c", "import odoo.release as r, odoo.api; print(r.version)"],
                         capture_output=True, text=True, env=env, check=False, cwd="/")
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        fail(f"Odoo at {odoo[1]} does not import with {sys.executable}: {last}. Install its requirements "
             f"(pip install -r {odoo[1].parent / 'requirements.txt'}) in this Python.")
    version = out.stdout.strip()
    if not version.startswith("18."):
        fail(f"found Odoo {version} at {odoo[1]}, this addon needs 18.0")


ODOO_MISSING = (
    "Odoo 18 is not importable here. Install Odoo 18.0 (pip install -e /path/to/odoo after its "
    "requirements.txt), or pass --odoo /path/to/odoo (the folder with odoo-bin), or set ODOO_PATH."
)


def odoo_env(odoo):
    env = dict(os.environ)
    if odoo[0]:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [odoo[0], env.get("PYTHONPATH", "")]))
    return env


def addons_path(odoo):
    link_dir = ADDONS_LINK_DIR
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / ADDON
    if (link.is_symlink() or link.exists()) and link.resolve() != ROOT:
        link.unlink()
    if not link.exists():
        link.symlink_to(ROOT, target_is_directory=True)
    paths = [str(link_dir)]
    community_addons = odoo[1].parent / "addons"
    if (community_addons / "web" / "__manifest__.py").is_file():
        paths.append(str(community_addons))
    return ",".join(paths)


# ----------------------------------------------------------------------------------------------
# PostgreSQL
# ----------------------------------------------------------------------------------------------

def pg_bindir():
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    for pg_config in filter(None, [shutil.which("pg_config")]):
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and (Path(out.stdout.strip()) / "pg_ctl").exists():
            return Path(out.stdout.strip())
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return versions[0].parent if versions else None


def _traversable_by_others(path):
    return all(parent.stat().st_mode & 0o001 for parent in [path, *path.parents] if parent.exists())


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateCluster:
    """A PostgreSQL cluster of our own under .work/pg, trust auth on 127.0.0.1, role ``odoo``."""

    def __init__(self):
        self.bindir = pg_bindir()
        if not self.bindir:
            fail("PostgreSQL server binaries (initdb, pg_ctl) are missing. Install them (Debian: "
                 "apt-get install postgresql) or point the runner at a server with --db-host/--db-user "
                 "or PGHOST/PGUSER.")
        self.run_as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        self.base = WORK / "pg"
        if self.run_as and not _traversable_by_others(WORK):
            # 'nobody' cannot reach a clone under e.g. /root: keep the cluster in a private temp folder
            self.base = Path(tempfile.gettempdir()) / f"didww-connector-pg-{CLONE_ID}"
        self.data = self.base / "data"
        self.started_here = False

    def _run(self, *args, check=True):
        return subprocess.run([*self.run_as, *map(str, args)], check=check, capture_output=True, text=True)

    def start(self):
        self.base.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            os.chmod(self.base, 0o700)
            shutil.chown(self.base, "nobody")
        if not (self.data / "PG_VERSION").exists():
            say(f"initialising a private PostgreSQL cluster in {self.data}")
            self._run(self.bindir / "initdb", "-D", self.data, "-U", "odoo", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8")
        port_file = self.base / "port"
        status = self._run(self.bindir / "pg_ctl", "-D", self.data, "status", check=False)
        if status.returncode == 0 and port_file.exists():
            self.port = int(port_file.read_text())
            return self
        self.port = free_port()
        port_file.write_text(str(self.port))
        say(f"starting the private PostgreSQL cluster on 127.0.0.1:{self.port}")
        result = self._run(self.bindir / "pg_ctl", "-D", self.data, "-l", self.base / "postgresql.log", "-w",
                           "-o", f"-p {self.port} -k {self.base} -h 127.0.0.1", "start", check=False)
        if result.returncode != 0:
            fail(f"the private PostgreSQL cluster did not start: {result.stderr or result.stdout}"
                 f" (see {self.base / 'postgresql.log'})")
        self.started_here = True
        return self

    def stop(self):
        if self.started_here:
            self._run(self.bindir / "pg_ctl", "-D", self.data, "-m", "fast", "stop", check=False)

    def odoo_args(self):
        return ["--db_host=127.0.0.1", f"--db_port={self.port}", "--db_user=odoo"]


class ExternalServer:
    def __init__(self, host, port, user, password):
        self.host, self.port, self.user, self.password = host, port, user, password

    def start(self):
        if self.user == "postgres":
            fail("Odoo refuses the 'postgres' database user: create a role of your own "
                 "(createuser -h HOST -U postgres --createdb odoo) and pass --db-user odoo.")
        return self

    def stop(self):
        pass

    def odoo_args(self):
        args = [f"--db_host={self.host}"] if self.host else []
        args += [f"--db_port={self.port}"] if self.port else []
        args += [f"--db_user={self.user}"] if self.user else []
        args += [f"--db_password={self.password}"] if self.password else []
        return args


def database_server(options):
    host = options.db_host or os.environ.get("PGHOST")
    port = options.db_port or os.environ.get("PGPORT")
    user = options.db_user or os.environ.get("PGUSER")
    password = options.db_password or os.environ.get("PGPASSWORD")
    if host or user:
        return ExternalServer(host, port, user, password).start()
    return PrivateCluster().start()


def odoo_bin_cmd(odoo):
    return [sys.executable, "-c", "import odoo.cli; odoo.cli.main()"] if not odoo[0] else \
        [sys.executable, str(Path(odoo[0]) / "odoo-bin")]


# ----------------------------------------------------------------------------------------------
# Checks that need no Odoo
# ----------------------------------------------------------------------------------------------

def check_static():
    """Manifest, XML and CSV sanity: parseable, every data file listed exists and vice versa."""
    problems = []
    manifest = ast.literal_eval((ROOT / "__manifest__.py").read_text())
    for key in ("name", "version", "license", "depends", "data"):
        if key not in manifest:
            problems.append(f"__manifest__.py: missing {key!r}")
    if not str(manifest.get("version", "")).startswith("18.0."):
        problems.append("__manifest__.py: version must start with 18.0.")
    listed = set(manifest.get("data", []))
    for name in listed:
        if not (ROOT / name).is_file():
            problems.append(f"__manifest__.py lists {name}, which does not exist")
    for folder in ("views", "data", "security", "wizard"):
        for path in sorted((ROOT / folder).glob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix in (".xml", ".csv") and rel not in listed:
                problems.append(f"{rel} is not listed in __manifest__.py data")
    for path in sorted(ROOT.glob("*/*.xml")):
        try:
            ET.parse(path)
        except ET.ParseError as exc:
            problems.append(f"{path.relative_to(ROOT)}: {exc}")
    with (ROOT / "security" / "ir.model.access.csv").open() as handle:
        rows = list(csv.reader(handle))
    if rows[0] != ["id", "name", "model_id:id", "group_id:id", "perm_read", "perm_write", "perm_create",
                   "perm_unlink"]:
        problems.append("security/ir.model.access.csv: unexpected header")
    for row in rows[1:]:
        if len(row) != 8 or any(flag not in ("0", "1") for flag in row[4:]):
            problems.append(f"security/ir.model.access.csv: bad row {row}")
    problems += check_readme()
    return problems


def check_readme():
    """README.rst renders without docutils warnings (skipped when docutils is not installed)."""
    try:
        import docutils.core
        import docutils.utils
    except ImportError:
        return []
    warnings = io.StringIO()
    try:
        docutils.core.publish_string((ROOT / "README.rst").read_text(), writer_name="null", settings_overrides={
            "report_level": 2, "halt_level": 5, "warning_stream": warnings})
    except docutils.utils.SystemMessage as exc:
        return [f"README.rst: {exc}"]
    return [f"README.rst: {line}" for line in warnings.getvalue().splitlines() if line.strip()]


def run_step(title, cmd, env=None, cwd=ROOT):
    say(f"{title}: {' '.join(map(str, cmd))}")
    return subprocess.run(list(map(str, cmd)), env=env, cwd=cwd, check=False).returncode


def junit_counts(path):
    if not path.exists():
        return 0, 0, 0
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


PYLINT_TARGETS = ("__init__.py", "__manifest__.py", "controllers", "models", "tests", "tools", "wizard")


def lint(report):
    status = 0
    problems = check_static()
    for problem in problems:
        print(f"  {RED}{problem}{RESET}")
    report.append(("manifest / XML / CSV checks", not problems))
    status |= bool(problems)
    linters = [  # (title, module that must be installed, command run as python -m)
        ("ruff", "ruff", ["ruff", "check", "."]),
        ("pylint-odoo", "pylint_odoo", ["pylint", "--rcfile", ROOT / ".pylintrc", *PYLINT_TARGETS]),
    ]
    for title, module, command in linters:
        if not _has_module(module):
            fail(f"{title} is missing: pip install -r dev/requirements-dev.txt")
        code = run_step(title, [sys.executable, "-m", *command])
        report.append((title, code == 0))
        status |= code != 0
    return status


def _has_module(name):
    return subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, check=False,
                          cwd="/").returncode == 0


# ----------------------------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------------------------

def cmd_test(options):
    report = []
    counts = [0, 0, 0]
    status = 0 if options.no_lint else lint(report)

    pure = WORK / "junit-pure.xml"
    code = run_step("pure-Python tests (no Odoo needed)",
                    [sys.executable, "-m", "pytest", "-p", "no:odoo", "-p", "no:cacheprovider", "-q",
                     "--rootdir=dev/tests", f"--junitxml={pure}", "dev/tests"])
    status |= code not in (0,)
    report.append(("pure-Python tests", code == 0))
    for i, value in enumerate(junit_counts(pure)):
        counts[i] += value

    odoo = find_odoo(options.odoo)
    if odoo is None:
        print()
        print(f"{RED}{BOLD}{'!' * 100}")
        print("!! ODOO TIER NOT RUN: " + ODOO_MISSING)
        print(f"{'!' * 100}{RESET}")
        report.append(("Odoo tier (NOT RUN: Odoo 18 not found)", None))
    else:
        env = odoo_env(odoo)
        check_odoo_importable(odoo, env)
        code, odoo_counts = odoo_tier(options, odoo, env, report)
        status |= code
        for i, value in enumerate(odoo_counts):
            counts[i] += value

    print()
    say("summary")
    for title, ok in report:
        mark = f"{GREEN}ok{RESET}" if ok else (f"{RED}NOT RUN{RESET}" if ok is None else f"{RED}FAILED{RESET}")
        print(f"  {mark:>6}  {title}")
    line = f"{counts[0]} passed, {counts[1]} failed"
    if counts[2]:
        line += f", {counts[2]} skipped"
    print(f"total: {line}")
    return 1 if status else 0


def odoo_tier(options, odoo, env, report):
    server = database_server(options)
    db = options.database or f"didww_test_{os.getpid()}"
    paths = addons_path(odoo)
    config_args = [f"--addons-path={paths}", *server.odoo_args(), "-d", db, "--data-dir", str(WORK / "data")]
    base = [*odoo_bin_cmd(odoo), *config_args, "--http-port", str(free_port()), "--no-database-list"]
    counts = (0, 0, 0)
    try:
        say(f"installing {ADDON} on the throwaway database {db}")
        log = WORK / "install.log"
        with log.open("w") as handle:
            # base_automation: the automated-action tests use it (the addon does not depend on it)
            code = subprocess.run([*base, "-i", f"{ADDON},base_automation", "--without-demo=all", "--stop-after-init",
                                   "--log-level=info"], env=env, stdout=handle, stderr=subprocess.STDOUT,
                                  check=False, cwd=ROOT).returncode
        noisy = [line for line in log.read_text().splitlines()
                 if (" WARNING " in line or " ERROR " in line or " CRITICAL " in line)]
        clean = code == 0 and not noisy
        for line in noisy[:20]:
            print(f"  {RED}{line}{RESET}")
        report.append((f"install on a fresh database, no WARNING/ERROR (log: {log})", clean))
        if code != 0:
            print(log.read_text()[-4000:])
            return 1, counts

        junit = WORK / "junit-odoo.xml"
        extra = [f"--odoo-extra={arg.lstrip('-')}" for arg in server.odoo_args()]
        code = run_step("Odoo tests (pytest-odoo)", [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
            f"--odoo-database={db}", f"--odoo-addons-path={paths}", "--odoo-http", "--odoo-log-level=warn",
            f"--odoo-extra=data-dir={WORK / 'data'}", *extra, f"--junitxml={junit}",
            # pytest-odoo imports odoo.tests before Odoo knows it is testing (an ERROR log with a
            # stack); a test file option marks test mode without running anything at load time
            "--odoo-extra=test-file=/dev/null",
            "-W", "default::DeprecationWarning",
            # from the link's folder, never from inside the link: the module must be
            # odoo.addons.didww_connector, whatever the clone's folder is called
            f"--rootdir={ADDONS_LINK_DIR}", *(options.pytest_args or []), str(ADDONS_LINK_DIR / ADDON / "tests"),
        ], env=env, cwd=ADDONS_LINK_DIR)
        counts = junit_counts(junit)
        ran = counts[0] + counts[1] > 0
        report.append((f"Odoo tests: {counts[0]} passed, {counts[1]} failed (tests and subtests)",
                       code == 0 and ran))
        if not ran:
            say("the Odoo tier ran no test: that is a failure")
        status = int(code != 0 or not ran or not clean)

        if not options.pytest_args:
            say(f"uninstalling {ADDON}")
            uninstall = odoo_python(env, config_args, _UNINSTALL.format(addon=ADDON))
            ok = uninstall.returncode == 0 and "UNINSTALLED" in uninstall.stdout
            if not ok:
                print(uninstall.stdout[-2000:], uninstall.stderr[-4000:])
            report.append(("uninstall", ok))
            status |= not ok
        return status, counts
    finally:
        if not options.keep_db:
            odoo_python(env, config_args, f"odoo.service.db.exp_drop({db!r})")
        server.stop()


_UNINSTALL = """
with odoo.registry(config['db_name']).cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {{}})
    env['ir.module.module'].search([('name', '=', '{addon}')]).button_immediate_uninstall()
with odoo.registry(config['db_name']).cursor() as cr:
    env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {{}})
    state = env['ir.module.module'].search([('name', '=', '{addon}')]).state
    print('UNINSTALLED' if state == 'uninstalled' else 'STILL ' + state)
"""


def odoo_python(env, config_args, body):
    """Run ``body`` in a Python with Odoo's configuration parsed from ``config_args``."""
    script = "import sys, odoo\nfrom odoo.tools import config\nconfig.parse_config(sys.argv[1:])\n" + body
    return subprocess.run([sys.executable, "-c", script, *config_args], env=env, capture_output=True,
                          text=True, check=False, cwd=ROOT)


def cmd_run(options):
    odoo = find_odoo(options.odoo)
    if odoo is None:
        fail(ODOO_MISSING)
    env = odoo_env(odoo)
    check_odoo_importable(odoo, env)
    server = database_server(options)
    paths = addons_path(odoo)
    db = options.database or "didww_demo"
    cmd = [*odoo_bin_cmd(odoo), f"--addons-path={paths}", *server.odoo_args(), "-d", db, "--db-filter", f"^{db}$",
           "--data-dir", str(WORK / "data"), "--http-port", str(options.port), "-i", ADDON,
           "--http-interface", options.interface]
    say(f"Odoo on http://localhost:{options.port} (database {db}, login admin / admin); Ctrl+C stops it")
    process = subprocess.Popen(cmd, env=env, cwd=ROOT)
    signal.signal(signal.SIGTERM, lambda *_args: process.terminate())  # stop Odoo, then PostgreSQL
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()
    finally:
        server.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo", help="Odoo 18 source tree (the folder with odoo-bin); default $ODOO_PATH "
                                       "or an importable odoo")
    parser.add_argument("--db-host")
    parser.add_argument("--db-port")
    parser.add_argument("--db-user")
    parser.add_argument("--db-password")
    parser.add_argument("--database", help="database name (run: didww_demo, test: a throwaway one)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start Odoo with the addon on a demo database")
    run.add_argument("--port", type=int, default=8069)
    run.add_argument("--interface", default="127.0.0.1")
    test = sub.add_parser("test", help="lint, checks, pure-Python tests and the Odoo tests")
    test.add_argument("--no-lint", action="store_true")
    test.add_argument("--keep-db", action="store_true")
    test.add_argument("pytest_args", nargs="*", help="extra pytest arguments for the Odoo tier, e.g. -k webhook")
    options = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    start = time.monotonic()
    code = cmd_run(options) if options.command == "run" else cmd_test(options)
    say(f"done in {time.monotonic() - start:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
