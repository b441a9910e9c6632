#!/usr/bin/env python3
"""tests/fake_didww.py as a process of its own, for the benchmark and the fault scripts.

Its own process, so that the fake's threads do not share Odoo's interpreter lock. It prints
``URL http://127.0.0.1:<port>`` and then obeys one JSON command per line on stdin, answering one
JSON line on stdout:

* ``{"cmd": "latency", "seconds": 0.05}``: every request waits that long before its answer;
* ``{"cmd": "fault", "kind": "5xx" | "429" | "timeout" | "drop" | null, "seconds": 5,
  "retry_after": 2, "hang": 3}``: for that long, outbound requests get a 503, a 429 with
  ``Retry-After``, no answer for ``hang`` seconds then a dropped connection (a timeout on the client,
  the SMS not taken), or a dropped connection. DIDWW never accepts an SMS it did not answer 201 to;
* ``{"cmd": "stats"}``: ``{"requests", "max_in_flight", "sent": [[id, destination], ...]}``;
* ``{"cmd": "reset"}``, ``{"cmd": "quit"}``.
"""

import json
import sys

from addon_tools import load_fake


def main():
    fake_module = load_fake()
    fake = fake_module.FakeDidww().start()
    schedule = fake_module.FaultSchedule()
    fake.fault = schedule
    print("URL " + fake.url, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        cmd = command.get("cmd")
        answer = {"ok": True}
        if cmd == "latency":
            fake.response_delay = float(command["seconds"])
        elif cmd == "fault":
            schedule.set(command.get("kind"), command.get("seconds", 0), command.get("retry_after", 1),
                         command.get("hang", 3.0))
        elif cmd == "stats":
            with fake._lock:
                answer = {"requests": sum(1 for r in fake.requests if r["path"] == "/outbound_messages"),
                          "max_in_flight": fake.max_in_flight,
                          "sent": [[sent["id"], sent["destination"]] for sent in fake.sent]}
        elif cmd == "reset":
            latency = fake.response_delay
            schedule.set(None, 0)
            fake.reset()
            fake.response_delay = latency
        elif cmd == "quit":
            break
        print(json.dumps(answer), flush=True)
    fake.stop()


class FakeProcess:
    """Start ``dev/fake_didww_server.py`` and talk to it (used by the benchmark and fault scripts)."""

    def __init__(self, python=sys.executable):
        import subprocess
        from pathlib import Path

        self.process = subprocess.Popen([python, str(Path(__file__).resolve())], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)
        first = self.process.stdout.readline().split()
        if first[:1] != ["URL"]:
            raise RuntimeError("the fake DIDWW did not start")
        self.url = first[1]
        self.username, self.password = "trunk-user", "trunk-pass"

    def call(self, cmd, **params):
        self.process.stdin.write(json.dumps(dict(params, cmd=cmd)) + "\n")
        return json.loads(self.process.stdout.readline())

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.process.stdin.close()
            self.process.wait(10)


if __name__ == "__main__":
    main()
