// `voserver make-demo` (obscore/demo.hpp): PHANGS-MUSE-format cubes with
// synthetic pixels, written plane by plane with CFITSIO.
#include "obscore/demo.hpp"

#include <fitsio.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "obscore/fits_extract.hpp"
#include "obscore/phangs_muse_targets.hpp"

namespace vo::obscore {

const std::vector<PhangsMuseTarget>& phangs_muse_targets() {
    // Copied from conf/phangs_muse_targets.csv (demo_test checks they agree).
    static const std::vector<PhangsMuseTarget> targets = {
        {"IC5332", 353.612624, -36.097298, "2018-06-14T08:00:41", 20, 13000, 0.72, 9.0, 699},
        {"NGC0628", 24.173028, 15.780972, "2014-10-31T03:39:46", 38, 24700, 0.73, 9.8, 651},
        {"NGC1087", 41.605671, -0.496457, "2017-11-13T04:56:31", 25, 16250, 0.74, 15.9, 1502},
        {"NGC1300", 49.918740, -19.411443, "2019-02-03T01:41:13", 46, 29900, 0.63, 19.0, 1545},
        {"NGC1365", 53.401615, -36.140701, "2014-10-12T04:31:28", 54, 35100, 0.82, 19.6, 1613},
        {"NGC1385", 54.371131, -24.493549, "2019-10-06T08:06:01", 24, 15600, 0.49, 17.2, 1477},
        {"NGC1433", 55.502588, -47.220851, "2018-10-16T06:52:54", 60, 39000, 0.65, 18.6, 1057},
        {"NGC1512", 60.976066, -43.349126, "2017-09-21T06:53:05", 37, 24050, 0.80, 18.8, 871},
        {"NGC1566", 65.001924, -54.933745, "2017-10-23T04:45:57", 32, 20800, 0.64, 17.7, 1483},
        {"NGC1672", 71.426940, -59.245269, "2017-11-12T06:54:01", 32, 20800, 0.72, 19.4, 1319},
        {"NGC2835", 139.470366, -22.354230, "2017-02-02T02:58:32", 28, 18200, 0.85, 12.2, 867},
        {"NGC3351", 160.990790, 11.704104, "2016-03-30T00:04:22", 40, 26000, 0.74, 10.0, 775},
        {"NGC3627", 170.063716, 12.981682, "2018-01-25T07:19:09", 32, 20800, 0.77, 11.3, 715},
        {"NGC4254", 184.713896, 14.421871, "2018-04-16T02:49:03", 49, 31850, 0.58, 13.1, 2388},
        {"NGC4303", 185.478712, 4.473689, "2019-05-10T03:10:00", 36, 23400, 0.58, 17.0, 1560},
        {"NGC4321", 185.728831, 15.823171, "2019-04-28T02:38:38", 44, 28600, 0.64, 15.2, 1572},
        {"NGC4535", 188.584832, 8.192053, "2018-04-09T03:18:03", 24, 15600, 0.44, 15.8, 1954},
        {"NGC5068", 199.721322, -21.039076, "2018-05-14T02:48:05", 42, 27300, 0.73, 5.2, 667},
        {"NGC7496", 347.445484, -43.425190, "2019-06-09T08:31:41", 13, 8450, 0.79, 18.7, 1639},
    };
    return targets;
}

namespace {

namespace fs = std::filesystem;

constexpr double kCrval3 = 4749.76;  // Angstrom, air (MUSE WFM nominal)
constexpr double kCdelt3 = 1.25;     // Angstrom
constexpr double kSpaxel = 0.2;      // arcsec
constexpr double kC = 299792.458;    // km/s
constexpr int kVersion = 2;          // bump when the pixel model or the headers change

/// Emission lines: rest air wavelength (Angstrom) and strength relative to H-alpha.
struct Line {
    double lambda_air;
    double ratio;
};
constexpr Line kLines[] = {
    {4861.33, 0.35},  // H-beta (Balmer decrement 2.86 plus a little dust)
    {4958.91, 0.05},  // [OIII] 4959 = 5007 / 3
    {5006.84, 0.15},  // [OIII] 5007
    {6548.05, 0.11},  // [NII] 6548 = 6583 / 3
    {6562.80, 1.00},  // H-alpha
    {6583.45, 0.33},  // [NII] 6583
    {6716.44, 0.18},  // [SII] 6717
    {6730.82, 0.13},  // [SII] 6731
};

/// Small, fast deterministic generator (xorshift64*) with Box-Muller normals.
class Rng {
public:
    explicit Rng(std::uint64_t seed) : s_(seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL) {
        if (s_ == 0) s_ = 1;
    }
    double uniform() {
        s_ ^= s_ >> 12;
        s_ ^= s_ << 25;
        s_ ^= s_ >> 27;
        return static_cast<double>((s_ * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
    }
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        double u = uniform(), v = uniform();
        if (u < 1e-300) u = 1e-300;
        const double r = std::sqrt(-2.0 * std::log(u)), t = 6.283185307179586 * v;
        spare_ = r * std::sin(t);
        has_spare_ = true;
        return r * std::cos(t);
    }

private:
    std::uint64_t s_;
    double spare_ = 0;
    bool has_spare_ = false;
};

void check(int status, const std::string& file, const char* what) {
    if (status == 0) return;
    char msg[FLEN_STATUS] = {0};
    fits_get_errstatus(status, msg);
    fits_clear_errmsg();
    throw std::runtime_error("make-demo: " + file + ": " + what + ": " + msg);
}

/// Writes the celestial + AWAV WCS of the cube (MUSE pipeline style, CD matrix).
void write_wcs(fitsfile* f, const PhangsMuseTarget& t, const DemoOptions& o, int* status) {
    double v;
    char s[72];
    auto key_d = [&](const char* k, double val, const char* c) {
        v = val;
        fits_write_key(f, TDOUBLE, k, &v, c, status);
    };
    auto key_s = [&](const char* k, const char* val, const char* c) {
        std::snprintf(s, sizeof s, "%s", val);
        fits_write_key(f, TSTRING, k, s, c, status);
    };
    int wcsaxes = 3;
    fits_write_key(f, TINT, "WCSAXES", &wcsaxes, "Number of coordinate axes", status);
    key_s("CTYPE1", "RA---TAN", "Right ascension, gnomonic projection");
    key_s("CTYPE2", "DEC--TAN", "Declination, gnomonic projection");
    key_s("CTYPE3", "AWAV", "Air wavelength");
    key_s("CUNIT1", "deg", "");
    key_s("CUNIT2", "deg", "");
    key_s("CUNIT3", "Angstrom", "");
    key_d("CRPIX1", (o.nx + 1) / 2.0, "Pixel coordinate of reference point");
    key_d("CRPIX2", (o.ny + 1) / 2.0, "Pixel coordinate of reference point");
    key_d("CRPIX3", 1.0, "Pixel coordinate of reference point");
    key_d("CRVAL1", t.ra_deg, "[deg] RA at the reference pixel (mosaic centre)");
    key_d("CRVAL2", t.dec_deg, "[deg] Dec at the reference pixel");
    key_d("CRVAL3", kCrval3, "[Angstrom] air wavelength of the first channel");
    key_d("CD1_1", -kSpaxel / 3600.0, "[deg] 0.2 arcsec spaxels, RA increasing to the east");
    key_d("CD1_2", 0.0, "");
    key_d("CD2_1", 0.0, "");
    key_d("CD2_2", kSpaxel / 3600.0, "");
    key_d("CD1_3", 0.0, "");
    key_d("CD2_3", 0.0, "");
    key_d("CD3_1", 0.0, "");
    key_d("CD3_2", 0.0, "");
    key_d("CD3_3", kCdelt3, "[Angstrom] channel width");
    key_s("RADESYS", "ICRS", "");
    key_s("SPECSYS", "BARYCENT", "Wavelengths are barycentric");
}

/// True if `path` is a demo cube written with the same options.
bool up_to_date(const std::string& path, const DemoOptions& o) {
    if (!fs::exists(path)) return false;
    fitsfile* f = nullptr;
    int status = 0;
    if (fits_open_file(&f, path.c_str(), READONLY, &status)) {
        fits_clear_errmsg();
        return false;
    }
    long seed = -1, version = -1, n1 = -1, n2 = -1, n3 = -1;
    fits_read_key(f, TLONG, "VODEMSED", &seed, nullptr, &status);
    fits_read_key(f, TLONG, "VODEMVER", &version, nullptr, &status);
    int hdutype = 0;
    fits_movnam_hdu(f, IMAGE_HDU, const_cast<char*>("DQ"), 0, &status);  // last extension written
    fits_movnam_hdu(f, IMAGE_HDU, const_cast<char*>("DATA"), 0, &status);
    (void)hdutype;
    fits_read_key(f, TLONG, "NAXIS1", &n1, nullptr, &status);
    fits_read_key(f, TLONG, "NAXIS2", &n2, nullptr, &status);
    fits_read_key(f, TLONG, "NAXIS3", &n3, nullptr, &status);
    int cs = 0;
    fits_close_file(f, &cs);
    fits_clear_errmsg();
    return status == 0 && seed == static_cast<long>(o.seed) && version == kVersion && n1 == o.nx && n2 == o.ny &&
           n3 == o.nchan;
}

void write_cube(const std::string& path, const PhangsMuseTarget& t, const DemoOptions& o, unsigned seed) {
    const std::string tmp = path + ".part";
    std::error_code ec;
    fs::remove(tmp, ec);
    fitsfile* f = nullptr;
    int status = 0;
    check(fits_create_file(&f, tmp.c_str(), &status), path, "cannot create");
    struct Closer {
        fitsfile*& f;
        ~Closer() {
            int s = 0;
            if (f) fits_close_file(f, &s);
        }
    } closer{f};

    // Primary header: ESO Phase 3 keywords of the release (no data).
    check(fits_create_img(f, FLOAT_IMG, 0, nullptr, &status), path, "primary HDU");
    char s[72];
    auto key_s = [&](const char* k, const std::string& val, const char* c) {
        std::snprintf(s, sizeof s, "%s", val.c_str());
        fits_write_key(f, TSTRING, k, s, c, &status);
    };
    auto key_d = [&](const char* k, double val, const char* c) { fits_write_key(f, TDOUBLE, k, &val, c, &status); };
    key_s("ORIGIN", "ESO-PARANAL", "European Southern Observatory");
    key_s("TELESCOP", "ESO-VLT-U4", "ESO Telescope Name");
    key_s("INSTRUME", "MUSE", "Instrument used");
    key_s("OBJECT", t.galaxy, "Target");
    key_d("RA", t.ra_deg, "[deg] mosaic centre (ICRS)");
    key_d("DEC", t.dec_deg, "[deg] mosaic centre (ICRS)");
    key_s("RADESYS", "ICRS", "");
    key_s("DATE-OBS", t.date_obs, "Start of the first observing template (UTC)");
    const double mjd = mjd_from_iso(t.date_obs).value_or(0.0);
    key_d("MJD-OBS", mjd, "[d] DATE-OBS as MJD");
    key_d("EXPTIME", t.exptime_s, "[s] total integration time of the mosaic");
    key_d("TEXPTIME", t.exptime_s, "[s] total integration time");
    int ncombine = t.n_exposures;
    fits_write_key(f, TINT, "NCOMBINE", &ncombine, "Number of exposures combined", &status);
    key_s("PRODCATG", "SCIENCE.CUBE.IFS", "Data product category");
    if (t.galaxy == kProprietaryGalaxy) {
        // issue 12: the demo's proprietary project (conf/voserver.toml reads
        // RELDATE through release_date_keyword; its PI is build-demo's demo-pi)
        key_s("PROG_ID", kProprietaryProject, "ESO programme identification");
        key_s("RELDATE", kProprietaryRelease, "Release date of the data (end of the proprietary period)");
    } else {
        key_s("PROG_ID", "1100.B-0651", "ESO programme identification");
    }
    key_s("OBSTECH", "IFU", "");
    key_s("FLUXCAL", "ABSOLUTE", "");
    key_s("REFERENC", "2022A&A...659A.191E", "Emsellem et al. 2022, PHANGS-MUSE");
    key_d("SKY_RES", t.psf_fwhm_arcsec, "[arcsec] native PSF FWHM");
    key_s("SKY_RERR", "0.1", "");
    key_d("WAVELMIN", kCrval3 / 10.0, "[nm] first channel (air)");
    key_d("WAVELMAX", (kCrval3 + kCdelt3 * (o.nchan - 1)) / 10.0, "[nm] last channel (air)");
    key_d("SPEC_BIN", kCdelt3 / 10.0, "[nm] channel width");
    key_d("SPEC_RES", 3000.0, "Typical spectral resolving power");
    key_s("PROCSOFT", "voserver make-demo", "SYNTHETIC pixels in the PHANGS-MUSE format");
    long sd = static_cast<long>(o.seed), ver = kVersion;
    fits_write_key(f, TLONG, "VODEMSED", &sd, "voserver demo seed", &status);
    fits_write_key(f, TLONG, "VODEMVER", &ver, "voserver demo pixel-model version", &status);
    check(status, path, "primary header");

    const long nx = o.nx, ny = o.ny, nz = o.nchan;
    long naxes[3] = {nx, ny, nz};
    const std::size_t plane = static_cast<std::size_t>(nx * ny);

    // Per-spaxel model parameters: exponential discs for stars and gas,
    // rotation (v_los = vsys + 150 km/s tanh(r/4") cos(theta)), 0.2" spaxels.
    const double h_star = 6.0, h_gas = 4.0;  // arcsec scale lengths
    std::vector<double> star(plane), gas(plane), vel(plane);
    Rng rng(seed);
    for (long j = 0; j < ny; ++j) {
        for (long i = 0; i < nx; ++i) {
            const double x = (static_cast<double>(i) - (nx - 1) / 2.0) * kSpaxel;
            const double y = (static_cast<double>(j) - (ny - 1) / 2.0) * kSpaxel;
            const double r = std::hypot(x, y);
            const std::size_t k = static_cast<std::size_t>(j * nx + i);
            star[k] = 400.0 * std::exp(-r / h_star);
            // H II regions: clumpy gas on top of a diffuse disc.
            gas[k] = 3000.0 * std::exp(-r / h_gas) * (0.6 + 0.8 * rng.uniform());
            vel[k] = t.vsys_km_s + (r > 0 ? 150.0 * std::tanh(r / 4.0) * (x / r) : 0.0);
        }
    }
    const double sigma_line = 1.1;  // Angstrom (MUSE LSF ~2.6 A FWHM)

    // DATA, written plane by plane; STAT kept for the next extension.
    check(fits_create_img(f, FLOAT_IMG, 3, naxes, &status), path, "DATA extension");
    key_s("EXTNAME", "DATA", "This extension contains data values");
    key_s("BUNIT", "10**(-20)*erg/s/cm**2/Angstrom", "");
    key_s("HDUCLASS", "ESO", "");
    key_s("HDUCLAS1", "IMAGE", "");
    key_s("HDUCLAS2", "DATA", "");
    key_s("ERRDATA", "STAT", "");
    key_s("QUALDATA", "DQ", "");
    write_wcs(f, t, o, &status);
    check(status, path, "DATA header");
    std::vector<float> data(plane), stat(plane * static_cast<std::size_t>(nz));
    for (long z = 0; z < nz; ++z) {
        const double lambda = kCrval3 + kCdelt3 * static_cast<double>(z);
        const double cont = std::pow(lambda / 5500.0, -1.0);
        for (std::size_t k = 0; k < plane; ++k) {
            double flux = star[k] * cont;
            for (const Line& l : kLines) {
                const double centre = l.lambda_air * (1.0 + vel[k] / kC);
                const double d = (lambda - centre) / sigma_line;
                if (std::abs(d) < 6) flux += gas[k] * l.ratio * std::exp(-0.5 * d * d);
            }
            const double var = 25.0 * 25.0 + 2.0 * std::max(flux, 0.0);  // read + photon noise, 1e-40 units
            stat[static_cast<std::size_t>(z) * plane + k] = static_cast<float>(var);
            data[k] = static_cast<float>(flux + std::sqrt(var) * rng.normal());
        }
        long fpixel[3] = {1, 1, z + 1};
        fits_write_pix(f, TFLOAT, fpixel, static_cast<LONGLONG>(plane), data.data(), &status);
        if (status) check(status, path, "writing DATA");
    }

    check(fits_create_img(f, FLOAT_IMG, 3, naxes, &status), path, "STAT extension");
    key_s("EXTNAME", "STAT", "This extension contains variance values");
    key_s("BUNIT", "10**(-40)*erg**2/s**2/cm**4/Angstrom**2", "");
    key_s("HDUCLASS", "ESO", "");
    key_s("HDUCLAS1", "IMAGE", "");
    key_s("HDUCLAS2", "ERROR", "");
    key_s("HDUCLAS3", "MSE", "");
    key_s("SCIDATA", "DATA", "");
    write_wcs(f, t, o, &status);
    for (long z = 0; z < nz; ++z) {
        long fpixel[3] = {1, 1, z + 1};
        fits_write_pix(f, TFLOAT, fpixel, static_cast<LONGLONG>(plane),
                       stat.data() + static_cast<std::size_t>(z) * plane, &status);
        if (status) check(status, path, "writing STAT");
    }

    // DQ: 16-bit integers, 0 = good everywhere (the synthetic cube has no bad pixels).
    check(fits_create_img(f, SHORT_IMG, 3, naxes, &status), path, "DQ extension");
    key_s("EXTNAME", "DQ", "This extension contains bad pixel flags");
    key_s("HDUCLASS", "ESO", "");
    key_s("HDUCLAS1", "IMAGE", "");
    key_s("HDUCLAS2", "QUALITY", "");
    key_s("SCIDATA", "DATA", "");
    write_wcs(f, t, o, &status);
    std::vector<short> dq(plane, 0);
    for (long z = 0; z < nz; ++z) {
        long fpixel[3] = {1, 1, z + 1};
        fits_write_pix(f, TSHORT, fpixel, static_cast<LONGLONG>(plane), dq.data(), &status);
        if (status) check(status, path, "writing DQ");
    }
    fits_close_file(f, &status);
    f = nullptr;
    check(status, path, "closing");
    fs::rename(tmp, path, ec);
    if (ec) throw std::runtime_error("make-demo: cannot rename " + tmp + " to " + path + ": " + ec.message());
}

}  // namespace

std::vector<std::string> make_demo(const DemoOptions& options, const std::function<void(const std::string&)>& on_file) {
    if (options.nx < 1 || options.ny < 1 || options.nchan < 1)
        throw std::runtime_error("make-demo: nx, ny and nchan must be positive");
    for (const auto& g : options.galaxies) {
        bool known = false;
        for (const auto& t : phangs_muse_targets()) known = known || t.galaxy == g;
        if (!known) throw std::runtime_error("make-demo: unknown PHANGS-MUSE galaxy '" + g + "'");
    }
    std::error_code ec;
    fs::create_directories(options.out_dir, ec);
    if (ec) throw std::runtime_error("make-demo: cannot create " + options.out_dir + ": " + ec.message());
    std::vector<std::string> written;
    unsigned index = 0;
    for (const auto& t : phangs_muse_targets()) {
        ++index;
        if (!options.galaxies.empty() &&
            std::find(options.galaxies.begin(), options.galaxies.end(), t.galaxy) == options.galaxies.end())
            continue;
        const std::string path = (fs::path(options.out_dir) / (t.galaxy + "_PHANGS_DATACUBE_native.fits")).string();
        if (!up_to_date(path, options)) write_cube(path, t, options, options.seed + index);
        written.push_back(path);
        if (on_file) on_file(path);
    }
    return written;
}

}  // namespace vo::obscore
