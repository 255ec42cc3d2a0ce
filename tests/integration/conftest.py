"""Integration fixtures: a fresh store built from ../shared/data/fits and a
running `voserver serve --port 0` (the system picks the port, which the
server writes to a --port-file), talked to by real clients.

Every HTTP call of the suites has a timeout (TIMEOUT unless a test needs a
tighter bound); pyvo gets a `session()` whose requests default to it;
test_harness.py checks both by reading the suites' source."""
import contextlib
import os
import re
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
FITS_DIR = SHARED / "data" / "fits"
VOSERVER = Path(os.environ.get("VOSERVER", ROOT / "build" / "voserver"))

TIMEOUT = 120  # seconds: the bound of any one HTTP call or client run of the suites
START_TIMEOUT = 60  # seconds for `voserver serve` to report its port


class TimeoutSession(requests.Session):
    """A requests Session whose calls time out after `timeout` seconds unless
    the caller passes its own timeout (pyvo passes none)."""

    def __init__(self, timeout=TIMEOUT):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        """requests.Session.request with the default timeout filled in."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, **kwargs)


def session(timeout=TIMEOUT):
    """A Session for pyvo (`TAPService(url, session=conftest.session())`)."""
    return TimeoutSession(timeout)


def ingest(cfg: Path, paths, collection: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs `voserver ingest PATHS --collection C --config cfg`; returns the
    finished process (stdout and stderr text)."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    return subprocess.run([str(VOSERVER), "ingest", *map(str, paths), "--collection", collection,
                           "--config", str(cfg)],
                          capture_output=True, text=True, timeout=timeout)


def add_user(cfg: Path, name: str, password: str, staff: bool = False):
    """`voserver users add NAME --replace` (password on stdin) in the users
    store of `cfg`; a running server sees the user within a second."""
    done = subprocess.run([str(VOSERVER), "users", "add", name, "--replace", *(["--staff"] if staff else []),
                           "--config", str(cfg)], input=password + "\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    time.sleep(1.1)  # the server rereads a changed users store at most once a second


def rebase(url: str, base: str) -> str:
    """`url` (e.g. a job URL a previous server run published) on the server
    at `base`: same path and query, base's scheme, host and port."""
    u, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((b.scheme, b.netloc, u.path, u.query, u.fragment))


VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def dali_error(r, status=400) -> str:
    """The message of a DALI error response `r` (DALI 1.1 section 4.4), after
    checking what a client relies on: HTTP `status`, a VOTable content type,
    and one INFO name="QUERY_STATUS" value="ERROR" in a RESOURCE
    type="results". Raises AssertionError otherwise."""
    import xml.etree.ElementTree as ET
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers.get("Content-Type", "").startswith("application/x-votable+xml"), r.headers.get("Content-Type")
    root = ET.fromstring(r.content)
    infos = [i for res in root.iter(VOTABLE_NS + "RESOURCE") if res.get("type") == "results"
             for i in res.findall(VOTABLE_NS + "INFO") if i.get("name") == "QUERY_STATUS"]
    assert len(infos) == 1, r.text[:500]
    assert infos[0].get("value") == "ERROR", r.text[:500]
    message = (infos[0].text or "").strip()
    assert message, "an error without a message: " + r.text[:500]
    return message


def complete(results):
    """`results` (pyvo DALResults) after checking that the service did not end
    it with a trailing INFO name="QUERY_STATUS" value="ERROR" (an error met
    after rows were sent: DALI 1.1 section 4.4, TAP 1.1 section 2.9), which
    pyvo accepts silently with the rows sent before it."""
    errors = [i.content for r in results.votable.resources for i in r.infos
              if i.name == "QUERY_STATUS" and i.value == "ERROR"]
    assert not errors, errors
    return results


def toml_value(v) -> str:
    """One TOML value: str and Path quoted (with \\ and " escaped), bool as
    true/false, int and float as they print, a list as an array."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(path: Path, **sections) -> Path:
    """Writes a server configuration to `path` and returns it. Each keyword
    is a table: a dict gives `[name]` with its keys (dotted names such as
    `**{"auth.jwt": {...}}` are written as they are), a list of dicts gives
    one `[[name]]` per dict (collections). Tables in keyword order."""
    out = []
    for name, body in sections.items():
        tables = body if isinstance(body, list) else [body]
        for table in tables:
            out.append(f"[[{name}]]" if isinstance(body, list) else f"[{name}]")
            out += [f"{k} = {toml_value(v)}" for k, v in table.items()]
            out.append("")
    path.write_text("\n".join(out))
    return path


def server_section(**extra) -> dict:
    """The `[server]` table of a test server: loopback, port 0 (the server's
    URLs derive from the port it bound), with `extra` keys added."""
    return {"host": "127.0.0.1", "port": 0, **extra}


def write_config(directory: Path) -> Path:
    """The test archive's configuration in `directory`: port 0 and no base_url,
    so that a server's URLs derive from the port it bound."""
    return write_toml(
        directory / "voserver.toml",
        server=server_section(threads=4),
        archive={"authority": "voserver.test", "title": "voserver integration test archive",
                 "database": directory / "store.sqlite",
                 "profiles": [ROOT / "conf" / "profiles" / "alma.toml"]},
        limits={"maxrec_default": 10000, "maxrec_hard": 1000000},
        collection=[{"name": "samples", "directories": [FITS_DIR],
                     "description": "Real FITS products from ../shared/data/fits", "proprietary_months": 12}])


