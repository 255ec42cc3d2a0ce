// SQL functions emitted by the SQLite dialect of adql/ (adql/translate_sqlite.cpp).
//
// Geometry values are DALI 1.1 text (section 3.3): "ra dec" is a point, "ra dec r"
// a circle, "ra1 dec1 ... raN decN" (N >= 3) a polygon, all in degrees ICRS;
// RANGE_S2D values are "range ra_min ra_max dec_min dec_max". They are evaluated
// exactly on the unit sphere with S2 by obscore/sky_geometry.hpp (which the
// PostgreSQL native functions share; the polygon interior rule is there).
//
// Constant geometry arguments are parsed once per statement (sqlite3_get_auxdata).
#include "obscore/sql_functions.hpp"
#include "obscore/geometry_text.hpp"
#include "obscore/sky_geometry.hpp"
#include "obscore/spatial_index.hpp"
#include "obscore/sql_scalar_functions.hpp"

#include <s2/s1angle.h>
#include <s2/s2cap.h>
#include <s2/s2latlng.h>
#include <s2/s2latlng_rect.h>
#include <s2/s2loop.h>
#include <s2/s2point_region.h>
#include <s2/s2polygon.h>
#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <limits>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace vo::obscore {
namespace {

using namespace sqlfn;
using sky::contains;
using sky::intersects;
using sky::make_polygon;
using sky::point_in;
using sky::Shape;
using sky::to_point;
constexpr double kSqDeg = (180.0 / kPi) * (180.0 / kPi);

// ------------------------------------------------------------ binary footprints

static_assert(std::endian::native == std::endian::little, "binary footprints are stored little-endian");
static_assert(sizeof(double) == 8 && std::numeric_limits<double>::is_iec559);

constexpr unsigned char kFootprintFormat = 1;
constexpr std::size_t kFootprintHeader = 1 + 8;  // format, hash of the text

/// FNV-1a, 64 bits: ties a binary footprint to the exact text it was made from.
std::uint64_t text_hash(std::string_view text) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::string encode_footprint(std::string_view text, const std::vector<S2Point>& pts) {
    std::string out(kFootprintHeader + 24 * pts.size(), '\0');
    out[0] = static_cast<char>(kFootprintFormat);
    const std::uint64_t h = text_hash(text);
    std::memcpy(out.data() + 1, &h, 8);
    char* at = out.data() + kFootprintHeader;
    for (const S2Point& p : pts) {
        const double xyz[3] = {p.x(), p.y(), p.z()};
        std::memcpy(at, xyz, 24);
        at += 24;
    }
    return out;
}

/// The polygon of a binary footprint made from exactly `text`; nullptr when
/// the blob is malformed or was made from another text (the caller then
/// parses the text).
std::unique_ptr<Shape> decode_footprint(const void* blob, std::size_t size, std::string_view text) {
    const auto* b = static_cast<const unsigned char*>(blob);
    if (!b || size < kFootprintHeader + 3 * 24 || (size - kFootprintHeader) % 24 != 0 || b[0] != kFootprintFormat)
        return nullptr;
    std::uint64_t h;
    std::memcpy(&h, b + 1, 8);
    if (h != text_hash(text)) return nullptr;
    const std::size_t n = (size - kFootprintHeader) / 24;
    std::vector<S2Point> pts(n);
    for (std::size_t i = 0; i < n; ++i) {
        double xyz[3];
        std::memcpy(xyz, b + kFootprintHeader + 24 * i, 24);
        if (!std::isfinite(xyz[0]) || !std::isfinite(xyz[1]) || !std::isfinite(xyz[2])) return nullptr;
        pts[i] = S2Point(xyz[0], xyz[1], xyz[2]);
        if (std::abs(pts[i].Norm2() - 1) > 1e-12) return nullptr;
    }
    // the loop of make_polygon, which validated it when the footprint was made
    auto loop = std::make_unique<S2Loop>(pts, S2Debug::DISABLE);
    loop->Normalize();
    auto g = std::make_unique<Shape>();
    g->type = Shape::Type::Polygon;
    g->polygon = std::make_unique<S2Polygon>(std::move(loop), S2Debug::DISABLE);
    return g;
}

/// The geometry of argument `i`, cached across rows when it is constant.
/// Returns nullptr when the argument is NULL (no error) or invalid (error set).
class GeomArg {
public:
    /// `footprint`: the binary footprint of the row whose s_region argument
    /// `i` is (the fp column of the footprint table), or nullptr; used when it
    /// was made from exactly this text, else the text is parsed.
    GeomArg(sqlite3_context* ctx, sqlite3_value** argv, int i, sqlite3_value* footprint = nullptr) : ctx_(ctx), i_(i) {
        if (is_null(argv[i])) return;
        if (auto* cached = static_cast<Shape*>(sqlite3_get_auxdata(ctx, i))) {
            g_ = cached;
            return;
        }
        const char* t = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
        std::string_view text(t ? t : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
        if (footprint && sqlite3_value_type(footprint) == SQLITE_BLOB) {
            from_footprint_ = decode_footprint(sqlite3_value_blob(footprint),
                                               static_cast<std::size_t>(sqlite3_value_bytes(footprint)), text);
            if (from_footprint_) {
                g_ = from_footprint_.get();
                return;
            }
        }
        owned_ = sky::parse(text, error_);
        g_ = owned_.get();
    }
    ~GeomArg() {
        if (owned_)  // hand over to SQLite at the very end (it may free it at once)
            sqlite3_set_auxdata(ctx_, i_, owned_.release(), [](void* p) { delete static_cast<Shape*>(p); });
    }
    GeomArg(const GeomArg&) = delete;
    GeomArg& operator=(const GeomArg&) = delete;
    const Shape* get() const { return g_; }
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }

private:
    sqlite3_context* ctx_;
    int i_;
    const Shape* g_ = nullptr;
    std::unique_ptr<Shape> owned_;
    std::unique_ptr<Shape> from_footprint_;  // a row's value: never cached
    std::string error_;
};

// ------------------------------------------------------------ SQL functions

using Fn = void (*)(sqlite3_context*, int, sqlite3_value**);

double dbl(sqlite3_value* v) { return sqlite3_value_double(v); }

// ---- geometry constructors

bool check_lat(sqlite3_context* ctx, double dec, const char* fn) {
    if (valid_latitude(dec)) return true;
    sqlite3_result_error(ctx, (std::string(fn) + ": latitude " + fmt(dec) + " is outside [-90, 90]").c_str(), -1);
    return false;
}
/// A longitude that S2 can take: finite (S2 aborts on NaN and infinities).
bool check_ra(sqlite3_context* ctx, double ra, const char* fn) {
    if (std::isfinite(ra)) return true;
    sqlite3_result_error(ctx, (std::string(fn) + ": right ascension " + fmt(ra) + " is not a finite number").c_str(),
                         -1);
    return false;
}
double norm_ra(double ra) {
    double r = std::fmod(ra, 360.0);
    return r < 0 ? r + 360.0 : r;
}
void f_point(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double dec = dbl(argv[1]);
    if (!check_lat(ctx, dec, "POINT") || !check_ra(ctx, dbl(argv[0]), "POINT")) return;
    result_text(ctx, fmt(norm_ra(dbl(argv[0]))) + " " + fmt(dec));
}
void f_circle(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double dec = dbl(argv[1]), r = dbl(argv[2]);
    if (!check_lat(ctx, dec, "CIRCLE") || !check_ra(ctx, dbl(argv[0]), "CIRCLE")) return;
    if (!(r >= 0)) return sqlite3_result_error(ctx, "CIRCLE: the radius must be >= 0", -1);
    result_text(ctx, fmt(norm_ra(dbl(argv[0]))) + " " + fmt(dec) + " " + fmt(r));
}
bool point_of(sqlite3_context* ctx, sqlite3_value** argv, int i, double& ra, double& dec, const char* fn) {
    GeomArg g(ctx, argv, i);
    if (g.failed()) {
        sqlite3_result_error(ctx, (std::string(fn) + ": " + g.error()).c_str(), -1);
        return false;
    }
    if (!g.get()) {
        sqlite3_result_null(ctx);
        return false;
    }
    if (g.get()->type != Shape::Type::Point) {
        sqlite3_result_error(ctx, (std::string(fn) + ": argument " + std::to_string(i + 1) + " is not a point").c_str(),
                             -1);
        return false;
    }
    ra = g.get()->values[0];
    dec = g.get()->values[1];
    return true;
}
void f_circle_p(sqlite3_context* ctx, int, sqlite3_value** argv) {
    double ra, dec;
    if (!point_of(ctx, argv, 0, ra, dec, "CIRCLE")) return;
    if (is_null(argv[1])) return sqlite3_result_null(ctx);
    double r = dbl(argv[1]);
    if (!(r >= 0)) return sqlite3_result_error(ctx, "CIRCLE: the radius must be >= 0", -1);
    result_text(ctx, fmt(ra) + " " + fmt(dec) + " " + fmt(r));
}
void polygon_from(sqlite3_context* ctx, const std::vector<double>& v, const char* fn) {
    std::string err;
    if (!make_polygon(v, err)) return sqlite3_result_error(ctx, (std::string(fn) + ": " + err).c_str(), -1);
    std::string s;
    for (std::size_t i = 0; i < v.size(); i += 2)
        s += (s.empty() ? "" : " ") + fmt(norm_ra(v[i])) + " " + fmt(v[i + 1]);
    result_text(ctx, s);
}
void f_polygon(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    std::vector<double> v;
    for (int i = 0; i < argc; ++i) v.push_back(dbl(argv[i]));
    polygon_from(ctx, v, "POLYGON");
}
void f_polygon_p(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    std::vector<double> v;
    for (int i = 0; i < argc; ++i) {
        double ra, dec;
        if (!point_of(ctx, argv, i, ra, dec, "POLYGON")) return;
        v.push_back(ra);
        v.push_back(dec);
    }
    polygon_from(ctx, v, "POLYGON");
}
/// ADQL 2.1 section 4.2.9: sides are great circles meeting the arms of the
/// centre cross at right angles at their end points.
void box_impl(sqlite3_context* ctx, double ra, double dec, double w, double h) {
    if (!check_lat(ctx, dec, "BOX") || !check_ra(ctx, ra, "BOX")) return;
    if (!(w >= 0 && h >= 0 && w < 180 && h < 180))
        return sqlite3_result_error(ctx, "BOX: width and height must be in [0, 180) degrees", -1);
    S2Point c = to_point(ra, dec);
    S2Point east = S2Point(-std::sin(ra * kDeg), std::cos(ra * kDeg), 0);
    S2Point north = c.CrossProd(east).Normalize();
    double a = w / 2 * kDeg, b = h / 2 * kDeg;
    std::vector<double> v;
    const int sx[] = {-1, 1, 1, -1}, sy[] = {-1, -1, 1, 1};
    for (int k = 0; k < 4; ++k) {
        S2Point ex = (std::cos(a) * c + sx[k] * std::sin(a) * east);
        S2Point ny = (std::cos(b) * c + sy[k] * std::sin(b) * north);
        S2Point n1 = ex.CrossProd(north), n2 = ny.CrossProd(east);
        S2Point corner = n1.CrossProd(n2).Normalize();
        if (corner.DotProd(c) < 0) corner = -corner;
        S2LatLng ll(corner);
        v.push_back(norm_ra(ll.lng().degrees()));
        v.push_back(ll.lat().degrees());
    }
    polygon_from(ctx, v, "BOX");
}
void f_box(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    box_impl(ctx, dbl(argv[0]), dbl(argv[1]), dbl(argv[2]), dbl(argv[3]));
}
void f_box_p(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    double ra, dec;
    if (!point_of(ctx, argv, 0, ra, dec, "BOX")) return;
    if (is_null(argv[1]) || is_null(argv[2])) return sqlite3_result_null(ctx);
    box_impl(ctx, ra, dec, dbl(argv[1]), dbl(argv[2]));
}
void f_range(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double d1 = dbl(argv[2]), d2 = dbl(argv[3]);
    if (!check_lat(ctx, d1, "RANGE_S2D") || !check_lat(ctx, d2, "RANGE_S2D") ||
        !check_ra(ctx, dbl(argv[0]), "RANGE_S2D") || !check_ra(ctx, dbl(argv[1]), "RANGE_S2D"))
        return;
    if (d1 > d2) return sqlite3_result_error(ctx, "RANGE_S2D: dec_min is larger than dec_max", -1);
    result_text(ctx, "range " + fmt(dbl(argv[0])) + " " + fmt(dbl(argv[1])) + " " + fmt(d1) + " " + fmt(d2));
}
void f_geometry(sqlite3_context* ctx, int, sqlite3_value** argv) {
    GeomArg g(ctx, argv, 0);
    if (g.failed()) return sqlite3_result_error(ctx, ("CAST: " + g.error()).c_str(), -1);
    if (!g.get()) return sqlite3_result_null(ctx);
    std::string want(reinterpret_cast<const char*>(sqlite3_value_text(argv[1])));
    const char* got = g.get()->type == Shape::Type::Point     ? "point"
                      : g.get()->type == Shape::Type::Circle  ? "circle"
                      : g.get()->type == Shape::Type::Polygon ? "polygon"
                                                              : "range";
    if (want != got)
        return sqlite3_result_error(ctx, ("CAST: the value is a " + std::string(got) + ", not a " + want).c_str(), -1);
    sqlite3_result_value(ctx, argv[0]);
}

// ---- geometry functions

/// Calls f with the geometries of arguments `first` and `first + 1` (n = 2)
/// or `first` alone (n = 1); NULL for a NULL argument, the error named by
/// argument number (1-based from `first`). `footprint`/`region`: the binary
/// footprint of argument `first + region` (adql_*_fp, see register_sql_functions),
/// a row's stored s_region: when that argument is not a valid geometry the
/// result is NULL (the row matches nothing), not an error.
template <typename F>
void with_geoms(sqlite3_context* ctx, sqlite3_value** argv, int n, const char* fn, F f, int first = 0,
                sqlite3_value* footprint = nullptr, int region = -1) {
    GeomArg a(ctx, argv, first, region == 0 ? footprint : nullptr);
    if (a.failed() && region == 0) return sqlite3_result_null(ctx);  // a row's invalid footprint: no match
    if (a.failed()) return sqlite3_result_error(ctx, (std::string(fn) + ": argument 1: " + a.error()).c_str(), -1);
    if (n == 1) {
        if (!a.get()) return sqlite3_result_null(ctx);
        return f(*a.get(), *a.get());
    }
    GeomArg b(ctx, argv, first + 1, region == 1 ? footprint : nullptr);
    if (b.failed() && region == 1) return sqlite3_result_null(ctx);
    if (b.failed()) return sqlite3_result_error(ctx, (std::string(fn) + ": argument 2: " + b.error()).c_str(), -1);
    if (!a.get() || !b.get()) return sqlite3_result_null(ctx);
    f(*a.get(), *b.get());
}
void f_contains(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 2, "CONTAINS",
               [&](const Shape& a, const Shape& b) { sqlite3_result_int(ctx, contains(a, b)); });
}
void f_intersects(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 2, "INTERSECTS",
               [&](const Shape& a, const Shape& b) { sqlite3_result_int(ctx, intersects(a, b)); });
}
/// adql_contains_fp(fp, a, b, k) / adql_intersects_fp(fp, a, b, k): CONTAINS(a,
/// b) / INTERSECTS(a, b) where argument k (0: a, 1: b) is the s_region of a
/// row and fp that row's binary footprint (NULL when it has none): the same
/// result and errors as adql_contains/adql_intersects, without parsing the
/// text when fp was made from it, except that an argument k that is not a
/// valid geometry gives NULL (no match), not an error.
int fp_region(sqlite3_value** argv) { return sqlite3_value_int(argv[3]) == 1 ? 1 : 0; }
void f_contains_fp(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(
        ctx, argv, 2, "CONTAINS", [&](const Shape& a, const Shape& b) { sqlite3_result_int(ctx, contains(a, b)); }, 1,
        argv[0], fp_region(argv));
}
void f_intersects_fp(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(
        ctx, argv, 2, "INTERSECTS", [&](const Shape& a, const Shape& b) { sqlite3_result_int(ctx, intersects(a, b)); },
        1, argv[0], fp_region(argv));
}
/// CONTAINS(POINT(ra, dec), geometry) with numeric coordinates.
void f_contains_point(sqlite3_context* ctx, int, sqlite3_value** argv) {
    if (is_null(argv[0]) || is_null(argv[1])) return sqlite3_result_null(ctx);
    double dec = dbl(argv[1]);
    if (!check_ra(ctx, dbl(argv[0]), "CONTAINS")) return;
    if (!valid_latitude(dec)) return sqlite3_result_int(ctx, 0);
    GeomArg g(ctx, argv, 2);
    if (g.failed()) return sqlite3_result_error(ctx, ("CONTAINS: " + g.error()).c_str(), -1);
    if (!g.get()) return sqlite3_result_null(ctx);
    sqlite3_result_int(ctx, point_in(to_point(dbl(argv[0]), dec), *g.get()));
}
/// CONTAINS(POINT(ra, dec), CIRCLE(cra, cdec, r)) with numeric arguments: the cone test.
void f_contains_point_circle(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double dec = dbl(argv[1]), cdec = dbl(argv[3]), r = dbl(argv[4]);
    if (!check_ra(ctx, dbl(argv[0]), "CONTAINS") || !check_ra(ctx, dbl(argv[2]), "CIRCLE")) return;
    sqlite3_result_int(ctx, sky::point_in_circle(dbl(argv[0]), dec, dbl(argv[2]), cdec, r));
}
void f_distance(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double d1 = dbl(argv[1]), d2 = dbl(argv[3]);
    if (!check_lat(ctx, d1, "DISTANCE") || !check_lat(ctx, d2, "DISTANCE") ||
        !check_ra(ctx, dbl(argv[0]), "DISTANCE") || !check_ra(ctx, dbl(argv[2]), "DISTANCE"))
        return;
    sqlite3_result_double(ctx, S1Angle(to_point(dbl(argv[0]), d1), to_point(dbl(argv[2]), d2)).degrees());
}
void f_distance_p(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 2, "DISTANCE", [&](const Shape& a, const Shape& b) {
        if (a.type != Shape::Type::Point || b.type != Shape::Type::Point)
            return sqlite3_result_error(ctx, "DISTANCE: both arguments must be points", -1);
        sqlite3_result_double(ctx, S1Angle(a.point, b.point).degrees());
    });
}
void f_area(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 1, "AREA", [&](const Shape& a, const Shape&) {
        double sr = 0;
        switch (a.type) {
            case Shape::Type::Point: sr = 0; break;
            case Shape::Type::Circle: sr = a.cap.GetArea(); break;
            case Shape::Type::Polygon: sr = a.polygon->GetArea(); break;
            case Shape::Type::Range: sr = a.rect.Area(); break;
        }
        sqlite3_result_double(ctx, sr * kSqDeg);
    });
}
void f_centroid(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 1, "CENTROID", [&](const Shape& a, const Shape&) {
        S2LatLng c;
        switch (a.type) {
            case Shape::Type::Point:
            case Shape::Type::Circle: c = S2LatLng(a.point); break;
            case Shape::Type::Polygon: c = S2LatLng(a.polygon->GetCentroid().Normalize()); break;
            case Shape::Type::Range: c = a.rect.GetCenter(); break;
        }
        result_text(ctx, fmt(norm_ra(c.lng().degrees())) + " " + fmt(c.lat().degrees()));
    });
}
void coord_impl(sqlite3_context* ctx, sqlite3_value** argv, int which) {
    with_geoms(ctx, argv, 1, which == 0 ? "COORD1" : "COORD2", [&](const Shape& a, const Shape&) {
        if (a.type != Shape::Type::Point)
            return sqlite3_result_error(ctx, "COORD1/COORD2: the argument is not a point", -1);
        sqlite3_result_double(ctx, a.values[which]);
    });
}
void f_coord1(sqlite3_context* ctx, int, sqlite3_value** argv) { coord_impl(ctx, argv, 0); }
void f_coord2(sqlite3_context* ctx, int, sqlite3_value** argv) { coord_impl(ctx, argv, 1); }

}  // namespace

