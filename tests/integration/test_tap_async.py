"""TAP async (UWS 1.1) through the clients that use it: pyvo's run_async and
job API, STILTS tapquery sync=false (TOPCAT's way), and plain HTTP for the UWS
resources and the failures other servers are known for."""
import concurrent.futures as cf
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import pyvo
import requests

import conftest

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
VOT = "{http://www.ivoa.net/xml/VOTable/v1.3}"
HEAVY = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
         "ivoa.obscore AS d, ivoa.obscore AS e, ivoa.obscore AS f")


def create(base, allow_redirects=False, **params):
    return requests.post(base + "/tap/async", data={"LANG": "ADQL", **params}, allow_redirects=allow_redirects,
                         timeout=30)


def job_doc(url, **params):
    r = requests.get(url, params=params, timeout=90)
    assert r.status_code == 200, r.text[:300]
    return ET.fromstring(r.content)


def phase_of(doc):
    return doc.find(UWS + "phase").text


def wait_final(url, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        doc = job_doc(url, WAIT=5)
        if phase_of(doc) not in ("PENDING", "QUEUED", "EXECUTING"):
            return doc
    raise AssertionError("job did not finish")


def test_pyvo_run_async_gives_the_sync_rows(archive):
    tap = pyvo.dal.TAPService(archive["tap"], session=conftest.session())
    q = "SELECT obs_id, s_ra, s_dec FROM ivoa.obscore ORDER BY obs_id"
    a = tap.run_async(q).to_table()
    s = tap.run_sync(q).to_table()
    assert len(a) == len(s) > 20
    assert list(a["obs_id"]) == list(s["obs_id"])
    assert list(a["s_ra"]) == list(s["s_ra"])


def test_pyvo_job_lifecycle(archive):
    tap = pyvo.dal.TAPService(archive["tap"], session=conftest.session())
    job = tap.submit_job("SELECT TOP 5 obs_id FROM ivoa.obscore ORDER BY obs_id", maxrec=3)
    assert job.phase == "PENDING"
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
    assert job.phase == "COMPLETED"
    t = job.fetch_result().to_table()
    assert len(t) == 3  # MAXREC of the job
    url = job.url
    job.delete()
    assert requests.get(url, timeout=10).status_code == 404


def test_stilts_tapquery_async_like_topcat(archive, tmp_path):
    out = tmp_path / "out.csv"
    p = subprocess.run(["stilts", "tapquery", f"tapurl={archive['tap']}", "sync=false",
                        "adql=SELECT TOP 4 obs_id, s_ra FROM ivoa.obscore ORDER BY obs_id",
                        "ofmt=csv", f"out={out}"], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stdout + p.stderr
    lines = out.read_text().strip().splitlines()
    assert lines[0] == "obs_id,s_ra" and len(lines) == 5


def test_phase_run_at_creation_starts_the_job(archive):
    r = create(archive["base"], QUERY="SELECT TOP 1 obs_id FROM ivoa.obscore", PHASE="RUN")
    assert r.status_code == 303
    url = r.headers["Location"]
    assert url.startswith(archive["base"] + "/tap/async/")
    doc = wait_final(url)
    assert phase_of(doc) == "COMPLETED"
    res = doc.find(UWS + "results").find(UWS + "result")
    assert res.get("id") == "result"  # TAP 1.1 section 2.2.2: named "result"
    href = res.get("{http://www.w3.org/1999/xlink}href")
    got = requests.get(href, timeout=10)
    assert got.status_code == 200
    assert int(got.headers["Content-Length"]) == len(got.content) == int(res.get("size"))
    assert got.headers["Content-Type"].startswith("application/x-votable+xml")


def test_a_failing_query_ends_in_error_with_a_votable_error_document(archive):
    r = create(archive["base"], QUERY="SELECT nosuchcolumn FROM ivoa.obscore", PHASE="RUN")
    url = r.headers["Location"]
    doc = wait_final(url)
    assert phase_of(doc) == "ERROR"
    msg = doc.find(UWS + "errorSummary").find(UWS + "message").text
    assert "nosuchcolumn" in msg
    e = requests.get(url + "/error", timeout=10)
    assert e.status_code == 200  # not a 4xx
    assert e.headers["Content-Type"].startswith("application/x-votable+xml")
    info = [i for i in ET.fromstring(e.content).iter(VOT + "INFO") if i.get("name") == "QUERY_STATUS"][0]
    assert info.get("value") == "ERROR" and "nosuchcolumn" in info.text


def test_job_children_and_parameter_rules(archive):
    query = "SELECT TOP 1 obs_id FROM ivoa.obscore"
    r = create(archive["base"], QUERY=query, RUNID="my-run")
    url = r.headers["Location"]
    assert requests.get(url + "/phase", timeout=10).text == "PENDING"
    # parameters may change while PENDING
    r = requests.post(url + "/parameters", data={"MAXREC": "2"}, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == url
    assert requests.post(url, data={"MAXREC": "1"}, allow_redirects=False, timeout=10).status_code == 303
    params = ET.fromstring(requests.get(url + "/parameters", timeout=10).content)
    assert {p.get("id"): p.text for p in params.iter(UWS + "parameter")}["MAXREC"] == "1"
    r = requests.post(url + "/executionduration", data={"EXECUTIONDURATION": "30"}, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert requests.get(url + "/executionduration", timeout=10).text == "30"
    r = requests.post(url + "/destruction", data={"DESTRUCTION": "2031-01-01T00:00:00Z"}, allow_redirects=False,
                      timeout=10)
    assert r.status_code == 303
    assert requests.get(url + "/destruction", timeout=10).text.startswith("20")
    assert requests.get(url + "/owner", timeout=10).status_code == 200
    assert requests.get(url + "/quote", timeout=10).status_code == 200
    assert job_doc(url).find(UWS + "runId").text == "my-run"
    r = requests.post(url + "/phase", data={"PHASE": "RUN"}, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == url
    doc = wait_final(url)
    assert phase_of(doc) == "COMPLETED"
    # after RUN, parameters are frozen
    r = requests.post(url, data={"QUERY": "SELECT 1 FROM ivoa.obscore"}, allow_redirects=False, timeout=10)
    message = conftest.dali_error(r, 400)
    assert "PENDING" in message and "COMPLETED" in message, message  # why: the job left PENDING, it is COMPLETED
    params = {p.get("id"): p.text for p in job_doc(url).iter(UWS + "parameter")}
    assert params["QUERY"] == query  # and the parameter did not change    # a job never goes back to PENDING
    requests.post(url + "/phase", data={"PHASE": "RUN"}, timeout=10)
    assert requests.get(url + "/phase", timeout=10).text == "COMPLETED"
    assert requests.get(url + "/nosuchchild", timeout=10).status_code == 404
    assert requests.get(url + "/results/nosuchresult", timeout=10).status_code == 404


@pytest.mark.parametrize("params", [
    {"PHASE": "BOGUS"}, {"AFTER": "yesterday"}, {"LAST": "0"}, {"LAST": "x"}])
def test_bad_job_list_filters_are_400(archive, params):
    r = requests.get(archive["base"] + "/tap/async", params=params, timeout=10)
    [(name, value)] = params.items()
    message = conftest.dali_error(r, 400)
    assert f"{name}={value}" in message, message  # names the filter and the value refused


def test_bad_job_parameters_are_400_and_leave_no_job(archive):
    before = len(list(job_doc(archive["base"] + "/tap/async").iter(UWS + "jobref")))
    for bad in ({"DESTRUCTION": "next week"}, {"EXECUTIONDURATION": "long"}, {"PHASE": "ABORT"}):
        r = create(archive["base"], QUERY="SELECT 1 FROM ivoa.obscore", **bad)
        [(name, value)] = bad.items()
        message = conftest.dali_error(r, 400)
        assert f"{name}={value}" in message, (bad, message)
    after = len(list(job_doc(archive["base"] + "/tap/async").iter(UWS + "jobref")))
    assert after == before
    r = create(archive["base"], QUERY="SELECT TOP 1 obs_id FROM ivoa.obscore")
    url = r.headers["Location"]
    assert "WAIT=abc" in conftest.dali_error(requests.get(url, params={"WAIT": "abc"}, timeout=10), 400)
    message = conftest.dali_error(requests.post(url + "/phase", data={"PHASE": "SIDEWAYS"}, timeout=10), 400)
    assert "PHASE=SIDEWAYS" in message and "RUN" in message, message  # and what could be asked instead
    assert phase_of(job_doc(url)) == "PENDING"  # the job did not move


def test_job_list_filters(archive):
    # the job list shows the caller's own jobs (issue 12 item 4: anonymous jobs are in no list)
    conftest.add_user(archive["config"], "lister", "lister-password")
    auth = ("lister", "lister-password")
    r = requests.post(archive["base"] + "/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM "
                      "ivoa.obscore"}, auth=auth, allow_redirects=False, timeout=30)
    pending_url = r.headers["Location"]
    lists = lambda **params: ET.fromstring(requests.get(archive["base"] + "/tap/async", params=params, auth=auth,
                                                        timeout=90).content)
    jobs = lists(PHASE="PENDING")
    ids = [j.get("id") for j in jobs.iter(UWS + "jobref")]
    assert pending_url.rsplit("/", 1)[1] in ids
    assert all(j.find(UWS + "phase").text == "PENDING" for j in jobs.iter(UWS + "jobref"))
    last = list(lists(LAST=1).iter(UWS + "jobref"))
    assert len(last) == 1 and last[0].get("id") == pending_url.rsplit("/", 1)[1]
    assert not list(lists(AFTER="2100-01-01T00:00:00Z").iter(UWS + "jobref"))
    # an anonymous caller's list is empty, though its jobs exist
    anonymous = create(archive["base"], QUERY="SELECT TOP 1 obs_id FROM ivoa.obscore").headers["Location"]
    assert requests.get(anonymous, timeout=30).status_code == 200
    assert not list(job_doc(archive["base"] + "/tap/async").iter(UWS + "jobref"))


def test_delete_redirects_to_a_cheap_job_list(archive):
    r = create(archive["base"], QUERY="SELECT TOP 1 obs_id FROM ivoa.obscore")
    url = r.headers["Location"]
    d = requests.delete(url, allow_redirects=False, timeout=10)
    assert d.status_code == 303 and "LAST=" in d.headers["Location"]
    assert requests.get(url, timeout=10).status_code == 404
    r = create(archive["base"], QUERY="SELECT TOP 1 obs_id FROM ivoa.obscore")
    url = r.headers["Location"]
    d = requests.post(url, data={"ACTION": "DELETE"}, allow_redirects=False, timeout=10)
    assert d.status_code == 303
    assert requests.get(url, timeout=10).status_code == 404


@pytest.fixture(scope="module")
def async_server(archive, tmp_path_factory):
    """A server of its own (1 async worker, WAIT capped at 3 s) over a copy of the archive store."""
    work = tmp_path_factory.mktemp("async")
    store = work / "store.sqlite"
    store.write_bytes((archive["work"] / "store.sqlite").read_bytes())
    cfg = conftest.write_toml(
        work / "voserver.toml", server=conftest.server_section(async_workers=1), archive={"database": store},
        limits={"max_wait_seconds": 3, "async_max_seconds": 5, "async_default_seconds": 5, "max_sync_seconds": 30},
        collection=[{"name": "samples", "directories": [conftest.FITS_DIR]}])
    yield {"cfg": cfg, "work": work}


def test_wait_blocks_until_the_phase_changes_and_never_beyond_the_cap(async_server):
    s = async_server
    with conftest.running_server(s["cfg"], s["work"]) as base:
        url = create(base, QUERY=HEAVY, PHASE="RUN").headers["Location"]
        t0 = time.monotonic()
        doc = job_doc(url, WAIT=-1, PHASE="EXECUTING")
        waited = time.monotonic() - t0
        assert waited < 4.5, waited  # capped at max_wait_seconds = 3
        # a finished job answers WAIT at once
        doc = wait_final(url, timeout=30)
        assert phase_of(doc) == "ERROR"  # EXECUTIONDURATION of 5 s ran out
        assert "EXECUTIONDURATION" in doc.find(UWS + "errorSummary").find(UWS + "message").text
        t0 = time.monotonic()
        job_doc(url, WAIT=30)
        assert time.monotonic() - t0 < 1


def test_async_jobs_cannot_starve_sync_queries(async_server):
    s = async_server
    with conftest.running_server(s["cfg"], s["work"]) as base:
        urls = [create(base, QUERY=HEAVY, PHASE="RUN").headers["Location"] for _ in range(3)]
        time.sleep(1)
        r = requests.get(base + "/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"},
                         timeout=20)
        assert r.status_code == 200 and "<TD>" in r.text
        for u in urls:
            requests.post(u + "/phase", data={"PHASE": "ABORT"}, timeout=10)
        for u in urls:
            assert phase_of(wait_final(u, timeout=30)) in ("ABORTED", "ERROR")


def test_jobs_survive_kill_9(async_server):
    s = async_server
    proc, base = conftest.start_server(s["cfg"], s["work"], "kill9.log")
    try:
        done = create(base, QUERY="SELECT TOP 2 obs_id FROM ivoa.obscore ORDER BY obs_id", PHASE="RUN").headers["Location"]
        assert phase_of(wait_final(done)) == "COMPLETED"
        pending = create(base, QUERY="SELECT TOP 1 s_ra FROM ivoa.obscore", RUNID="kept").headers["Location"]
        executing = create(base, QUERY=HEAVY, PHASE="RUN").headers["Location"]
        queued = create(base, QUERY="SELECT TOP 3 obs_id FROM ivoa.obscore", PHASE="RUN").headers["Location"]
        time.sleep(1)
        assert phase_of(job_doc(executing)) == "EXECUTING"
        assert phase_of(job_doc(queued)) == "QUEUED"
        result_before = requests.get(done + "/results/result", timeout=10).content
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the restarted server has a port of its own (--port 0): the same jobs at
    # the same paths there
    with conftest.running_server(s["cfg"], s["work"]) as base:
        done, pending, executing, queued = (conftest.rebase(u, base) for u in (done, pending, executing, queued))
        assert phase_of(job_doc(done)) == "COMPLETED"
        assert requests.get(done + "/results/result", timeout=10).content == result_before
        doc = job_doc(pending)
        assert phase_of(doc) == "PENDING" and doc.find(UWS + "runId").text == "kept"
        params = {p.get("id"): p.text for p in doc.iter(UWS + "parameter")}
        assert params["QUERY"] == "SELECT TOP 1 s_ra FROM ivoa.obscore"
        doc = job_doc(executing)
        assert phase_of(doc) == "ERROR"
        assert "restarted" in doc.find(UWS + "errorSummary").find(UWS + "message").text
        assert phase_of(wait_final(queued)) == "COMPLETED"  # queued jobs run after the restart


def test_results_support_byte_ranges(archive):
    url = create(archive["base"], QUERY="SELECT obs_id, s_ra FROM ivoa.obscore ORDER BY obs_id", PHASE="RUN"
                 ).headers["Location"]
    assert phase_of(wait_final(url)) == "COMPLETED"
    whole = requests.get(url + "/results/result", timeout=10)
    assert whole.headers["Accept-Ranges"] == "bytes"
    size = len(whole.content)
    part = requests.get(url + "/results/result", headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{size}"
    assert part.content == whole.content[100:200]
    tail = requests.get(url + "/results/result", headers={"Range": "bytes=-50"}, timeout=10)
    assert tail.status_code == 206 and tail.content == whole.content[-50:]
    rest = requests.get(url + "/results/result", headers={"Range": f"bytes={size - 10}-"}, timeout=10)
    assert rest.content == whole.content[-10:]
    bad = requests.get(url + "/results/result", headers={"Range": f"bytes={size + 5}-"}, timeout=10)
    assert bad.status_code == 416 and bad.headers["Content-Range"] == f"bytes */{size}"
    head = requests.head(url + "/results/result", timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == size and not head.content
