// FITS binary table output (FITS 4.0 section 7.3) with CFITSIO: the
// TableWriter for Format::fits (votable/writer.hpp).
//
// A FITS table header gives its row count (NAXIS2) and every column's width
// before the data, which a stream cannot know. The rows are therefore first
// spooled, already converted to their FITS values, to an unlinked temporary
// file while the widest string and array of each column are noted; at end()
// CFITSIO writes the header with the real NAXIS2 and TFORMs, the rows are
// encoded (big-endian, FITS 4.0 section 7.3.3) into blocks of bytes written
// with fits_write_tblbytes, and the file is copied into the Sink. Memory stays
// bounded whatever the row count. (Writing cell by cell into a growing table
// with a heap made CFITSIO move the heap on every row: 1,600 rows/s.)
//
// Column mapping (FITS 4.0 table 18): char -> rA with r the longest value
// (fixed width, as STILTS writes by default, so astropy and TOPCAT read
// strings as strings), double -> D, float -> E, long -> K, int -> J, short ->
// I, unsignedByte -> B, boolean -> L, numeric arrays -> nD/nE, a variable
// array with n its longest length (shorter ones padded with NaN). NULLs: NaN
// for floating columns and arrays, TNULLn for integer columns, an empty
// string, the undefined logical (a zero byte).
#include <fitsio.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "votable/writer.hpp"

namespace vo::votable {

namespace {

/// How one result column is stored.
struct Column {
    enum Kind { string, array, integer, real, logical } kind = real;
    char code = 'D';         ///< TFORM letter: A, D, E, K, J, I, B, L
    long long tnull = 0;     ///< integer columns: the TNULLn value
    long fixed = 0;          ///< arrays: element count of a fixed arraysize (0: variable)
    std::size_t widest = 0;  ///< strings: longest value in bytes; variable arrays: most elements
    long repeat() const {    ///< the TFORM repeat count
        if (kind == string) return static_cast<long>(std::max<std::size_t>(widest, 1));
        if (kind == array) return fixed > 0 ? fixed : static_cast<long>(std::max<std::size_t>(widest, 1));
        return 1;
    }
    std::size_t width() const {  ///< bytes of one cell in a row
        const std::size_t n = static_cast<std::size_t>(repeat());
        switch (code) {
            case 'A':
            case 'B':
            case 'L': return n;
            case 'I': return 2 * n;
            case 'J':
            case 'E': return 4 * n;
            default: return 8 * n;
        }
    }
};

Column column_of(const Field& f) {
    Column c;
    const std::string& d = f.datatype;
    if (d == "char" || d == "unicodeChar" || d.empty()) {
        c.kind = Column::string;
        c.code = 'A';
    } else if (!f.arraysize.empty()) {
        c.kind = Column::array;
        c.code = d == "float" ? 'E' : 'D';
        if (f.arraysize.find('*') == std::string::npos)
            c.fixed = std::max(1L, std::strtol(f.arraysize.c_str(), nullptr, 10));
    } else if (d == "double") {
        c.code = 'D';
    } else if (d == "float") {
        c.code = 'E';
    } else if (d == "boolean") {
        c.kind = Column::logical;
        c.code = 'L';
    } else {
        c.kind = Column::integer;
        if (d == "short") {
            c.code = 'I';
            c.tnull = -32768;
        } else if (d == "int") {
            c.code = 'J';
            c.tnull = std::numeric_limits<std::int32_t>::min();
        } else if (d == "unsignedByte") {
            c.code = 'B';
            c.tnull = 255;
        } else {
            c.code = 'K';
            c.tnull = std::numeric_limits<long long>::min();
        }
    }
    return c;
}

/// Creates an empty temporary file (under $TMPDIR, else /tmp) and returns
/// its path; `fd` gets its open descriptor. Throws std::runtime_error.
std::string temporary_path(const char* what, int& fd) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/voserver-fits-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    fd = ::mkstemp(name.data());
    if (fd < 0) throw std::runtime_error(std::string("FITS output: cannot create a temporary file for ") + what);
    return name.data();
}

/// An unlinked temporary file opened for writing and reading back.
std::FILE* temporary_file(const char* what) {
    int fd = -1;
    ::unlink(temporary_path(what, fd).c_str());
    std::FILE* f = ::fdopen(fd, "w+b");
    if (!f) {
        ::close(fd);
        throw std::runtime_error(std::string("FITS output: cannot open a temporary file for ") + what);
    }
    return f;
}

template <class T>
void put_be(std::string& out, T value) {
    unsigned char b[sizeof(T)];
    std::memcpy(b, &value, sizeof(T));
    for (std::size_t i = sizeof(T); i-- > 0;) out.push_back(static_cast<char>(b[i]));  // little-endian host
}

class FitsTableWriter final : public TableWriter {
public:
    FitsTableWriter(Sink sink, std::size_t chunk) : sink_(std::move(sink)), chunk_(chunk ? chunk : 64 * 1024) {
        static_assert(std::numeric_limits<double>::is_iec559, "FITS output needs IEEE 754 doubles");
    }
    ~FitsTableWriter() override {
        int status = 0;
        if (fptr_) fits_close_file(fptr_, &status);
        if (!path_.empty()) ::unlink(path_.c_str());
        if (spool_) std::fclose(spool_);
    }