def start_server(cfg: Path, work: Path, log_name: str = "server.log", env=None):
    """Starts `voserver serve --config cfg --port 0 --port-file work/port`
    (stdout and stderr in work/log_name); returns (process, base URL) once the
    server has written the port it bound, i.e. once it accepts connections.
    Raises RuntimeError with the log if it exits or reports no port within
    START_TIMEOUT. `env`: extra environment variables (e.g. VOSERVER_NOW)."""
    port_file = work / ("port" if log_name == "server.log" else log_name + ".port")
    port_file.unlink(missing_ok=True)
    log_path = work / log_name
    with open(log_path, "w") as log:
        proc = subprocess.Popen([str(VOSERVER), "serve", "--config", str(cfg), "--port", "0",
                                 "--port-file", str(port_file)], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})})
    end = time.monotonic() + START_TIMEOUT
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"voserver exited ({proc.returncode}): " + log_path.read_text())
        if time.monotonic() > end:
            stop_server(proc)
            raise RuntimeError(f"voserver reported no port in {START_TIMEOUT} s: " + log_path.read_text())
        time.sleep(0.05)
    port = int(port_file.read_text())
    return proc, f"http://127.0.0.1:{port}"


def stop_server(proc):
    """SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def listening_port(log_text: str) -> int:
    """The port of the "voserver listening on http://HOST:PORT" line of a log."""
    m = re.search(r"^voserver listening on http://[^\s:]+:(\d+)$", log_text, re.M)
    assert m, "no 'voserver listening on' line in the log:\n" + log_text
    return int(m.group(1))


@contextlib.contextmanager
def running_server(cfg: Path, work: Path, env=None, log_name: str = "server.log"):
    """Runs `voserver serve --config cfg --port 0` (log in work/log_name)
    until the block ends; yields its base URL once it accepts connections.
    `env`: extra environment variables."""
    proc, base = start_server(cfg, work, log_name, env)
    try:
        yield base
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def archive(tmp_path_factory):
    """Builds a store from ../shared/data/fits, starts the server, yields its base URL."""
    assert VOSERVER.exists(), "build/voserver missing: run scripts/setup"
    assert FITS_DIR.is_dir(), f"{FITS_DIR} missing"
    work = tmp_path_factory.mktemp("archive")
    cfg = write_config(work)
    done = ingest(cfg, FITS_DIR, "samples")
    assert done.returncode == 0, done.stdout + done.stderr
    with running_server(cfg, work) as base:
        yield {"base": base, "tap": base + "/tap", "ingest_output": done.stdout + done.stderr,
               "config": cfg, "work": work}


PG_PORT = int(os.environ.get("VO_PG_PORT", "54329"))


def pg_url(role: str, database: str) -> str:
    """The libpq URL of `database` on the private cluster of scripts/postgres."""
    return f"postgresql://{role}@127.0.0.1:{PG_PORT}/{database}"


@pytest.fixture(scope="session")
def pg_archive(archive, tmp_path_factory):
    """The test archive served from PostgreSQL + pgSphere (issue 11): the
    SQLite store of `archive` published with `voserver pg-load` into a fresh
    database of the cluster `scripts/postgres start` runs, and a second
    server whose queries read that database (`[archive] query_database`).
    Yields the same keys as `archive`."""
    name = f"voserver_it_{os.getpid()}"
    made = subprocess.run([str(ROOT / "scripts" / "postgres"), "createdb", name], capture_output=True, text=True,
                          timeout=300)
    assert made.returncode == 0, "scripts/postgres createdb failed (is the cluster running? scripts/postgres start):\n" \
        + made.stdout + made.stderr
    try:
        loaded = subprocess.run([str(VOSERVER), "pg-load", "--config", str(archive["config"]), "--database",
                                 pg_url("voserver_writer", name)], capture_output=True, text=True, timeout=600)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        work = tmp_path_factory.mktemp("pg_archive")
        cfg = work / "voserver.toml"
        text = archive["config"].read_text()
        # the same store for jobs and previews; queries read PostgreSQL
        text = text.replace("[archive]\n", f'[archive]\nquery_database = "{pg_url("voserver_reader", name)}"\n', 1)
        cfg.write_text(text)
        with running_server(cfg, work) as base:
            yield {"base": base, "tap": base + "/tap", "config": cfg, "work": work, "database": name,
                   "load_output": loaded.stdout + loaded.stderr}
    finally:
        subprocess.run([str(ROOT / "scripts" / "postgres"), "dropdb", name], capture_output=True, text=True, timeout=120)
