"""The browser portal (issue 13) in a real browser: headless Chromium driven by
Selenium against a fresh server with a small PHANGS-MUSE demo archive
(`voserver make-demo --nx 8 --ny 8 --nchan 40`; NGC1087 proprietary until
2099, project 112.VOSR.001 of the user demo-pi).

Every answer the page shows is checked against an independent computation:
TAP queries written here (not by the page's JavaScript), astropy for
coordinates and VOTables, the cube files on disk for downloads. No test may
leave a SEVERE message in the browser console. Screenshots of the query page
and the result view go to build/portal_screenshots/.

Needs the Debian packages chromium, chromium-driver, python3-selenium and the
portal's npm packages (`npm ci --prefix web`), all installed by scripts/setup.
"""
import base64
import csv
import fnmatch
import http.server
import io
import os
import shutil
import socket
import tempfile
import xmlrpc.server
import subprocess
import threading
import urllib.parse
from pathlib import Path

import pytest
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table

import conftest

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.support.ui import WebDriverWait

PROJECT = "112.VOSR.001"
SHOTS = conftest.ROOT / "build" / "portal_screenshots"
WAIT = 30  # seconds for the page to answer a step
STALE = (StaleElementReferenceException,)  # a wait's elements may be redrawn while it looks: look again


def run(*args, stdin=None):
    done = subprocess.run([str(conftest.VOSERVER), *map(str, args)], input=stdin, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    assert (conftest.ROOT / "web" / "node_modules" / "d3-geo").is_dir(), "web/node_modules missing: run scripts/setup"
    work = tmp_path_factory.mktemp("portal")
    cfg = work / "voserver.toml"
    cfg.write_text(f"""
[server]
host = "127.0.0.1"
port = 0
web_dir = "{conftest.ROOT / 'web'}"

[archive]
authority = "voserver.test"
title = "portal test archive"
database = "{work / 'store.sqlite'}"
profiles = ["{conftest.ROOT / 'conf' / 'profiles' / 'alma.toml'}"]

[demo]
out_dir = "{work / 'cubes'}"

[[collection]]
name = "phangs-muse"
directories = ["{work / 'cubes'}"]
release_date_keyword = "RELDATE"
""")
    run("make-demo", "--config", cfg, "--nx", 8, "--ny", 8, "--nchan", 40)
    done = conftest.ingest(cfg, work / "cubes", "phangs-muse")
    assert done.returncode == 0, done.stdout + done.stderr
    run("users", "add", "demo-pi", "--config", cfg, stdin="demo-pi\n")
    run("projects", "set-pi", PROJECT, "demo-pi", "--config", cfg)
    with conftest.running_server(cfg, work) as base:
        yield {"base": base, "work": work, "cubes": work / "cubes", "config": cfg}


@pytest.fixture(scope="module")
def browser(portal):
    # A profile and a TMPDIR of its own, removed afterwards: Chromium's profile
    # and its singleton socket directory (/tmp/org.chromium.Chromium.*, which
    # it leaves behind when ChromeDriver ends it) both go there.
    home = Path(tempfile.mkdtemp(prefix="voserver-chromium-"))
    (home / "tmp").mkdir()
    o = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
              f"--user-data-dir={home / 'profile'}"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    o.add_experimental_option("prefs", {"download.default_directory": str(portal["work"] / "browser-downloads")})
    try:
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver", env={**os.environ, "TMPDIR": str(home / "tmp")}),
                                  options=o)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def page(browser, portal):
    """The query page, freshly loaded; after the test, the console must hold no SEVERE message."""
    browser.get(portal["base"] + "/portal/")
    wait_ready(browser, 0)
    yield browser
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def tap(portal, adql):
    r = requests.post(portal["base"] + "/tap/sync", data={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "votable"},
                      timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text
    path = portal["work"] / "tap.xml"
    path.write_bytes(r.content)
    return parse_single_table(str(path)).to_table()


def wait_ready(driver, after, text=None, fields=None):
    """Waits until the page has drawn a result of a query newer than `after`
    (and, given `text`, of a query with that search text, given `fields`
    ({id: value}), with those constraint values: typing runs queries of the
    text typed so far when the keys come slower than the debounce); returns
    its number."""
    def done(d):
        seq, ready, drawn = d.execute_script("const s = window.voPortal && window.voPortal.state;"
                                             "return [s && s.seq, document.body.dataset.ready, s && s.drawn];")
        return seq if seq and seq > after and ready == str(seq) and drawn["seq"] == seq and \
            (text is None or drawn["search"] == text) and \
            all(drawn["fields"].get(k) == v for k, v in (fields or {}).items()) else False
    return WebDriverWait(driver, WAIT, ignored_exceptions=STALE).until(done)


def type_search(driver, text, field="search"):
    """Replaces the text of a field as a user types it; returns the query number before."""
    before = driver.execute_script("return window.voPortal.state.seq")
    box = driver.find_element(By.ID, field)
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    box.send_keys(text)
    return before


def search(driver, text):
    """Types `text` into the search box; returns the number of the query whose result is then drawn."""
    return wait_ready(driver, type_search(driver, text), text)


def shown_keys(driver):
    return [tr.get_attribute("data-key") for tr in driver.find_elements(By.CSS_SELECTOR, "#results tbody tr")]


def all_rows(portal):
    return tap(portal, "SELECT obs_publisher_did, target_name, s_ra, s_dec, s_region, data_rights, dataproduct_type "
                       "FROM ivoa.obscore")


# ---------------------------------------------------------------- the search box

def test_landing_page_links_the_portal_and_the_files_are_typed(portal):
    r = requests.get(portal["base"] + "/", timeout=conftest.TIMEOUT)
    assert r.status_code == 200 and portal["base"] + "/portal/" in r.text
    for path, ctype in (("/portal/", "text/html"), ("/portal/js/portal.js", "text/javascript"),
                        ("/portal/css/portal.css", "text/css"),
                        ("/portal/node_modules/d3-geo/dist/d3-geo.min.mjs", "text/javascript")):
        r = requests.get(portal["base"] + path, timeout=conftest.TIMEOUT)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith(ctype), path
    r = requests.get(portal["base"] + "/portal/config.json", timeout=conftest.TIMEOUT)
    assert r.json() == {"name_resolver": None}
    r = requests.get(portal["base"] + "/portal/%2e%2e/%2e%2e/voserver.toml", timeout=conftest.TIMEOUT)
    assert r.status_code == 404 and "QUERY_STATUS" in r.text


def name_searches(portal):
    """[(search text, the obs_publisher_did set an independent match of target_name gives)]: wildcards, | and case."""
    rows = all_rows(portal)
    name = lambda r: str(r["target_name"]).lower()  # noqa: E731
    both = {str(r["obs_publisher_did"]) for r in rows if fnmatch.fnmatch(name(r), "ngc1*") or name(r) == "ngc0628"}
    one = {str(r["obs_publisher_did"]) for r in rows if str(r["target_name"]) == "NGC0628"}
    assert one and len(both) > len(one)
    return [("ngc1*|NGC0628", both), ("Ngc?628", one)]


def position_searches(portal, radius_arcmin=3):
    """[(search text, the obs_publisher_did set of a TAP INTERSECTS query)] of one
    position around NGC0628 written as ICRS degrees, sexagesimal and Galactic (astropy)."""
    target = next(r for r in all_rows(portal) if r["target_name"] == "NGC0628")
    c = SkyCoord(float(target["s_ra"]) * u.deg, float(target["s_dec"]) * u.deg, frame="icrs")
    expected = {str(did) for did in tap(
        portal, "SELECT obs_publisher_did FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, "
                f"CIRCLE('ICRS', {c.ra.deg!r}, {c.dec.deg!r}, {radius_arcmin / 60!r}))")["obs_publisher_did"]}
    assert str(target["obs_publisher_did"]) in expected
    g = c.galactic
    return [(text, expected) for text in (f"{c.ra.deg:.6f} {c.dec.deg:.6f}, {radius_arcmin}",
                                          c.to_string("hmsdms", sep=":", precision=3) + f", {radius_arcmin}",
                                          f"gal {g.l.deg:.6f} {g.b.deg:.6f}, {radius_arcmin}")]


def test_name_search_returns_the_rows_of_an_independent_query(page, portal):
    for text, expected in name_searches(portal):
        search(page, text)
        assert set(shown_keys(page)) == expected, text
    page.save_screenshot(str(SHOTS / "query_page.png"))


def test_position_search_icrs_sexagesimal_and_galactic_agree_with_tap(page, portal):
    cases = position_searches(portal)
    for text, expected in cases:
        search(page, text)
        assert set(shown_keys(page)) == expected, text
    # the default radius is 10 arcmin
    search(page, cases[0][0].split(",")[0])
    assert "0.16666666" in page.find_element(By.ID, "adql").get_attribute("textContent")


def test_bad_input_gets_a_message_next_to_its_field(page, portal):
    type_search(page, "02:36:61 +95:00:00")
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: d.find_element(By.ID, "search-error").text)
    assert "60" in page.find_element(By.ID, "search-error").text or "90" in page.find_element(By.ID, "search-error").text
    search(page, "no_such_galaxy_here")
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: "no target" in d.find_element(By.ID, "search-error").text)
    search(page, "")
    type_search(page, "50..20", field="f-s_fov")
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: "impossible range" in d.find_element(By.ID, "f-s_fov-error").text)
    assert page.find_element(By.ID, "f-s_fov").get_attribute("aria-invalid") == "true"


