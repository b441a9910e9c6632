"""The inbound harness shared by ``dev/bench_inbound.py``, ``dev/bench_scale.py``, ``dev/fuzz.py``
and ``dev/faults_inbound.py``: the addon on a throwaway database served by Odoo (:class:`BenchOdoo`,
optionally behind nginx), DIDWW-style deliveries (:func:`delivery`, :func:`deliver`,
:func:`deliver_until_2xx`), and what was posted (:class:`DonePoller`, :func:`posted_counts`). The
Python run inside Odoo lives in real files under ``dev/odoo_scripts/`` (:func:`odoo_script`).
"""

import argparse
import base64
import http.client
import json
import subprocess
import threading
import time
import uuid as uuidlib
from pathlib import Path

import didww as runner

NUMBER = "37052000000"
KNOWN_PREFIX, NEW_PREFIX = "370610", "370680"  # known contacts +370610xxxxx, new senders +370680xxxxx
SCRIPTS = Path(__file__).resolve().parent / "odoo_scripts"


def odoo_script(env, config_args, name, **params):
    """Run ``dev/odoo_scripts/<name>.py`` in a Python with Odoo's configuration parsed from
    ``config_args``; ``params`` reach it as JSON in ``DIDWW_SCRIPT_PARAMS``."""
    body = f"import runpy\nrunpy.run_path({str(SCRIPTS / (name + '.py'))!r}, run_name='__main__')\n"
    return runner.odoo_python(dict(env, DIDWW_SCRIPT_PARAMS=json.dumps(params)), config_args, body)


