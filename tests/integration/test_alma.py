"""The ALMA profile (conf/profiles/alma.toml) with astroquery.alma unchanged:
AlmaClass pointed at the test server runs query_region, query(payload=...),
query_sia, get_data_info, download_files, is_proprietary and query_tap; the
ALMA production column list exists; values are checked against astropy
computations from the FITS files.

Run with /usr/bin/python3 -m pytest tests/integration/test_alma.py."""
import datetime
import hashlib
import warnings

import numpy as np
import pytest
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from astroquery.alma import AlmaClass

import conftest
import references
from test_sia import products_containing

warnings.simplefilter("ignore")
pytestmark = pytest.mark.filterwarnings("ignore")
ALMA_DIR = conftest.FITS_DIR / "alma"
CUBE = ALMA_DIR / "ngc3256_alma_sv_co10_cube.fits"
IMAGE = ALMA_DIR / "almagal_124103_cont_7MTM2.image.pbcor.fits"
ALMA_COLUMNS = (conftest.SHARED / "data" / "real-responses" / "astroquery-alma" / "alma-empty.txt").read_text().split()
C = 299792458.0


def alma(base):
    a = AlmaClass()
    a.archive_url = base
    a.dataarchive_url = base
    a.cache_location = None
    return a


def cube_frequency_ghz():
    """Central frequency of the cube's outer channel edges (astropy header arithmetic)."""
    lo, hi = references.freq_axis_edges_wavelength(CUBE, 3)
    return (C / lo + C / hi) / 2 / 1e9


def test_every_alma_production_column_exists(archive):
    a = alma(archive["base"])
    rows = a.query_tap("SELECT column_name, datatype FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'").to_table()
    names = {str(n) for n in rows["column_name"]}
    assert [c for c in ALMA_COLUMNS if c not in names] == []
    types = {str(n): str(t) for n, t in zip(rows["column_name"], rows["datatype"])}
    # as in ALMA's own results (alma-shapes.xml FIELDs)
    assert types["frequency"] == "double" and types["s_ra"] == "double" and types["data_rights"] == "char"
    # /tables and the FIELDs of a result come from the same declarations
    r = requests.get(archive["tap"] + "/tables/ivoa.obscore", timeout=conftest.TIMEOUT)
    assert "<name>band_list</name>" in r.text and "<unit>GHz</unit>" in r.text
    t = a.query_tap("SELECT TOP 1 * FROM ivoa.obscore").to_table()
    assert all(c in t.colnames for c in ALMA_COLUMNS)
    assert t["frequency"].unit == u.GHz


def test_query_region_finds_the_products_holding_the_position(archive):
    ra, dec = references.centre_icrs(CUBE)
    res = alma(archive["base"]).query_region(SkyCoord(ra, dec, unit="deg"), 0.0003 * u.deg)
    # astroquery adds science_observation = 'T' AND data_rights = 'Public': every sample is both
    assert set(res["obs_id"]) == products_containing(ra, dec)
    row = res[list(res["obs_id"]).index("ngc3256_alma_sv_co10_cube")]
    assert row["data_rights"] == "Public" and row["science_observation"] == "T"
    gal = SkyCoord(row["s_ra"], row["s_dec"], unit="deg").galactic
    assert row["gal_longitude"] == pytest.approx(gal.l.deg, abs=1e-4)
    assert row["gal_latitude"] == pytest.approx(gal.b.deg, abs=1e-4)


def test_query_payload_with_band_frequency_and_resolution(archive):
    a = alma(archive["base"])
    f = cube_frequency_ghz()
    beam = fits.getheader(CUBE)["BMAJ"] * 3600
    assert 84 < f < 116  # band 3
    res = a.query(payload={"band_list": ["3"], "frequency": f"{f - 1}..{f + 1}",
                           "spatial_resolution": f"<{beam + 0.5}"})
    assert list(res["obs_id"]) == ["ngc3256_alma_sv_co10_cube"]
    assert res[0]["frequency"] == pytest.approx(f, rel=1e-9)
    assert res[0]["band_list"] == "3"
    assert res[0]["spatial_resolution"] == pytest.approx(beam, rel=1e-9)
    assert len(a.query(payload={"band_list": ["6"]})) == 0
    assert len(a.query(payload={"spatial_resolution": f"<{beam - 0.5}", "frequency": f"{f - 1}..{f + 1}"})) == 0