class Sesame(http.server.BaseHTTPRequestHandler):
    """A stand-in for CDS Sesame (-oI output): knows one name, answers others
    with Sesame's "nothing found" text; CORS open, as the page calls it directly."""
    known = {}

    def do_GET(self):
        name = urllib.parse.unquote(self.path.split("?", 1)[-1])
        where = self.known.get(name.lower())
        body = (f"# {name}\n#=S=Simbad: 1\n%J {where[0]:.6f} {where[1]:+.6f} = 00:00:00 +00:00:00\n" if where
                else f"# {name}\n#! *** Nothing found *** \n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_names_unknown_to_the_archive_go_to_a_configured_resolver(browser, portal):
    """A second server on the same store, with [server] name_resolver naming a local stand-in."""
    rows = all_rows(portal)
    target = next(r for r in rows if r["target_name"] == "NGC0628")
    Sesame.known = {"phantom galaxy": (float(target["s_ra"]), float(target["s_dec"]))}
    sesame = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sesame)
    threading.Thread(target=sesame.serve_forever, daemon=True).start()
    work = portal["work"] / "resolver"
    work.mkdir()
    cfg = work / "voserver.toml"
    cfg.write_text(portal["config"].read_text().replace(
        "[archive]", f'name_resolver = "http://127.0.0.1:{sesame.server_address[1]}/sesame?"\n\n[archive]\n'
                     f'jobs_database = "{work / "jobs.sqlite"}"\nresults_dir = "{work / "results"}"'))
    try:
        with conftest.running_server(cfg, work) as base:
            browser.get(base + "/portal/")
            wait_ready(browser, 0)
            expected = {str(did) for did in tap(
                portal, "SELECT obs_publisher_did FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, CIRCLE('ICRS', "
                        f"{float(target['s_ra'])!r}, {float(target['s_dec'])!r}, {10 / 60!r}))")["obs_publisher_did"]}
            before = type_search(browser, "Phantom Galaxy")
            WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: "resolved" in d.find_element(By.ID, "status").text)
            wait_ready(browser, before)
            assert set(shown_keys(browser)) == expected
            type_search(browser, "Nowhere Nebula")
            WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: "resolver does not know" in d.find_element(By.ID, "search-error").text)
            severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
            assert not severe, severe
    finally:
        sesame.shutdown()


