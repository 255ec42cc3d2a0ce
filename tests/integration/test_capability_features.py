"""Every ADQL language feature and UDF /tap/capabilities advertises
(TAPRegExt 1.0 section 2.3: languageFeatures, each feature's form) runs
against the service: a client that reads the capabilities to decide what to
send (TOPCAT's ADQL editor does) must never get an error for using one.

The queries are this test's own: one per feature form a service may list,
so a form advertised without a query here also fails (add the query when a
feature is added)."""
import xml.etree.ElementTree as ET

import requests

TIMEOUT = 120
NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
TR = "ivo://ivoa.net/std/TAPRegExt#"
O = "ivoa.obscore"
PT = "POINT('ICRS', s_ra, s_dec)"

# (feature type suffix, form) -> a query using it on the samples.
QUERIES = {
    ("features-adqlgeo", "POINT"): f"SELECT TOP 1 {PT} FROM {O} WHERE s_ra IS NOT NULL",
    ("features-adqlgeo", "CIRCLE"): f"SELECT TOP 1 CIRCLE('ICRS', s_ra, s_dec, 0.1) FROM {O} WHERE s_ra IS NOT NULL",
    ("features-adqlgeo", "POLYGON"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = INTERSECTS(s_region, POLYGON('ICRS', 0, -89, 120, -89, 240, -89))",
    ("features-adqlgeo", "BOX"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = INTERSECTS(s_region, BOX('ICRS', 180, 0, 100, 60))",
    ("features-adqlgeo", "REGION"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = INTERSECTS(s_region, REGION('CIRCLE ICRS 10 10 1'))",
    ("features-adqlgeo", "CENTROID"): f"SELECT TOP 1 CENTROID(s_region) FROM {O} WHERE s_region IS NOT NULL",
    ("features-adqlgeo", "COORD1"): f"SELECT TOP 1 COORD1({PT}) FROM {O} WHERE s_ra IS NOT NULL",
    ("features-adqlgeo", "COORD2"): f"SELECT TOP 1 COORD2({PT}) FROM {O} WHERE s_ra IS NOT NULL",
    ("features-adqlgeo", "COORDSYS"): f"SELECT TOP 1 COORDSYS({PT}) FROM {O} WHERE s_ra IS NOT NULL",
    ("features-adqlgeo", "DISTANCE"): f"SELECT TOP 1 DISTANCE({PT}, POINT('ICRS', 0, 0)) FROM {O} WHERE s_ra IS NOT NULL",
    ("features-adqlgeo", "CONTAINS"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = CONTAINS({PT}, CIRCLE('ICRS', s_ra, s_dec, 1))",
    ("features-adqlgeo", "INTERSECTS"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = INTERSECTS(s_region, CIRCLE('ICRS', s_ra, s_dec, 1))",
    ("features-adqlgeo", "AREA"): f"SELECT TOP 1 AREA(s_region) FROM {O} WHERE s_region IS NOT NULL",
    ("features-adql-string", "LOWER"): f"SELECT TOP 1 LOWER(obs_id) FROM {O}",
    ("features-adql-string", "UPPER"): f"SELECT TOP 1 UPPER(obs_id) FROM {O}",
    ("features-adql-string", "ILIKE"): f"SELECT TOP 1 obs_id FROM {O} WHERE obs_collection ILIKE 'SAMPLES'",
    ("features-adql-sets", "UNION"): f"SELECT obs_id FROM {O} UNION SELECT obs_id FROM {O}",
    ("features-adql-sets", "EXCEPT"): f"SELECT obs_id FROM {O} EXCEPT SELECT obs_id FROM {O} WHERE calib_level = 99",
    ("features-adql-sets", "INTERSECT"): f"SELECT obs_id FROM {O} INTERSECT SELECT obs_id FROM {O}",
    ("features-adql-type", "CAST"): f"SELECT TOP 1 CAST(calib_level AS DOUBLE PRECISION) FROM {O}",
    ("features-adql-conditional", "COALESCE"): f"SELECT TOP 1 COALESCE(obs_title, obs_id) FROM {O}",
    ("features-adql-unit", "IN_UNIT"): f"SELECT TOP 1 IN_UNIT(em_min, 'nm') FROM {O} WHERE em_min IS NOT NULL",
    ("features-adql-offset", "OFFSET"): f"SELECT obs_id FROM {O} ORDER BY obs_id OFFSET 2",
    ("features-adql-common-table", "WITH"): f"WITH c AS (SELECT obs_id FROM {O}) SELECT TOP 1 obs_id FROM c",
    ("features-udf", "ivo_healpix_index"): f"SELECT TOP 1 ivo_healpix_index(8, s_ra, s_dec) FROM {O} WHERE s_ra IS NOT NULL",
    ("features-udf", "ivo_healpix_center"): f"SELECT TOP 1 ivo_healpix_center(8, 1000) FROM {O}",
    ("features-udf", "ivo_hasword"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = ivo_hasword(obs_collection, 'Samples')",
    ("features-udf", "ivo_nocasematch"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = ivo_nocasematch(obs_collection, 'SAMPLES')",
    ("features-udf", "ivo_interval_overlaps"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = ivo_interval_overlaps(em_min, em_max, 5e-7, 6e-7)",
    ("features-udf", "ivo_string_agg"): f"SELECT ivo_string_agg(obs_id, ',') FROM {O}",
    ("features-udf", "range_s2d"): f"SELECT TOP 1 obs_id FROM {O} WHERE 1 = INTERSECTS(s_region, range_s2d(0, 360, -90, 90))",
}


def advertised(archive):
    cap = requests.get(archive["tap"] + "/capabilities", timeout=TIMEOUT)
    assert cap.status_code == 200
    out = []
    for lf in ET.fromstring(cap.content).iter("languageFeatures"):
        kind = lf.get("type")
        assert kind.startswith(TR), kind
        for f in lf.iter("form"):
            form = f.text.strip()
            # a UDF form is a declaration: name(args) -> type
            out.append((kind[len(TR):], form.split("(")[0].strip() if kind.endswith("udf") else form))
    return out


def test_capabilities_list_the_features_of_adql_2_1(archive):
    names = {form for _, form in advertised(archive)}
    assert {"POINT", "CIRCLE", "POLYGON", "CONTAINS", "INTERSECTS", "LOWER", "ILIKE", "UNION", "CAST",
            "OFFSET", "WITH", "ivo_healpix_index"} <= names


def test_every_advertised_feature_runs(archive):
    failures = []
    for feature in advertised(archive):
        query = QUERIES.get(feature)
        if query is None:
            failures.append((feature, "advertised, but this test has no query for it"))
            continue
        r = requests.get(archive["tap"] + "/sync", params={"LANG": "ADQL", "QUERY": query}, timeout=TIMEOUT)
        if r.status_code != 200 or b'name="QUERY_STATUS" value="ERROR"' in r.content:
            failures.append((feature, r.status_code, r.text[:300]))
        elif b"<TR>" not in r.content:
            failures.append((feature, "no row", query))
    assert not failures, failures
