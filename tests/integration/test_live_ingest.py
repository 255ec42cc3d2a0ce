"""An ingest into the store of a running server is seen without a restart:
the landing page's collection list and counts, TAP queries over the new rows
(the server's read-only connections reload the catalogue when the store's
data version changes, obscore::Store::refresh_if_changed)."""
import re

import requests

import conftest

TIMEOUT = conftest.TIMEOUT


def count(base, where):
    r = requests.get(base + "/tap/sync", params={"LANG": "ADQL", "RESPONSEFORMAT": "csv",
                                                 "QUERY": f"SELECT COUNT(*) AS n FROM ivoa.obscore WHERE {where}"},
                     timeout=TIMEOUT)
    assert r.status_code == 200, r.text[:300]
    return int(r.text.strip().splitlines()[1])


def landing_count(base, collection):
    page = requests.get(base + "/", timeout=TIMEOUT).text
    m = re.search(r">" + re.escape(collection) + r"</a></td><td>(\d+)</td>", page)
    return int(m.group(1)) if m else None


def test_ingest_while_serving_is_seen_at_once(tmp_path):
    cfg = conftest.write_config(tmp_path)
    first = conftest.ingest(cfg, conftest.FITS_DIR / "alma", "samples")
    assert first.returncode == 0, first.stdout + first.stderr
    with conftest.running_server(cfg, tmp_path) as base:
        alma = count(base, "obs_collection = 'samples'")
        assert alma > 0
        assert landing_count(base, "samples") == alma
        assert landing_count(base, "hst-late") is None
        tables_before = requests.get(base + "/tap/tables", timeout=TIMEOUT).text

        late = conftest.ingest(cfg, conftest.FITS_DIR / "hst", "hst-late")
        assert late.returncode == 0, late.stdout + late.stderr

        hst = count(base, "obs_collection = 'hst-late'")
        assert hst > 0
        # the landing page lists the new collection with its count, the old one unchanged
        assert landing_count(base, "hst-late") == hst
        assert landing_count(base, "samples") == alma
        # the catalogue is still whole after the reload
        assert requests.get(base + "/tap/tables", timeout=TIMEOUT).text == tables_before