# Publication columns with values (the ALMA profile declares them without a
# source, so the demo's are NULL): an author and a year by declination, a
# bibcode per target
PUBLICATION_PROFILE = """
description = "publication columns of the portal test"

[[column]]
name = "bib_reference"
datatype = "char"
ucd = "meta.bib.bibcode"
description = "Bibcodes of the publications"
adql = "CASE WHEN s_dec < 0 THEN '2022A&A...659A.191E' ELSE '2019ApJ...887...80L' END"

[[column]]
name = "first_author"
datatype = "char"
ucd = "meta.bib.author"
description = "First authors of the publications"
adql = "CASE WHEN s_dec < 0 THEN 'Emsellem, E.' ELSE 'Leroy, A. K.' END"

[[column]]
name = "pub_title"
datatype = "char"
ucd = "meta.title"
description = "Titles of the publications"
adql = "CASE WHEN s_dec < 0 THEN 'The PHANGS-MUSE survey' ELSE 'PHANGS-ALMA data' END"

[[column]]
name = "publication_year"
datatype = "int"
ucd = "time.publiYear"
description = "Years of the publications"
adql = "CASE WHEN s_dec < 0 THEN 2022 ELSE 2019 END"
"""


def test_publication_group_where_the_profile_has_the_columns(browser, portal):
    """A second store of the same cubes under a profile with only the
    publication columns (no data_rights either): the Publication group is
    there and searches them; fields of columns this profile lacks (band, PI)
    are not."""
    work = portal["work"] / "publication"
    work.mkdir()
    (work / "publication.toml").write_text(PUBLICATION_PROFILE)
    cfg = work / "voserver.toml"
    cfg.write_text(portal["config"].read_text()
                   .replace(str(portal["work"] / "store.sqlite"), str(work / "store.sqlite"))
                   .replace(str(conftest.ROOT / "conf" / "profiles" / "alma.toml"), str(work / "publication.toml")))
    done = conftest.ingest(cfg, portal["cubes"], "phangs-muse")
    assert done.returncode == 0, done.stdout + done.stderr
    with conftest.running_server(cfg, work) as base:
        browser.get(base + "/portal/")
        wait_ready(browser, 0)
        legends = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#constraints legend")]
        assert "Publication" in legends
        for field in ("f-first_author", "f-publication_year", "f-bib_reference", "f-pub_title"):
            assert browser.find_elements(By.ID, field), field
        assert not browser.find_elements(By.ID, "f-band_list") and not browser.find_elements(By.ID, "f-obs_creator_name")
        # no data_rights column: the release date still marks the proprietary row, whose preview is not asked
        # for (the 401 of an <img> opened the browser's own sign-in dialog, which took the keyboard)
        tr = browser.find_element(By.CSS_SELECTOR, '#results tbody tr[data-key$="?NGC1087_PHANGS_DATACUBE_native"]')
        assert "proprietary" in tr.get_attribute("class") and not tr.find_elements(By.CSS_SELECTOR, "img")
        r = requests.post(base + "/tap/sync", data={"LANG": "ADQL", "RESPONSEFORMAT": "csv", "QUERY":
                          "SELECT obs_publisher_did, first_author, publication_year FROM ivoa.obscore"}, timeout=conftest.TIMEOUT)
        assert r.status_code == 200, r.text
        rows = list(csv.reader(io.StringIO(r.text)))[1:]
        expected = {did for did, author, year in rows if "emsellem" in author.lower() and 2020 <= int(year) <= 2023}
        assert expected and len(expected) < len(rows)
        for field, value in (("first_author", "emsellem"), ("publication_year", "2020..2023")):
            before = browser.execute_script("return window.voPortal.state.seq")
            type_search(browser, value, field="f-" + field)
            wait_ready(browser, before, fields={field: value})
        assert set(shown_keys(browser)) == expected
        adql = browser.find_element(By.ID, "adql").get_attribute("textContent")
        assert "first_author ILIKE '%emsellem%'" in adql and "publication_year BETWEEN 2020 AND 2023" in adql
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe


