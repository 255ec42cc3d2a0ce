"""The harness itself (issue 8 item 8): servers report the port they bound
with --port 0 and publish URLs on it, and no call of the suites can hang
forever (every HTTP call and client run has a timeout)."""
import ast
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

import requests

import conftest

SUITES = sorted(Path(__file__).parent.glob("*.py")) + sorted((conftest.ROOT / "tests" / "soda").glob("*.py"))
HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}
SUBPROCESS_RUNS = {"run", "check_output", "check_call", "call"}
PYVO_CLIENTS = {"TAPService", "SodaQuery", "SIAService", "SCSService", "SSAService", "DALQuery", "TAPQuery"}


def dotted(node):
    """"a.b.c" for the expression a.b.c, "" for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def unbounded_calls(source: str):
    """(line, call) of each call in `source` that could wait forever: requests.*,
    urllib's urlopen, socket.create_connection and subprocess runs without
    timeout=, pyvo clients without session= (a conftest.session() carries the
    timeout)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        keywords = {k.arg for k in node.keywords}
        if None in keywords:  # **kwargs: cannot tell
            continue
        head, _, last = name.rpartition(".")
        if (head == "requests" and last in HTTP_METHODS) or last == "urlopen" or \
                (head == "subprocess" and last in SUBPROCESS_RUNS) or name == "socket.create_connection":
            if "timeout" not in keywords:
                found.append((node.lineno, name))
        elif last in PYVO_CLIENTS and "session" not in keywords:
            found.append((node.lineno, name))
    return sorted(found)


def test_the_checker_finds_unbounded_calls():
    src = ("requests.get(u)\nrequests.post(u, timeout=5)\nsubprocess.run(['x'])\n"
           "pyvo.dal.TAPService(u)\npyvo.dal.TAPService(u, session=s)\nurllib.request.urlopen(u)\n"
           "socket.create_connection(a)\nsocket.create_connection(a, timeout=1)\n")
    assert unbounded_calls(src) == [(1, "requests.get"), (3, "subprocess.run"), (4, "pyvo.dal.TAPService"),
                                    (6, "urllib.request.urlopen"), (7, "socket.create_connection")]


def test_every_http_call_and_client_run_of_the_suites_has_a_timeout():
    offenders = [f"{path.name}:{line}: {call}" for path in SUITES
                 for line, call in unbounded_calls(path.read_text())]
    assert not offenders, "calls without a timeout:\n" + "\n".join(offenders)


def test_the_server_reports_the_port_it_bound_and_publishes_urls_on_it(archive):
    base = archive["base"]
    port = urllib.parse.urlsplit(base).port
    assert port and port != 0
    # the line on stdout names the port of the --port-file
    assert conftest.listening_port((archive["work"] / "server.log").read_text()) == port
    # the configuration has no base_url: published URLs follow the bound port
    cap = requests.get(archive["tap"] + "/capabilities", timeout=conftest.TIMEOUT)
    assert cap.status_code == 200
    urls = [e.text.strip() for e in ET.fromstring(cap.content).iter() if e.tag.endswith("accessURL")]
    assert base + "/tap" in urls, urls
    job = requests.post(archive["tap"] + "/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"},
                        allow_redirects=False, timeout=conftest.TIMEOUT)
    assert job.status_code == 303
    assert job.headers["Location"].startswith(base + "/tap/async/"), job.headers["Location"]
    doc = requests.get(job.headers["Location"], timeout=conftest.TIMEOUT)
    assert doc.status_code == 200 and "<uws:phase>PENDING</uws:phase>" in doc.text
    requests.post(job.headers["Location"], data={"ACTION": "DELETE"}, allow_redirects=False, timeout=conftest.TIMEOUT)


def test_access_urls_follow_the_server_that_answers(tmp_path):
    """Ingest needs no base URL (port 0, none configured): access_url is
    completed at query time from the base URL of the server answering, so the
    same store served on two ports gives working links on each."""
    cfg = conftest.write_config(tmp_path)
    product = conftest.FITS_DIR / "other" / "cfht_megaprime_cutout.fits"
    r = subprocess.run([str(conftest.VOSERVER), "ingest", str(product), "--collection", "samples", "--config", str(cfg)],
                       capture_output=True, text=True, timeout=conftest.TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    seen = set()
    for _ in range(2):
        with conftest.running_server(cfg, tmp_path) as base:
            q = requests.get(base + "/tap/sync", params={"QUERY": "SELECT access_url FROM ivoa.obscore",
                                                         "RESPONSEFORMAT": "csv"}, timeout=conftest.TIMEOUT)
            url = q.text.split()[1]
            assert url.startswith(base + "/datalink/sync?ID="), url
            assert requests.get(url, timeout=conftest.TIMEOUT).status_code == 200
            # a condition on access_url sees the same value
            q = requests.get(base + "/tap/sync", params={"QUERY": f"SELECT COUNT(*) AS n FROM ivoa.obscore WHERE "
                                                         f"access_url = '{url}'", "RESPONSEFORMAT": "csv"},
                             timeout=conftest.TIMEOUT)
            assert q.text.split()[1] == "1"
            seen.add(base)
    assert len(seen) == 2  # two ports, each with its own links