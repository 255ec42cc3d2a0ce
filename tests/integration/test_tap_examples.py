"""/tap/examples (DALI 1.1 section 2.3, TAP 1.1 section 2.6): well-formed
XHTML with the examples vocabulary, and every example runs on the archive with
a non-empty, error-free result."""
import xml.etree.ElementTree as ET

import pytest
import requests

XHTML = "{http://www.w3.org/1999/xhtml}"
VOT = "{http://www.ivoa.net/xml/VOTable/v1.3}"


def examples(archive):
    r = requests.get(archive["tap"] + "/examples", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/xhtml+xml")
    root = ET.fromstring(r.content)  # well-formed XML
    vocab = [e for e in root.iter() if e.get("vocab")]
    assert len(vocab) == 1 and vocab[0].get("vocab") == "http://www.ivoa.net/rdf/examples#"
    out = []
    for ex in root.iter():
        if ex.get("typeof") != "example":
            continue
        assert ex.get("resource") == "#" + ex.get("id")
        names = [e.text for e in ex.iter() if e.get("property") == "name"]
        queries = [e.text for e in ex.iter() if e.get("property") == "query"]
        tables = [e.text for e in ex.iter() if e.get("property") == "table"]
        assert len(names) == 1 and len(queries) == 1 and tables
        out.append((ex.get("id"), queries[0], tables))
    return out


def test_examples_document_is_dali_examples(archive):
    found = examples(archive)
    assert len(found) >= 12
    assert len({i for i, _, _ in found}) == len(found)  # unique ids
    caps = requests.get(archive["tap"] + "/capabilities", timeout=10).text
    assert 'standardID="ivo://ivoa.net/std/DALI#examples"' in caps


def test_every_example_runs_with_rows(archive):
    for ident, query, tables in examples(archive):
        r = requests.post(archive["tap"] + "/sync", data={"LANG": "ADQL", "QUERY": query}, timeout=60)
        assert r.status_code == 200, (ident, r.text[:300])
        root = ET.fromstring(r.content)
        status = [i.get("value") for i in root.iter(VOT + "INFO") if i.get("name") == "QUERY_STATUS"]
        assert status and status[0] == "OK" and "ERROR" not in status, (ident, status)
        rows = list(root.iter(VOT + "TR"))
        assert rows, f"example {ident} returned no rows"
