// Streaming floor (issue 14; figures in bench/README.md, section "Issue 14:
// result streaming and request rate").
//
//   bench_step_rows STORE [ROWS] [FORMAT...]
//       opens STORE read-only as the server does (obscore::open_query_backend),
//       translates `SELECT * FROM ivoa.obscore` with the server's row limit
//       (ROWS + 1, default 1,000,000 + 1), prepares and runs it, and:
//        - "step": steps every row and reads every column (type and value;
//          text bytes touched) without formatting: the reference a streamed
//          result is measured against;
//        - each FORMAT (votable, votable/b, votable/b2, csv, tsv; default all
//          five): the same rows written by that format's writer
//          (votable::make_writer, 64 KiB chunks as the server uses) into a
//          sink that only counts bytes, i.e. the server's work without HTTP.
//       Prints rows/s and bytes per mode; runs under `perf record` to
//       profile the writers alone.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "adql/adql.hpp"
#include "obscore/backend.hpp"
#include "votable/writer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

/// The backend's cursor as the writers read rows (as server/query.cpp's adapter).
class CursorSource final : public vo::votable::RowSource {
public:
    explicit CursorSource(vo::obscore::ResultCursor& cursor) : cursor_(cursor) {}
    bool next() override { return cursor_.next(); }
    vo::votable::Cell cell(std::size_t i) override {
        const vo::obscore::Cell& c = cursor_.cell(i);
        vo::votable::Cell v;
        v.kind = static_cast<vo::votable::CellKind>(c.kind);
        v.integer = c.integer;
        v.real = c.real;
        v.text = c.text;
        return v;
    }

private:
    vo::obscore::ResultCursor& cursor_;
};

void report(const char* mode, std::int64_t rows, std::uint64_t bytes, Clock::time_point a, Clock::time_point b) {
    const double s = std::chrono::duration<double>(b - a).count();
    std::printf("%-12s %9lld rows: %7.3f s, %10.0f rows/s, %8.1f MB\n", mode, static_cast<long long>(rows), s,
                static_cast<double>(rows) / s, static_cast<double>(bytes) / 1e6);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s STORE [ROWS] [FORMAT...]\n", argv[0]);
        return 2;
    }
    const std::string store = argv[1];
    const std::int64_t rows = argc > 2 ? std::atoll(argv[2]) : 1000000;
    std::vector<std::string> formats;
    for (int i = 3; i < argc; ++i) formats.emplace_back(argv[i]);
    if (formats.empty()) formats = {"step", "votable", "votable/b", "votable/b2", "csv", "tsv"};

    auto backend = vo::obscore::open_query_backend(store);
    vo::adql::TranslateOptions options;
    options.row_limit = rows + 1;
    options.row_filters = backend->row_filters({});
    auto query = backend->prepare(backend->translate("SELECT * FROM ivoa.obscore", options));
    std::fprintf(stderr, "SQL: %s\n", query->translation().sql.c_str());
    std::vector<vo::votable::Field> fields;
    for (const auto& c : query->translation().columns)
        fields.push_back({c.name, c.datatype, c.arraysize, c.xtype, c.unit, c.ucd, c.utype, c.description});

    for (const auto& mode : formats) {
        const auto a = Clock::now();
        auto cursor = query->execute({});
        std::int64_t n = 0;
        std::uint64_t bytes = 0;
        if (mode == "step") {
            // Every column read, nothing formatted: the floor.
            std::uint64_t sum = 0;
            while (n < rows && cursor->next()) {
                for (std::size_t i = 0; i < cursor->columns(); ++i) {
                    const auto& c = cursor->cell(i);
                    switch (c.kind) {
                        case vo::obscore::Cell::Kind::integer: sum += static_cast<std::uint64_t>(c.integer); break;
                        case vo::obscore::Cell::Kind::real: sum += static_cast<std::uint64_t>(c.real != 0.0); break;
                        case vo::obscore::Cell::Kind::text:
                            bytes += c.text.size();
                            if (!c.text.empty()) sum += static_cast<unsigned char>(c.text.back());
                            break;
                        case vo::obscore::Cell::Kind::null: break;
                    }
                }
                ++n;
            }
            if (sum == 42) std::puts("");  // keeps the reads
        } else {
            const auto format = vo::votable::parse_format(mode);
            if (!format) {
                std::fprintf(stderr, "unknown format %s\n", mode.c_str());
                return 2;
            }
            auto writer = vo::votable::make_writer(*format, [&](std::string_view s) { bytes += s.size(); });
            writer->begin(fields, {{"QUERY", "SELECT * FROM ivoa.obscore"}});
            CursorSource source(*cursor);
            const auto r = vo::votable::stream_rows(source, *writer, rows);
            writer->end(r.overflow);
            n = r.rows;
        }
        report(mode.c_str(), n, bytes, a, Clock::now());
    }
    return 0;
}
