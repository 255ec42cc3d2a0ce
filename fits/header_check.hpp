// FITS header checks made before WCSLIB, CFITSIO or our own size arithmetic
// see a header, by ingest (obscore/) and by cutouts (soda/) alike (issue 7: a
// damaged file gives a clear reason, never a crash or reads at wrapped
// offsets). The first unit of the fits/ core of DESIGN.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vo::fits {

/// Checks a card block (concatenated 80-character cards ending with END):
/// whole 80-character cards and an END card as the last one (FITS 4.0
/// sections 4.1.1, 4.4.1); printable ASCII 32-126 only (section 4.1.1);
/// string values of value cards, HIERARCH and CONTINUE cards closed on their
/// card (section 4.2.1); finite numeric values for CRVALia, CRPIXja,
/// CDELTia, CROTAi, CDi_ja, PCi_ja and SIP coefficients (section 4.2.4; WCS
/// Paper I section 2.1.2; a SIP coefficient card must have a value); NAXIS and
/// WCSAXES in 0..999 (section 4.4.1.1). COMMENT, HISTORY and blank-keyword
/// cards are free text.
/// Returns nullopt if acceptable, else a reason naming the 1-based card number
/// and keyword. Never throws.
std::optional<std::string> header_defect(std::string_view cards);

/// Data unit size in bytes of a header, FITS 4.0 section 4.4.1.1 equation 2
/// (|BITPIX| x GCOUNT x (PCOUNT + NAXIS1 x ... x NAXISm) / 8, no padding; 0
/// when NAXIS = 0). nullopt if BITPIX or NAXIS/NAXISn is missing, invalid or
/// negative, or if the size does not fit in a signed 64-bit integer.
std::optional<std::int64_t> data_unit_bytes(std::string_view cards);

}  // namespace vo::fits
