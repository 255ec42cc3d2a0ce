"""Every output format the TAP capabilities advertise (TAPRegExt 1.0 section
2.4: each outputFormat's mime and aliases) is accepted as RESPONSEFORMAT and
answers in that format, read back by astropy where astropy reads it; an
unknown format is a DALI error that names it and lists the advertised names."""
import io
import xml.etree.ElementTree as ET

import pytest
import requests
from astropy.io import fits
from astropy.io.votable import parse_single_table

TIMEOUT = 120
QUERY = "SELECT TOP 3 obs_publisher_did, s_ra, calib_level FROM ivoa.obscore ORDER BY obs_publisher_did"


def advertised(archive):
    cap = requests.get(archive["tap"] + "/capabilities", timeout=TIMEOUT)
    assert cap.status_code == 200
    out = []
    for of in ET.fromstring(cap.content).iter("outputFormat"):
        mime = of.find("mime").text
        out.append((mime, mime))
        out.extend((mime, a.text) for a in of.findall("alias"))
    return out


def test_capabilities_advertise_the_formats_tap_requires(archive):
    mimes = {m for m, _ in advertised(archive)}
    # TAP 1.1 section 2.7.1: VOTable is required; CSV/TSV/FITS are what voserver also writes.
    assert {"application/x-votable+xml", "application/x-votable+xml;serialization=BINARY",
            "application/x-votable+xml;serialization=BINARY2", "text/csv;header=present",
            "text/tab-separated-values", "application/fits"} <= mimes


def rows_of(mime, content):
    if "votable" in mime or mime == "text/xml":
        t = parse_single_table(io.BytesIO(content)).to_table()
        return [str(v) for v in t["obs_publisher_did"]]
    if mime == "application/fits":
        with fits.open(io.BytesIO(content)) as h:
            # strings are variable-length 1PA columns: astropy gives arrays of characters
            return ["".join(v.tolist()) if hasattr(v, "tolist") else str(v) for v in h[1].data["obs_publisher_did"]]
    sep = "," if mime.startswith("text/csv") else "\t"
    lines = content.decode().strip().splitlines()
    assert lines[0].split(sep) == ["obs_publisher_did", "s_ra", "calib_level"]
    return [line.split(sep)[0] for line in lines[1:]]


def test_every_advertised_name_answers_in_its_format(archive):
    expected = rows_of("application/x-votable+xml",
                       requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": QUERY},
                                    timeout=TIMEOUT).content)
    assert len(expected) == 3
    for mime, name in advertised(archive):
        r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": name},
                         timeout=TIMEOUT)
        assert r.status_code == 200, (name, r.text[:300])
        ctype = r.headers["Content-Type"].replace(" ", "")
        assert ctype.split(";")[0] == mime.split(";")[0], (name, ctype)
        if "serialization=" in mime:
            assert mime.split("serialization=")[1].lower() in ctype.lower(), (name, ctype)
        assert rows_of(mime, r.content) == expected, name


@pytest.mark.parametrize("bad", ["text/html", "application/x-votable+xml;serialization=FITS", "votable/b3"])
def test_unknown_format_is_a_dali_error_naming_it(archive, bad):
    r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": bad},
                     timeout=TIMEOUT)
    assert r.status_code == 400
    info = [i for i in ET.fromstring(r.content).iter("{http://www.ivoa.net/xml/VOTable/v1.3}INFO")
            if i.get("name") == "QUERY_STATUS"]
    assert info and info[0].get("value") == "ERROR"
    assert bad in info[0].text and "votable/b2" in info[0].text and "fits" in info[0].text
