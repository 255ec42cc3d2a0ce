"""STILTS validators on the running server: taplint (the stages of issue 2 with
zero errors) and votlint on each output format that is a VOTable."""
import json
import subprocess
import tempfile

import pytest
import requests

import conftest

STAGES = "TMV TME TMS TMC CPV CAP AVV QGE QPO QAS UWS MDQ OBS EXA"


def test_taplint_reports_no_errors(archive):
    run = subprocess.run(["stilts", "taplint", f"tapurl={archive['tap']}", f"stages={STAGES}",
                          "format=json", "report=EW", "maxrepeat=20"],
                         capture_output=True, text=True, timeout=900)
    report = json.loads(run.stdout)
    errors = [m for stage in report.get("stages", []) if isinstance(stage, dict)
              for m in stage.get("messages", []) if isinstance(m, dict) and m.get("level") == "ERROR"]
    totals = report.get("totals", {})
    assert totals.get("ERROR", 0) == 0, json.dumps(errors or report, indent=1)[:20000]


@pytest.mark.parametrize("query", [
    "SELECT TOP 20 * FROM ivoa.obscore",
    "SELECT obs_id, s_ra, s_dec, s_region, POINT('ICRS', s_ra, s_dec) AS p FROM ivoa.obscore",
    "SELECT * FROM TAP_SCHEMA.columns",
    "SELECT COUNT(*) FROM ivoa.obscore WHERE obs_id = 'none'",
])
def test_votlint_is_clean_on_results(archive, query):
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": query}, timeout=conftest.TIMEOUT)
    assert r.status_code == 200
    with tempfile.NamedTemporaryFile(suffix=".vot") as f:
        f.write(r.content)
        f.flush()
        lint = subprocess.run(["stilts", "votlint", "validate=true", f.name],
                              capture_output=True, text=True, timeout=120)
    assert lint.stdout.strip() == "" and lint.returncode == 0, lint.stdout + lint.stderr


def test_votlint_is_clean_on_errors(archive):
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": "SELECT nothing FROM nowhere"}, timeout=conftest.TIMEOUT)
    with tempfile.NamedTemporaryFile(suffix=".vot") as f:
        f.write(r.content)
        f.flush()
        lint = subprocess.run(["stilts", "votlint", "validate=true", f.name],
                              capture_output=True, text=True, timeout=120)
    assert lint.stdout.strip() == "", lint.stdout


def test_vosi_endpoints(archive):
    av = requests.get(archive["tap"] + "/availability", timeout=conftest.TIMEOUT)
    assert av.status_code == 200 and b"available>true" in av.content.replace(b" ", b"")
    cap = requests.get(archive["tap"] + "/capabilities", timeout=conftest.TIMEOUT)
    assert cap.status_code == 200
    assert b"ivo://ivoa.net/std/ObsCore#core-1.1" in cap.content
    assert b"ivo://ivoa.net/std/TAP" in cap.content
    tables = requests.get(archive["tap"] + "/tables", timeout=conftest.TIMEOUT)
    assert tables.status_code == 200 and b"ivoa.obscore" in tables.content
    landing = requests.get(archive["base"] + "/", timeout=conftest.TIMEOUT)
    assert landing.status_code == 200 and b"/tap" in landing.content
