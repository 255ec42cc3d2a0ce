// FITS binary table output (FITS 4.0 section 7.3) with CFITSIO: the
// TableWriter for Format::fits (votable/writer.hpp).
//
// A FITS table header gives its row count (NAXIS2) before the data, which a
// stream cannot know; the table is therefore written to an unlinked
// temporary file as the rows come (memory stays bounded) and copied into the
// Sink at end(). Column mapping (FITS 4.0 table 18): char -> 1PA (variable
// length string on the heap), double -> D, float -> E, long -> K, int -> J,
// short -> I, unsignedByte -> B, boolean -> L, numeric arrays -> 1PD/1PE or
// nD/nE. NULLs: NaN for floating columns, TNULLn for integer columns, an
// empty string for strings, the undefined logical for booleans.
#include <fitsio.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "votable/writer.hpp"

namespace vo::votable {

namespace {

struct Column {
    std::string tform;
    int type = TDOUBLE;      // CFITSIO datatype of the values written
    bool string = false;
    bool array = false;      // numeric array (geometry): values from the cell's text
    bool integer = false;
    long long tnull = 0;
    long fixed = 0;          // element count of a fixed-size array (0: variable)
};

Column column_of(const Field& f) {
    Column c;
    const std::string& d = f.datatype;
    const bool arr = !f.arraysize.empty() && d != "char" && d != "unicodeChar";
    if (d == "char" || d == "unicodeChar" || d.empty()) {
        c.string = true;
        c.tform = "1PA";
        c.type = TSTRING;
    } else if (arr) {
        c.array = true;
        const bool fixed = f.arraysize.find('*') == std::string::npos;
        const char code = d == "float" ? 'E' : 'D';
        c.type = d == "float" ? TFLOAT : TDOUBLE;
        c.tform = fixed ? f.arraysize + code : std::string("1P") + code;
        if (fixed) c.fixed = std::strtol(f.arraysize.c_str(), nullptr, 10);
    } else if (d == "double") {
        c.tform = "D";
    } else if (d == "float") {
        c.tform = "E";
        c.type = TFLOAT;
    } else if (d == "boolean") {
        c.tform = "L";
        c.type = TLOGICAL;
    } else {
        c.integer = true;
        if (d == "short") { c.tform = "I"; c.type = TSHORT; c.tnull = -32768; }
        else if (d == "int") { c.tform = "J"; c.type = TINT; c.tnull = std::numeric_limits<std::int32_t>::min(); }
        else if (d == "unsignedByte") { c.tform = "B"; c.type = TBYTE; c.tnull = 255; }
        else { c.tform = "K"; c.type = TLONGLONG; c.tnull = std::numeric_limits<long long>::min(); }
    }
    return c;
}

class FitsTableWriter final : public TableWriter {
public:
    FitsTableWriter(Sink sink, std::size_t chunk) : sink_(std::move(sink)), chunk_(chunk ? chunk : 64 * 1024) {}
    ~FitsTableWriter() override {
        int status = 0;
        if (fptr_) fits_close_file(fptr_, &status);
        if (!path_.empty()) ::unlink(path_.c_str());
    }

    void begin(const std::vector<Field>& fields, const std::vector<Info>& infos) override {
        fields_ = fields;
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/voserver-fits-XXXXXX";
        std::vector<char> name(tmpl.begin(), tmpl.end());
        name.push_back('\0');
        const int fd = ::mkstemp(name.data());
        if (fd < 0) throw std::runtime_error("FITS output: cannot create a temporary file");
        ::close(fd);
        path_ = name.data();
        int status = 0;
        fits_create_file(&fptr_, ("!" + path_).c_str(), &status);
        std::vector<std::string> ttype, tform, tunit;
        for (const auto& f : fields_) {
            columns_.push_back(column_of(f));
            ttype.push_back(f.name);
            tform.push_back(columns_.back().tform);
            tunit.push_back(f.unit);
        }
        std::vector<char*> tt, tf, tu;
        for (std::size_t i = 0; i < fields_.size(); ++i) {
            tt.push_back(ttype[i].data());
            tf.push_back(tform[i].data());
            tu.push_back(tunit[i].data());
        }
        fits_create_tbl(fptr_, BINARY_TBL, 0, static_cast<int>(fields_.size()), tt.data(), tf.data(), tu.data(),
                        "RESULTS", &status);
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const std::string n = std::to_string(i + 1);
            if (columns_[i].integer) {
                long long v = columns_[i].tnull;
                fits_write_key(fptr_, TLONGLONG, ("TNULL" + n).c_str(), &v, "NULL value", &status);
            }
            if (!fields_[i].ucd.empty()) {
                std::string ucd = fields_[i].ucd;
                fits_write_key_longstr(fptr_, ("TUCD" + n).c_str(), ucd.c_str(), "UCD", &status);
            }
            if (!fields_[i].description.empty())
                fits_write_key_longstr(fptr_, ("TCOMM" + n).c_str(), fields_[i].description.c_str(), "", &status);
        }
        fits_write_key_longwarn(fptr_, &status);  // LONGSTRN: the long-string convention is used
        fits_write_key_longstr(fptr_, "QUERY_ST", "OK", "DALI QUERY_STATUS", &status);
        for (const auto& info : infos)
            if (info.name == "QUERY") fits_write_key_longstr(fptr_, "QUERY", info.value.c_str(), "ADQL query", &status);
        check(status);
        // reread the table so that CFITSIO knows the TNULLn keywords
        fits_set_hdustruc(fptr_, &status);
        check(status);
    }

