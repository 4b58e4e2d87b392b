#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Load a local, self-contained HTML file in real headless Chromium and
report what happened.

    python3 tests/browser.py --html FILE.html [--screenshot OUT.png]
                             [--eval FILE.js] [--timeout 60] [--all-console]

Starts chromedriver (/usr/bin/chromedriver) as a child on a free loopback
port with a throw-away profile and TMPDIR, drives /usr/bin/chromium over
W3C WebDriver (plain HTTP + JSON, Python standard library only), opens
file:///abs/path/FILE.html, waits for document.readyState == "complete",
optionally runs FILE.js as a WebDriver "execute/sync" script body (it should
`return` a JSON value) and optionally saves a (full-page if possible)
screenshot.  It then prints one JSON object on stdout:

    {"console":   [{"level": "SEVERE"|"WARNING", "message": "..."}],
     "requests":  ["http://...", ...],   # every network request the page made
                                          # (page's own file:// URL and data:
                                          # URLs excluded)
     "data_urls": n,                      # number of data: URL requests
     "result":    <value returned by --eval script, or null>,
     "screenshot": "OUT.png" or null}

plus "eval_error": "..." only when the --eval script threw, and
"requests_note": "..." only when the page's own request was not found in
the performance log (then "requests" is empty and cannot be trusted).

Console messages come from chromedriver's "browser" log (console.* calls,
uncaught JS errors, CSP violations, failed loads); by default only SEVERE
and WARNING entries, --all-console keeps every level.  Requests come from
the "performance" log (Network.requestWillBeSent events).

Exit status: 0 when the page was loaded and inspected, whatever was found
(the caller judges); 2 with a one-line message on stderr when it could not
(chromedriver/chromium missing or failing, timeout).  Every wait is bounded
by --timeout seconds overall.  chromedriver, chromium and the temporary
directory are removed on every exit path.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"

CHROME_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2000",
]


class Failure(Exception):
    """The harness could not do its job (exit 2)."""


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise Failure("timeout")
        return left


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Driver:
    def __init__(self, port, deadline):
        self.base = "http://127.0.0.1:%d" % port
        self.deadline = deadline
        self.sid = None
        # never go through a proxy for loopback
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def call(self, method, path, body=None, timeout=None):
        if timeout is None:
            timeout = self.deadline.left()
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data,
                                     method=method)
        req.add_header("Content-Type", "application/json; charset=utf-8")
        try:
            with self.opener.open(req, timeout=timeout) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() >= self.deadline.end:
                raise Failure("timeout")
            raise Failure("chromedriver %s %s: %s" % (method, path, e))
        try:
            reply = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            raise Failure("chromedriver %s %s: bad reply %r"
                          % (method, path, raw[:200]))
        value = reply.get("value") if isinstance(reply, dict) else None
        if isinstance(value, dict) and "error" in value:
            raise WebDriverError(value.get("error"),
                                 value.get("message", ""))
        return value

    def s(self, method, path, body=None, timeout=None):
        return self.call(method, "/session/%s%s" % (self.sid, path), body,
                         timeout)


class WebDriverError(Exception):
    def __init__(self, error, message):
        super().__init__("%s: %s" % (error, message))
        self.error = error
        self.message = message


def one_line(text):
    text = " ".join(str(text).split())
    return text[:300]


def wait_for_driver(drv, proc, logpath):
    while True:
        if proc.poll() is not None:
            raise Failure("chromedriver exited with status %s: %s"
                          % (proc.returncode, tail(logpath)))
        try:
            v = drv.call("GET", "/status", timeout=min(2, drv.deadline.left()))
            if isinstance(v, dict) and v.get("ready"):
                return
        except Failure:
            pass
        drv.deadline.left()
        time.sleep(0.05)


def tail(path):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        return one_line(lines[-1]) if lines else "(no output)"
    except OSError:
        return "(no log)"


