// Reading a VOTable document: the table of a TAP upload (TAP 1.1 section 2.5,
// DALI 1.1 section 3.4.5; DESIGN.md "votable/").
//
// The reader walks the document with libxml2's streaming xmlTextReader (no
// tree is built, no entity is substituted, no DTD or network is touched) and
// hands the first TABLE's FIELDs, then its rows one at a time, to a
// TableReceiver; its memory is one row plus, for BINARY and BINARY2, the
// decoded bytes of the STREAM.
//
//   struct Count : TableReceiver { ... };
//   read_votable(document, receiver, {.max_rows = 100000});
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "votable/writer.hpp"

namespace vo::votable {

/// A malformed, unsupported or over-limit VOTable; `what()` names the problem
/// (and the line for XML errors) in words a client can act on.
class ReadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One cell as read: `kind` null, integer (boolean, bit, unsignedByte,
/// short, int, long), real (float, double), or text (char, unicodeChar,
/// every array, complex numbers). Arrays of numbers are their TABLEDATA text,
/// elements separated by single spaces, the way voserver stores DALI
/// geometry (DALI 1.1 section 3.3) and the writers read it back.
struct Value {
    CellKind kind = CellKind::null;
    std::int64_t integer = 0;
    double real = 0.0;
    std::string text;
};

/// Receives what read_votable reads.
class TableReceiver {
public:
    virtual ~TableReceiver() = default;
    /// The FIELDs of the table (VOTable 1.4 section 3.2), once, before any
    /// row. `datatype` is the VOTable primitive with two changes: `bit`
    /// scalars become `boolean`; complex types become `char` arrays (their
    /// text "re im"). The description is the FIELD's DESCRIPTION.
    virtual void begin(const std::vector<Field>& fields) = 0;
    /// One row, a Value per field.
    virtual void row(const std::vector<Value>& values) = 0;
};

/// Bounds on what one document may hold.
struct ReadLimits {
    std::uint64_t max_rows = 100000;  ///< rows at most; one more is a ReadError
    std::size_t max_fields = 1000;    ///< FIELDs at most
};

/// Reads the first TABLE of the VOTable document `document` (VOTable 1.1 to
/// 1.4, any or no namespace): its FIELDs (and their VALUES null), then the
/// rows of its DATA in TABLEDATA (section 5.1), BINARY (5.4) or BINARY2 (5.5)
/// serialisation with an inline base64 STREAM. NULLs: empty TD, a FIELD's
/// VALUES null value, NaN for floats, the BINARY2 null flags, '?' or blank for
/// booleans. Throws ReadError for: not XML or truncated, a root element other
/// than VOTABLE, no TABLE, a TABLE without FIELDs, a FITS or a STREAM with an
/// href (remote data), a cell that is not of its FIELD's datatype (naming the
/// row and field), a row of the wrong number of cells, too many rows or
/// fields. Exceptions thrown by the receiver propagate.
void read_votable(std::string_view document, TableReceiver& receiver, const ReadLimits& limits = {});

}  // namespace vo::votable
