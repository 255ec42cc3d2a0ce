"""Several voserver instances behind a load balancer (issue 11 items 4-5).

Two instances share one PostgreSQL database (the archive, ingested straight
into it, and the UWS job store, `[archive] jobs_database`) and one results
directory, behind HAProxy (Debian's `haproxy`, round robin, health checks on
/tap/availability). What a user of the balancer's URL checks: a pyvo async job
is created, polled (across both instances), and its result fetched; when the
instance executing a job is killed with `kill -9`, the job ends through the
other one (ERROR with a clear message, or COMPLETED), and every other job and
result is intact.
"""
import os
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import pyvo

import conftest

UWS = "{http://www.ivoa.net/xml/UWS/v1.0}"
# about 20 million joined rows: seconds of work in PostgreSQL, whatever the machine
SLOW = ("SELECT COUNT(*) AS n FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, ivoa.obscore AS d, "
        "ivoa.obscore AS e WHERE a.s_ra + b.s_dec + c.s_ra + d.s_dec + e.s_ra > -1000")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres(*args):
    return subprocess.run([str(conftest.ROOT / "scripts" / "postgres"), *args], capture_output=True, text=True,
                          timeout=300)


def phase(url):
    r = conftest.session().get(url, timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text
    return ET.fromstring(r.content).find(UWS + "phase").text, r.text


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if not shutil.which("haproxy"):
        pytest.fail("haproxy is not installed (scripts/setup installs it)")
    name = f"voserver_multi_{os.getpid()}"
    made = postgres("createdb", name)
    assert made.returncode == 0, made.stdout + made.stderr
    procs = []
    try:
        work = tmp_path_factory.mktemp("multi")
        lb_port = free_port()
        cfg = conftest.write_config(work)
        text = cfg.read_text()
        writer = conftest.pg_url("voserver_writer", name)
        text = text.replace(f'database = "{work / "store.sqlite"}"',
                            f'database = "{writer}"\n'
                            f'query_database = "{conftest.pg_url("voserver_reader", name)}"\n'
                            f'jobs_database = "{writer}"\n'
                            f'results_dir = "{work / "shared-results"}"\n'
                            f'previews_dir = "{work / "previews"}"')
        # every URL the instances publish is the balancer's
        text = text.replace("[server]\n", f'[server]\nbase_url = "http://127.0.0.1:{lb_port}"\n'
                            'trusted_proxies = ["127.0.0.1"]\n', 1)
        cfg.write_text(text)
        done = conftest.ingest(cfg, conftest.FITS_DIR, "samples")
        assert done.returncode == 0, done.stdout + done.stderr
        instances = []
        for label in ("a", "b"):
            d = work / label
            d.mkdir()
            proc, direct = conftest.start_server(cfg, d)
            procs.append(proc)
            instances.append({"proc": proc, "direct": direct, "log": d / "server.log"})
        haproxy_cfg = work / "haproxy.cfg"
        servers = "\n".join(f"  server {label} {i['direct'][len('http://'):]} check inter 300 fall 1 rise 2"
                            for label, i in zip("ab", instances))
        haproxy_cfg.write_text(f"""
global
  maxconn 256
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  retries 3
  option redispatch
  option forwardfor
frontend voserver
  bind 127.0.0.1:{lb_port}
  default_backend instances
backend instances
  balance roundrobin
  option httpchk GET /tap/availability
{servers}
""")
        lb = subprocess.Popen(["haproxy", "-f", str(haproxy_cfg), "-db"], stdout=open(work / "haproxy.log", "w"),
                              stderr=subprocess.STDOUT)
        procs.append(lb)
        base = f"http://127.0.0.1:{lb_port}"
        end = time.monotonic() + 30
        while True:
            try:
                if conftest.session(5).get(base + "/tap/availability", timeout=5).status_code == 200:
                    break
            except Exception:
                pass
            assert time.monotonic() < end, (work / "haproxy.log").read_text()
            time.sleep(0.2)
        yield {"base": base, "instances": instances, "work": work}
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        postgres("dropdb", name)


def test_pyvo_async_job_through_the_balancer_is_polled_across_both_instances(cluster):
    service = pyvo.dal.TAPService(cluster["base"] + "/tap", session=conftest.session())
    query = "SELECT obs_publisher_did, em_min FROM ivoa.obscore ORDER BY obs_publisher_did"
    job = service.submit_job(query)
    assert job.url.startswith(cluster["base"] + "/tap/async/")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=120)
    assert job.phase == "COMPLETED", job.job.errorsummary
    rows = job.fetch_result().to_table()
    sync = service.run_sync(query).to_table()
    assert len(rows) == len(sync) > 10
    assert list(rows["obs_publisher_did"]) == list(sync["obs_publisher_did"])
    # the job's URL was answered by both instances (round robin)
    job_id = job.url.rsplit("/", 1)[1]
    for _ in range(4):
        phase(job.url)
    for instance in cluster["instances"]:
        assert job_id in instance["log"].read_text(), "an instance never saw the job"
    cluster["finished"] = (job.url, [str(x) for x in rows["obs_publisher_did"]])


def test_killing_the_instance_that_executes_a_job(cluster):
    if "finished" not in cluster:
        pytest.skip("needs the job of the previous test")
    a, b = cluster["instances"]
    s = conftest.session()
    # a slow job, created and started on instance a directly
    r = s.post(a["direct"] + "/tap/async", data={"LANG": "ADQL", "QUERY": SLOW, "PHASE": "RUN"},
               allow_redirects=False, timeout=conftest.TIMEOUT)
    assert r.status_code == 303, r.text
    job_url = r.headers["Location"]
    assert job_url.startswith(cluster["base"])
    on_a = job_url.replace(cluster["base"], a["direct"])
    end = time.monotonic() + 30
    while phase(on_a)[0] in ("PENDING", "QUEUED"):
        assert time.monotonic() < end
        time.sleep(0.05)
    assert phase(on_a)[0] == "EXECUTING", "the slow query ended before the kill; make SLOW slower"
    a["proc"].send_signal(signal.SIGKILL)
    a["proc"].wait()

    # through the balancer (now only b): the job ends, clearly
    end = time.monotonic() + 90
    while True:
        p, doc = phase(job_url)
        if p not in ("PENDING", "QUEUED", "EXECUTING"):
            break
        assert time.monotonic() < end, "the job of the killed instance never ended: " + doc
        time.sleep(0.5)
    assert p in ("ERROR", "COMPLETED"), doc
    if p == "ERROR":
        assert "stopped (killed or crashed)" in doc, doc
    # the earlier job and its result are intact
    url, ids = cluster["finished"]
    assert phase(url)[0] == "COMPLETED"
    table = pyvo.dal.TAPService(cluster["base"] + "/tap", session=s)
    result = s.get(url + "/results/result", timeout=conftest.TIMEOUT)
    assert result.status_code == 200
    from astropy.io.votable import parse_single_table
    import io
    again = parse_single_table(io.BytesIO(result.content)).to_table()
    assert [str(x) for x in again["obs_publisher_did"]] == ids
    # and new work goes on through the balancer
    assert len(table.run_sync("SELECT TOP 3 obs_id FROM ivoa.obscore").to_table()) == 3