# ---------------------------------------------------------------- the result view

def drawn_footprints(driver):
    """The footprints the sky view drew ([{key, x, y, width, height, dot}], client
    pixels), as its drawing reports them (SkyView.drawnFootprints in web/js/sky.js)."""
    return driver.execute_script("return window.voPortal.views.sky.drawnFootprints()")


def test_footprints_drawn_for_every_row_and_hover_highlights_both_ways(page, portal):
    keys = shown_keys(page)  # the first page of the whole archive
    with_region = {str(r["obs_publisher_did"]) for r in all_rows(portal) if str(r["s_region"] or "").strip()}
    # what the sky view drew, read from its drawing: each footprint's part of the outline path and its box on the screen
    footprints = drawn_footprints(page)
    drawn = {f["key"] for f in footprints}
    assert with_region and drawn == with_region and set(keys) == with_region
    for f in footprints:
        assert f["width"] >= 1 and f["height"] >= 1, f
    # the outlines are laid out by the browser with an extent (not an empty or unreadable path)
    box = page.execute_script("const b = document.querySelector('#sky path.footprints').getBoundingClientRect(); return [b.width, b.height]")
    assert box[0] >= 1 and box[1] >= 1, box
    # row -> footprint
    row = page.find_elements(By.CSS_SELECTOR, "#results tbody tr")[2]
    key = row.get_attribute("data-key")
    ActionChains(page).move_to_element(row).perform()
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: [p.get_attribute("data-key") for p in d.find_elements(By.CSS_SELECTOR, "#sky path.footprint.hover")] == [key])
    # footprint -> row, zoomed in on one galaxy so that the footprint is large
    search(page, "NGC0628, 2")
    [fp] = drawn_footprints(page)
    assert fp["width"] > 50 and fp["height"] > 50 and not fp["dot"], fp
    sky = page.find_element(By.ID, "sky")
    r = page.execute_script("const b = arguments[0].getBoundingClientRect(); return {x: b.x, y: b.y, width: b.width, height: b.height}", sky)
    # the pointer onto the footprint's middle (offsets from the sky view's middle): the page finds the footprint under it
    dx = fp["x"] + fp["width"] / 2 - (r["x"] + r["width"] / 2)
    dy = fp["y"] + fp["height"] / 2 - (r["y"] + r["height"] / 2)
    ActionChains(page).move_to_element_with_offset(sky, round(dx), round(dy)).perform()
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: [r.get_attribute("data-key") for r in d.find_elements(By.CSS_SELECTOR, "#results tbody tr.hover")] == [fp["key"]])
    assert [p.get_attribute("data-key") for p in page.find_elements(By.CSS_SELECTOR, "#sky path.footprint.hover")] == [fp["key"]]
    # keyboard: + zooms, arrows pan, 0 resets
    scale = page.execute_script("return window.voPortal.views.sky.projection.scale()")
    page.find_element(By.ID, "sky").send_keys("+")
    assert page.execute_script("return window.voPortal.views.sky.projection.scale()") > scale
    page.find_element(By.ID, "sky").send_keys(Keys.ARROW_LEFT, "0")
    assert abs(page.execute_script("return window.voPortal.views.sky.projection.scale()") - scale) < 1e-6 * scale
    # the sky background is the archive's own preview, laid into the footprint (once it has loaded)
    images = WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sky image.sky-preview"))
    assert images and all(i.get_attribute("href").startswith(portal["base"] + "/datalink/preview?") for i in images)
    page.save_screenshot(str(SHOTS / "result_view.png"))


