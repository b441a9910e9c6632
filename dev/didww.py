#!/usr/bin/env python3
"""Developer runner for didww_connector (not imported by Odoo).

    python3 dev/didww.py run     # Odoo on http://localhost:8069, addon installed on a demo database
    python3 dev/didww.py test    # lint + checks + the Odoo tests (pytest-odoo, browser tours included)

Odoo: ``--odoo PATH`` or ``$ODOO_PATH`` (an Odoo 18 source tree), else the source named by
``--odoo-source`` / ``$ODOO_SOURCE`` (a folder, a .tar.gz or a URL), else an importable ``odoo``, else
the Odoo the last command used (``.work/last-odoo``, or the tree last unpacked under ``.work/odoo/``),
else Odoo's 18.0 branch from GitHub: sources are unpacked once under ``.work/odoo/``. When the
Python running this script cannot run that Odoo, a virtualenv under ``.work/`` gets Odoo's
requirements and the dev tools (once), and the script re-executes itself with it. PostgreSQL:
``--db-host/--db-port/--db-user/--db-password`` or ``$PGHOST``, ``$PGPORT``, ``$PGUSER``,
``$PGPASSWORD``; else the machine's server on 127.0.0.1:5432 as role ``odoo`` (created when trust
auth allows); else a private cluster under ``.work/`` (as the ``nobody`` user when run as root,
since PostgreSQL refuses root).
"""

import argparse
import ast
import csv
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

ADDON = "didww_connector"
# installed beside the addon for its tests only (automated actions, SMS Marketing)
TEST_ONLY_MODULES = ("base_automation", "mass_mailing_sms")
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
# Getting Odoo: a tree given, a source (folder, .tar.gz, URL) unpacked under .work/, else Odoo's own
# ----------------------------------------------------------------------------------------------

def find_odoo(path_option):
    """Return ``(python_path_entry, odoo_package_dir)`` for an Odoo tree given or importable, or ``None``."""
    for candidate in (path_option, os.environ.get("ODOO_PATH")):
        if candidate:
            root = odoo_root(Path(candidate).expanduser().resolve())
            if root is None:
                fail(f"{candidate} is not an Odoo source tree (no odoo/release.py). Point --odoo / ODOO_PATH at "
                     "the folder that holds odoo-bin.")
            return str(root), root / "odoo"
    probe = subprocess.run(
        [sys.executable, "-c", "import odoo, os; print(os.path.dirname(odoo.__file__))"],
        capture_output=True, text=True, check=False, cwd="/")
    if probe.returncode == 0 and probe.stdout.strip():
        package = Path(probe.stdout.strip().splitlines()[-1])
        return "", package
    return None


def odoo_root(folder, depth=2):
    """The folder holding ``odoo/release.py`` at or below ``folder`` (an unpacked archive has one level)."""
    if (folder / "odoo" / "release.py").is_file():
        return folder
    if depth and folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                found = odoo_root(child, depth - 1)
                if found:
                    return found
    return None


