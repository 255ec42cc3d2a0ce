"""The browser portal (issue 13) in Firefox: headless Firefox ESR driven over
WebDriver BiDi (W3C WebDriver BiDi: a WebSocket to the browser itself, no
geckodriver, which Debian does not package) against the same fresh demo
server as test_portal.py (its `portal` fixture).

Firefox must show every page without console errors, uncaught exceptions or
failed requests, find the rows an independent TAP query finds (by target name
and by position), and draw a footprint for every row that has one; hover,
the preview pop-up, sign-in with the download handler and the ADQL page's
errors and async jobs work as in Chromium.
Screenshots go next to Chromium's, in build/portal_screenshots/firefox_*.png.

Needs the Debian packages firefox-esr and python3-websocket (both installed by
scripts/setup); skipped, saying so, only when firefox-esr is absent.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
import websocket  # python3-websocket (websocket-client)
import conftest

from test_portal import SHOTS, WAIT, all_rows, name_searches, portal, position_searches  # noqa: F401 (portal: the fixture, shared)

FIREFOX = shutil.which("firefox-esr")
ENTER = "\ue007"  # the Enter key (WebDriver key codes)
pytestmark = pytest.mark.skipif(FIREFOX is None, reason="firefox-esr is not installed (scripts/setup installs it)")

# Keep a fresh profile quiet on an offline machine: no first-run pages, update
# checks, telemetry or remote settings downloads.
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "extensions.update.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "network.connectivity-service.enabled": False,
    "services.settings.server": "data:,#no-remote-settings",
}


class BiDiError(Exception):
    """An error answer of the browser to a command (WebDriver BiDi section 6.5,
    "Errors": an error code and a message)."""


class BiDi:
    """A minimal WebDriver BiDi client (W3C WebDriver BiDi, section 6
    "Protocol"): commands are JSON objects {id, method, params} sent over a
    WebSocket; the browser answers each with {type: "success", id, result} or
    {type: "error", id, error, message}, and sends {type: "event", method,
    params} for the events a session subscribed to (section 7.3.1
    "session.subscribe"). Events that arrive while waiting for an answer are
    kept in `events` in the order they came."""

    def __init__(self, url, timeout=WAIT):
        # no Origin header: Firefox refuses a WebSocket handshake from a web origin it was not told to allow
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events = []

    def command(self, method, params=None):
        """Sends one command and returns its result (a dict); raises BiDiError
        for an error answer and websocket's timeout error when none comes in
        the connection's timeout."""
        self.next_id += 1
        sent = self.next_id
        self.ws.send(json.dumps({"id": sent, "method": method, "params": params or {}}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("type") == "event":
                self.events.append(msg)
            elif msg.get("id") == sent:
                if msg.get("type") == "error":
                    raise BiDiError(f"{method}: {msg.get('error')}: {msg.get('message')}")
                return msg["result"]

    def close(self):
        self.ws.close()


class Firefox:
    """Headless Firefox ESR with a profile, TMPDIR and cache directory of its
    own (removed by quit()), its BiDi session and the top-level browsing
    context."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="voserver-firefox-"))
        profile, tmp = self.home / "profile", self.home / "tmp"
        profile.mkdir()
        tmp.mkdir()
        (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in PREFS.items()))
        self.log = open(self.home / "firefox.log", "w")
        self.proc = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--remote-debugging-port", "0", "--profile", str(profile), "about:blank"],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(tmp), "MOZ_CRASHREPORTER_DISABLE": "1"})
        self.bidi = None
        try:
            # Firefox writes the port it bound (port 0: a free one) into the profile once it listens
            server_file = profile / "WebDriverBiDiServer.json"
            end = time.monotonic() + 60
            while not server_file.exists() or not server_file.read_text().strip():
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError("Firefox did not start its BiDi server: " + (self.home / "firefox.log").read_text())
                time.sleep(0.1)
            where = json.loads(server_file.read_text())
            self.bidi = BiDi(f"ws://{where['ws_host']}:{where['ws_port']}/session")
            self.bidi.command("session.new", {"capabilities": {}})
            self.context = self.bidi.command("browsingContext.getTree", {"maxDepth": 0})["contexts"][0]["context"]
            self.bidi.command("browsingContext.setViewport", {"context": self.context,
                                                              "viewport": {"width": 1400, "height": 1000}})
            # console messages, uncaught exceptions (log.entryAdded) and HTTP answers (network.responseCompleted)
            self.bidi.command("session.subscribe", {"events": ["log.entryAdded", "network.responseCompleted"]})
        except BaseException:
            self.quit()
            raise

    def quit(self):
        try:
            if self.bidi is not None:
                try:
                    self.bidi.command("session.end")
                except (BiDiError, OSError, websocket.WebSocketException):
                    pass
                self.bidi.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            shutil.rmtree(self.home, ignore_errors=True)

    def get(self, url):
        """Navigates and waits for the load event (browsingContext.navigate, wait "complete")."""
        self.bidi.command("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    def js(self, body, *args):
        """Runs `body` (a function body: `return ...`; may await; `args` are
        JSON values, read as arguments[i]) in the page; returns its result
        through JSON (undefined -> None). An exception in the page raises
        AssertionError with its text."""
        fn = ("async function() { const value = await (async function() { " + body + " }).apply(this, arguments);"
              " return value === undefined ? undefined : JSON.stringify(value); }")
        r = self.bidi.command("script.callFunction", {
            "functionDeclaration": fn, "awaitPromise": True, "target": {"context": self.context},
            "arguments": [local_value(a) for a in args]})
        if r["type"] == "exception":
            raise AssertionError("script failed in the page: " + r["exceptionDetails"]["text"])
        value = r["result"]
        return json.loads(value["value"]) if value["type"] == "string" else None

    def wait(self, body, *args, what="the page"):
        """Polls js(body) until it is truthy (WAIT seconds); returns that value."""
        end = time.monotonic() + WAIT
        while True:
            got = self.js(body, *args)
            if got:
                return got
            if time.monotonic() > end:
                raise AssertionError(f"waited {WAIT} s for {what}: {body}")
            time.sleep(0.05)

    def type(self, selector, text):
        """Focuses the field `selector` selects, selects its text and types
        `text` over it as key presses (input.performActions: keyDown/keyUp of
        each character, WebDriver key codes such as ENTER included;
        Backspace clears the selection first)."""
        self.js("const e = document.querySelector(arguments[0]); e.focus(); e.select(); return true;", selector)
        keys = []
        for ch in "\ue003" + text:  # U+E003: the Backspace key (WebDriver key codes)
            keys += [{"type": "keyDown", "value": ch}, {"type": "keyUp", "value": ch}]
        self.bidi.command("input.performActions", {"context": self.context,
                                                   "actions": [{"type": "key", "id": "keyboard", "actions": keys}]})

    def hover(self, selector):
        """Scrolls the element `selector` selects into view and moves the
        pointer onto its middle (input.performActions: a pointerMove with the element as origin)."""
        node = self.bidi.command("script.evaluate", {
            "expression": f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                          " e?.scrollIntoView({block: 'center'}); return e; })()", "awaitPromise": False,
            "target": {"context": self.context}})["result"]
        assert node.get("type") == "node", f"no element {selector}"
        move = {"type": "pointerMove", "x": 0, "y": 0, "origin": {"type": "element", "element": {"sharedId": node["sharedId"]}}}
        self.bidi.command("input.performActions", {"context": self.context, "actions": [
            {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [move]}]})

    def screenshot(self, path):
        data = self.bidi.command("browsingContext.captureScreenshot", {"context": self.context})["data"]
        path.write_bytes(base64.b64decode(data))

    def problems(self):
        """Console errors, uncaught exceptions and HTTP answers >= 400 (but
        the 404 of /favicon.ico, which Firefox asks for by itself) seen
        since the last call (after a round trip, so that events already sent
        are in), as text lines."""
        self.js("return true")
        found = []
        for e in self.bidi.events:
            p = e["params"]
            if e["method"] == "log.entryAdded" and p.get("level") == "error":
                found.append(f"{p.get('type')} error: {p.get('text')}")
            elif e["method"] == "network.responseCompleted" and p["response"]["status"] >= 400 and \
                    not p["request"]["url"].endswith("/favicon.ico"):  # the browser's own probe (the service pages link no icon)
                found.append(f"HTTP {p['response']['status']}: {p['request']['method']} {p['request']['url']}")
        self.bidi.events.clear()
        return found


def local_value(v):
    """A JSON value as a WebDriver BiDi LocalValue (section 7.6.3.1 "script.LocalValue")."""
    if v is None:
        return {"type": "null"}
    if isinstance(v, bool):
        return {"type": "boolean", "value": v}
    if isinstance(v, (int, float)):
        return {"type": "number", "value": v}
    if isinstance(v, str):
        return {"type": "string", "value": v}
    if isinstance(v, (list, tuple)):
        return {"type": "array", "value": [local_value(x) for x in v]}
    raise TypeError(f"no LocalValue for {v!r}")


@pytest.fixture(scope="module")
def firefox(portal):
    SHOTS.mkdir(parents=True, exist_ok=True)
    ff = Firefox()
    try:
        yield ff
    finally:
        ff.quit()


def wait_ready(ff, after, text=None):
    """Waits until the page has drawn the result of a query newer than `after`
    (and, given `text`, of a query with that search text: typing runs queries
    of the text typed so far when the keys come slower than the debounce);
    returns its number."""
    return ff.wait("const s = window.voPortal && window.voPortal.state.seq, d = s && window.voPortal.state.drawn;"
                   "return s > arguments[0] && document.body.dataset.ready === String(s) && d.seq === s &&"
                   " (arguments[1] === null || d.search === arguments[1]) ? s : 0;", after, text,
                   what=f"a drawn result of {text!r}")


@pytest.fixture
def page(firefox, portal):
    """The query page, freshly loaded; after the test, no console error, uncaught exception or failed request."""
    firefox.problems()
    firefox.get(portal["base"] + "/portal/")
    wait_ready(firefox, 0)
    yield firefox
    assert firefox.problems() == []


def search(ff, text):
    """Types `text` into the search box; returns the number of the query whose result is then drawn."""
    before = ff.js("return window.voPortal.state.seq")
    ff.type("#search", text)
    return wait_ready(ff, before, text)


def shown_keys(ff):
    return ff.js("return [...document.querySelectorAll('#results tbody tr')].map(tr => tr.dataset.key)")


def drawn_footprints(ff):
    """{key: [width, height]} of the footprints drawn in the sky view, in
    screen pixels, as the drawing reports them (SkyView.drawnFootprints in
    web/js/sky.js: the box of the footprint's part of the one outline path,
    or of the dot that marks a footprint too small to see); the outline path
    itself must be laid out with an extent (a path Firefox could not read has
    an empty box)."""
    outline = ff.js("const p = document.querySelector('#sky path.footprints');"
                    "const b = p && p.getBoundingClientRect(); return b ? [b.width, b.height] : null")
    drawn = dict(ff.js("return window.voPortal.views.sky.drawnFootprints().map(f => [f.key, [f.width, f.height]])"))
    assert not drawn or (outline and outline[0] >= 1 and outline[1] >= 1), outline
    return drawn


def test_every_page_loads_without_console_errors(firefox, portal):
    firefox.problems()
    firefox.get(portal["base"] + "/")
    assert firefox.js("return [...document.links].some(a => a.href === arguments[0])", portal["base"] + "/portal/")
    firefox.get(portal["base"] + "/portal/")
    wait_ready(firefox, 0)
    assert firefox.js("return document.querySelectorAll('#constraints fieldset legend').length") >= 4
    firefox.get(portal["base"] + "/portal/adql.html")
    firefox.wait("return document.querySelectorAll('.examples button').length", what="the examples")
    firefox.js("[...document.querySelectorAll('.examples button')].find(b => b.textContent.includes('nearest')).click();"
               "return true")
    firefox.wait("return document.body.dataset.ready && document.querySelectorAll('#results tbody tr').length",
                 what="the example's result")
    firefox.screenshot(SHOTS / "firefox_adql_page.png")
    assert firefox.problems() == []


def test_name_search_returns_the_rows_of_an_independent_query(page, portal):
    for text, expected in name_searches(portal):
        search(page, text)
        assert set(shown_keys(page)) == expected, text
    page.screenshot(SHOTS / "firefox_query_page.png")


def test_position_search_agrees_with_tap(page, portal):
    for text, expected in position_searches(portal):
        search(page, text)
        assert set(shown_keys(page)) == expected, text
        # the footprint of every row found is drawn
        drawn = drawn_footprints(page)
        assert set(drawn) == expected and all(w >= 1 and h >= 1 for w, h in drawn.values()), drawn


def test_footprints_drawn_for_every_row_that_has_one(page, portal):
    rows = all_rows(portal)
    with_region = {str(r["obs_publisher_did"]) for r in rows if str(r["s_region"] or "").strip()}
    assert with_region and set(shown_keys(page)) == with_region  # the first page: the whole archive
    drawn = drawn_footprints(page)
    assert set(drawn) == with_region
    # drawn means laid out with an extent on the screen (a path Firefox could not read has an empty box)
    assert all(w >= 1 and h >= 1 for w, h in drawn.values()), drawn
    # hovering a row (a real pointer move) highlights its footprint
    key = shown_keys(page)[2]
    page.hover(f'#results tbody tr[data-key="{key}"]')
    page.wait("return [...document.querySelectorAll('#sky path.footprint.hover')].map(p => p.dataset.key).join() === arguments[0]",
              key, what="the hovered row's footprint")
    # zoomed in on one galaxy: its footprint is large, over the archive's own preview of it
    search(page, "NGC0628, 2")
    drawn = drawn_footprints(page)
    assert len(drawn) == 1 and all(w > 50 and h > 50 for w, h in drawn.values()), drawn
    # hovering the footprint (a real pointer move onto the sky view's middle, which the footprint covers) highlights its row
    [key] = drawn
    assert page.js("const f = window.voPortal.views.sky.drawnFootprints()[0], b = document.getElementById('sky').getBoundingClientRect();"
                   "const x = b.x + b.width / 2, y = b.y + b.height / 2; return x > f.x && x < f.x + f.width && y > f.y && y < f.y + f.height")
    page.hover("#sky")
    page.wait("return [...document.querySelectorAll('#results tbody tr.hover')].map(tr => tr.dataset.key).join() === arguments[0]",
              key, what="the hovered footprint's row")
    # (laid once it has loaded)
    hrefs = page.wait("const h = [...document.querySelectorAll('#sky image.sky-preview')].map(i => i.href.baseVal); return h.length && h",
                      what="the preview laid into the footprint")
    assert len(hrefs) == 1 and hrefs[0].startswith(portal["base"] + "/datalink/preview?")
    page.screenshot(SHOTS / "firefox_result_view.png")


def test_preview_popup_shows_the_products_preview(page, portal):
    search(page, "NGC0628")
    page.js("document.querySelector('#results tbody tr .preview-button').click(); return true")
    page.wait("const i = [...document.querySelectorAll('#preview-dialog img.preview-image')];"
              "return document.getElementById('preview-dialog').open && i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0)",
              what="the preview images")
    src, width = page.js("const i = document.querySelector('#preview-dialog img.preview-image'); return [i.src, i.naturalWidth]")
    png = requests.get(src, timeout=conftest.TIMEOUT)
    assert "/datalink/preview?" in src and png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert width == int.from_bytes(png.content[16:20], "big")


def test_bad_input_gets_a_message_next_to_its_field(page, portal):
    page.type("#search", "02:36:61 +95:00:00")
    msg = page.wait("return document.getElementById('search-error').textContent", what="the position's message")
    assert "60" in msg or "90" in msg
    search(page, "no_such_galaxy_here")
    page.wait("return document.getElementById('search-error').textContent.includes('no target')", what="no target")


def show_downloads(ff):
    """Presses "Download selected" and waits for the handler's file list and script; returns the list's text."""
    ff.js("document.getElementById('download-button').click(); return true")
    ff.wait("return document.querySelector('#downloads pre.script') !== null", what="the download handler")
    return ff.js("return document.querySelector('#downloads table.files').textContent")


def test_sign_in_and_the_download_handler(page, portal):
    search(page, "NGC1087")
    select = "const b = document.querySelector('#results tbody tr td.select input'); if (!b.checked) b.click(); return true"
    page.js(select)
    assert "proprietary: sign in" in show_downloads(page)
    before = page.js("return window.voPortal.state.seq")
    page.js("document.querySelector('#auth summary').click(); return true")
    page.type("#auth input[name=user]", "demo-pi")
    page.type("#auth input[name=password]", "demo-pi" + ENTER)
    page.wait("return document.getElementById('auth').textContent.includes('demo-pi')", what="the signed-in user")
    wait_ready(page, before)  # signing in runs the search again
    page.js(select)
    assert "proprietary: yours" in show_downloads(page)
    script = page.js("return document.querySelector('#downloads pre.script').textContent")
    assert any(line.startswith("fetch ") and line.endswith(" protected") for line in script.splitlines()), script
    # nothing of the credentials in the browser's storage
    stored = page.js("return [sessionStorage, localStorage].flatMap(s => Object.keys(s).map(k => k + '=' + s.getItem(k)))")
    assert not [x for x in stored if "demo-pi" in x or base64.b64encode(b"demo-pi:demo-pi").decode() in x], stored


def test_adql_page_error_at_its_line_and_an_async_job(firefox, portal):
    firefox.problems()
    firefox.get(portal["base"] + "/portal/adql.html")
    firefox.wait("return document.querySelectorAll('.examples button').length", what="the examples")
    firefox.type("#editor", f"SELECT obs_id{ENTER}FROM ivoa.obscore{ENTER}WHERE obs_id = = 'x'")
    firefox.js("document.getElementById('run').click(); return true")
    error = firefox.wait("return document.getElementById('editor-error').textContent", what="the error")
    assert "line 3" in error
    assert "^" in firefox.js("return document.querySelector('#editor-error .error-pointer').textContent")
    # the only failed request: the 400 of the bad query
    problems = firefox.problems()
    assert problems and all(p.startswith("HTTP 400: POST ") and "/tap/sync" in p for p in problems), problems
    firefox.type("#editor", "SELECT obs_publisher_did, target_name FROM ivoa.obscore")
    firefox.js("document.getElementById('run-async').click(); return true")
    firefox.wait("return [...document.querySelectorAll('#jobs tr')].some(tr => tr.querySelector('td.phase')?.textContent === "
                 "'COMPLETED' && tr.querySelector('td.result a')?.href.includes('/results/'))", what="a completed job")
    assert firefox.problems() == []