def test_proprietary_rows_are_marked_with_their_release_date(page, portal):
    search(page, "NGC1087")
    tr = page.find_element(By.CSS_SELECTOR, "#results tbody tr")
    assert "proprietary" in tr.get_attribute("class")
    assert "2099-12-31" in tr.find_element(By.CSS_SELECTOR, ".release").text


def test_preview_popup_shows_the_products_preview(page, portal):
    search(page, "NGC0628")
    page.find_element(By.CSS_SELECTOR, "#results tbody tr .preview-button").click()
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: d.execute_script(
        "const i = [...document.querySelectorAll('#preview-dialog img.preview-image')];"
        "return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0);"))
    img = page.find_elements(By.CSS_SELECTOR, "#preview-dialog img.preview-image")[0]
    src = img.get_attribute("src")
    assert "/datalink/preview?" in src
    png = requests.get(src, timeout=conftest.TIMEOUT)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png.content[16:20], "big")
    assert page.execute_script("return arguments[0].naturalWidth", img) == width
    page.find_element(By.CSS_SELECTOR, "#preview-dialog button").send_keys(Keys.ESCAPE)


def test_sort_columns_and_paging(page, portal):
    page.find_element(By.CSS_SELECTOR, "#results th[data-name='target_name'] button").click()
    names = [td.text for td in page.find_elements(By.CSS_SELECTOR, "#results tbody tr td:nth-child(3)")]
    assert names == sorted(names) and len(names) > 1
    page.find_element(By.CSS_SELECTOR, "#results th[data-name='target_name'] button").send_keys(Keys.ENTER)
    names2 = [td.text for td in page.find_elements(By.CSS_SELECTOR, "#results tbody tr td:nth-child(3)")]
    assert names2 == sorted(names, reverse=True)
    page.find_element(By.CSS_SELECTOR, "#results .page-size option[value='20'], #results .page-size").click()
    page.execute_script("const s = document.querySelector('#results .page-size'); s.value = '20'; s.dispatchEvent(new Event('change'));")
    assert len(page.find_elements(By.CSS_SELECTOR, "#results tbody tr")) == min(20, len(names))