    void begin(const std::vector<Field>& fields, const std::vector<Info>& infos) override {
        fields_ = fields;
        infos_ = infos;
        for (const auto& f : fields_) columns_.push_back(column_of(f));
        spool_ = temporary_file("the rows");
        std::setvbuf(spool_, nullptr, _IOFBF, 1 << 20);
    }

    void row(RowSource& source) override {
        ++rows_;
        record_.clear();
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            Column& col = columns_[i];
            const Cell c = source.cell(i);
            const bool null =
                c.kind == CellKind::null || (c.kind == CellKind::text && c.text.empty() && col.kind != Column::string);
            switch (col.kind) {
                case Column::string: {
                    text_.clear();
                    if (!null) {
                        if (c.kind == CellKind::text)
                            text_.assign(c.text);
                        else if (c.kind == CellKind::integer)
                            text_ = std::to_string(c.integer);
                        else
                            append_double(text_, c.real);
                    }
                    // printable ASCII only in FITS strings (FITS 4.0 section 7.3.3.1)
                    for (auto& ch : text_)
                        if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '?';
                    const auto n = static_cast<std::uint32_t>(text_.size());
                    append_raw(n);
                    record_.append(text_);
                    col.widest = std::max<std::size_t>(col.widest, n);
                    break;
                }
                case Column::array: {
                    values_.clear();
                    if (!null && c.kind == CellKind::text) {
                        std::string t(c.text);
                        const char* p = t.c_str();
                        char* end = nullptr;
                        for (double v = std::strtod(p, &end); end != p; v = std::strtod(p, &end)) {
                            values_.push_back(v);
                            p = end;
                        }
                    }
                    if (col.fixed > 0)
                        values_.resize(static_cast<std::size_t>(col.fixed), std::numeric_limits<double>::quiet_NaN());
                    const auto n = static_cast<std::uint32_t>(values_.size());
                    append_raw(n);
                    for (double v : values_) append_raw(v);
                    col.widest = std::max<std::size_t>(col.widest, n);
                    break;
                }
                case Column::integer: {
                    long long v = col.tnull;
                    if (!null && c.kind == CellKind::integer)
                        v = c.integer;
                    else if (!null && c.kind == CellKind::real && std::isfinite(c.real) && std::fabs(c.real) < 9.2e18)
                        v = static_cast<long long>(std::nearbyint(c.real));
                    else if (!null && c.kind == CellKind::text)
                        v = std::strtoll(std::string(c.text).c_str(), nullptr, 10);
                    if (!null && v != col.tnull && !fits_in(col, v))
                        throw std::runtime_error("FITS output: the value " + std::to_string(v) + " of column " +
                                                 fields_[i].name + " does not fit its " + fields_[i].datatype +
                                                 " type");
                    append_raw(static_cast<std::int64_t>(v));
                    break;
                }
                case Column::real: {
                    double v = std::numeric_limits<double>::quiet_NaN();
                    if (!null) {
                        if (c.kind == CellKind::integer)
                            v = static_cast<double>(c.integer);
                        else if (c.kind == CellKind::real)
                            v = c.real;
                        else
                            v = std::strtod(std::string(c.text).c_str(), nullptr);
                    }
                    append_raw(v);
                    break;
                }
                case Column::logical: {
                    char v = 0;  // FITS 4.0 section 7.3.3.1: a zero byte is the undefined logical
                    if (!null) {
                        bool t;
                        if (c.kind == CellKind::text)
                            t = c.text == "1" || c.text == "T" || c.text == "true";
                        else
                            t = c.kind == CellKind::integer ? c.integer != 0 : c.real != 0;
                        v = t ? 'T' : 'F';
                    }
                    record_.push_back(v);
                    break;
                }
            }
        }
        if (std::fwrite(record_.data(), 1, record_.size(), spool_) != record_.size())
            throw std::runtime_error("FITS output: cannot write the temporary file (disk full?)");
    }

