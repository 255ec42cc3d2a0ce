// WCS loading for ingest (obscore/) and cutouts (soda/): the primary WCS of
// one HDU, parsed by WCSLIB (wcspih), repaired (wcsfix) and set up (wcsset),
// with the fall-backs real headers need. One implementation (issue 8 item 3:
// the IRAF 'LINEAR' axes and the rest-frequency fall-backs were known to
// obscore/ only, so SODA refused BAND on spectra that ObsCore described).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fits/header.hpp"
#include "fits/spectral.hpp"

struct wcsprm;

namespace vo::fits {

/// The primary WCS (alternate ' ') of one HDU, owned, set up and ready for
/// wcsp2s/wcss2p. Move-only. WCSLIB calls that are not thread-safe (wcspih,
/// wcsvfree) are serialised by a process-wide mutex.
class Wcs {
public:
    Wcs();
    ~Wcs();
    Wcs(Wcs&&) noexcept;
    Wcs& operator=(Wcs&&) noexcept;
    Wcs(const Wcs&) = delete;
    Wcs& operator=(const Wcs&) = delete;

    /// Loads the WCS of a header (`header.cards()`: 80-character cards ending
    /// with END) whose data have the axis lengths `naxes` (FITS order, may be
    /// empty for a header without data). Steps, in order:
    /// 1. header_defect() must accept the cards (else error "invalid header:
    ///    ...": WCSLIB never parses unchecked text);
    /// 2. wcspih (WCSHDR_all) and the primary WCS; a header without any CTYPE
    ///    has only WCSLIB's default linear WCS: error "no CTYPE keywords";
    /// 3. IRAF spectra: CTYPEi 'LINEAR', 'LAMBDA' or 'WAVELENGTH' with a
    ///    length unit in CUNITi (or WATi_001 'units=angstroms') become WAVE
    ///    (vacuum wavelength, the IRAF convention of these products is not
    ///    stated: taken as vacuum) with a warning;
    /// 4. a velocity axis (VRAD, VOPT, VELO, FELO, ZOPT) without RESTFRQ,
    ///    RESTFREQ or RESTWAV gets its rest frequency from GIPSY's FREQ0, else
    ///    a line named in LINE, MOLECULE, TRANSITI or IMAG_DES (HI; CO, 13CO,
    ///    C18O J=1-0, 2-1, 3-2; CDMS/JPL frequencies), with a warning;
    /// 5. wcsfixi (cdfix, datfix, obsfix, unitfix with all translations,
    ///    spcfix: AIPS FELO-HEL/VELO-LSR..., celfix: NCP -> SIN, cylfix);
    /// 6. wcsset; Paper IV 'Lookup' distortions (CPDISj = 'Lookup', needing
    ///    arrays of other HDUs) are dropped up front, and a WCS WCSLIB cannot
    ///    set up with its distortions (SIP, TPV, Paper IV) is retried without
    ///    them, each with a warning ("... distortion ignored").
    /// `hdu_index` (0-based) names the HDU in warnings. Warnings are appended
    /// to `warnings` when it is not null. Never throws for bad content: a
    /// failure gives a Wcs with get() == nullptr and error() set.
    static Wcs load(const FitsHeader& header, const std::vector<long>& naxes, int hdu_index = 0,
                    std::vector<std::string>* warnings = nullptr);

    /// The set-up WCS, or nullptr when none could be loaded.
    wcsprm* get() const { return wcs_; }
    /// Why get() is null ("no WCS", "no CTYPE keywords", "invalid header: ...",
    /// "WCSLIB wcsset failed: ..."); empty when loaded.
    const std::string& error() const { return error_; }
    /// Number of WCS axes (WCSAXES; may exceed NAXIS), 0 when none.
    int naxis() const;
    /// 0-based WCS axis indices, -1 when absent. stokes() may be >= NAXIS (a
    /// degenerate axis: the data hold the one state at pixel 1).
    int lng() const;
    int lat() const;
    int spec() const;
    int stokes() const { return stokes_; }
    /// CTYPE of axis i without trailing blanks ("" when i is out of range).
    std::string ctype(int i) const;
    /// Rest frequency/wavelength of the spectral axis (0 when unknown).
    RestFrame rest() const;

    /// Pixel -> world for many points: `pix` holds naxis() 1-based pixel
    /// coordinates per point (point-major), `world` gets the same shape (WCSLIB
    /// units: deg, SI), `stat` one WCSLIB status per point (0 = valid).
    void p2s(const std::vector<double>& pix, std::vector<double>& world, std::vector<int>& stat) const;
    /// World -> pixel, the inverse of p2s (same shapes).
    void s2p(const std::vector<double>& world, std::vector<double>& pix, std::vector<int>& stat) const;

    /// Owner of WCSLIB's wcsprm array (implementation detail).
    struct Set;

private:
    std::unique_ptr<Set> set_;
    wcsprm* wcs_ = nullptr;
    int stokes_ = -1;
    std::string error_;
};

/// The cards of a card block (concatenated 80-character cards) that WCSLIB's
/// header parser can use: all but COMMENT, HISTORY, blank-keyword and
/// HIERARCH cards (free text, and ESO hierarchical keywords, which no WCS
/// convention reads: WCS Papers I-IV, FITS 4.0 section 8). wcspih's time
/// grows with the number of cards, and these are a third of the sample
/// products' cards (issue 14: wcspih was a third of the ingest time).
/// wcspih gives the same WCS with or without them (tested on every HDU of
/// ../shared/data/fits).
std::string wcs_cards(std::string_view cards);

}  // namespace vo::fits
