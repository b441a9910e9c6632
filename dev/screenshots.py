#!/usr/bin/env python3
"""The Apps page's screenshots (static/description/screenshot_*.png), from a running demo database.

    python3 dev/didww.py run --port 8079 &                      # the demo database didww_demo
    python3 dev/screenshots.py --url http://127.0.0.1:8079       # then this, with Odoo's Python

Sets the demo company up against a fake DIDWW on 127.0.0.1 (dev/fake_didww_server.py), texts a
contact, delivers two customer answers to the webhook, then takes each page in headless Chromium
(DevTools protocol over ``websocket-client``, from dev/requirements-dev.txt). Loopback only.
"""

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
import xmlrpc.client
from pathlib import Path

import websocket
from fake_didww_server import FakeProcess

OUT = Path(__file__).resolve().parent.parent / "static" / "description"


class Odoo:
    def __init__(self, url, db, login, password):
        self.url, self.db, self.password = url, db, password
        self.uid = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").authenticate(db, login, password, {})
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def __call__(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.db, self.uid, self.password, model, method, list(args), kwargs)

    def session_id(self, login, password):
        request = urllib.request.Request(f"{self.url}/web/session/authenticate", data=json.dumps({
            "jsonrpc": "2.0", "params": {"db": self.db, "login": login, "password": password}}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            cookie = response.headers.get("Set-Cookie", "")
        return cookie.split("session_id=", 1)[1].split(";", 1)[0]


def set_up(odoo, fake):
    company_id = odoo("res.users", "read", [odoo.uid], ["company_id"])[0]["company_id"][0]
    us = odoo("res.country", "search", [("code", "=", "US")])[0]
    odoo("res.company", "write", [company_id], {
        "didww_sms_active": True, "didww_sms_username": fake.username, "didww_sms_password": fake.password,
        "didww_sms_api_url": fake.url, "country_id": us})
    if not odoo("didww.sms.number", "search", [("company_id", "=", company_id)]):
        odoo("didww.sms.number", "create", [
            {"number": "+1 917 905 6077", "all_users": True, "sequence": 1},
            {"number": "+370 41 123456", "user_ids": [(6, 0, [odoo.uid])], "sequence": 2}])
    partner = odoo("res.partner", "search", [("name", "=", "Ona Jonaitė")])
    if not partner:
        lt = odoo("res.country", "search", [("code", "=", "LT")])[0]
        partner = [odoo("res.partner", "create", {"name": "Ona Jonaitė", "mobile": "+370 612 34567",
                                                  "country_id": lt, "email": "ona@example.com"})]
        composer = odoo("sms.composer", "create", {"body": "Hello Ona, your order ships today. Reply if the "
                                                            "address changed."},
                        context={"default_res_model": "res.partner", "default_res_id": partner[0],
                                 "default_composition_mode": "comment"})
        odoo("sms.composer", "action_send_sms", [composer])
        secret = odoo("res.company", "read", [company_id], ["didww_webhook_secret"])[0]["didww_webhook_secret"]
        for text, sender, to in (("Thanks! Same address, see you tomorrow.", "37061234567", "37041123456"),
                                 ("Is the demo still on for Friday?", "12125550142", "19179056077")):
            payload = {"to": to, "from": sender, "time": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()),
                       "text": text, "data": base64.b64encode(text.encode()).decode()}
            urllib.request.urlopen(urllib.request.Request(
                f"{odoo.url}/didww/webhook/{company_id}/{secret}", data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"}), timeout=30).read()
        time.sleep(5)  # the processing cron runs right after the request
    # what a real deployment shows in the settings (the fake's address was for sending only)
    odoo("res.company", "write", [company_id], {"didww_sms_api_url": "https://sms-out.didww.com"})
    odoo("ir.config_parameter", "set_param", "web.base.url", "https://odoo.example.com")
    odoo("ir.config_parameter", "set_param", "web.base.url.freeze", "True")  # else a login resets it
    return partner[0]


class Chromium:
    def __init__(self, session_id, url):
        binary = shutil.which("chromium") or shutil.which("google-chrome") or shutil.which("chromium-browser")
        self.profile = tempfile.mkdtemp(prefix="didww-shots-")
        self.process = subprocess.Popen([binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                                         "--remote-debugging-port=9333", f"--user-data-dir={self.profile}",
                                         "--window-size=1600,900", "--hide-scrollbars", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                with urllib.request.urlopen("http://127.0.0.1:9333/json", timeout=2) as response:
                    page = next(t for t in json.load(response) if t["type"] == "page")
                break
            except OSError:
                time.sleep(0.2)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0
        host = url.split("://", 1)[1].split(":")[0]
        self.send("Network.enable")
        self.send("Network.setCookie", name="session_id", value=session_id, domain=host, path="/")
        self.send("Emulation.setDeviceMetricsOverride", width=1600, height=900, deviceScaleFactor=1, mobile=False)

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {})

    def shot(self, url, name, wait=6):
        self.send("Page.navigate", url=url)
        time.sleep(wait)
        data = self.send("Page.captureScreenshot", format="png")["data"]
        (OUT / name).write_bytes(base64.b64decode(data))
        print(f"{OUT / name}")

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8079")
    parser.add_argument("--database", default="didww_demo")
    options = parser.parse_args()
    fake = FakeProcess()
    try:
        odoo = Odoo(options.url, options.database, "admin", "admin")
        partner = set_up(odoo, fake)
        browser = Chromium(odoo.session_id("admin", "admin"), options.url)
        try:
            browser.shot(f"{options.url}/odoo/action-didww_connector.didww_sms_conversation_action",
                         "screenshot_conversations.png", wait=15)  # the first page also loads the assets
            browser.shot(f"{options.url}/odoo/settings#didww_sms", "screenshot_settings.png", wait=8)
            browser.shot(f"{options.url}/odoo/contacts/{partner}", "screenshot_sms_chatter.png", wait=8)
        finally:
            browser.close()
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