def odoo_from_source(source):
    """Unpack (or download and unpack) an Odoo 18.0 source once under .work/odoo/<key>; return its root."""
    if "://" not in source:
        path = Path(source).expanduser().resolve()
        if path.is_dir():
            root = odoo_root(path)
            if root is None:
                fail(f"{path} holds no Odoo source tree (no odoo/release.py): name the folder with odoo-bin.")
            return root
        if not path.is_file():
            fail(f"the Odoo source {source} does not exist: name a folder, a .tar.gz or a URL.")
        stat = path.stat()
        key = hashlib.sha1(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    else:
        key = hashlib.sha1(source.encode()).hexdigest()[:12]
    target = WORK / "odoo" / key
    done = target / ".unpacked"
    if not done.exists():
        if "://" in source:
            path = download(source, WORK / "downloads" / f"{key}.tar.gz")
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        say(f"unpacking {path.name} into {target.relative_to(ROOT)}")
        result = subprocess.run(["tar", "-xzf", str(path), "-C", str(target), "--no-same-owner"],
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            fail(f"could not unpack {path}: {result.stderr.strip()[:300]}. Name an Odoo source .tar.gz, a folder or "
                 "a URL.")
        done.write_text(source)
    root = odoo_root(target)
    if root is None:
        fail(f"{source} holds no Odoo source tree (no odoo/release.py): name an Odoo 18.0 source archive.")
    return root


def download(url, path):
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    say(f"downloading Odoo 18.0 from {url}")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as handle:
            shutil.copyfileobj(response, handle, 1 << 20)
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        fail(f"could not download Odoo from {url} ({exc}): without internet, name an Odoo 18.0 you have with "
             "--odoo-source FOLDER|FILE.tar.gz|URL (or ODOO_SOURCE), or --odoo /path/to/odoo.")
    partial.rename(path)
    return path


# Lines of Odoo's requirements.txt that the project venv leaves out, and why
REQUIREMENTS_LEFT_OUT = {
    "python-ldap": "only auth_ldap needs it, and it builds from source with LDAP headers",
    "pylint": "the linters come from dev/requirements-dev.txt",
    "astroid": "the linters come from dev/requirements-dev.txt",
}
# Odoo's pins for Python 3.12 all have wheels that install on 3.11; several 3.11 pins build from source only
MARKER_ENVIRONMENT = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux"}


def project_venv(odoo_tree):
    """A virtualenv under .work/ with Odoo's requirements and the dev tools, keyed by what goes in it."""
    python = Path(sys.executable)
    wanted = odoo_requirements(odoo_tree / "requirements.txt")
    dev = (ROOT / "dev" / "requirements-dev.txt").read_text()
    # trees whose requirements come to the same list share one venv
    key = hashlib.sha1("\n".join([sys.version, *wanted, dev]).encode()).hexdigest()[:12]
    venv = WORK / f"venv-{key}"
    venv_python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return venv_python
    shutil.rmtree(venv, ignore_errors=True)
    say(f"creating the project virtualenv {venv.relative_to(ROOT)} with Odoo's requirements (once: about a minute)")
    made = subprocess.run([str(python), "-m", "venv", str(venv)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        fail(f"{python} cannot create a virtualenv ({(made.stderr or made.stdout).strip().splitlines()[-1]}): "
             "install Python's venv module (Debian: apt-get install python3-venv) and run again.")
    reqs = venv / "odoo-requirements.txt"
    reqs.write_text("\n".join(wanted) + "\n")
    log = WORK / "pip.log"
    pip = [str(venv_python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    with log.open("w") as handle:
        dev_reqs = str(ROOT / "dev" / "requirements-dev.txt")
        for step in ([*pip, "install", "--upgrade", "pip"],
                     [*pip, "install", "--prefer-binary", "-r", str(reqs), "-r", dev_reqs]):
            handle.write(f"$ {' '.join(step)}\n")
            handle.flush()
            if subprocess.run(step, stdout=handle, stderr=subprocess.STDOUT, check=False).returncode != 0:
                last = [line for line in log.read_text().splitlines() if line.strip()][-1:]
                fail(f"installing Odoo's Python requirements failed ({' '.join(last)[:300]}; full log: {log}): "
                     "install what the log names (or use --odoo with a Python that already runs Odoo) and run again.")
    (venv / ".complete").write_text(str(odoo_tree))
    return venv_python


def odoo_requirements(path):
    """Odoo's requirements.txt as pins to install: markers read as for Python 3.12, some lines left out."""
    try:
        from packaging.requirements import InvalidRequirement, Requirement
    except ImportError:  # pip carries its own copy
        try:
            from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
        except ImportError:
            fail(f"{sys.executable} has neither pip nor packaging: install pip (Debian: apt-get install python3-pip).")
    kept = []
    for raw in (path.read_text().splitlines() if path.exists() else []):
        line = raw.split("#")[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            fail(f"{path} has a line pip cannot read ({line!r}): is it an Odoo 18.0 source tree?")
        if requirement.name.lower() in REQUIREMENTS_LEFT_OUT:
            continue
        if requirement.marker and not requirement.marker.evaluate(MARKER_ENVIRONMENT):
            continue
        requirement.marker = None
        kept.append(str(requirement))
    return sorted(kept)


def runs_odoo(python, odoo, modules=()):
    """Does ``python`` import Odoo from ``odoo`` (and ``modules``)?"""
    env = odoo_env(odoo)
    code = "import odoo.release, odoo.api, odoo.tests" + "".join(f", {m}" for m in modules)
    return subprocess.run([str(python), "-c", code], capture_output=True, env=env, check=False,
                          cwd="/").returncode == 0


ODOO_DEFAULT_SOURCE = "https://github.com/odoo/odoo/archive/refs/heads/18.0.tar.gz"
TEST_MODULES = ("pytest_odoo", "ruff", "pylint_odoo")


def provide_odoo(options):
    """Find or set up Odoo and a Python that runs it; re-exec this script with that Python if needed.

    Returns ``(python_path_entry, odoo_package_dir)`` once running under the right Python.
    """
    if os.environ.get("_DIDWW_ODOO_TREE"):  # we are the re-executed runner, in the project venv
        tree = Path(os.environ["_DIDWW_ODOO_TREE"])
        return str(tree), tree / "odoo"
    modules = TEST_MODULES if options.command == "test" else ()
    source = options.odoo_source or os.environ.get("ODOO_SOURCE")
    # a tree given wins; a source given wins over an odoo that happens to be importable
    odoo = find_odoo(options.odoo) if options.odoo or os.environ.get("ODOO_PATH") or not source else None
    if odoo is not None and not odoo[0]:
        if runs_odoo(sys.executable, odoo, modules):
            return odoo
        fail(f"{sys.executable} imports Odoo but not all that '{options.command}' needs (Odoo's requirements, "
             f"{', '.join(modules) or 'nothing else'}): pip install -r dev/requirements-dev.txt in it, or name "
             "the Odoo tree with --odoo so that the runner sets up a virtualenv for it.")
    if odoo is not None:
        tree = Path(odoo[0])
    elif source:
        tree = odoo_from_source(source)
    else:
        tree = last_used_odoo() or odoo_from_source(ODOO_DEFAULT_SOURCE)
    remember_odoo(tree)
    if runs_odoo(sys.executable, (str(tree), tree / "odoo"), modules):
        return str(tree), tree / "odoo"  # this Python already runs it (e.g. your own Odoo virtualenv)
    venv_python = project_venv(tree)
    odoo = (str(tree), tree / "odoo")
    env = dict(os.environ, _DIDWW_ODOO_TREE=str(tree))
    say(f"Odoo {tree} with {venv_python.relative_to(ROOT)}")
    sys.stdout.flush()
    # the script that was started (this runner, or dev/bench.py) starts again in the venv
    os.execve(str(venv_python), [str(venv_python), os.path.abspath(sys.argv[0]), *sys.argv[1:]], env)
    return odoo  # not reached


LAST_ODOO = WORK / "last-odoo"


def remember_odoo(tree):
    """Note the Odoo tree this command uses: the next command that names none uses it again."""
    WORK.mkdir(exist_ok=True)
    LAST_ODOO.write_text(f"{tree}\n")


def last_used_odoo():
    """The Odoo tree a previous command used (``.work/last-odoo``), else the one most recently
    unpacked under ``.work/odoo/``, saying which; ``None`` when there is none."""
    remembered = LAST_ODOO.read_text().strip() if LAST_ODOO.is_file() else ""
    tree = odoo_root(Path(remembered)) if remembered and Path(remembered).is_dir() else None
    how = "the last one used"
    if tree is None:
        unpacked = sorted((WORK / "odoo").glob("*/.unpacked"), key=lambda done: done.stat().st_mtime, reverse=True)
        tree = next(filter(None, (odoo_root(done.parent) for done in unpacked)), None)
        how = "the last one unpacked under .work/odoo"
    if tree is not None:
        say(f"using Odoo at {tree} ({how}; --odoo or --odoo-source names another)")
    return tree


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
        import psycopg2  # Odoo's own driver, in whatever Python runs Odoo

        try:
            psycopg2.connect(host=self.host or None, port=self.port or None, user=self.user or None,
                             password=self.password or None, dbname="postgres", connect_timeout=5).close()
        except psycopg2.Error as exc:
            reason = " ".join(str(exc).split())[:200]
            fail(f"PostgreSQL at {self.host or 'the local socket'}:{self.port or 5432} does not let "
                 f"{self.user or 'you'} in ({reason}): start it, or fix --db-host/--db-port/--db-user/--db-password "
                 "(PGHOST/PGPORT/PGUSER/PGPASSWORD).")
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
    """PostgreSQL as the user says, else the machine's on 127.0.0.1:5432, else a private cluster."""
    host = options.db_host or os.environ.get("PGHOST")
    port = options.db_port or os.environ.get("PGPORT")
    user = options.db_user or os.environ.get("PGUSER")
    password = options.db_password or os.environ.get("PGPASSWORD")
    if host or user:
        return ExternalServer(host, port, user, password).start()
    if machine_postgres_role("127.0.0.1", 5432):
        return ExternalServer("127.0.0.1", "5432", "odoo", None).start()
    return PrivateCluster().start()


def machine_postgres_role(host, port, role="odoo"):
    """Can Odoo use ``role`` on the machine's PostgreSQL? Creates the role when trust auth lets us."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False  # no server there
    import psycopg2  # Odoo's own driver, in whatever Python runs Odoo

    def connect(user):
        return psycopg2.connect(host=host, port=port, user=user, dbname="postgres", connect_timeout=5)

    try:
        connect(role).close()
        return True
    except psycopg2.OperationalError:
        pass
    try:
        with connect("postgres") as conn, conn.cursor() as cr:
            cr.execute(f'CREATE ROLE "{role}" LOGIN CREATEDB')
        conn.close()
    except psycopg2.Error as exc:
        fail(f"PostgreSQL on {host}:{port} does not let the runner in as '{role}' ({str(exc).strip()[:200]}): "
             f"create that role (createuser -h {host} -U postgres --createdb {role}) or pass "
             "--db-user/--db-password (or PGUSER/PGPASSWORD).")
    say(f"created the PostgreSQL role '{role}' on {host}:{port}")
    return True


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


def junit_counts(path, modules=("",)):
    """(passed, failed, skipped) test cases in a JUnit XML report, of ``modules`` only when given."""
    if not path.exists():
        return 0, 0, 0
    cases = [case for case in ET.parse(path).getroot().iter("testcase")
             if any(module in case.get("classname", "") for module in modules)]
    failed = sum(1 for case in cases if case.find("failure") is not None or case.find("error") is not None)
    skipped = sum(1 for case in cases if case.find("skipped") is not None)
    return len(cases) - failed - skipped, failed, skipped


# the tests that drive headless Chromium: tours, the softphone's Hoot tests and its calls
BROWSER_TEST_MODULES = ("test_ui_tours", "test_ui_admin_tours", "test_ui_screens", "test_ui_failures",
                        "test_softphone_js", "test_softphone_e2e")
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
    odoo = provide_odoo(options)
    env = odoo_env(odoo)
    check_odoo_importable(odoo, env)
    report = []
    browser = Browser()
    browser.ensure_in_background()
    status = 0 if options.no_lint else lint(report)
    browser.wait()
    # without Kamailio the tests tagged didww_connector_kamailio are left out, saying NOT RUN below
    deselect = tagged_test_files("didww_connector_kamailio") if browser.kamailio_missing else []
    code, counts, tours = odoo_tier(options, odoo, env, report, deselect)
    status |= code
    if browser.kamailio_missing:
        print(f"\n{RED}{BOLD}{'!' * 100}\n!! SOFTPHONE END-TO-END CALLS DID NOT RUN: {browser.kamailio_missing}"
              f"\n{'!' * 100}{RESET}")
        report.append((f"softphone end-to-end calls (NOT RUN: {browser.kamailio_missing})", None))

    if options.pytest_args:
        pass  # a chosen subset of tests: the tours are judged only on full runs
    elif tours[0] == 0 and not browser.available:
        print(f"\n{RED}{BOLD}{'!' * 100}\n!! BROWSER TESTS (TOURS) DID NOT RUN: {browser.missing}\n{'!' * 100}{RESET}")
        report.append((f"browser tours (NOT RUN: {browser.missing})", None))
    else:
        ok = tours[0] > 0 and tours[1] == 0
        report.append((f"browser tests (tours, Hoot, softphone calls): {tours[0]} passed, {tours[1]} failed, "
                       f"{tours[2]} did not run", ok))
        status |= not ok

    print()
    say(f"summary (Odoo {odoo_version(env)} at {odoo[1].parent})")
    for title, ok in report:
        mark = f"{GREEN}ok{RESET}" if ok else (f"{RED}NOT RUN{RESET}" if ok is None else f"{RED}FAILED{RESET}")
        print(f"  {mark:>6}  {title}")
    line = f"{counts[0]} passed, {counts[1]} failed"
    if counts[2]:
        line += f", {counts[2]} skipped"
    print(f"total: {line}")
    (WORK / "last-test.json").write_text(json.dumps({
        "odoo": str(odoo[1].parent), "passed": counts[0], "failed": counts[1], "skipped": counts[2],
        "tours_passed": tours[0], "tours_failed": tours[1], "browser": browser.available,
        "kamailio": not browser.kamailio_missing, "status": int(bool(status)),
    }))
    return 1 if status else 0


def odoo_version(env):
    out = subprocess.run([sys.executable, "-c", "import odoo.release as r; print(r.serie, r.version)"],
                         capture_output=True, text=True, env=env, check=False, cwd="/")
    return out.stdout.strip().split()[-1] if out.returncode == 0 else "?"


APT_LOG = WORK / "apt.log"


def may_apt_install():
    """Can the runner install system packages itself (root, with apt-get)?"""
    return os.geteuid() == 0 and bool(shutil.which("apt-get"))


def apt_install(packages, why):
    """Install Debian ``packages`` with apt-get (refreshing the package lists only when the first try
    fails); the output goes to ``.work/apt.log``. Return whether apt-get succeeded."""
    say(f"installing {' '.join(packages)} {why} with apt-get (log: {APT_LOG})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", "--no-install-recommends",
               *packages]
    with APT_LOG.open("a") as handle:
        for cmd in (install, ["apt-get", "update", "-q"], install):
            code = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  env=env, check=False).returncode
            if code == 0 and cmd is install:
                return True
    return False


class Browser:
    """What the browser tests need from the system: headless Chromium (tours, Hoot tests, the
    softphone's calls) found as Odoo finds it, and Kamailio with its WebSocket and TLS modules (the
    softphone's end-to-end calls); installed with apt-get when we may."""

    EXECUTABLES = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")
    KAMAILIO_PACKAGES = ("kamailio", "kamailio-websocket-modules", "kamailio-tls-modules")

    def __init__(self):
        self.thread = None
        self.missing = ""
        self.kamailio_missing = ""

    @property
    def available(self):
        return not self.missing

    def _found(self):
        return any(shutil.which(name) for name in self.EXECUTABLES)

    @staticmethod
    def _kamailio_found():
        return bool(shutil.which("kamailio") or Path("/usr/sbin/kamailio").exists()) and any(
            Path("/usr/lib").glob("*/kamailio/modules/websocket.so"))

    def _to_install(self):
        return ([] if self._found() else ["chromium"]) + ([] if self._kamailio_found() else
                                                          list(self.KAMAILIO_PACKAGES))

    def ensure_in_background(self):
        if self._to_install() and may_apt_install():
            self.thread = threading.Thread(target=self._install, args=(self._to_install(),), daemon=True)
            self.thread.start()

    def _install(self, packages):
        apt_install(packages, "for the browser tests")

    def wait(self):
        if self.thread:
            self.thread.join()
        may_install = may_apt_install()
        if not self._found():
            self.missing = ("no Chromium/Chrome found; install Debian's chromium package "
                            "(apt-get install chromium) and run again")
            if may_install:
                self.missing = f"apt-get could not install chromium (see {APT_LOG})"
        elif not _has_module("websocket"):
            self.missing = "the websocket-client Python package is missing: pip install -r dev/requirements-dev.txt"
        if not self._kamailio_found():
            packages = " ".join(self.KAMAILIO_PACKAGES)
            self.kamailio_missing = (f"apt-get could not install {packages} (see {APT_LOG})" if may_install
                                     else f"Kamailio is missing: apt-get install {packages}")


class Nginx:
    """nginx as the reverse proxy in front of Odoo that Odoo's deployment guide describes (the
    README's *Deployment* section), for the inbound benchmark; installed with apt-get when missing
    and we may, else :attr:`missing` says why not. Its files live under ``.work/nginx/``."""

    CONFIG = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    # max_fails=0: a refused connection in a burst never marks the only Odoo down for 10 s
    upstream odoo {{ server 127.0.0.1:{odoo_port} max_fails=0; }}
    # the webhook: the same Odoo listed three times, so that a connection Linux resets in a burst
    # (Odoo's listen backlog is 8 per worker) is tried again; a delivery is stored once whatever the tries
    upstream odoo_webhook {{
        server 127.0.0.1:{odoo_port} max_fails=0;
        server 127.0.0.1:{odoo_port} max_fails=0;
        server 127.0.0.1:{odoo_port} max_fails=0;
    }}
    upstream odoochat {{ server 127.0.0.1:{gevent_port} max_fails=0; }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        proxy_read_timeout 720s;
        proxy_connect_timeout 720s;
        proxy_send_timeout 720s;
        client_max_body_size 64m;
        location /websocket {{
            proxy_pass http://odoochat;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Real-IP $remote_addr;
        }}
        location /didww/webhook/ {{
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_redirect off;
            proxy_next_upstream error timeout non_idempotent;
            proxy_pass http://odoo_webhook;
        }}
        location / {{
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_redirect off;
            proxy_buffering on;
            proxy_pass http://odoo;
        }}
    }}
}}
"""

    def __init__(self):
        self.process = None
        self.missing = ""

    @staticmethod
    def executable():
        return shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None)

    def ensure(self):
        """Find nginx, or install it (Debian's nginx-light) with apt-get when running as root."""
        if self.executable():
            return True
        if may_apt_install():
            apt_install(["nginx-light"], "for the inbound benchmark")
            self.missing = "" if self.executable() else f"apt-get could not install nginx (see {APT_LOG})"
        else:
            self.missing = "nginx is missing: apt-get install nginx-light (or nginx) and run again"
        return not self.missing

    def start(self, port, odoo_port, gevent_port):
        root = WORK / "nginx"
        root.mkdir(parents=True, exist_ok=True)
        config = root / "nginx.conf"
        config.write_text(self.CONFIG.format(root=root, port=port, odoo_port=odoo_port, gevent_port=gevent_port))
        self.process = subprocess.Popen([self.executable(), "-p", str(root), "-c", str(config), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"nginx stopped at start (see {root / 'error.log'})")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return self
            time.sleep(0.1)
        fail("nginx did not listen within 10 s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def tagged_test_files(tag):
    """``--deselect`` options for the test files whose classes carry ``tag`` (read, not imported)."""
    return [f"--deselect={ADDON}/tests/{path.name}" for path in sorted((ROOT / "tests").glob("test_*.py"))
            if f'"{tag}"' in path.read_text(encoding="utf-8")]


def odoo_tier(options, odoo, env, report, deselect=()):
    server = database_server(options)
    db = options.database or f"didww_test_{os.getpid()}"
    paths = addons_path(odoo)
    config_args = [f"--addons-path={paths}", *server.odoo_args(), "-d", db, "--data-dir", str(WORK / "data")]
    base = [*odoo_bin_cmd(odoo), *config_args, "--http-port", str(free_port()), "--no-database-list"]
    counts, tours = (0, 0, 0), (0, 0, 0)
    try:
        say(f"installing {ADDON} on the throwaway database {db}")
        log = WORK / "install.log"
        with log.open("w") as handle:
            # base_automation and mass_mailing_sms: the automated-action and SMS Marketing tests use
            # them (the addon depends on neither)
            code = subprocess.run([*base, "-i", f"{ADDON},{','.join(TEST_ONLY_MODULES)}", "--without-demo=all",
                                   "--stop-after-init", "--log-level=info"], env=env, stdout=handle,
                                  stderr=subprocess.STDOUT, check=False, cwd=ROOT).returncode
        noisy = [line for line in log.read_text().splitlines()
                 if (" WARNING " in line or " ERROR " in line or " CRITICAL " in line)]
        clean = code == 0 and not noisy
        for line in noisy[:20]:
            print(f"  {RED}{line}{RESET}")
        report.append((f"install on a fresh database, no WARNING/ERROR (log: {log})", clean))
        if code != 0:
            print(log.read_text()[-4000:])
            return 1, counts, tours

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
            f"--rootdir={ADDONS_LINK_DIR}", *deselect, *(options.pytest_args or []),
            str(ADDONS_LINK_DIR / ADDON / "tests"),
        ], env=env, cwd=ADDONS_LINK_DIR)
        counts = junit_counts(junit)
        tours = junit_counts(junit, BROWSER_TEST_MODULES)
        ran = counts[0] + counts[1] > 0
        report.append((f"Odoo tests: {counts[0]} passed, {counts[1]} failed",
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
        return status, counts, tours
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
    odoo = provide_odoo(options)
    env = odoo_env(odoo)
    check_odoo_importable(odoo, env)
    server = database_server(options)
    paths = addons_path(odoo)
    db = options.database or "didww_demo"
    # a new database gets Odoo's demo data (--without-demo is off by default in 18.0); once the addon
    # is installed, later starts only serve it (--update reloads its data after a code change)
    installed = odoo_python(env, [*server.odoo_args(), "-d", db], _INSTALLED.format(addon=ADDON)).stdout.strip()
    install = ["-u", ADDON] if installed == "installed" and options.update else \
        [] if installed == "installed" else ["-i", ADDON]
    cmd = [*odoo_bin_cmd(odoo), f"--addons-path={paths}", *server.odoo_args(), "-d", db, "--db-filter", f"^{db}$",
           "--data-dir", str(WORK / "data"), "--http-port", str(options.port), *install,
           "--http-interface", options.interface]
    say(f"starting Odoo on the database {db}" + (" (installing the addon: about a minute)" if "-i" in install else ""))
    process = subprocess.Popen(cmd, env=env, cwd=ROOT)
    threading.Thread(target=_announce_when_up, args=(process, options.port, db), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_args: process.terminate())  # stop Odoo, then PostgreSQL
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        return process.wait()
    finally:
        server.stop()


_INSTALLED = """
try:
    with odoo.sql_db.db_connect(config['db_name']).cursor() as cr:
        cr.execute("SELECT state FROM ir_module_module WHERE name = %s", ['{addon}'])
        print((cr.fetchone() or ['absent'])[0])
except Exception:  # no such database yet
    print('absent')
"""


def _announce_when_up(process, port, db):
    url = f"http://localhost:{port}"
    while process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/web/login", timeout=5) as response:
                if response.status == 200:
                    say(f"{GREEN}Odoo is serving {ADDON} at {url} (database {db}): log in as admin, "
                        f"password admin. Ctrl+C stops it.{RESET}")
                    return
        except OSError:
            pass
        time.sleep(2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--odoo", help="an Odoo 18 source tree to use as it is (the folder with odoo-bin); "
                                       "default $ODOO_PATH or an importable odoo")
    parser.add_argument("--odoo-source", help="where to get Odoo 18.0 when none is given: a folder, a .tar.gz or "
                                              "a URL; default $ODOO_SOURCE, else the Odoo the last command used "
                                              f"under .work/, else {ODOO_DEFAULT_SOURCE}")
    parser.add_argument("--db-host")
    parser.add_argument("--db-port")
    parser.add_argument("--db-user")
    parser.add_argument("--db-password")
    parser.add_argument("--database", help="database name (run: didww_demo, test: a throwaway one)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start Odoo with the addon on a demo database")
    run.add_argument("--port", type=int, default=8069)
    run.add_argument("--interface", default="127.0.0.1")
    run.add_argument("--update", action="store_true", help="update the addon (-u) before serving, after a code change")
    test = sub.add_parser("test", help="lint, checks and the Odoo tests (browser tours included)")
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
