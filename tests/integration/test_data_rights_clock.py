"""Issue 12: data_rights is computed when a query runs, from obs_release_date
and the archive's clock, which VOSERVER_NOW (ISO 8601 UTC, for testing only)
simulates. A product whose release date is still ahead becomes 'Public' when
the server is started after that date, without a re-ingest; a malformed
VOSERVER_NOW stops the server with a message naming it.

Run with /usr/bin/python3 -m pytest tests/integration/test_data_rights_clock.py."""
import csv
import io

import pytest
import requests

import conftest

CUBE = conftest.FITS_DIR / "alma" / "ngc3256_alma_sv_co10_cube.fits"


def tap_rows(base, adql):
    r = requests.get(base + "/tap/sync", params={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql,
                                                "RESPONSEFORMAT": "csv"}, timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text[:500]
    return list(csv.reader(io.StringIO(r.text)))[1:]


@pytest.fixture(scope="module")
def proprietary_store(tmp_path_factory):
    """A store whose cube is released 100 years after its observation."""
    work = tmp_path_factory.mktemp("rights")
    cfg = conftest.write_config(work)
    cfg.write_text(cfg.read_text().replace("proprietary_months = 12", "proprietary_months = 1200"))
    done = conftest.ingest(cfg, [CUBE], "samples")
    assert done.returncode == 0, done.stdout + done.stderr
    return cfg, work


def test_data_rights_follow_the_clock_without_reingest(proprietary_store, monkeypatch):
    cfg, work = proprietary_store
    query = ("SELECT obs_release_date, data_rights FROM ivoa.obscore "
             "WHERE obs_id = 'ngc3256_alma_sv_co10_cube'")
    with conftest.running_server(cfg, work) as base:
        [(release, rights)] = tap_rows(base, query)
        assert rights == "Proprietary"
        assert tap_rows(base, "SELECT COUNT(*) FROM ivoa.obscore WHERE data_rights = 'Public'") == [["0"]]
    year = int(release[:4])

    # the day after the release date: Public, in the select list, WHERE and GROUP BY
    monkeypatch.setenv("VOSERVER_NOW", f"{year}-12-31T23:59:59")
    with conftest.running_server(cfg, work) as base:
        assert tap_rows(base, query) == [[release, "Public"]]
        assert tap_rows(base, "SELECT COUNT(*) FROM ivoa.obscore WHERE data_rights = 'Public'") == [["1"]]
        assert tap_rows(base, "SELECT data_rights, COUNT(*) FROM ivoa.obscore GROUP BY data_rights") == \
            [["Public", "1"]]

    # the day before: still Proprietary
    monkeypatch.setenv("VOSERVER_NOW", f"{year - 1}-01-01T00:00:00")
    with conftest.running_server(cfg, work) as base:
        assert tap_rows(base, query) == [[release, "Proprietary"]]


def test_a_malformed_voserver_now_stops_the_server(proprietary_store, monkeypatch):
    cfg, work = proprietary_store
    monkeypatch.setenv("VOSERVER_NOW", "next tuesday")
    with pytest.raises(RuntimeError) as e:
        proc, _ = conftest.start_server(cfg, work, "bad_clock.log")
        conftest.stop_server(proc)
    assert "VOSERVER_NOW='next tuesday'" in str(e.value)
