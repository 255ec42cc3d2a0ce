"""Independent reference values computed with astropy from the FITS files
themselves (never from voserver's output)."""
import warnings
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

warnings.simplefilter("ignore", FITSFixedWarning)
warnings.simplefilter("ignore", UserWarning)

C = 299792458.0


def product_hdu(path):
    """The first HDU with >=2-D pixel data and a celestial WCS, as (header, wcs)."""
    with fits.open(path) as hdul:
        for hdu in hdul:
            if not isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
                continue
            if hdu.header.get("NAXIS", 0) < 2 or hdu.data is None:
                continue
            try:
                w = WCS(hdu.header, hdul)
            except Exception:
                continue
            if w.has_celestial:
                return hdu.header.copy(), w
    return None, None


def centre_icrs(path):
    """ICRS (ra, dec) in degrees of the centre of the pixel grid."""
    header, w = product_hdu(path)
    cel = w.celestial
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    sky = cel.pixel_to_world((nx - 1) / 2, (ny - 1) / 2)
    icrs = sky.icrs
    return icrs.ra.deg, icrs.dec.deg


def contains(path, ra, dec):
    """True when the ICRS point falls inside the product's pixel grid (edges at -0.5, n-0.5)."""
    header, w = product_hdu(path)
    if header is None:
        return None
    cel = w.celestial
    try:
        x, y = cel.world_to_pixel(SkyCoord(ra * u.deg, dec * u.deg, frame="icrs"))
    except Exception:
        return False
    x, y = float(x), float(y)
    if not (np.isfinite(x) and np.isfinite(y)):
        return False
    return -0.5 <= x <= header["NAXIS1"] - 0.5 and -0.5 <= y <= header["NAXIS2"] - 0.5


def freq_axis_edges_wavelength(path, axis):
    """(em_min, em_max) in metres from the outer channel edges of a FREQ axis (1-based axis)."""
    h = fits.getheader(path)
    n = h[f"NAXIS{axis}"]
    crval, cdelt, crpix = h[f"CRVAL{axis}"], h[f"CDELT{axis}"], h[f"CRPIX{axis}"]
    edges = [crval + (p - crpix) * cdelt for p in (0.5, n + 0.5)]
    wl = sorted(C / f for f in edges)
    return wl[0], wl[1]