def test_column_chooser_and_async_for_large_limits(page, portal):
    page.find_element(By.CSS_SELECTOR, "#column-chooser summary").click()
    box = page.find_element(By.CSS_SELECTOR, "#column-chooser input[value='t_exptime']")
    assert box.is_selected()
    before = page.execute_script("return window.voPortal.state.seq")
    box.click()
    wait_ready(page, before)
    assert not page.find_elements(By.CSS_SELECTOR, "#results th[data-name='t_exptime']")
    assert "t_exptime" not in page.find_element(By.ID, "adql").get_attribute("textContent")
    box.click()
    wait_ready(page, before + 1)
    assert page.find_elements(By.CSS_SELECTOR, "#results th[data-name='t_exptime']")
    # beyond 10,000 rows the query runs as a UWS job (/tap/async)
    before = page.execute_script("return window.voPortal.state.seq")
    page.execute_script("const s = document.getElementById('maxrec'); s.value = '100000'; s.dispatchEvent(new Event('input', {bubbles: true}));")
    wait_ready(page, before)
    assert len(shown_keys(page)) == len(all_rows(portal))
    jobs = page.execute_script("return JSON.parse(sessionStorage.getItem('voserver.jobs') || '[]')")
    assert jobs and "/tap/async/" in jobs[0]["url"]
    page.execute_script("sessionStorage.removeItem('voserver.columns')")


# ---------------------------------------------------------------- exports and downloads

def test_votable_export_has_the_rows_of_the_table(page, portal):
    search(page, "NGC1*")
    href = page.find_element(By.CSS_SELECTOR, "a.export[data-format='votable']").get_attribute("href")
    r = requests.get(href, timeout=conftest.TIMEOUT)
    assert r.status_code == 200
    path = portal["work"] / "export.xml"
    path.write_bytes(r.content)
    t = parse_single_table(str(path)).to_table()
    assert {str(x) for x in t["obs_publisher_did"]} == set(shown_keys(page))
    for fmt in ("csv", "tsv", "fits"):
        assert f"RESPONSEFORMAT={fmt}" in page.find_element(By.CSS_SELECTOR, f"a.export[data-format='{fmt}']").get_attribute("href")


def select_rows(driver, names):
    for tr in driver.find_elements(By.CSS_SELECTOR, "#results tbody tr"):
        name = tr.find_elements(By.CSS_SELECTOR, "td")[2].text
        box = tr.find_element(By.CSS_SELECTOR, "td.select input")
        if (name in names) != box.is_selected():
            box.click()


def download_script(driver):
    driver.find_element(By.ID, "download-button").click()
    try:
        WebDriverWait(driver, WAIT, ignored_exceptions=STALE).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#downloads pre.script"))
    except Exception:
        raise AssertionError("no download script: " + driver.find_element(By.ID, "downloads").text)
    return driver.find_element(By.CSS_SELECTOR, "#downloads pre.script").get_attribute("textContent")


