"""The loopback server and its command line."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import httpx
import pytest

from twibox_nb.sandbox import DEMO_CREDENTIALS


def start(command: list[str]) -> tuple[subprocess.Popen, str, str]:
    """Start a sandbox process; return it, its URL and the banner it printed."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    banner = []
    for _ in range(12):
        line = proc.stdout.readline()
        banner.append(line)
        if "Ctrl-C" in line or not line:
            break
    text = "".join(banner)
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", text)
    if match is None:
        proc.kill()
        pytest.fail(f"the sandbox did not start: {text}{proc.stderr.read()}")
    return proc, match.group(1), text


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-m", "twibox_nb.sandbox"],
        [shutil.which("twibox") or "twibox", "sandbox"],
    ],
    ids=["python -m twibox_nb.sandbox", "twibox sandbox"],
)
def test_command_line_serves_and_stops_cleanly(command):
    proc, url, banner = start([*command, "--port", "0", "--scale", "2", "--seed", "3", "--latency-ms", "5"])
    try:
        c = DEMO_CREDENTIALS
        for value in (c.account_sid, c.api_key, c.api_secret, c.auth_token, c.standard.sid, c.restricted.secret):
            assert value in banner  # the demo credentials are printed for the user
        assert "not a real account" in banner
        with httpx.Client(auth=(c.api_key, c.api_secret)) as client:
            r = client.get(f"{url}/2010-04-01/Accounts/{c.account_sid}/Messages.json", params={"PageSize": 3})
        assert r.status_code == 200 and len(r.json()["messages"]) == 3
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


def test_bad_arguments_are_explained():
    result = subprocess.run(
        [sys.executable, "-m", "twibox_nb.sandbox", "--port", "0", "--fault-rate", "7"],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "cannot start" in result.stderr and "Traceback" not in result.stderr


def test_twilio_host_header_makes_links_point_at_twilio(server, creds):
    with httpx.Client(auth=(creds.api_key, creds.api_secret)) as c:
        via_twilio = c.get(f"{server.url}/v1/Alerts", params={"PageSize": 2}, headers={"Host": "monitor.twilio.com"})
        plain = c.get(f"{server.url}/v1/Alerts", params={"PageSize": 2})
    assert via_twilio.json()["meta"]["next_page_url"].startswith("https://monitor.twilio.com/v1/Alerts?")
    assert plain.json()["meta"]["next_page_url"].startswith(f"{server.url}/v1/Alerts?")
    assert via_twilio.json()["alerts"] == plain.json()["alerts"]


def test_the_host_header_picks_the_product(server, creds):
    with httpx.Client(auth=(creds.api_key, creds.api_secret)) as c:
        # Chat also has /v1/Services; the sandbox does not serve it, and must not answer with Messaging's.
        chat = c.get(f"{server.url}/v1/Services", headers={"Host": "chat.twilio.com"})
        messaging = c.get(f"{server.url}/v1/Services", headers={"Host": "messaging.twilio.com"})
        regional = c.get(
            f"{server.url}/2010-04-01/Accounts/{creds.account_sid}/Balance.json",
            headers={"Host": "api.dublin.ie1.twilio.com"},
        )
    assert chat.status_code == 404 and chat.json()["code"] == 20404
    assert messaging.status_code == 200 and len(messaging.json()["services"]) == 3
    assert regional.status_code == 200


def test_server_refuses_writes(server, creds):
    with httpx.Client(auth=(creds.api_key, creds.api_secret)) as c:
        r = c.post(f"{server.url}/2010-04-01/Accounts/{creds.account_sid}/Messages.json", data={"Body": "hi"})
    assert r.status_code == 405 and r.json()["code"] == 20004


def test_consecutive_large_pages_on_one_keep_alive_connection(server, creds):
    with httpx.Client(auth=(creds.api_key, creds.api_secret)) as c:
        statuses = [
            c.get(
                f"{server.url}/2010-04-01/Accounts/{creds.account_sid}/Messages.json", params={"PageSize": 1000}
            ).status_code
            for _ in range(5)
        ]
    assert statuses == [200] * 5
