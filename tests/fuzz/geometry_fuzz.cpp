// libFuzzer target for the geometry text parser and the geometry SQL
// functions (obscore/sql_functions.hpp: geometry_region, the parser of DALI
// 1.1 / STC-S geometry text behind every adql_* geometry function, and
// register_sql_functions; obscore/spatial_index.hpp: the adql_s2_cover
// table-valued function). Every input must end in a region, a result, or the
// documented error (geometry_region: nullptr with an error text; SQL
// functions: a SQLite error), never a crash, a leak or a sanitizer report.
// Built and run by tests/fuzz/build_and_run.sh.
//
// This unit includes S2 headers, so (like the library units that do) it is
// built with UBSan but without ASan; see the Makefile.
//
// Input layout: byte 0 selects the mode; the rest is "A\nB" (B may be empty).
//   mode bit 0 = 0: A and B are geometry values (s_region text as stored,
//     "ra dec", "ra dec r", "ra1 dec1 ... raN decN", "range ...", "Polygon
//     ICRS ..."): geometry_region(A) and an S2 covering of it, then every
//     geometry function of the SQLite dialect on A and B (each in its own
//     statement, so one error does not hide the others), and adql_s2_cover;
//     when A is a polygon, its binary footprint (index_footprint) given to
//     adql_intersects_fp/adql_contains_fp must give the answers of the text
//     (a difference aborts).
//   mode bit 0 = 1: A is a list of numbers (strtod, non-numbers give 0),
//     bound as ?1..?8 (doubles) and ?9, ?10 (integers) to the constructors
//     (POINT, CIRCLE, BOX, POLYGON, RANGE_S2D), their compositions, and the
//     numeric ADQL functions (HEALPix, ROUND, TRUNCATE, MOD, CAST...).
#include <s2/s2cap.h>
#include <s2/s2cell_union.h>
#include <s2/s2latlng_rect.h>
#include <s2/s2region.h>
#include <s2/s2region_coverer.h>
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "obscore/sql_functions.hpp"

namespace {

// Text mode: ?1 = A, ?2 = B.
constexpr const char* kTextSql[] = {
    "SELECT adql_contains(?1, ?2)",
    "SELECT adql_contains(?2, ?1)",
    "SELECT adql_intersects(?1, ?2)",
    "SELECT adql_area(?1)",
    "SELECT adql_centroid(?1)",
    "SELECT adql_coord1(?1), adql_coord2(?1)",
    "SELECT adql_distance_p(?1, ?2)",
    "SELECT adql_geometry(?1, 'polygon')",
    "SELECT adql_geometry(?1, 'circle')",
    "SELECT adql_contains_point(10.5, -20.25, ?1)",
    "SELECT adql_circle_p(?1, 1.5)",
    "SELECT adql_box_p(?1, 2, 3)",
    "SELECT adql_polygon_p(?1, ?2, '0 0')",
    "SELECT adql_timestamp(?1)",
    "SELECT adql_like(?1, ?2), adql_ilike(?1, ?2), adql_hasword(?1, ?2)",
    "SELECT count(*), min(lo), max(hi) FROM adql_s2_cover(?1, 0)",
    "SELECT count(*), min(lo), max(hi) FROM adql_s2_cover(?1, 1)",
    // the same value twice in one statement: the per-statement parse cache
    "SELECT adql_intersects(?1, ?1), adql_contains(?1, ?1), adql_area(?1)",
};

// Numeric mode: ?1..?8 doubles, ?9 and ?10 integers.
constexpr const char* kNumberSql[] = {
    "SELECT adql_point(?1, ?2)",
    "SELECT adql_circle(?1, ?2, ?3)",
    "SELECT adql_box(?1, ?2, ?3, ?4)",
    "SELECT adql_range(?1, ?2, ?3, ?4)",
    "SELECT adql_polygon(?1, ?2, ?3, ?4, ?5, ?6)",
    "SELECT adql_polygon(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    "SELECT adql_area(adql_polygon(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8))",
    "SELECT adql_centroid(adql_box(?1, ?2, ?3, ?4))",
    "SELECT adql_contains(adql_point(?1, ?2), adql_box(?3, ?4, ?5, ?6))",
    "SELECT adql_intersects(adql_circle(?1, ?2, ?3), adql_polygon(?4, ?5, ?6, ?7, ?8, ?1))",
    "SELECT adql_intersects(adql_range(?1, ?2, ?3, ?4), adql_circle(?5, ?6, ?7))",
    "SELECT adql_contains(adql_range(?5, ?6, ?7, ?8), adql_polygon(?1, ?2, ?3, ?4, ?5, ?6))",
    "SELECT adql_contains_point_circle(?1, ?2, ?3, ?4, ?5)",
    "SELECT adql_distance(?1, ?2, ?3, ?4)",
    "SELECT adql_healpix_index(?9, ?1, ?2)",
    "SELECT adql_healpix_center(?9, ?10)",
    "SELECT adql_round(?1, ?9), adql_truncate(?1, ?9), adql_round(?1, ?2), adql_truncate(?2, ?1)",
    "SELECT adql_mod(?1, ?2), adql_mod(?9, ?10), adql_mod(?1, ?10)",
    "SELECT adql_cast_integer(?1), adql_cast_integer(?9)",
    "SELECT adql_power(?1, ?2), adql_atan2(?1, ?2), adql_log(?1), adql_sqrt(?1), adql_exp(?1)",
    "SELECT adql_cot(?1), adql_asin(?1), adql_acos(?1), adql_degrees(?1), adql_radians(?1)",
    "SELECT adql_interval_overlaps(?1, ?2, ?3, ?4)",
    "SELECT adql_rand(?9)",
    "SELECT count(*) FROM adql_s2_cover(adql_circle(?1, ?2, ?3), 1)",
    "SELECT count(*) FROM adql_s2_cover(adql_polygon(?1, ?2, ?3, ?4, ?5, ?6), 0)",
};

// ?1 = A, ?2 = B, ?3 = the binary footprint of A: each pair of columns equal
constexpr const char* kFootprintSql =
    "SELECT adql_intersects(?1, ?2), adql_intersects_fp(?3, ?1, ?2, 0), adql_contains(?1, ?2), "
    "adql_contains_fp(?3, ?1, ?2, 0), adql_contains(?2, ?1), adql_contains_fp(?3, ?2, ?1, 1)";

struct Db {
    sqlite3* db = nullptr;
    std::vector<sqlite3_stmt*> text, numbers, footprint;
    Db() {
        if (sqlite3_open(":memory:", &db) != SQLITE_OK || vo::obscore::register_sql_functions(db) != SQLITE_OK) {
            std::fprintf(stderr, "geometry_fuzz: cannot set up SQLite: %s\n", sqlite3_errmsg(db));
            std::abort();
        }
        prepare(kTextSql, text);
        prepare(kNumberSql, numbers);
        const char* const fp[] = {kFootprintSql};
        prepare(fp, footprint);
    }
    template <std::size_t N>
    void prepare(const char* const (&sqls)[N], std::vector<sqlite3_stmt*>& out) {
        for (const char* sql : sqls) {
            sqlite3_stmt* st = nullptr;
            if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) {
                std::fprintf(stderr, "geometry_fuzz: cannot prepare %s: %s\n", sql, sqlite3_errmsg(db));
                std::abort();
            }
            out.push_back(st);
        }
    }
};