def test_download_script_fetches_byte_identical_files(page, portal):
    search(page, "NGC0628|NGC1300")
    select_rows(page, {"NGC0628", "NGC1300"})
    script = download_script(page)
    assert sum(line.startswith("fetch ") for line in script.splitlines()) == 2 and "curl -f -L -C -" in script
    sizes = page.find_elements(By.CSS_SELECTOR, "#downloads table.files td.num")
    assert len(sizes) == 2
    out = portal["work"] / "dl-public"
    out.mkdir()
    (out / "get.sh").write_text(script)
    done = subprocess.run(["sh", "get.sh"], cwd=out, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for galaxy in ("NGC0628", "NGC1300"):
        got = next(out.glob(f"{galaxy}*.fits"))
        assert got.read_bytes() == (portal["cubes"] / f"{galaxy}_PHANGS_DATACUBE_native.fits").read_bytes()
    # resumable: a truncated file is completed by running the script again (Range)
    got = next(out.glob("NGC0628*.fits"))
    whole = got.read_bytes()
    got.write_bytes(whole[:1000])
    done = subprocess.run(["sh", "get.sh"], cwd=out, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert got.read_bytes() == whole
    # the cutout form builds a SODA request for the selected product
    link = page.find_element(By.CSS_SELECTOR, "#downloads .cutout-link")
    assert "/soda/sync?" in link.get_attribute("href")
    cut = requests.get(link.get_attribute("href"), timeout=conftest.TIMEOUT)
    assert cut.status_code == 200 and cut.content[:6] == b"SIMPLE"
    assert page.find_elements(By.CSS_SELECTOR, "#sky path.cutout-circle")


def test_sign_in_marks_and_downloads_the_proprietary_file(page, portal):
    search(page, "NGC1087")
    select_rows(page, {"NGC1087"})
    download_script(page)
    assert "proprietary" in page.find_element(By.CSS_SELECTOR, "#downloads table.files tr.denied").text
    page.find_element(By.CSS_SELECTOR, "#auth summary").click()
    page.find_element(By.CSS_SELECTOR, "#auth input[name=user]").send_keys("demo-pi")
    # Signing in runs the search again (debounced); its number is only known to be
    # above the one before the sign-in (reading it after the sign-in raced with
    # the debounce under load: the old table was taken for the new one)
    before = page.execute_script("return window.voPortal.state.seq")
    page.find_element(By.CSS_SELECTOR, "#auth input[name=password]").send_keys("demo-pi" + Keys.ENTER)
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: "demo-pi" in d.find_element(By.ID, "auth").text)
    assert PROJECT in page.find_element(By.ID, "auth").text
    # the credentials are kept in the page's memory only: no storage holds the password, in any encoding
    stored = page.execute_script("return [sessionStorage, localStorage].flatMap(s => Object.keys(s).map(k => k + '=' + s.getItem(k)))")
    secret = base64.b64encode(b"demo-pi:demo-pi").decode()
    assert not [x for x in stored if secret in x or "demo-pi" in x], stored
    wait_ready(page, before)
    select_rows(page, {"NGC1087"})
    script = download_script(page)
    assert "yours" in page.find_element(By.CSS_SELECTOR, "#downloads table.files").text
    out = portal["work"] / "dl-private"
    out.mkdir()
    (out / "get.sh").write_text(script)
    done = subprocess.run(["sh", "get.sh"], cwd=out, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "VOSERVER_AUTH": "demo-pi:demo-pi"})
    assert done.returncode == 0, done.stderr
    got = next(out.glob("NGC1087*.fits"))
    assert got.read_bytes() == (portal["cubes"] / "NGC1087_PHANGS_DATACUBE_native.fits").read_bytes()
    page.find_element(By.CSS_SELECTOR, "#auth .sign-out").click()
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#auth details.sign-in"))
    # signed in again, then a reload: the page forgot the credentials (they were nowhere else)
    page.find_element(By.CSS_SELECTOR, "#auth summary").click()
    page.find_element(By.CSS_SELECTOR, "#auth input[name=user]").send_keys("demo-pi")
    page.find_element(By.CSS_SELECTOR, "#auth input[name=password]").send_keys("demo-pi" + Keys.ENTER)
    WebDriverWait(page, WAIT, ignored_exceptions=STALE).until(lambda d: "demo-pi" in d.find_element(By.ID, "auth").text)
    page.refresh()
    wait_ready(page, 0)
    assert page.find_elements(By.CSS_SELECTOR, "#auth details.sign-in") and "demo-pi" not in page.find_element(By.ID, "auth").text


