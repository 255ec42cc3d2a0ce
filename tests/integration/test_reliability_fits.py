"""Issue 7, FITS side, at the command line and over HTTP: `voserver ingest`
of a folder holding broken files reports each one, ingests the good ones and
prints its summary; a product whose file was damaged after ingestion gets a
SODA error, and the server keeps serving."""
import gzip
import shutil
import subprocess

import requests

import conftest

CARD = 80
BLOCK = 2880


def card(text):
    return text.ljust(CARD)[:CARD]


def fits_bytes(cards, data=b""):
    """One primary HDU written byte by byte (FITS 4.0 sections 3.1, 4.1), so
    that the header can hold what CFITSIO or astropy would refuse to write."""
    header = "".join(card(c) for c in cards) + card("END")
    header += " " * (-len(header) % BLOCK)
    return header.encode("ascii") + data + b"\0" * (-len(data) % BLOCK)


def image_cards(ctype1="CTYPE1  = 'RA---TAN'", crval1="CRVAL1  =                150.0", naxis1=8):
    return ["SIMPLE  =                    T", "BITPIX  =                  -32", "NAXIS   =                    2",
            f"NAXIS1  = {naxis1:>20}", "NAXIS2  =                    8", ctype1, "CTYPE2  = 'DEC--TAN'", crval1,
            "CRVAL2  =                  2.0", "CRPIX1  =                  4.5", "CRPIX2  =                  4.5",
            "CDELT1  =               -0.001", "CDELT2  =                0.001", "RADESYS = 'ICRS    '"]


UNTERMINATED = fits_bytes(image_cards(ctype1="CTYPE1  = 'RA---TAN"), b"\0" * 256)


def run_ingest(cfg, path):
    return conftest.ingest(cfg, path, "samples")


def test_ingest_batch_with_broken_files(tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(conftest.FITS_DIR / "other" / "cfht_megaprime_cutout.fits", batch / "a_good.fits")
    (batch / "b_unterminated.fits").write_bytes(UNTERMINATED)
    (batch / "c_nan.fits").write_bytes(fits_bytes(image_cards(crval1="CRVAL1  =                  NaN"), b"\0" * 256))
    (batch / "d_huge.fits").write_bytes(fits_bytes(image_cards(naxis1=2**62), b"\0" * 256))
    whole = gzip.compress(fits_bytes(image_cards(), b"\0" * 256))
    (batch / "e_truncated.fits.gz").write_bytes(whole[: len(whole) - 6])
    shutil.copy(conftest.FITS_DIR / "other" / "skyview_dss_m13.fits", batch / "f_good.fits")
    cfg = conftest.write_config(tmp_path)

    r = run_ingest(cfg, batch)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "buffer overflow" not in out
    assert "b_unterminated.fits: invalid header in HDU 0: card 6 (CTYPE1): string value has no closing quote" in out
    assert "c_nan.fits: invalid header in HDU 0" in out and "CRVAL1" in out
    assert "d_huge.fits: invalid header in HDU 0: the data size" in out
    assert "e_truncated.fits.gz: gzip: truncated or corrupt gzip file" in out
    assert "collection samples: ingested 2, skipped 4" in out

    cfg = conftest.write_config(tmp_path)
    with conftest.running_server(cfg, tmp_path) as base:
        rows = requests.get(base + "/tap/sync", params={"LANG": "ADQL", "FORMAT": "csv",
                                                        "QUERY": "SELECT obs_id FROM ivoa.obscore ORDER BY obs_id"},
                            timeout=30)
        assert rows.status_code == 200
        assert rows.text.split() == ["obs_id", "a_good", "f_good"]


def test_cutout_of_a_product_damaged_after_ingestion(tmp_path):
    products = tmp_path / "products"
    products.mkdir()
    product = products / "victim.fits"
    shutil.copy(conftest.FITS_DIR / "other" / "cfht_megaprime_cutout.fits", product)
    cfg = conftest.write_config(tmp_path)
    r = run_ingest(cfg, products)
    assert r.returncode == 0 and "ingested 1" in r.stdout, r.stdout + r.stderr
    product.write_bytes(UNTERMINATED)  # the file changes under the archive
    with conftest.running_server(cfg, tmp_path) as base:
        did = "ivo://voserver.test/samples?victim"
        for params in ({"ID": did, "PIXEL_1": "1 4"}, {"ID": did, "CIRCLE": "150 2 0.001"}):
            cut = requests.get(base + "/soda/sync", params=params, timeout=30)
            assert cut.status_code == 500, cut.text
            assert "QUERY_STATUS" in cut.text and "closing quote" in cut.text
        assert requests.get(base + "/tap/availability", timeout=10).status_code == 200