def get_log(drv, kind):
    # chromedriver keeps the legacy log endpoint, under /se/, in W3C mode.
    v = drv.s("POST", "/se/log", {"type": kind})
    return v if isinstance(v, list) else []


def kill_group(proc):
    if proc is None or proc.poll() is not None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # stray grandchildren
        except (OSError, AttributeError):
            pass
        return
    for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 3)):
        try:
            os.killpg(proc.pid, sig)
        except OSError:
            pass
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass


def screenshot(drv, out):
    png = None
    try:
        m = drv.s("POST", "/goog/cdp/execute",
                  {"cmd": "Page.getLayoutMetrics", "params": {}})
        size = m.get("cssContentSize") or m.get("contentSize")
        w = max(1, int(size["width"]))
        h = max(1, min(int(size["height"]), 16384))
        r = drv.s("POST", "/goog/cdp/execute",
                  {"cmd": "Page.captureScreenshot",
                   "params": {"format": "png", "captureBeyondViewport": True,
                              "clip": {"x": 0, "y": 0, "width": w,
                                       "height": h, "scale": 1}}})
        png = r["data"]
    except (WebDriverError, KeyError, TypeError, ValueError):
        png = None
    if png is None:  # viewport only
        png = drv.s("GET", "/screenshot")
    with open(out, "wb") as f:
        f.write(base64.b64decode(png))
    return out


