"""The browser portal's figures (issue 13): keystroke-to-rendered-table time of
a 1,000-row name search in headless Chromium, and the first visit's page
weight.

    /usr/bin/python3 bench/portal_bench.py [ROWS] [RUNS] [--firefox]

Builds a store of ROWS synthetic rows (build/bench_gen_obscore, default
10,000; target names "field 0" .. "field 999"), serves it with the portal
(web/, after `npm ci --prefix web`), opens /portal/ in headless Chromium and
types "field 1*|field 2*" and "field 3*|field 4*" in turn (each matches 2,220
rows; the page's row limit of 1,000 returns 1,000). For each run the page
reports (window.voPortal.timings): from the last keystroke to the table, sky
and spectral panel built (`sinceKey`, which includes the 100 ms typing
debounce), to the next painted frame (`painted`), to the frame after the sky
view (`skyPainted`: since the sky view is drawn in the table's task, the same
frame as `painted`), the /tap/sync round trip (`query`: `fetch` = request and
transfer, `parse` = VOTable parsing) and the drawing (`render`: table and
spectral panel; `sky` apart).
`--firefox`: headless Firefox instead, driven over WebDriver BiDi by the
client of tests/integration/test_portal_firefox.py (its profile removed
afterwards; Firefox rounds performance.now() to 1 ms).
Page weight: the Resource Timing entries of the first visit (transfer sizes
and bodies), static files and service calls apart."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import conftest  # noqa: E402

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

FIREFOX = "--firefox" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "--firefox"]
ROWS = int(ARGS[0]) if len(ARGS) > 0 else 10000
RUNS = int(ARGS[1]) if len(ARGS) > 1 else 10


class Chromium:
    """Headless Chromium (Selenium) with the few calls the bench makes, as
    test_portal_firefox.Firefox has them: get, js, wait, type, quit. `home`: a
    directory for its profile and TMPDIR (Chromium's singleton socket
    directory, /tmp/org.chromium.Chromium.* otherwise, goes there)."""

    def __init__(self, home):
        (home / "tmp").mkdir(parents=True)
        o = Options()
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                  f"--user-data-dir={home / 'profile'}"):
            o.add_argument(a)
        self.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env={**os.environ, "TMPDIR": str(home / "tmp")}),
                                  options=o)

    def get(self, url):
        self.d.get(url)

    def js(self, body, *args):
        return self.d.execute_script(body, *args)

    def wait(self, body, *args):
        return WebDriverWait(self.d, 60).until(lambda x: x.execute_script(body, *args))

    def type(self, selector, text):
        box = self.d.find_element(By.CSS_SELECTOR, selector)
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(text)

    def quit(self):
        self.d.quit()


def main():
    work = Path(tempfile.mkdtemp(prefix="portal_bench_"))
    store = work / "store.sqlite"
    subprocess.run([str(ROOT / "build" / "bench_gen_obscore"), str(store), str(ROWS)], check=True, timeout=600,
                   capture_output=True)
    cfg = work / "voserver.toml"
    cfg.write_text(f"""
[server]
host = "127.0.0.1"
port = 0
web_dir = "{ROOT / 'web'}"

[archive]
authority = "bench"
database = "{store}"
""")
    with conftest.running_server(cfg, work) as base:
        if FIREFOX:
            from test_portal_firefox import Firefox
            d = Firefox()
        else:
            d = Chromium(work / "chromium")
        try:
            t0 = time.monotonic()
            d.get(base + "/portal/")
            d.wait("return document.body.dataset.ready")
            first_table = time.monotonic() - t0
            entries = d.js(
                "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
                ".map(e => ({name: e.name, transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize}))")
            static = [e for e in entries if "/portal/" in e["name"]]
            api = [e for e in entries if "/portal/" not in e["name"]]
            runs = []
            for i in range(RUNS):
                text = "field 1*|field 2*" if i % 2 == 0 else "field 3*|field 4*"
                seq = d.js("return window.voPortal.state.seq")
                d.type("#search", text)
                # the timing of the newest query once its frame with the table and the sky view is painted
                t = d.wait("const s = window.voPortal.state.seq, t = window.voPortal.timings.find(t => t.seq === s);"
                           "return s > arguments[0] && document.body.dataset.ready == String(s) && t && t.skyPainted !== undefined && t",
                           seq)
                assert t["rows"] == 1000, t
                runs.append(t)
        finally:
            d.quit()
    shutil.rmtree(work, ignore_errors=True)
    med = lambda k: statistics.median(r[k] for r in runs)
    out = {
        "browser": "firefox" if FIREFOX else "chromium", "rows_in_store": ROWS, "runs": RUNS, "rows_shown": runs[0]["rows"],
        "keystroke_to_table_ms": {"median": med("sinceKey"), "min": min(r["sinceKey"] for r in runs), "max": max(r["sinceKey"] for r in runs)},
        "keystroke_to_painted_table_ms": {"median": med("painted"), "max": max(r["painted"] for r in runs)},
        "keystroke_to_painted_sky_ms": {"median": med("skyPainted"), "max": max(r["skyPainted"] for r in runs)},
        "debounce_ms": 100,
        "query_ms_median": med("query"), "render_ms_median": med("render"),
        "parts_ms_median": {k: med(k) for k in ("fetch", "parse", "table", "sky")},
        "votable_bytes": runs[0]["bytes"],
        "first_visit": {
            "static_requests": len(static), "static_transfer_bytes": sum(e["transfer"] for e in static),
            "static_body_bytes": sum(e["decoded"] for e in static),
            "service_requests": len(api), "service_transfer_bytes": sum(e["transfer"] for e in api),
            "load_to_first_table_s": round(first_table, 2),
            "largest": sorted(((e["decoded"], e["name"].split("/portal/")[-1]) for e in static), reverse=True)[:4],
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