std::unique_ptr<S2Region> geometry_region(std::string_view dali, std::string& error) {
    std::unique_ptr<Shape> g = sky::parse(dali, error);
    if (!g) return nullptr;
    switch (g->type) {
        case Shape::Type::Point: return std::make_unique<S2PointRegion>(g->point);
        case Shape::Type::Circle: return std::unique_ptr<S2Region>(g->cap.Clone());
        case Shape::Type::Polygon: return std::move(g->polygon);
        case Shape::Type::Range: return std::unique_ptr<S2Region>(g->rect.Clone());
    }
    return nullptr;
}

IndexedFootprint::IndexedFootprint() = default;
IndexedFootprint::IndexedFootprint(IndexedFootprint&&) noexcept = default;
IndexedFootprint& IndexedFootprint::operator=(IndexedFootprint&&) noexcept = default;
IndexedFootprint::~IndexedFootprint() = default;

std::optional<IndexedFootprint> index_footprint(std::string_view s_region, std::string& error) {
    auto parsed = parse_geometry_text(s_region, error);
    if (!parsed) return std::nullopt;
    IndexedFootprint out;
    if (parsed->kind == GeometryText::Kind::polygon) {
        std::vector<S2Point> pts;
        std::unique_ptr<S2Polygon> polygon = make_polygon(parsed->values, error, &pts);
        if (!polygon) return std::nullopt;
        out.blob = encode_footprint(s_region, pts);
        out.region = std::move(polygon);
        return out;
    }
    out.region = geometry_region(s_region, error);
    if (!out.region) return std::nullopt;
    return out;
}