def run(args, tmp, deadline, state):
    page = os.path.abspath(args.html)
    if not os.path.isfile(page):
        raise Failure("no such file: %s" % args.html)
    script = None
    if args.eval:
        try:
            with open(args.eval, encoding="utf-8") as f:
                script = f.read()
        except OSError as e:
            raise Failure("cannot read --eval file: %s" % e)
    for exe in (CHROMEDRIVER, CHROMIUM):
        if not os.access(exe, os.X_OK):
            raise Failure("%s missing (apt-get install -y "
                          "--no-install-recommends chromium chromium-driver)"
                          % exe)
    page_url = "file://" + urllib.request.pathname2url(page)

    profile = os.path.join(tmp, "profile")
    os.mkdir(profile)
    logpath = os.path.join(tmp, "chromedriver.log")
    env = dict(os.environ, TMPDIR=tmp, HOME=tmp)
    for attempt in range(3):
        port = free_port()
        log = open(logpath, "wb")
        try:
            proc = subprocess.Popen(
                [CHROMEDRIVER, "--port=%d" % port, "--log-level=WARNING"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                cwd=tmp, start_new_session=True)
        finally:
            log.close()
        state["proc"] = proc
        drv = Driver(port, deadline)
        try:
            wait_for_driver(drv, proc, logpath)
            break
        except Failure:
            # port raced away? try another one
            kill_group(proc)
            state["proc"] = None
            if attempt == 2:
                raise
    state["drv"] = drv

    caps = {
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": CHROME_ARGS + ["--user-data-dir=" + profile],
            "perfLoggingPrefs": {"enableNetwork": True, "enablePage": False},
        },
    }
    try:
        v = drv.call("POST", "/session", {"capabilities": {
            "alwaysMatch": caps}})
    except WebDriverError as e:
        raise Failure("chromium failed to start: %s" % e.message)
    drv.sid = v["sessionId"]

    ms = int(deadline.left() * 1000)
    drv.s("POST", "/timeouts", {"pageLoad": ms, "script": ms, "implicit": 0})

    # The first tab may be busy with chrome://new-tab-page; park it on
    # about:blank and drop whatever it logged so far.
    try:
        drv.s("POST", "/url", {"url": "about:blank"})
    except WebDriverError as e:
        raise Failure("navigation to about:blank failed: %s" % e.message)
    get_log(drv, "browser")
    get_log(drv, "performance")

    try:
        drv.s("POST", "/url", {"url": page_url})
    except WebDriverError as e:
        if e.error == "timeout":
            raise Failure("timeout loading page")
        raise Failure("navigation failed: %s" % e.message)
    while drv.s("POST", "/execute/sync",
                {"script": "return document.readyState;",
                 "args": []}) != "complete":
        deadline.left()
        time.sleep(0.05)

    out = {"console": [], "requests": [], "data_urls": 0, "result": None,
           "screenshot": None}
    if script is not None:
        try:
            out["result"] = drv.s("POST", "/execute/sync",
                                  {"script": script, "args": []})
        except WebDriverError as e:
            if e.error in ("script timeout", "timeout"):
                raise Failure("timeout running --eval script")
            out["eval_error"] = one_line(e.message)

    if args.screenshot:
        out["screenshot"] = screenshot(drv, args.screenshot)

    time.sleep(min(0.2, deadline.left()))  # let late log entries land
    for e in get_log(drv, "browser"):
        level = e.get("level", "")
        if args.all_console or level in ("SEVERE", "WARNING"):
            out["console"].append({"level": level,
                                   "message": e.get("message", "")})
    # Only count what follows the page's own top-level Document request,
    # and nothing issued by a document loaded before it (stragglers from
    # the start page).
    started = False
    old_loaders = set()
    for e in get_log(drv, "performance"):
        try:
            msg = json.loads(e["message"])["message"]
        except (KeyError, TypeError, ValueError):
            continue
        if msg.get("method") != "Network.requestWillBeSent":
            continue
        params = msg.get("params", {})
        req = params.get("request", {})
        url = req.get("url", "")
        full = url + req.get("urlFragment", "")
        if not started:
            if params.get("type") == "Document" and \
                    page_url in (url, full, url.split("#")[0]):
                started = True
            else:
                old_loaders.add(params.get("loaderId"))
            continue
        if params.get("loaderId") in old_loaders:
            continue
        if url.startswith("data:"):
            out["data_urls"] += 1
        elif page_url in (url, full, url.split("#")[0]):
            continue
        else:
            out["requests"].append(url)
    if not started:
        out["requests_note"] = "page request not seen in performance log"
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", required=True, help="local HTML file to load")
    ap.add_argument("--screenshot", metavar="OUT.png")
    ap.add_argument("--eval", metavar="FILE.js",
                    help="script body run after load; its return value is "
                         "reported as 'result'")
    ap.add_argument("--timeout", type=float, default=60,
                    help="overall time limit in seconds (default 60)")
    ap.add_argument("--all-console", action="store_true",
                    help="report console entries of every level, not just "
                         "SEVERE and WARNING")
    args = ap.parse_args()

    deadline = Deadline(args.timeout)
    state = {"proc": None, "drv": None}
    tmp = tempfile.mkdtemp(prefix="portcullis-browser-")

    def on_alarm(signum, frame):
        raise Failure("timeout")

    def on_term(signum, frame):
        raise Failure("killed by signal %d" % signum)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    signal.setitimer(signal.ITIMER_REAL, args.timeout + 1)
    status = 0
    polite = True  # ask chromedriver to close chromium before killing it
    try:
        out = run(args, tmp, deadline, state)
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout.write(json.dumps(out, indent=1) + "\n")
        sys.stdout.flush()
    except Failure as e:
        print("browser.py: %s" % one_line(e), file=sys.stderr)
        status = 2
        # a hung page would make DELETE /session hang as well: just kill
        polite = False
    except WebDriverError as e:
        print("browser.py: webdriver %s" % one_line(e), file=sys.stderr)
        status = 2
    except KeyboardInterrupt:
        print("browser.py: interrupted", file=sys.stderr)
        status = 2
        polite = False
    finally:
        # cleanup must not be cut short by the alarm
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        drv, proc = state["drv"], state["proc"]
        if polite and drv is not None and drv.sid is not None and \
                proc is not None and proc.poll() is None:
            try:
                drv.deadline = Deadline(3)
                drv.call("DELETE", "/session/%s" % drv.sid, timeout=3)
            except Exception:
                pass
        kill_group(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