/// Runs a prepared statement to its end; errors (bad geometry) are expected.
void run(sqlite3_stmt* st) {
    int rc;
    int rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); ++c) (void)sqlite3_column_text(st, c);
        if (++rows > 100000) break;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

void exercise_region(std::string_view text) {
    std::string error;
    std::unique_ptr<S2Region> region = vo::obscore::geometry_region(text, error);
    if (!region) {
        if (error.empty()) {
            std::fprintf(stderr, "geometry_fuzz: geometry_region failed without an error text\n");
            std::abort();
        }
        return;
    }
    (void)region->GetCapBound();
    (void)region->GetRectBound();
    (void)region->Contains(S2Point(1, 0, 0));
    S2RegionCoverer::Options o;
    o.set_max_cells(12);
    o.set_max_level(24);
    S2RegionCoverer coverer(o);
    (void)coverer.GetCovering(*region);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static Db db;
    const std::uint8_t mode = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::size_t nl = rest.find('\n');
    const std::string_view a = rest.substr(0, nl);
    const std::string_view b = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);

    if ((mode & 1) == 0) {
        exercise_region(a);
        std::string error;
        if (auto f = vo::obscore::index_footprint(a, error); f && !f->blob.empty()) {
            sqlite3_stmt* st = db.footprint[0];
            sqlite3_bind_text(st, 1, a.data(), static_cast<int>(a.size()), SQLITE_STATIC);
            sqlite3_bind_text(st, 2, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
            sqlite3_bind_blob(st, 3, f->blob.data(), static_cast<int>(f->blob.size()), SQLITE_STATIC);
            if (sqlite3_step(st) == SQLITE_ROW)
                for (int c = 0; c < 6; c += 2)
                    if (sqlite3_column_type(st, c) != sqlite3_column_type(st, c + 1) ||
                        sqlite3_column_int(st, c) != sqlite3_column_int(st, c + 1)) {
                        std::fprintf(stderr, "geometry_fuzz: binary footprint answers differ from the text's\n");
                        std::abort();
                    }
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        for (sqlite3_stmt* st : db.text) {
            const int n = sqlite3_bind_parameter_count(st);
            sqlite3_bind_text(st, 1, a.data(), static_cast<int>(a.size()), SQLITE_STATIC);
            if (n >= 2) sqlite3_bind_text(st, 2, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
            run(st);
        }
        return 0;
    }

    // Numeric mode: whitespace-separated tokens of A.
    const std::string numbers(a);
    std::vector<std::string> tokens;
    std::size_t i = 0;
    while (i < numbers.size() && tokens.size() < 10) {
        while (i < numbers.size() && (numbers[i] == ' ' || numbers[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < numbers.size() && numbers[i] != ' ' && numbers[i] != '\t') ++i;
        if (i > start) tokens.emplace_back(numbers.substr(start, i - start));
    }
    double d[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long long k[2] = {0, 0};
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        if (t < 8)
            d[t] = std::strtod(tokens[t].c_str(), nullptr);
        else
            k[t - 8] = std::strtoll(tokens[t].c_str(), nullptr, 10);
    }
    for (sqlite3_stmt* st : db.numbers) {
        const int n = sqlite3_bind_parameter_count(st);
        for (int p = 1; p <= n; ++p) {
            const char* name = sqlite3_bind_parameter_name(st, p);  // "?N"
            const int idx = name ? std::atoi(name + 1) : p;
            if (idx >= 1 && idx <= 8)
                sqlite3_bind_double(st, p, d[idx - 1]);
            else if (idx == 9 || idx == 10)
                sqlite3_bind_int64(st, p, k[idx - 9]);
        }
        run(st);
    }
    return 0;
}
