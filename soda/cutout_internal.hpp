// What the units of the SODA cutout engine share. Internal to soda/: server/
// and the tests of the public API use soda/cutout.hpp.
//
// The engine is split by concern, as CADC's cutout library is (one small unit
// per SODA filter, each returning pixel bounds; header rewriting, reading and
// output in units of their own):
//
//   cutout.cpp                 planning: plan_cutout ties the units together
//   product_file.cpp           opening the file, HDU facts and selection, WCS
//   header_cards.cpp           FITS header card text (parse and format)
//   filter_circle_polygon.cpp  POS/CIRCLE/POLYGON -> pixel box (SODA 1.0 3.3.1-3.3.3)
//   filter_band.cpp            BAND -> channel range (SODA 1.0 3.3.4)
//   filter_time.cpp            TIME -> the whole product or nothing (SODA 1.0 3.3.5)
//   filter_pol.cpp             POL -> planes of the STOKES axis (SODA 1.0 3.3.6)
//   filter_pixels.cpp          PIXEL_n -> pixel range (DaCHS extension)
//   header_rewrite.cpp         the output headers (NAXISn, CRPIXja, CDELT/CD
//                              of a strided axis, HISTORY, checksum cards)
//   reading.hpp, reading.cpp   the N-d box as contiguous runs; pread/CFITSIO
//   output.cpp                 Cutout::write: streaming, DATASUM/CHECKSUM, META
//   describe_bounds.cpp        describe_bounds (DataLink, SODA 1.0 4.2)
//
// Everything here is in vo::soda::detail except Cutout::Impl.
#pragma once

#include <fitsio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fits/wcs.hpp"
#include "soda/cutout.hpp"
#include "soda/params.hpp"

namespace vo::soda {

/// The planned cutout behind the public Cutout (soda/cutout.hpp): filled by
/// plan_cutout (cutout.cpp), read by Cutout::write (output.cpp). The vectors
/// hdus, headers, data_start and compressed have one entry per output HDU, in
/// output order.
struct Cutout::Impl {
    std::string path;                               ///< the product file
    bool gzip = false;                              ///< the file is gzip-compressed (read through CFITSIO)
    bool meta = false;                              ///< META=true: headers only, as text
    std::vector<AxisCut> axes;                      ///< the pixel selection, one per axis of the reference image
    std::vector<CutHdu> hdus;                       ///< the output HDUs
    std::vector<std::vector<std::string>> headers;  ///< per output HDU: 80-character cards without END, with
                                                    ///< DATASUM = '0' and CHECKSUM = '0000000000000000' placeholders
    std::vector<long long> data_start;              ///< per output HDU: byte offset of its input data unit
    std::vector<bool> compressed;                   ///< per output HDU: tile-compressed input
    std::string history;                            ///< the HISTORY text (lines separated by '\n')
    std::string filename;                           ///< Cutout::filename()
    std::uint64_t size = 0;                         ///< Cutout::size_bytes()