    void end(bool overflow) override { finish(overflow ? "OVERFLOW" : "OK", ""); }

    void end_with_error(std::string_view message) override { finish("ERROR", message); }

    std::uint64_t bytes() const override { return bytes_; }

private:
    template <class T>
    void append_raw(T v) {
        record_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }

    static bool fits_in(const Column& col, long long v) {
        switch (col.code) {
            case 'B': return v >= 0 && v <= 255;
            case 'I': return v >= -32768 && v <= 32767;
            case 'J':
                return v >= std::numeric_limits<std::int32_t>::min() && v <= std::numeric_limits<std::int32_t>::max();
            default: return true;
        }
    }

    void check(int status) {
        if (status) {
            char text[FLEN_STATUS];
            fits_get_errstatus(status, text);
            throw std::runtime_error(std::string("FITS output: ") + text);
        }
    }

    /// Writes the header with the real NAXIS2 and TFORMs.
    void write_header(const char* query_status, std::string_view message) {
        int fd = -1;
        path_ = temporary_path("the table", fd);
        ::close(fd);
        int status = 0;
        fits_create_file(&fptr_, ("!" + path_).c_str(), &status);
        std::vector<std::string> ttype, tform, tunit;
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            ttype.push_back(fields_[i].name);
            tform.push_back(std::to_string(columns_[i].repeat()) + columns_[i].code);
            tunit.push_back(fields_[i].unit);
        }
        std::vector<char*> tt, tf, tu;
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            tt.push_back(ttype[i].data());
            tf.push_back(tform[i].data());
            tu.push_back(tunit[i].data());
        }
        fits_create_tbl(fptr_, BINARY_TBL, rows_, static_cast<int>(fields_.size()), tt.data(), tf.data(), tu.data(),
                        "RESULTS", &status);
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const std::string n = std::to_string(i + 1);
            if (columns_[i].kind == Column::integer) {
                long long v = columns_[i].tnull;
                fits_write_key(fptr_, TLONGLONG, ("TNULL" + n).c_str(), &v, "NULL value", &status);
            }
            if (!fields_[i].ucd.empty())
                fits_write_key_longstr(fptr_, ("TUCD" + n).c_str(), fields_[i].ucd.c_str(), "UCD", &status);
            if (!fields_[i].description.empty())
                fits_write_key_longstr(fptr_, ("TCOMM" + n).c_str(), fields_[i].description.c_str(), "", &status);
        }
        fits_write_key_longwarn(fptr_, &status);  // LONGSTRN: the long-string convention is used
        fits_write_key_longstr(fptr_, "QUERY_ST", query_status, "DALI QUERY_STATUS", &status);
        if (!message.empty())
            fits_write_key_longstr(fptr_, "QUERY_ER", std::string(message).c_str(), "error message", &status);
        for (const auto& info : infos_)
            if (info.name == "QUERY") fits_write_key_longstr(fptr_, "QUERY", info.value.c_str(), "ADQL query", &status);
        check(status);
    }

    /// Reads `n` bytes of the spool into `out` (appending).
    void read_spool(std::string& out, std::size_t n) {
        const std::size_t at = out.size();
        out.resize(at + n);
        if (n && std::fread(out.data() + at, 1, n, spool_) != n)
            throw std::runtime_error("FITS output: the temporary file of rows is short");
    }

    template <class T>
    T spool_value() {
        T v;
        if (std::fread(&v, sizeof v, 1, spool_) != 1)
            throw std::runtime_error("FITS output: the temporary file of rows is short");
        return v;
    }

    /// Encodes every spooled row into FITS bytes, in blocks of rows.
    void write_rows() {
        std::size_t row_bytes = 0;
        for (const auto& c : columns_) row_bytes += c.width();
        if (row_bytes == 0 || rows_ == 0) return;
        if (std::fflush(spool_) != 0 || std::fseek(spool_, 0, SEEK_SET) != 0)
            throw std::runtime_error("FITS output: cannot reread the temporary file of rows");
        const std::size_t block_rows = std::max<std::size_t>(1, (1u << 20) / row_bytes);
        std::string block;
        block.reserve(block_rows * row_bytes + row_bytes);
        std::string text;
        LONGLONG first = 1;
        std::size_t in_block = 0;
        int status = 0;
        for (LONGLONG r = 0; r < rows_; ++r) {
            for (const auto& col : columns_) {
                switch (col.kind) {
                    case Column::string: {
                        const auto n = spool_value<std::uint32_t>();
                        const std::size_t at = block.size();
                        read_spool(block, n);
                        block.resize(at + col.width(), '\0');
                        break;
                    }
                    case Column::array: {
                        const auto n = spool_value<std::uint32_t>();
                        const auto repeat = static_cast<std::uint32_t>(col.repeat());
                        for (std::uint32_t k = 0; k < repeat; ++k) {
                            const double v = k < n ? spool_value<double>() : std::numeric_limits<double>::quiet_NaN();
                            if (col.code == 'E')
                                put_be(block, static_cast<float>(v));
                            else
                                put_be(block, v);
                        }
                        for (std::uint32_t k = repeat; k < n; ++k) spool_value<double>();  // never: repeat >= n
                        break;
                    }
                    case Column::integer: {
                        const auto v = spool_value<std::int64_t>();
                        switch (col.code) {
                            case 'B': block.push_back(static_cast<char>(static_cast<unsigned char>(v))); break;
                            case 'I': put_be(block, static_cast<std::int16_t>(v)); break;
                            case 'J': put_be(block, static_cast<std::int32_t>(v)); break;
                            default: put_be(block, v); break;
                        }
                        break;
                    }
                    case Column::real: {
                        const auto v = spool_value<double>();
                        if (col.code == 'E')
                            put_be(block, static_cast<float>(v));
                        else
                            put_be(block, v);
                        break;
                    }
                    case Column::logical: block.push_back(spool_value<char>()); break;
                }
            }
            if (++in_block == block_rows || r + 1 == rows_) {
                fits_write_tblbytes(fptr_, first, 1, static_cast<LONGLONG>(block.size()),
                                    reinterpret_cast<unsigned char*>(block.data()), &status);
                check(status);
                first += static_cast<LONGLONG>(in_block);
                in_block = 0;
                block.clear();
            }
        }
    }

    void finish(const char* query_status, std::string_view message) {
        write_header(query_status, message);
        write_rows();
        std::fclose(spool_);
        spool_ = nullptr;
        int status = 0;
        fits_close_file(fptr_, &status);
        fptr_ = nullptr;
        check(status);
        std::FILE* f = std::fopen(path_.c_str(), "rb");
        if (!f) throw std::runtime_error("FITS output: the temporary file disappeared");
        ::unlink(path_.c_str());
        path_.clear();
        std::string buf(chunk_, '\0');
        std::size_t n;
        try {
            while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
                sink_(std::string_view(buf.data(), n));
                bytes_ += n;
            }
        } catch (...) {
            std::fclose(f);
            throw;
        }
        std::fclose(f);
    }

    Sink sink_;
    std::size_t chunk_;
    std::vector<Field> fields_;
    std::vector<Info> infos_;
    std::vector<Column> columns_;
    std::FILE* spool_ = nullptr;
    fitsfile* fptr_ = nullptr;
    std::string path_;
    LONGLONG rows_ = 0;
    std::string record_;
    std::string text_;
    std::vector<double> values_;
    std::uint64_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<TableWriter> make_fits_writer(Sink sink, std::size_t chunk_bytes) {
    return std::make_unique<FitsTableWriter>(std::move(sink), chunk_bytes);
}

}  // namespace vo::votable