# ---------------------------------------------------------------- the ADQL page

class SampHubHandler(xmlrpc.server.SimpleXMLRPCRequestHandler):
    """XML-RPC over HTTP with the CORS answers a SAMP Web Profile hub gives a web page."""
    rpc_paths = ("/", "/xmlrpc")

    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
        super().end_headers()

    def do_OPTIONS(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_samp_hub():
    """A stand-in SAMP Web Profile hub on localhost:21012 recording what it is sent; None when the port is taken."""
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 21012)) == 0:
            return None, None
    received = []
    hub = xmlrpc.server.SimpleXMLRPCServer(("127.0.0.1", 21012), requestHandler=SampHubHandler, logRequests=False,
                                           allow_none=True)
    hub.register_function(lambda meta: {"samp.private-key": "k1", "samp.hub-id": "hub", "samp.self-id": "c1"},
                          "samp.webhub.register")
    hub.register_function(lambda key, meta: "", "samp.webhub.declareMetadata")
    hub.register_function(lambda key, msg: received.append((key, msg)) or "", "samp.webhub.notifyAll")
    hub.register_function(lambda key: "", "samp.webhub.unregister")
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    return hub, received


def test_adql_page_examples_errors_and_samp(browser, portal):
    browser.get(portal["base"] + "/portal/adql.html")
    WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".examples button"))
    nearest = [b for b in browser.find_elements(By.CSS_SELECTOR, ".examples button") if "nearest" in b.text]
    assert nearest, "the examples of /tap/examples are one click away"
    nearest[0].click()
    WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: d.execute_script("return document.body.dataset.ready"))
    assert browser.find_elements(By.CSS_SELECTOR, "#results tbody tr")
    editor = browser.find_element(By.ID, "editor")
    editor.clear()
    editor.send_keys("SELECT obs_id\nFROM ivoa.obscore\nWHERE obs_id = = 'x'")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: d.find_element(By.ID, "editor-error").text)
    assert "line 3" in browser.find_element(By.ID, "editor-error").text
    assert "^" in browser.find_element(By.CSS_SELECTOR, "#editor-error .error-pointer").text
    browser.save_screenshot(str(SHOTS / "adql_page.png"))
    # an async job, listed with its phase and result
    editor.clear()
    editor.send_keys("SELECT obs_publisher_did, s_region, em_min, em_max FROM ivoa.obscore")
    browser.find_element(By.ID, "run").click()
    WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: len(drawn_footprints(d)) == len(all_rows(portal)))
    browser.find_element(By.ID, "run-async").click()
    # read in one script: the list is rebuilt while jobs run (elements found before would be stale)
    WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#jobs tr')].some(tr => tr.querySelector('td.phase')?.textContent === "
        "'COMPLETED' && tr.querySelector('td.result a')?.href.includes('/results/'))"))
    browser.find_element(By.ID, "samp").click()
    WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: "no SAMP hub" in d.find_element(By.ID, "samp-status").text)
    # with a hub: the table's URL goes to every client as table.load.votable
    editor.clear()
    editor.send_keys("SELECT obs_publisher_did, target_name FROM ivoa.obscore")
    hub, received = start_samp_hub()
    if hub is not None:
        try:
            browser.find_element(By.ID, "samp").click()
            WebDriverWait(browser, WAIT, ignored_exceptions=STALE).until(lambda d: "sent" in d.find_element(By.ID, "samp-status").text)
            key, msg = received[0]
            assert key == "k1" and msg["samp.mtype"] == "table.load.votable"
            r = requests.get(msg["samp.params"]["url"], timeout=conftest.TIMEOUT)
            assert r.status_code == 200 and r.text.count("<TR>") == len(all_rows(portal))
        finally:
            hub.shutdown()
            hub.server_close()
    # the only console errors: the 400 of the bad query and the refused hub connection, both expected
    severe = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert all("/tap/sync" in m and "400" in m or "21012" in m for m in severe), severe