int register_sql_functions(sqlite3* db) {
    struct Def {
        const char* name;
        int nargs;
        Fn fn;
        bool deterministic;
    };
    static const Def defs[] = {
        {"adql_point", 2, f_point, true},
        {"adql_circle", 3, f_circle, true},
        {"adql_circle_p", 2, f_circle_p, true},
        {"adql_box", 4, f_box, true},
        {"adql_box_p", 3, f_box_p, true},
        {"adql_polygon", -1, f_polygon, true},
        {"adql_polygon_p", -1, f_polygon_p, true},
        {"adql_range", 4, f_range, true},
        {"adql_geometry", 2, f_geometry, true},
        {"adql_contains", 2, f_contains, true},
        {"adql_intersects", 2, f_intersects, true},
        {"adql_contains_fp", 4, f_contains_fp, true},
        {"adql_intersects_fp", 4, f_intersects_fp, true},
        {"adql_contains_point", 3, f_contains_point, true},
        {"adql_contains_point_circle", 5, f_contains_point_circle, true},
        {"adql_distance", 4, f_distance, true},
        {"adql_distance_p", 2, f_distance_p, true},
        {"adql_area", 1, f_area, true},
        {"adql_centroid", 1, f_centroid, true},
        {"adql_coord1", 1, f_coord1, true},
        {"adql_coord2", 1, f_coord2, true},
    };
    for (const Def& d : defs) {
        int flags = SQLITE_UTF8 | (d.deterministic ? SQLITE_DETERMINISTIC : 0) | SQLITE_INNOCUOUS;
        int rc = sqlite3_create_function_v2(db, d.name, d.nargs, flags, nullptr, d.fn, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return rc;
    }
    if (int rc = sqlfn::register_scalar_functions(db); rc != SQLITE_OK) return rc;
    return register_spatial_index_module(db);
}

}  // namespace vo::obscore