class BenchOdoo:
    """The addon installed on a throwaway database, then Odoo serving it with ``--workers``."""

    def __init__(self, options, server=None, workers=2):
        self.options = options
        # Odoo and a Python that runs it, as the runner finds or sets them up (may re-run this script)
        self.odoo = runner.provide_odoo(argparse.Namespace(
            odoo=options.odoo_path, odoo_source=getattr(options, "odoo_source", None), command="run"))
        self.env = runner.odoo_env(self.odoo)
        runner.check_odoo_importable(self.odoo, self.env)
        self.db_server = server or runner.database_server(
            type("DbOptions", (), {"db_host": None, "db_port": None, "db_user": None, "db_password": None})())
        self.db = options.database
        self.port = options.port
        self.workers = workers
        self.config_args = [f"--addons-path={runner.addons_path(self.odoo)}", *self.db_server.odoo_args(),
                            "-d", self.db, "--data-dir", str(runner.WORK / "data")]
        self.process = self.nginx = None
        self.company = self.secret = None

    def install(self, known, **limits):
        runner.odoo_python(self.env, self.config_args, f"odoo.service.db.exp_drop({self.db!r})")
        runner.say(f"installing {runner.ADDON} on {self.db} (about a minute)")
        subprocess.run([*runner.odoo_bin_cmd(self.odoo), *self.config_args, "-i", runner.ADDON,
                        "--without-demo=all", "--stop-after-init", "--log-level=warn",
                        "--http-port", str(runner.free_port())],
                       env=self.env, check=True, cwd=runner.ROOT, capture_output=True)
        out = self.script("inbound_setup", "SETUP", number=NUMBER, known_prefix=KNOWN_PREFIX, known=known, **limits)
        self.company, self.secret = out["company"], out["secret"]

    def script(self, name, marker, **params):
        """Run ``dev/odoo_scripts/<name>.py`` on the database; return the JSON it printed after ``marker``."""
        out = odoo_script(self.env, self.config_args, name, **params)
        line = next((line for line in out.stdout.splitlines() if line.startswith(marker + " ")), None)
        if not line:
            runner.fail(f"the Odoo script failed: {out.stderr[-3000:]}")
        return json.loads(line[len(marker) + 1:])

    def start(self, log_path=None, extra_args=()):
        self.log_path = log_path or runner.WORK / f"{self.db}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 (kept open with Odoo)
        # a port of its own for Odoo's websocket server: on a port another Odoo holds (8072, Odoo's
        # default, with two servers of bench_scale.py) it fails and is restarted every few seconds,
        # an Odoo start's worth of CPU each time, taken from what is measured
        odoo_port, gevent_port, proxy_args = self.port, runner.free_port(), []
        if getattr(self.options, "nginx", False):
            # nginx listens on the benchmark's port and queues a burst; Odoo listens behind it
            self.nginx = runner.Nginx()
            if not self.nginx.ensure():
                runner.fail(f"--nginx: {self.nginx.missing}")
            odoo_port = runner.free_port()
            proxy_args = ["--proxy-mode"]
            self.nginx.start(self.port, odoo_port, gevent_port)
        self.process = subprocess.Popen([
            # one database named by -d and no --db-filter: Odoo serves it without listing databases,
            # which a --db-filter makes it do (on a new connection to PostgreSQL) for every request
            # that has no session, as DIDWW's have not
            *runner.odoo_bin_cmd(self.odoo), *self.config_args,
            *(["--db-filter", f"^{self.db}$"] if getattr(self.options, "db_filter", False) else []),
            "--http-interface", "127.0.0.1", "--http-port", str(odoo_port), "--gevent-port", str(gevent_port),
            *proxy_args, f"--workers={self.workers}",
            "--log-level=warn", "--log-handler=werkzeug:INFO", "--limit-time-real=300", "--no-database-list",
            *extra_args,
        ], env=self.env, cwd=runner.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                runner.fail(f"Odoo stopped at start (see {log.name})")
            try:
                if request("127.0.0.1", self.port, "GET", "/web/health", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        runner.fail("Odoo did not answer /web/health within 120 s")

    def stop(self):
        if self.nginx:
            self.nginx.stop()
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def drop(self):
        runner.odoo_python(self.env, self.config_args, f"odoo.service.db.exp_drop({self.db!r})")

    def url(self):
        return f"/didww/webhook/{self.company}/{self.secret}"

    def connect(self):
        import psycopg2  # Odoo's requirement, so present in the Python that runs Odoo

        args = {"dbname": self.db, "connect_timeout": 5}
        for option in self.db_server.odoo_args():
            name, _sep, value = option.lstrip("-").partition("=")
            args[{"db_host": "host", "db_port": "port", "db_user": "user", "db_password": "password"}[name]] = value
        connection = psycopg2.connect(**args)
        connection.autocommit = True
        return connection


def request(host, port, method, path, body=None, headers=None, timeout=30):
    """One request on a new connection (as a webhook sender does): ``(status, body)``."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def delivery(sender, text, sms_uuid=None):
    sms_uuid = sms_uuid or str(uuidlib.uuid4())
    return {"uuid": sms_uuid, "to": NUMBER, "from": sender, "time": "Mon, 23 Nov 2026 07:30:00 GMT",
            "data": base64.b64encode(text.encode()).decode()}


def deliver(odoo, payload, timeout=30):
    """POST one delivery: ``(status or None, error text)``; None is a dropped connection or a timeout."""
    try:
        status, _body = request("127.0.0.1", odoo.port, "POST", odoo.url(), json.dumps(payload).encode(),
                                {"Content-Type": "application/json"}, timeout=timeout)
        return status, ""
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def posted_counts(connection, markers):
    """``{marker: number of chatter messages holding it}`` for the markers in ``markers``."""
    with connection.cursor() as cr:
        cr.execute(r"""SELECT substring(body from 'bench-[0-9a-f]{8}-[0-9a-f-]{27}'), count(*)
                       FROM mail_message WHERE body LIKE '%%bench-%%' GROUP BY 1""")
        found = dict(cr.fetchall())
    return {marker: found.get(marker, 0) for marker in markers}


class DonePoller(threading.Thread):
    """Records when each inbound event turns ``done`` (its message is then committed on the chatter)."""

    def __init__(self, odoo, interval=0.05):
        super().__init__(daemon=True)
        self.connection = odoo.connect()
        self.interval = interval
        self.seen = {}  # dedupe key -> monotonic time first seen done
        self.stopping = threading.Event()

    def run(self):
        # only the events from the oldest one not seen done on: the poller's own load stays flat
        low = 0
        with self.connection.cursor() as cr:
            while not self.stopping.is_set():
                cr.execute("SELECT id, dedupe_key, state FROM didww_webhook_event WHERE id > %s AND kind = 'inbound'",
                           [low])
                now = time.monotonic()
                rows = cr.fetchall()
                for _id, key, state in rows:
                    if state == "done":
                        self.seen.setdefault(key, now)
                waiting = [event_id for event_id, _key, state in rows if state != "done"]
                low = min(waiting) - 1 if waiting else max((row[0] for row in rows), default=low)
                time.sleep(self.interval)

    def wait_for(self, keys, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(key in self.seen for key in keys):
            time.sleep(0.1)
        return [key for key in keys if key not in self.seen]

    def stop(self):
        self.stopping.set()
        self.join()
        self.connection.close()




def make_deliveries(count, rng, known, tag):
    """Half from known contacts, half from new senders (each new sender texting one to three times)."""
    deliveries, new_senders = [], []
    for index in range(count):
        if index % 2 == 0:
            sender = f"{KNOWN_PREFIX}{rng.randrange(known):05d}"
        else:
            if not new_senders or rng.random() < 0.6:
                new_senders.append(f"{NEW_PREFIX}{tag}{len(new_senders):04d}")
            sender = rng.choice(new_senders[-5:])
        sms_uuid = str(uuidlib.UUID(int=rng.getrandbits(128)))
        deliveries.append(delivery(sender, f"bench-{sms_uuid} ☀️ \"quoted\"", sms_uuid))
    return deliveries


def deliver_until_2xx(odoo, payload, deadline):
    """As DIDWW does: deliver again until a 2xx (here every 0.5 s, until ``deadline``). Return the
    first attempt's ``(status, error)``, the number of attempts, the last status and when it came."""
    first, attempts = None, 0
    while True:
        status, error = deliver(odoo, payload, timeout=60)
        attempts += 1
        first = first or (status, error)
        if (status and 200 <= status < 300) or time.monotonic() > deadline:
            return first, attempts, status, time.monotonic()
        time.sleep(0.5)


class CpuMeter(threading.Thread):
    """CPU seconds spent by the benchmarked Odoo, split between its HTTP workers (storing) and its
    cron workers (processing), each with the PostgreSQL backends of its connections (matched by
    Odoo's ``application_name``, ``odoo-<pid>``): load-independent figures, where wall-clock ones
    depend on what else runs on the machine. Sampled every ``interval`` (a process that exits
    keeps its last sample); a cron worker is a child of Odoo running at nice 10, as Odoo starts it."""

    def __init__(self, odoo, interval=0.5):
        super().__init__(daemon=True)
        import psutil  # Odoo's requirement, so present in the Python that runs Odoo

        self.psutil = psutil
        self.odoo = odoo
        self.connection = odoo.connect()
        self.interval = interval
        self.seen = {}  # (role, pid) -> last CPU seconds seen
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def _cpu(self, pid):
        try:
            times = self.psutil.Process(pid).cpu_times()
            return times.user + times.system
        except (self.psutil.Error, OSError):
            return None

    def sample(self):
        try:
            root = self.psutil.Process(self.odoo.process.pid)
            workers = root.children(recursive=True)
        except self.psutil.Error:
            return
        roles = {}
        for worker in workers:
            try:
                roles[worker.pid] = "processing" if worker.nice() >= 10 else "storing"
            except self.psutil.Error:
                continue
        with self.connection.cursor() as cr:
            cr.execute("SELECT pid, application_name FROM pg_stat_activity WHERE application_name LIKE 'odoo-%%'")
            backends = [(pid, int(name[5:])) for pid, name in cr.fetchall() if name[5:].isdigit()]
        found = {(role, pid): self._cpu(pid) for pid, role in roles.items()}
        found.update({(roles[owner], pid): self._cpu(pid) for pid, owner in backends if owner in roles})
        with self.lock:
            for key, seconds in found.items():
                if seconds is not None:
                    self.seen[key] = max(seconds, self.seen.get(key, 0.0))

    def run(self):
        while not self.stopping.is_set():
            self.sample()
            time.sleep(self.interval)

    def totals(self):
        """``{"storing": seconds, "processing": seconds}`` since the processes started; compare two."""
        self.sample()
        with self.lock:
            totals = {"storing": 0.0, "processing": 0.0}
            for (role, _pid), seconds in self.seen.items():
                totals[role] += seconds
            return totals

    def stop(self):
        self.stopping.set()
        self.join()
        self.connection.close()


def load_average():
    try:
        with open("/proc/loadavg") as handle:
            return handle.read().split()[0]
    except OSError:
        return "?"