    void row(RowSource& source) override {
        int status = 0;
        ++row_;
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const Column& col = columns_[i];
            const int cn = static_cast<int>(i + 1);
            const Cell c = source.cell(i);
            const bool null = c.kind == CellKind::null || (c.kind == CellKind::text && c.text.empty() && !col.string);
            if (col.string) {
                text_.clear();
                if (!null) {
                    if (c.kind == CellKind::text) text_.assign(c.text);
                    else {
                        Cell t = c;
                        if (t.kind == CellKind::integer) text_ = std::to_string(t.integer);
                        else append_double(text_, t.real);
                    }
                }
                // printable ASCII only in FITS strings (FITS 4.0 section 7.3.3.1)
                for (auto& ch : text_)
                    if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '?';
                char* p = text_.data();
                fits_write_col(fptr_, TSTRING, cn, row_, 1, 1, &p, &status);
            } else if (col.array) {
                values_.clear();
                if (!null && c.kind == CellKind::text) {
                    std::string t(c.text);
                    const char* s = t.c_str();
                    char* end = nullptr;
                    for (double v = std::strtod(s, &end); end != s; v = std::strtod(s, &end)) {
                        values_.push_back(v);
                        s = end;
                    }
                }
                // a fixed-size array is NaN where values are missing (NULL)
                if (col.fixed > 0) values_.resize(static_cast<std::size_t>(col.fixed), std::numeric_limits<double>::quiet_NaN());
                if (!values_.empty())
                    fits_write_col(fptr_, TDOUBLE, cn, row_, 1, static_cast<LONGLONG>(values_.size()), values_.data(),
                                   &status);
            } else if (null) {
                if (col.type == TDOUBLE || col.type == TFLOAT) {
                    double nan = std::numeric_limits<double>::quiet_NaN();
                    fits_write_col(fptr_, TDOUBLE, cn, row_, 1, 1, &nan, &status);
                } else {
                    fits_write_col_null(fptr_, cn, row_, 1, 1, &status);
                }
            } else if (col.type == TLOGICAL) {
                char v = 0;
                if (c.kind == CellKind::text) v = (c.text == "1" || c.text == "T" || c.text == "true") ? 1 : 0;
                else v = (c.kind == CellKind::integer ? c.integer != 0 : c.real != 0) ? 1 : 0;
                fits_write_col(fptr_, TLOGICAL, cn, row_, 1, 1, &v, &status);
            } else if (col.integer) {
                long long v = c.kind == CellKind::integer ? c.integer : 0;
                bool ok = c.kind == CellKind::integer;
                if (c.kind == CellKind::real && std::isfinite(c.real) && std::fabs(c.real) < 9.2e18) {
                    v = static_cast<long long>(std::nearbyint(c.real));
                    ok = true;
                }
                if (ok) fits_write_col(fptr_, TLONGLONG, cn, row_, 1, 1, &v, &status);
                else fits_write_col_null(fptr_, cn, row_, 1, 1, &status);
            } else {
                double v = c.kind == CellKind::integer ? static_cast<double>(c.integer) : c.real;
                if (c.kind == CellKind::text) v = std::strtod(std::string(c.text).c_str(), nullptr);
                fits_write_col(fptr_, TDOUBLE, cn, row_, 1, 1, &v, &status);
            }
        }
        check(status);
    }

    void end(bool overflow) override {
        int status = 0;
        if (overflow) fits_update_key_longstr(fptr_, "QUERY_ST", "OVERFLOW", "DALI QUERY_STATUS", &status);
        finish(status);
    }

    void end_with_error(std::string_view message) override {
        int status = 0;
        fits_update_key_longstr(fptr_, "QUERY_ST", "ERROR", "DALI QUERY_STATUS", &status);
        fits_write_key_longstr(fptr_, "QUERY_ER", std::string(message).c_str(), "error message", &status);
        finish(status);
    }

    std::uint64_t bytes() const override { return bytes_; }

private:
    void check(int status) {
        if (status) {
            char text[FLEN_STATUS];
            fits_get_errstatus(status, text);
            throw std::runtime_error(std::string("FITS output: ") + text);
        }
    }

    void finish(int status) {
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
    std::vector<Column> columns_;
    fitsfile* fptr_ = nullptr;
    std::string path_;
    LONGLONG row_ = 0;
    std::string text_;
    std::vector<double> values_;
    std::uint64_t bytes_ = 0;
};

}  // namespace

std::unique_ptr<TableWriter> make_fits_writer(Sink sink, std::size_t chunk_bytes) {
    return std::make_unique<FitsTableWriter>(std::move(sink), chunk_bytes);
}

}  // namespace vo::votable