def test_query_sia(archive):
    ra, dec = references.centre_icrs(CUBE)
    lo, hi = references.freq_axis_edges_wavelength(CUBE, 3)
    res = alma(archive["base"]).query_sia(pos=(ra, dec, 0.001), band=(lo, hi))
    assert [r["obs_id"] for r in res] == ["ngc3256_alma_sv_co10_cube"]


def test_get_data_info_by_obs_id_and_download_files(archive, tmp_path):
    a = alma(archive["base"])
    info = a.get_data_info("ngc3256_alma_sv_co10_cube")  # astroquery passes the obs_id
    this = [r for r in info if r["semantics"] == "#this"]
    assert len(this) == 1 and int(this[0]["content_length"]) == CUBE.stat().st_size
    assert {r["semantics"] for r in info} == {"#this", "#preview", "#preview-plot", "#cutout"}
    files = a.download_files([str(this[0]["access_url"])], savedir=str(tmp_path), cache=False)
    assert [p.split("/")[-1] for p in files] == [CUBE.name]
    got = hashlib.sha256(open(files[0], "rb").read()).hexdigest()
    assert got == hashlib.sha256(CUBE.read_bytes()).hexdigest()


def test_release_dates_and_is_proprietary(archive, tmp_path):
    a = alma(archive["base"])
    start = Time(fits.getheader(CUBE)["DATE-OBS"], format="isot", scale="utc").datetime
    row = a.query_tap("SELECT obs_release_date, data_rights, t_min, t_max FROM ivoa.obscore "
                      "WHERE obs_id = 'ngc3256_alma_sv_co10_cube'").to_table()[0]
    # released 12 months after the end of the observation (t_max; issue 12 item 1)
    assert abs(Time(row["t_min"], format="mjd").datetime - start).total_seconds() < 1
    # (t_max, or t_min when the product has no end time)
    end = Time(row["t_min" if row["t_max"] is np.ma.masked else "t_max"], format="mjd").datetime
    release = end.replace(year=end.year + 1)
    assert str(row["obs_release_date"]).startswith(release.strftime("%Y-%m-%dT%H:%M"))
    assert a.is_proprietary("ngc3256_alma_sv_co10_cube") is False
    with pytest.raises(AttributeError):
        a.is_proprietary("no_such_observation")

    # a collection whose proprietary period has not ended: Proprietary, and hidden from default queries
    cfg = conftest.write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace("proprietary_months = 12", "proprietary_months = 1200"))
    done = conftest.ingest(cfg, [IMAGE, CUBE], "samples")
    assert done.returncode == 0, done.stdout + done.stderr
    with conftest.running_server(cfg, tmp_path) as base:
        b = alma(base)
        assert b.is_proprietary("ngc3256_alma_sv_co10_cube") is True
        ra, dec = references.centre_icrs(CUBE)
        assert len(b.query_region(SkyCoord(ra, dec, unit="deg"), 0.001 * u.deg)) == 0
        assert len(b.query_region(SkyCoord(ra, dec, unit="deg"), 0.001 * u.deg, public=None)) == 1
        year = datetime.date.fromisoformat(str(b.query_tap(
            "SELECT obs_release_date FROM ivoa.obscore WHERE obs_id = 'ngc3256_alma_sv_co10_cube'"
        ).to_table()[0][0])[:10]).year
        assert year == start.year + 100


def test_a_profile_error_is_reported_before_ingest(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[column]]\nname = "x_freq"\ndatatype = "double"\nadql = "no_such_column * 2"\n')
    cfg = conftest.write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace("alma.toml\"]", f"alma.toml\", \"{bad}\"]"))
    done = conftest.ingest(cfg, [CUBE], "samples")
    assert done.returncode != 0
    assert "x_freq" in done.stderr and "no_such_column" in done.stderr
    bad.write_text('[[column]]\nname = "s_ra"\ndatatype = "double"\n')
    done = conftest.ingest(cfg, [CUBE], "samples")
    assert done.returncode != 0 and "s_ra" in done.stderr and "ObsCore column" in done.stderr