    /// Length in bytes of meta_text(), for Content-Length (output.cpp).
    std::uint64_t meta_size() const;
    /// The META=true document (output.cpp): per HDU a line "# HDU n" (0-based
    /// output position), its cards without CHECKSUM/DATASUM one per line, then
    /// the END card.
    std::string meta_text() const;
};

namespace detail {

// ---------------------------------------------------------------- sizes

/// FITS block size in bytes (FITS 4.0 section 3.1): headers and data units are
/// padded to a multiple of it.
inline constexpr std::size_t kBlock = 2880;

/// `n` bytes rounded up to a whole number of 2880-byte blocks.
inline std::uint64_t pad_block(std::uint64_t n) { return (n + kBlock - 1) / kBlock * kBlock; }

// ---------------------------------------------------------------- errors

/// Throws SodaError(500, "Error") "<what>: CFITSIO: <message of status>" and
/// clears CFITSIO's error stack.
[[noreturn]] void fits_fail(const std::string& what, int status);

/// Throws SodaError(204, "NoOverlap") "the cutout contains no pixel of the
/// product (<what>)" (SODA 1.0 section 5.1: the sync answer is then 204 No
/// Content without a body).
[[noreturn]] void no_overlap(const std::string& what);

// ---------------------------------------------------------------- the product file (product_file.cpp)

/// Closes a CFITSIO file (errors on close ignored: the file is read-only).
struct FitsCloser {
    void operator()(fitsfile* f) const {
        int s = 0;
        fits_close_file(f, &s);
    }
};
using FitsPtr = std::unique_ptr<fitsfile, FitsCloser>;

/// True if the file starts with the gzip magic bytes 1f 8b (false if it
/// cannot be read).
bool is_gzip(const std::string& path);

/// Opens `path` read-only with CFITSIO: fits_open_diskfile (no extended file
/// name syntax, so '[', ']' and ':' in paths are harmless), or fits_open_file
/// for a gzip file (CFITSIO inflates it in memory).
/// Errors: SodaError(404, "UsageError", "ID") if `path` is not a regular file;
/// 500 "Error" if CFITSIO cannot open it.
FitsPtr open_fits(const std::string& path);

/// The facts of one HDU of the product, read once and checked before anything
/// relies on them (read by select_hdus).
struct HduInfo {
    int hdu = 0;                     ///< 0-based HDU number
    bool image = false;              ///< image HDU with data: NAXIS >= 1 (at most 9 axes read), all NAXISn > 0
    bool compressed = false;         ///< tile-compressed image (cards are the uncompressed image's)
    int bitpix = 0;                  ///< BITPIX of the image (ZBITPIX if compressed); 0 for a table
    std::vector<long> naxes;         ///< NAXISn, FITS order (NAXIS1 first); empty for a table
    long long data_start = 0;        ///< byte offset of the data unit in the file (in the inflated stream
                                     ///< of a gzip file; unused for a tile-compressed image)
    std::vector<std::string> cards;  ///< 80-character header cards, without END
    std::string extname;             ///< EXTNAME ("" if none)
};

/// Reads every HDU of `f` (opened from `path`) and picks those to cut
/// (SODA 1.0 section 3.3: the "data" the filters apply to).
///
/// image_hdus: 0-based HDU numbers; the first is the reference whose WCS
/// defines the pixel box; all must be images with data of the same shape.
/// Empty = auto-detect: the reference is the first image HDU with at least 2
/// axes and CTYPE1 'RA--' or 'GLON', else the first image HDU with data; then
/// every other image HDU of the same NAXISn whose CRPIX1/2 and CRVAL1/2 (where
/// both have them) agree to 1e-9 relative. HDU 0, if cut, is put first.
/// `primary` receives HDU 0's facts.
///
/// Each header is checked (fits::header_defect) and its data size computed
/// without overflow before anything else reads it; for uncompressed files the
/// data unit must end within the file.
/// Errors (SodaError): 500 "Error" "the product file is damaged: HDU n: ..."
/// for a header defect, an uncomputable data size or a truncated data unit;
/// 500 for a listed HDU that is not an image with data or has another shape
/// than the first; 400 "UsageError" naming ID when no HDU has image data; 500
/// for CFITSIO failures.
std::vector<HduInfo> select_hdus(fitsfile* f, const std::string& path, const std::vector<int>& image_hdus,
                                 HduInfo& primary);

/// The primary WCS of one HDU through the shared loader (fits/wcs.hpp:
/// wcsfix, IRAF 'LINEAR'/'LAMBDA' wavelength axes, rest-frequency fall-backs,
/// distortions WCSLIB refuses dropped), as obscore/ reads it for ObsCore.
/// Never throws for bad content: get() is nullptr when there is no usable WCS.
fits::Wcs load_wcs(const HduInfo& h);

// ---------------------------------------------------------------- header cards (header_cards.cpp)

/// The keyword of an 80-character card: the first 8 characters without
/// trailing blanks, or for a HIERARCH card everything before '='.
std::string card_key(const std::string& card);
/// True if the card has a value indicator ("= " in columns 9-10).
bool has_value(const std::string& card);
/// Raw value text of a "KEY     = value / comment" card, quotes kept, trailing
/// blanks removed; "" for a card without value.
std::string card_value(const std::string& card);
/// The comment after the value's '/', trimmed; "" if none.
std::string card_comment(const std::string& card);
/// A raw quoted value ('O''Hara  ') as text (O'Hara), trailing blanks removed;
/// other text is returned unchanged.
std::string string_value(const std::string& raw);
/// A raw numeric value (Fortran 'D' exponents accepted); nullopt for a string
/// or text that does not start with a number.
std::optional<double> number_value(const std::string& raw);
/// `s` cut or blank-padded to 80 characters (one card).
std::string pad80(std::string s);
/// A real value as FITS free-format text: %.17G (%.15G if longer than 20
/// characters), always with a '.' ("3.0", "1.5E-07").
std::string format_real(double v);
/// "KEY     = " + `value` right-aligned in 20 columns (a number or logical),
/// then " / comment" if it fits, padded to 80 characters.
std::string value_card(const std::string& key, const std::string& value, const std::string& comment);
/// A string-valued card: 'value' (padded to at least 8 characters inside the
/// quotes; quotes in `value` are not doubled),
/// left-aligned, " / comment" if it fits, padded to 80 characters.
std::string string_card(const std::string& key, const std::string& value, const std::string& comment);
/// HISTORY cards of a text: one card per 72 characters of each line ('\n'
/// separated), an empty line giving one empty HISTORY card.
std::vector<std::string> history_cards(const std::string& text);
/// The numeric value of the first card with keyword `key`; nullopt if absent or
/// not a number.
std::optional<double> find_number(const std::vector<std::string>& cards, const std::string& key);
/// The string value of the first card with keyword `key`; "" if absent.
std::string find_string(const std::vector<std::string>& cards, const std::string& key);
/// The cards as one text ending with an END card (added if not last), for
/// fits::header_defect and fits::FitsHeader.
std::string card_block(const std::vector<std::string>& cards);

// ---------------------------------------------------------------- filters (filter_*.cpp)
//
// Each filter returns the pixels it keeps; plan_cutout (cutout.cpp) intersects
// them, in the order spatial, BAND, TIME, POL, PIXEL_n.

/// A 1-based inclusive pixel range [first, last] along the 0-based FITS axis
/// `axis`, as a filter returns it (first <= last, both within [1, NAXISn]).
struct PixelRange {
    int axis = 0;
    long first = 1;
    long last = 0;
};

/// `cut` narrowed to the 1-based inclusive range [first1, last1] (step kept;
/// used on unstrided cuts). Throws no_overlap(what) if nothing remains.
AxisCut intersect_cut(const AxisCut& cut, long first1, long last1, const std::string& what);

/// POS, CIRCLE, POLYGON (SODA 1.0 sections 3.3.1-3.3.3), filter_circle_polygon.cpp:
/// the smallest pixel box of the celestial axes holding region ∩ image, by
/// the method documented at plan_cutout (soda/cutout.hpp). The region (ICRS
/// degrees) is converted to the WCS's own frame (fits::to_icrs/from_icrs).
/// `naxes`: NAXISn of the reference image, FITS order.
/// Returns the ranges on the longitude axis (wcs lng) then the latitude axis
/// (wcs lat), each within [1, NAXISn].
/// Errors (SodaError): 400 "UsageError" naming region.parameter when the WCS
/// has no celestial axes within NAXIS or its frame cannot be converted to
/// ICRS, or when S2 rejects the polygon; 204 "NoOverlap" "<parameter> outside
/// the image" when region and image do not meet.
std::pair<PixelRange, PixelRange> circle_polygon_bounds(const fits::Wcs& wcs, const std::vector<long>& naxes,
                                                        const SkyRegion& region);

/// BAND (SODA 1.0 section 3.3.4), filter_band.cpp: the channels of the
/// spectral axis whose vacuum-wavelength extent [lo, hi) (fits::channel_edges,
/// m; channel k spans pixels k-0.5..k+0.5) meets `band` = [lo, hi] (m).
/// `naxes`: NAXISn of the reference image, FITS order.
/// Errors (SodaError, parameter "BAND"): 400 "UsageError" when there is no
/// spectral axis within NAXIS or a channel edge does not convert to vacuum
/// wavelength (a velocity axis without rest frequency); 204 "NoOverlap" when
/// no channel meets the interval.
PixelRange band_bounds(const fits::Wcs& wcs, const std::vector<long>& naxes, const Interval& band);

/// TIME (SODA 1.0 section 3.3.5), filter_time.cpp: the product's own time span
/// (fits::time_span of the reference HDU `ref`, with the primary header's
/// keywords when ref is an extension; MJD, the ObsCore t_min/t_max) against
/// `time` = [lo, hi] (MJD). Keeps no pixel range: the product is kept whole or
/// not at all. Returns the HISTORY note "TIME not applied: ..." when the
/// product has no time metadata (the filter cannot exclude it), nullopt when
/// applied. Errors: 204 "NoOverlap" when the spans do not meet.
std::optional<std::string> time_filter(const HduInfo& primary, const HduInfo& ref, const Interval& time);

/// POL (SODA 1.0 section 3.3.6), filter_pol.cpp: the planes of the STOKES axis
/// (fits::stokes_codes, as ObsCore's pol_states) whose labels are in `pol`
/// (I Q U V RR LL RL LR XX YY XY YX), among the planes `axes` (the current
/// selection, one per axis of the reference image) still keeps. Returns the
/// new cut of that axis (wcs stokes(), 0-based): evenly spaced planes with a
/// step, otherwise the span first..last (with a HISTORY note in `notes`).
/// Returns nullopt when the STOKES axis is degenerate (beyond NAXIS) and holds
/// a requested state: the whole product is kept (note appended).
/// Errors (SodaError, parameter "POL"): 400 "UsageError" without STOKES axis;
/// 204 "NoOverlap" when no plane has a requested state.
std::optional<AxisCut> pol_bounds(const fits::Wcs& wcs, const std::vector<long>& naxes,
                                  const std::vector<std::string>& pol, const std::vector<AxisCut>& axes,
                                  std::vector<std::string>& notes);

/// PIXEL_n (non-standard, DaCHS; see Params::pixel), filter_pixels.cpp: the new
/// cut of axis `axis` (1-based n) given the 1-based inclusive `range` and the
/// current selection `axes` (one per axis of the reference image). On an axis
/// already strided by POL the planes within the range are kept with the step;
/// otherwise the cut is intersected with the range.
/// Errors (SodaError, parameter "PIXEL_n"): 400 "UsageError" when n >
/// NAXIS; 204 "NoOverlap" when nothing of the axis remains.
AxisCut pixel_bounds(int axis, const std::pair<long, long>& range, const std::vector<AxisCut>& axes);

// ---------------------------------------------------------------- output headers (header_rewrite.cpp)

/// The output header of a cut HDU (SODA 1.0 section 5.1, "application/fits"),
/// from its input cards `in` (80 characters, with or without END) and the
/// selection `axes` (one per axis):
/// NAXISn = count; CRPIXja (every alternate WCS) = (CRPIXja - 1 - first) /
/// step + 1; CDELTja and the column j of CDi_ja multiplied by the step of a
/// strided axis; old CHECKSUM/DATASUM dropped; DATE* values written with a
/// blank repaired to ISO 'T' form; WCSAXESa moved up after the structural
/// keywords; then the `history` cards, DATASUM = '0' and CHECKSUM =
/// '0000000000000000' (placeholders filled by Cutout::write, FITS 4.0
/// Appendix J). Returns the cards without END.
std::vector<std::string> cut_header(const std::vector<std::string>& in, const std::vector<AxisCut>& axes,
                                    const std::vector<std::string>& history);

/// The output header of the primary HDU kept in front of cut extensions: NAXIS
/// = 0, NAXISn, BZERO, BSCALE, BLANK and old checksums dropped, the same
/// repairs, `history`, DATASUM and CHECKSUM placeholders as cut_header.
/// Returns the cards without END.
std::vector<std::string> primary_header(const std::vector<std::string>& in, const std::vector<std::string>& history);

}  // namespace detail
}  // namespace vo::soda
