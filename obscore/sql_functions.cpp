// SQL functions emitted by the SQLite dialect of adql/ (adql/translate_sqlite.cpp).
//
// Geometry values are DALI 1.1 text (section 3.3): "ra dec" is a point, "ra dec r"
// a circle, "ra1 dec1 ... raN decN" (N >= 3) a polygon, all in degrees ICRS;
// RANGE_S2D values are "range ra_min ra_max dec_min dec_max". They are evaluated
// exactly on the unit sphere with S2. Polygon interior: DALI 1.1 section 3.3.7
// asks for counter-clockwise vertices, but real archives and clients send both
// orders, so the interior is taken as the smaller of the two regions the
// boundary defines (S2Loop::Normalize), which is the same for every polygon
// smaller than a hemisphere, whatever its order, including polygons that
// contain a pole or cross RA=0.
//
// Constant geometry arguments are parsed once per statement (sqlite3_get_auxdata).
#include "obscore/sql_functions.hpp"
#include "obscore/spatial_index.hpp"

#include <s2/s1angle.h>
#include <s2/s2cap.h>
#include <s2/s2latlng.h>
#include <s2/s2latlng_rect.h>
#include <s2/s2loop.h>
#include <s2/s2point_region.h>
#include <s2/s2polygon.h>
#include <sqlite3.h>

#include <algorithm>
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

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = kPi / 180.0;
constexpr double kSqDeg = (180.0 / kPi) * (180.0 / kPi);

// ------------------------------------------------------------ helpers

bool is_null(sqlite3_value* v) { return sqlite3_value_type(v) == SQLITE_NULL; }

bool any_null(int argc, sqlite3_value** argv) {
    for (int i = 0; i < argc; ++i)
        if (is_null(argv[i])) return true;
    return false;
}

std::string fmt(double x) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, r.ptr);
}

void result_text(sqlite3_context* ctx, const std::string& s) {
    sqlite3_result_text(ctx, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

// ------------------------------------------------------------ geometry

struct Geom {
    enum class Type { Point, Circle, Polygon, Range };
    Type type = Type::Point;
    std::vector<double> values;  // as given (degrees)
    S2Point point;               // Point, Circle centre
    S2Cap cap;
    std::unique_ptr<S2Polygon> polygon;
    S2LatLngRect rect;
};

S2Point to_point(double ra, double dec) { return S2LatLng::FromDegrees(dec, ra).Normalized().ToPoint(); }

bool valid_latitude(double dec) { return std::isfinite(dec) && dec >= -90.0 && dec <= 90.0; }

/// Builds a polygon from vertices in degrees; error text on failure.
std::unique_ptr<S2Polygon> make_polygon(const std::vector<double>& v, std::string& error) {
    std::vector<S2Point> pts;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) {
        if (!valid_latitude(v[i + 1]) || !std::isfinite(v[i])) {
            error = std::isfinite(v[i]) ? "polygon vertex latitude out of [-90, 90]"
                                        : "polygon vertex right ascension is not a finite number";
            return nullptr;
        }
        S2Point p = to_point(v[i], v[i + 1]);
        if (!pts.empty() && S1Angle(pts.back(), p).radians() < 1e-15) continue;
        pts.push_back(p);
    }
    if (pts.size() > 3 && S1Angle(pts.front(), pts.back()).radians() < 1e-15) pts.pop_back();
    if (pts.size() < 3) {
        error = "a polygon needs at least three distinct vertices";
        return nullptr;
    }
    auto loop = std::make_unique<S2Loop>(pts, S2Debug::DISABLE);
    S2Error err;
    if (loop->FindValidationError(&err)) {
        error = "invalid polygon (" + err.text() + ")";
        return nullptr;
    }
    loop->Normalize();  // the smaller of the two regions
    return std::make_unique<S2Polygon>(std::move(loop), S2Debug::DISABLE);
}

/// Parses a geometry value; nullptr and `error` set on failure.
std::unique_ptr<Geom> parse_geom(std::string_view text, std::string& error) {
    auto g = std::make_unique<Geom>();
    std::size_t i = 0;
    auto skip = [&] { while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
    skip();
    // An STC-S region as ObsCore's adql:REGION columns hold it (s_region:
    // "Polygon ICRS ra1 dec1 ..."; also "Circle ICRS ra dec r", "Position ICRS
    // ra dec"): skip the shape word and the frame; the numbers decide the type.
    if (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])) && text.substr(i, 5) != "range") {
        for (int word = 0; word < 2 && i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])); ++word) {
            while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
            skip();
        }
    }
    bool range = false;
    if (text.substr(i, 5) == "range") {
        range = true;
        i += 5;
    }
    while (true) {
        skip();
        if (i >= text.size()) break;
        double x;
        auto r = std::from_chars(text.data() + i, text.data() + text.size(), x);
        if (r.ec != std::errc()) {
            error = "invalid geometry value '" + std::string(text.substr(0, 60)) + "'";
            return nullptr;
        }
        g->values.push_back(x);
        i = static_cast<std::size_t>(r.ptr - text.data());
    }
    const auto& v = g->values;
    // S2 aborts the process on a non-finite point (found by the geometry fuzzer)
    for (double x : v)
        if (!std::isfinite(x)) {
            error = "coordinates must be finite numbers (found " + fmt(x) + ")";
            return nullptr;
        }
    if (range) {
        if (v.size() != 4 || !valid_latitude(v[2]) || !valid_latitude(v[3]) || v[2] > v[3]) {
            error = "invalid coordinate range";
            return nullptr;
        }
        g->type = Geom::Type::Range;
        double lo = std::remainder(v[0] * kDeg, 2 * kPi), hi = std::remainder(v[1] * kDeg, 2 * kPi);
        S1Interval lng = (v[1] - v[0] >= 360.0) ? S1Interval::Full() : S1Interval(lo, hi);
        g->rect = S2LatLngRect(R1Interval(v[2] * kDeg, v[3] * kDeg), lng);
        return g;
    }
    if (v.size() == 2) {
        if (!valid_latitude(v[1])) { error = "point latitude out of [-90, 90]"; return nullptr; }
        g->type = Geom::Type::Point;
        g->point = to_point(v[0], v[1]);
        return g;
    }
    if (v.size() == 3) {
        if (!valid_latitude(v[1]) || !(v[2] >= 0)) { error = "invalid circle"; return nullptr; }
        g->type = Geom::Type::Circle;
        g->point = to_point(v[0], v[1]);
        g->cap = S2Cap(g->point, S1Angle::Degrees(std::min(v[2], 180.0)));
        return g;
    }
    if (v.size() >= 6 && v.size() % 2 == 0) {
        g->type = Geom::Type::Polygon;
        g->polygon = make_polygon(v, error);
        if (!g->polygon) return nullptr;
        return g;
    }
    error = "invalid geometry value '" + std::string(text.substr(0, 60)) + "' (expected 2, 3 or an even number >= 6 of numbers)";
    return nullptr;
}

/// The geometry of argument `i`, cached across rows when it is constant.
/// Returns nullptr when the argument is NULL (no error) or invalid (error set).
class GeomArg {
public:
    GeomArg(sqlite3_context* ctx, sqlite3_value** argv, int i) : ctx_(ctx), i_(i) {
        if (is_null(argv[i])) return;
        if (auto* cached = static_cast<Geom*>(sqlite3_get_auxdata(ctx, i))) {
            g_ = cached;
            return;
        }
        const char* t = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
        std::string_view text(t ? t : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
        owned_ = parse_geom(text, error_);
        g_ = owned_.get();
    }
    ~GeomArg() {
        if (owned_)  // hand over to SQLite at the very end (it may free it at once)
            sqlite3_set_auxdata(ctx_, i_, owned_.release(), [](void* p) { delete static_cast<Geom*>(p); });
    }
    GeomArg(const GeomArg&) = delete;
    GeomArg& operator=(const GeomArg&) = delete;
    const Geom* get() const { return g_; }
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }

private:
    sqlite3_context* ctx_;
    int i_;
    const Geom* g_ = nullptr;
    std::unique_ptr<Geom> owned_;
    std::string error_;
};

// Fallback polygon approximations for rare combinations (range vs polygon
// containment): a circle as a 256-gon, a range with 0.25 degree steps.
std::unique_ptr<S2Polygon> approx_polygon(const Geom& g) {
    std::vector<S2Point> pts;
    if (g.type == Geom::Type::Circle) {
        // A regular loop of 256 vertices; a radius of 0 or 180 degrees would
        // make it degenerate, which the Debian libs2 aborts on (S2 check
        // IsValid(); found by geometry_fuzz): 180 and more is the whole sky,
        // and the radius is kept within [1e-5, 179.99] degrees.
        const double r = g.cap.radius().ToAngle().degrees();
        if (r >= 180.0) return std::make_unique<S2Polygon>(std::make_unique<S2Loop>(S2Loop::kFull()));
        auto loop = S2Loop::MakeRegularLoop(g.point, S1Angle::Degrees(std::clamp(r, 1e-5, 179.99)), 256);
        return std::make_unique<S2Polygon>(std::move(loop));
    }
    if (g.type == Geom::Type::Range) {
        const auto& r = g.rect;
        double lo = r.lng_lo().degrees(), width = r.lng().GetLength() / kDeg;
        double la = r.lat_lo().degrees(), lb = r.lat_hi().degrees();
        int n = std::max(2, static_cast<int>(width / 0.25));
        for (int k = 0; k <= n; ++k) pts.push_back(to_point(lo + width * k / n, la));
        for (int k = n; k >= 0; --k) pts.push_back(to_point(lo + width * k / n, lb));
        auto loop = std::make_unique<S2Loop>(pts, S2Debug::DISABLE);
        loop->Normalize();
        return std::make_unique<S2Polygon>(std::move(loop), S2Debug::DISABLE);
    }
    return nullptr;
}

std::unique_ptr<S2Polygon> approx_polygon_or_self(const Geom& g);

bool point_in(const S2Point& p, const Geom& b) {
    switch (b.type) {
        case Geom::Type::Point: return S1Angle(p, b.point).radians() < 1e-13;
        case Geom::Type::Circle: return b.cap.Contains(p);
        case Geom::Type::Polygon: return b.polygon->Contains(p);
        case Geom::Type::Range: return b.rect.Contains(S2LatLng(p));
    }
    return false;
}

/// ADQL 2.1 section 4.2.12: a is wholly inside b.
bool contains(const Geom& a, const Geom& b) {
    if (a.type == Geom::Type::Point) return point_in(a.point, b);
    if (b.type == Geom::Type::Point) return false;
    switch (b.type) {
        case Geom::Type::Circle:
            if (a.type == Geom::Type::Circle) return b.cap.Contains(a.cap);
            if (a.type == Geom::Type::Polygon) {
                // great-circle edges between points of a cap of radius <= 90 deg stay inside it
                if (b.cap.radius().ToAngle().degrees() <= 90.0) {
                    const S2Loop* l = a.polygon->loop(0);
                    for (int k = 0; k < l->num_vertices(); ++k)
                        if (!b.cap.Contains(l->vertex(k))) return false;
                    return true;
                }
            }
            return approx_polygon(b)->Contains(*approx_polygon_or_self(a));
        case Geom::Type::Polygon:
            if (a.type == Geom::Type::Circle)
                return b.polygon->Contains(a.point) &&
                       b.polygon->GetDistanceToBoundary(a.point) >= a.cap.radius().ToAngle();
            if (a.type == Geom::Type::Polygon) return b.polygon->Contains(*a.polygon);
            return b.polygon->Contains(*approx_polygon(a));
        case Geom::Type::Range:
            if (a.type == Geom::Type::Circle) return b.rect.Contains(a.cap.GetRectBound());
            if (a.type == Geom::Type::Polygon) return b.rect.Contains(a.polygon->GetRectBound());
            return b.rect.Contains(a.rect);
        default: return false;
    }
}


bool range_intersects_polygon(const S2LatLngRect& r, const S2Polygon& p) {
    const S2Loop* l = p.loop(0);
    int n = l->num_vertices();
    for (int k = 0; k < n; ++k)
        if (r.Contains(S2LatLng(l->vertex(k)))) return true;
    for (int k = 0; k < 4; ++k)
        if (p.Contains(r.GetVertex(k).ToPoint())) return true;
    for (int k = 0; k < n; ++k)
        if (r.BoundaryIntersects(l->vertex(k), l->vertex((k + 1) % n))) return true;
    return false;
}

/// ADQL 2.1 section 4.2.17.
bool intersects(const Geom& a, const Geom& b) {
    if (a.type == Geom::Type::Point) return point_in(a.point, b);
    if (b.type == Geom::Type::Point) return point_in(b.point, a);
    const Geom* x = &a;
    const Geom* y = &b;
    if (static_cast<int>(x->type) > static_cast<int>(y->type)) std::swap(x, y);
    // now x->type <= y->type in Circle < Polygon < Range
    if (x->type == Geom::Type::Circle) {
        S1Angle r = x->cap.radius().ToAngle();
        if (y->type == Geom::Type::Circle) return S1Angle(x->point, y->point) <= r + y->cap.radius().ToAngle();
        if (y->type == Geom::Type::Polygon) return y->polygon->GetDistance(x->point) <= r;
        return y->rect.GetDistance(S2LatLng(x->point)) <= r;
    }
    if (x->type == Geom::Type::Polygon) {
        if (y->type == Geom::Type::Polygon) return x->polygon->Intersects(*y->polygon);
        return range_intersects_polygon(y->rect, *x->polygon);
    }
    return x->rect.Intersects(y->rect);
}

std::unique_ptr<S2Polygon> approx_polygon_or_self(const Geom& g) {
    if (g.type == Geom::Type::Polygon) return std::make_unique<S2Polygon>(std::unique_ptr<S2Loop>(g.polygon->loop(0)->Clone()));
    return approx_polygon(g);
}

// ------------------------------------------------------------ SQL functions

using Fn = void (*)(sqlite3_context*, int, sqlite3_value**);

double dbl(sqlite3_value* v) { return sqlite3_value_double(v); }

void math1(sqlite3_context* ctx, sqlite3_value** argv, double (*f)(double), bool positive = false,
           bool unit_range = false, bool nonneg = false) {
    if (is_null(argv[0])) return sqlite3_result_null(ctx);
    double x = dbl(argv[0]);
    if ((positive && !(x > 0)) || (unit_range && !(x >= -1 && x <= 1)) || (nonneg && !(x >= 0)))
        return sqlite3_result_null(ctx);  // outside the domain: NULL, as for SQLite's own math functions
    double r = f(x);
    if (!std::isfinite(r)) return sqlite3_result_null(ctx);
    sqlite3_result_double(ctx, r);
}

#define MATH1(NAME, EXPR, ...)                                                   \
    void NAME(sqlite3_context* ctx, int, sqlite3_value** argv) {                 \
        math1(ctx, argv, [](double x) { return EXPR; } __VA_OPT__(, ) __VA_ARGS__); \
    }
MATH1(f_log, std::log(x), true)
MATH1(f_log10, std::log10(x), true)
MATH1(f_exp, std::exp(x))
MATH1(f_sqrt, std::sqrt(x), false, false, true)
MATH1(f_ceiling, std::ceil(x))
MATH1(f_floor, std::floor(x))
MATH1(f_degrees, x * 180.0 / kPi)
MATH1(f_radians, x * kPi / 180.0)
MATH1(f_sin, std::sin(x))
MATH1(f_cos, std::cos(x))
MATH1(f_tan, std::tan(x))
MATH1(f_cot, 1.0 / std::tan(x))
MATH1(f_asin, std::asin(x), false, true)
MATH1(f_acos, std::acos(x), false, true)
MATH1(f_atan, std::atan(x))

void f_atan2(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    sqlite3_result_double(ctx, std::atan2(dbl(argv[0]), dbl(argv[1])));
}
void f_power(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double r = std::pow(dbl(argv[0]), dbl(argv[1]));
    if (!std::isfinite(r)) return sqlite3_result_null(ctx);
    sqlite3_result_double(ctx, r);
}
/// ADQL 2.1 section 2.3: r has the sign of x, |r| < |y|, x = f*y + r.
void f_mod(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    if (sqlite3_value_numeric_type(argv[0]) == SQLITE_INTEGER && sqlite3_value_numeric_type(argv[1]) == SQLITE_INTEGER) {
        sqlite3_int64 x = sqlite3_value_int64(argv[0]), y = sqlite3_value_int64(argv[1]);
        if (y == 0) return sqlite3_result_null(ctx);
        if (y == -1) return sqlite3_result_int64(ctx, 0);
        return sqlite3_result_int64(ctx, x % y);
    }
    double y = dbl(argv[1]);
    if (y == 0) return sqlite3_result_null(ctx);
    sqlite3_result_double(ctx, std::fmod(dbl(argv[0]), y));
}
/// ROUND(x, n): half away from zero; negative n rounds left of the point.
void f_round(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double x = dbl(argv[0]);
    sqlite3_int64 n = argc > 1 ? sqlite3_value_int64(argv[1]) : 0;
    if (n > 300 || n < -300) return sqlite3_result_double(ctx, n > 0 ? x : 0.0);
    double r;
    if (n >= 0) {
        double s = std::pow(10.0, static_cast<double>(n));
        double y = x * s;
        r = std::isfinite(y) ? std::round(y) / s : x;
    } else {
        double s = std::pow(10.0, static_cast<double>(-n));
        r = std::round(x / s) * s;
    }
    sqlite3_result_double(ctx, r);
}
void f_truncate(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double x = dbl(argv[0]);
    sqlite3_int64 n = argc > 1 ? sqlite3_value_int64(argv[1]) : 0;
    if (n > 300 || n < -300) return sqlite3_result_double(ctx, n > 0 ? x : 0.0);
    double s = std::pow(10.0, static_cast<double>(n));
    double y = std::trunc(x * s) / s;
    sqlite3_result_double(ctx, std::isfinite(y) ? y : x);
}
void f_cast_integer(sqlite3_context* ctx, int, sqlite3_value** argv) {
    if (is_null(argv[0])) return sqlite3_result_null(ctx);
    int t = sqlite3_value_numeric_type(argv[0]);
    if (t == SQLITE_INTEGER) return sqlite3_result_int64(ctx, sqlite3_value_int64(argv[0]));
    if (t != SQLITE_FLOAT) return sqlite3_result_error(ctx, "CAST: the value is not a number", -1);
    double x = std::round(dbl(argv[0]));
    if (!(x >= -9.2233720368547758e18 && x < 9.2233720368547758e18))
        return sqlite3_result_error(ctx, "CAST: the value is too large for an integer", -1);
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(x));
}
void f_timestamp(sqlite3_context* ctx, int, sqlite3_value** argv) {
    if (is_null(argv[0])) return sqlite3_result_null(ctx);
    std::string s(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])));
    // DALI 1.1 section 3.3.3: YYYY-MM-DD['T'hh:mm:ss[.SSS]['Z']]
    bool ok = s.size() >= 10 && std::isdigit(static_cast<unsigned char>(s[0])) && s[4] == '-' && s[7] == '-';
    if (ok && s.size() > 10) ok = (s[10] == 'T' || s[10] == ' ') && s.size() >= 19 && s[13] == ':' && s[16] == ':';
    if (!ok) return sqlite3_result_error(ctx, ("CAST AS TIMESTAMP: '" + s + "' is not a DALI timestamp").c_str(), -1);
    if (s.size() > 10) s[10] = 'T';
    if (!s.empty() && s.back() == 'Z') s.pop_back();
    result_text(ctx, s);
}
void f_rand(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (argc == 1 && !is_null(argv[0])) {
        // RAND(seed): a reproducible sequence per statement
        auto* gen = static_cast<std::mt19937_64*>(sqlite3_get_auxdata(ctx, 0));
        std::unique_ptr<std::mt19937_64> fresh;
        if (!gen) {
            fresh = std::make_unique<std::mt19937_64>(static_cast<std::uint64_t>(sqlite3_value_int64(argv[0])));
            gen = fresh.get();
        }
        double r = std::uniform_real_distribution<double>(0.0, 1.0)(*gen);
        sqlite3_result_double(ctx, r);
        if (fresh) sqlite3_set_auxdata(ctx, 0, fresh.release(), [](void* p) { delete static_cast<std::mt19937_64*>(p); });
        return;
    }
    thread_local std::mt19937_64 gen{std::random_device{}()};
    sqlite3_result_double(ctx, std::uniform_real_distribution<double>(0.0, 1.0)(gen));
}

// LIKE with % and _ (one UTF-8 character), no escape character.
bool like_match(const unsigned char* s, const unsigned char* p, bool nocase) {
    auto next_char = [](const unsigned char*& q) {
        ++q;
        while ((*q & 0xC0) == 0x80) ++q;
    };
    auto eq = [nocase](unsigned char a, unsigned char b) {
        return nocase ? std::tolower(a) == std::tolower(b) : a == b;
    };
    const unsigned char* star_p = nullptr;
    const unsigned char* star_s = nullptr;
    while (*s) {
        if (*p == '%') {
            while (*p == '%') ++p;
            if (!*p) return true;
            star_p = p;
            star_s = s;
        } else if (*p == '_') {
            next_char(s);
            ++p;
        } else if (*p && eq(*p, *s)) {
            ++p;
            ++s;
        } else if (star_p) {
            p = star_p;
            next_char(star_s);
            s = star_s;
        } else {
            return false;
        }
    }
    while (*p == '%') ++p;
    return !*p;
}
void like_impl(sqlite3_context* ctx, sqlite3_value** argv, bool nocase) {
    if (is_null(argv[0]) || is_null(argv[1])) return sqlite3_result_null(ctx);
    sqlite3_result_int(ctx, like_match(sqlite3_value_text(argv[0]), sqlite3_value_text(argv[1]), nocase));
}
void f_like(sqlite3_context* ctx, int, sqlite3_value** argv) { like_impl(ctx, argv, false); }
void f_ilike(sqlite3_context* ctx, int, sqlite3_value** argv) { like_impl(ctx, argv, true); }

/// ivo_hasword: `needle` occurs in `haystack` as a whole word, case-insensitively.
void f_hasword(sqlite3_context* ctx, int, sqlite3_value** argv) {
    if (is_null(argv[0]) || is_null(argv[1])) return sqlite3_result_null(ctx);
    auto low = [](const unsigned char* t) {
        std::string s(reinterpret_cast<const char*>(t));
        for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    std::string h = low(sqlite3_value_text(argv[0])), n = low(sqlite3_value_text(argv[1]));
    if (n.empty()) return sqlite3_result_int(ctx, 0);
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (std::size_t at = h.find(n); at != std::string::npos; at = h.find(n, at + 1)) {
        bool left = at == 0 || !word(h[at - 1]);
        bool right = at + n.size() == h.size() || !word(h[at + n.size()]);
        if (left && right) return sqlite3_result_int(ctx, 1);
    }
    sqlite3_result_int(ctx, 0);
}
void f_interval_overlaps(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double l1 = dbl(argv[0]), h1 = dbl(argv[1]), l2 = dbl(argv[2]), h2 = dbl(argv[3]);
    sqlite3_result_int(ctx, h1 >= l2 && h2 >= l1 ? 1 : 0);
}

// HEALPix NESTED scheme (Gorski et al. 2005), order 0..29.
std::int64_t spread_bits(std::int64_t v) {
    std::int64_t r = 0;
    for (int b = 0; b < 30; ++b) r |= ((v >> b) & 1) << (2 * b);
    return r;
}
std::int64_t compress_bits(std::int64_t v) {
    std::int64_t r = 0;
    for (int b = 0; b < 30; ++b) r |= ((v >> (2 * b)) & 1) << b;
    return r;
}
std::int64_t ang2pix_nest(int order, double ra_deg, double dec_deg) {
    std::int64_t nside = std::int64_t{1} << order;
    double z = std::sin(dec_deg * kDeg), za = std::fabs(z);
    double phi = std::fmod(ra_deg * kDeg, 2 * kPi);
    if (phi < 0) phi += 2 * kPi;
    double tt = phi / (kPi / 2);  // [0,4)
    if (tt >= 4) tt = 0;
    std::int64_t face, ix, iy;
    if (za <= 2.0 / 3.0) {
        double t1 = nside * (0.5 + tt), t2 = nside * z * 0.75;
        std::int64_t jp = static_cast<std::int64_t>(t1 - t2), jm = static_cast<std::int64_t>(t1 + t2);
        std::int64_t ifp = jp / nside, ifm = jm / nside;
        face = ifp == ifm ? (ifp | 4) : (ifp < ifm ? ifp : ifm + 8);
        ix = jm & (nside - 1);
        iy = nside - (jp & (nside - 1)) - 1;
    } else {
        int ntt = std::min(3, static_cast<int>(tt));
        double tp = tt - ntt;
        double tmp = nside * std::sqrt(3 * (1 - za));
        std::int64_t jp = std::min<std::int64_t>(static_cast<std::int64_t>(tp * tmp), nside - 1);
        std::int64_t jm = std::min<std::int64_t>(static_cast<std::int64_t>((1 - tp) * tmp), nside - 1);
        if (z >= 0) {
            face = ntt;
            ix = nside - jm - 1;
            iy = nside - jp - 1;
        } else {
            face = ntt + 8;
            ix = jp;
            iy = jm;
        }
    }
    return face * nside * nside + spread_bits(ix) + 2 * spread_bits(iy);
}
void pix2ang_nest(int order, std::int64_t pix, double& ra_deg, double& dec_deg) {
    static const int jrll[] = {2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4};
    static const int jpll[] = {1, 3, 5, 7, 0, 2, 4, 6, 1, 3, 5, 7};
    std::int64_t nside = std::int64_t{1} << order, npface = nside * nside;
    int face = static_cast<int>(pix / npface);
    std::int64_t ipf = pix % npface;
    std::int64_t ix = compress_bits(ipf), iy = compress_bits(ipf >> 1);
    std::int64_t jr = jrll[face] * nside - ix - iy - 1;
    std::int64_t nr;
    double z;
    int kshift;
    if (jr < nside) {
        nr = jr;
        z = 1 - static_cast<double>(nr * nr) / (3.0 * nside * nside);
        kshift = 0;
    } else if (jr > 3 * nside) {
        nr = 4 * nside - jr;
        z = static_cast<double>(nr * nr) / (3.0 * nside * nside) - 1;
        kshift = 0;
    } else {
        nr = nside;
        z = (2.0 * nside - jr) * 2.0 / (3.0 * nside);
        kshift = static_cast<int>((jr - nside) & 1);
    }
    std::int64_t jp = (jpll[face] * nr + ix - iy + 1 + kshift) / 2;
    if (jp > 4 * nside) jp -= 4 * nside;
    if (jp < 1) jp += 4 * nside;
    double phi = (jp - (kshift + 1) * 0.5) * (kPi / 2 / nr);
    ra_deg = phi / kDeg;
    dec_deg = std::asin(std::clamp(z, -1.0, 1.0)) / kDeg;
}
void f_healpix_index(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    sqlite3_int64 order = sqlite3_value_int64(argv[0]);
    double dec = dbl(argv[2]);
    if (order < 0 || order > 29) return sqlite3_result_error(ctx, "ivo_healpix_index: order must be in 0..29", -1);
    if (!valid_latitude(dec)) return sqlite3_result_error(ctx, "ivo_healpix_index: dec out of [-90, 90]", -1);
    if (!std::isfinite(dbl(argv[1])))
        return sqlite3_result_error(ctx, "ivo_healpix_index: ra is not a finite number", -1);
    sqlite3_result_int64(ctx, ang2pix_nest(static_cast<int>(order), dbl(argv[1]), dec));
}
void f_healpix_center(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    sqlite3_int64 order = sqlite3_value_int64(argv[0]), pix = sqlite3_value_int64(argv[1]);
    if (order < 0 || order > 29) return sqlite3_result_error(ctx, "ivo_healpix_center: order must be in 0..29", -1);
    if (pix < 0 || pix >= 12 * (sqlite3_int64{1} << (2 * order)))
        return sqlite3_result_error(ctx, "ivo_healpix_center: index out of range for this order", -1);
    double ra, dec;
    pix2ang_nest(static_cast<int>(order), pix, ra, dec);
    result_text(ctx, fmt(ra) + " " + fmt(dec));
}

// ---- geometry constructors

bool check_lat(sqlite3_context* ctx, double dec, const char* fn) {
    if (valid_latitude(dec)) return true;
    sqlite3_result_error(ctx, (std::string(fn) + ": latitude " + fmt(dec) + " is outside [-90, 90]").c_str(), -1);
    return false;
}
/// A longitude that S2 can take: finite (S2 aborts on NaN and infinities).
bool check_ra(sqlite3_context* ctx, double ra, const char* fn) {
    if (std::isfinite(ra)) return true;
    sqlite3_result_error(ctx, (std::string(fn) + ": right ascension " + fmt(ra) + " is not a finite number").c_str(), -1);
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
    if (g.get()->type != Geom::Type::Point) {
        sqlite3_result_error(ctx, (std::string(fn) + ": argument " + std::to_string(i + 1) + " is not a point").c_str(), -1);
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
    if (!check_lat(ctx, d1, "RANGE_S2D") || !check_lat(ctx, d2, "RANGE_S2D") || !check_ra(ctx, dbl(argv[0]), "RANGE_S2D") ||
        !check_ra(ctx, dbl(argv[1]), "RANGE_S2D"))
        return;
    if (d1 > d2) return sqlite3_result_error(ctx, "RANGE_S2D: dec_min is larger than dec_max", -1);
    result_text(ctx, "range " + fmt(dbl(argv[0])) + " " + fmt(dbl(argv[1])) + " " + fmt(d1) + " " + fmt(d2));
}
void f_geometry(sqlite3_context* ctx, int, sqlite3_value** argv) {
    GeomArg g(ctx, argv, 0);
    if (g.failed()) return sqlite3_result_error(ctx, ("CAST: " + g.error()).c_str(), -1);
    if (!g.get()) return sqlite3_result_null(ctx);
    std::string want(reinterpret_cast<const char*>(sqlite3_value_text(argv[1])));
    const char* got = g.get()->type == Geom::Type::Point ? "point" : g.get()->type == Geom::Type::Circle ? "circle"
                      : g.get()->type == Geom::Type::Polygon ? "polygon" : "range";
    if (want != got) return sqlite3_result_error(ctx, ("CAST: the value is a " + std::string(got) + ", not a " + want).c_str(), -1);
    sqlite3_result_value(ctx, argv[0]);
}

// ---- geometry functions

template <typename F>
void with_geoms(sqlite3_context* ctx, sqlite3_value** argv, int n, const char* fn, F f) {
    GeomArg a(ctx, argv, 0);
    if (a.failed()) return sqlite3_result_error(ctx, (std::string(fn) + ": argument 1: " + a.error()).c_str(), -1);
    if (n == 1) {
        if (!a.get()) return sqlite3_result_null(ctx);
        return f(*a.get(), *a.get());
    }
    GeomArg b(ctx, argv, 1);
    if (b.failed()) return sqlite3_result_error(ctx, (std::string(fn) + ": argument 2: " + b.error()).c_str(), -1);
    if (!a.get() || !b.get()) return sqlite3_result_null(ctx);
    f(*a.get(), *b.get());
}
void f_contains(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 2, "CONTAINS", [&](const Geom& a, const Geom& b) { sqlite3_result_int(ctx, contains(a, b)); });
}
void f_intersects(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 2, "INTERSECTS", [&](const Geom& a, const Geom& b) { sqlite3_result_int(ctx, intersects(a, b)); });
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
    if (!valid_latitude(dec) || !valid_latitude(cdec)) return sqlite3_result_int(ctx, 0);
    S1ChordAngle radius(S1Angle::Degrees(std::min(std::max(r, 0.0), 180.0)));
    S1ChordAngle d(to_point(dbl(argv[0]), dec), to_point(dbl(argv[2]), cdec));
    sqlite3_result_int(ctx, d <= radius);
}
void f_distance(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (any_null(argc, argv)) return sqlite3_result_null(ctx);
    double d1 = dbl(argv[1]), d2 = dbl(argv[3]);
    if (!check_lat(ctx, d1, "DISTANCE") || !check_lat(ctx, d2, "DISTANCE") || !check_ra(ctx, dbl(argv[0]), "DISTANCE") ||
        !check_ra(ctx, dbl(argv[2]), "DISTANCE"))
        return;
    sqlite3_result_double(ctx, S1Angle(to_point(dbl(argv[0]), d1), to_point(dbl(argv[2]), d2)).degrees());
}
void f_distance_p(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 2, "DISTANCE", [&](const Geom& a, const Geom& b) {
        if (a.type != Geom::Type::Point || b.type != Geom::Type::Point)
            return sqlite3_result_error(ctx, "DISTANCE: both arguments must be points", -1);
        sqlite3_result_double(ctx, S1Angle(a.point, b.point).degrees());
    });
}
void f_area(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 1, "AREA", [&](const Geom& a, const Geom&) {
        double sr = 0;
        switch (a.type) {
            case Geom::Type::Point: sr = 0; break;
            case Geom::Type::Circle: sr = a.cap.GetArea(); break;
            case Geom::Type::Polygon: sr = a.polygon->GetArea(); break;
            case Geom::Type::Range: sr = a.rect.Area(); break;
        }
        sqlite3_result_double(ctx, sr * kSqDeg);
    });
}
void f_centroid(sqlite3_context* ctx, int, sqlite3_value** argv) {
    with_geoms(ctx, argv, 1, "CENTROID", [&](const Geom& a, const Geom&) {
        S2LatLng c;
        switch (a.type) {
            case Geom::Type::Point: case Geom::Type::Circle: c = S2LatLng(a.point); break;
            case Geom::Type::Polygon: c = S2LatLng(a.polygon->GetCentroid().Normalize()); break;
            case Geom::Type::Range: c = a.rect.GetCenter(); break;
        }
        result_text(ctx, fmt(norm_ra(c.lng().degrees())) + " " + fmt(c.lat().degrees()));
    });
}
void coord_impl(sqlite3_context* ctx, sqlite3_value** argv, int which) {
    with_geoms(ctx, argv, 1, which == 0 ? "COORD1" : "COORD2", [&](const Geom& a, const Geom&) {
        if (a.type != Geom::Type::Point) return sqlite3_result_error(ctx, "COORD1/COORD2: the argument is not a point", -1);
        sqlite3_result_double(ctx, a.values[which]);
    });
}
void f_coord1(sqlite3_context* ctx, int, sqlite3_value** argv) { coord_impl(ctx, argv, 0); }
void f_coord2(sqlite3_context* ctx, int, sqlite3_value** argv) { coord_impl(ctx, argv, 1); }

}  // namespace

std::unique_ptr<S2Region> geometry_region(std::string_view dali, std::string& error) {
    std::unique_ptr<Geom> g = parse_geom(dali, error);
    if (!g) return nullptr;
    switch (g->type) {
        case Geom::Type::Point: return std::make_unique<S2PointRegion>(g->point);
        case Geom::Type::Circle: return std::unique_ptr<S2Region>(g->cap.Clone());
        case Geom::Type::Polygon: return std::move(g->polygon);
        case Geom::Type::Range: return std::unique_ptr<S2Region>(g->rect.Clone());
    }
    return nullptr;
}

int register_sql_functions(sqlite3* db) {
    struct Def {
        const char* name;
        int nargs;
        Fn fn;
        bool deterministic;
    };
    static const Def defs[] = {
        {"adql_log", 1, f_log, true},         {"adql_log10", 1, f_log10, true},
        {"adql_exp", 1, f_exp, true},         {"adql_sqrt", 1, f_sqrt, true},
        {"adql_ceiling", 1, f_ceiling, true}, {"adql_floor", 1, f_floor, true},
        {"adql_degrees", 1, f_degrees, true}, {"adql_radians", 1, f_radians, true},
        {"adql_sin", 1, f_sin, true},         {"adql_cos", 1, f_cos, true},
        {"adql_tan", 1, f_tan, true},         {"adql_cot", 1, f_cot, true},
        {"adql_asin", 1, f_asin, true},       {"adql_acos", 1, f_acos, true},
        {"adql_atan", 1, f_atan, true},       {"adql_atan2", 2, f_atan2, true},
        {"adql_power", 2, f_power, true},     {"adql_mod", 2, f_mod, true},
        {"adql_round", 2, f_round, true},     {"adql_truncate", 2, f_truncate, true},
        {"adql_cast_integer", 1, f_cast_integer, true},
        {"adql_timestamp", 1, f_timestamp, true},
        {"adql_rand", 0, f_rand, false},      {"adql_rand", 1, f_rand, false},
        {"adql_like", 2, f_like, true},       {"adql_ilike", 2, f_ilike, true},
        {"adql_nocasematch", 2, f_ilike, true},
        {"adql_hasword", 2, f_hasword, true},
        {"adql_interval_overlaps", 4, f_interval_overlaps, true},
        {"adql_healpix_index", 3, f_healpix_index, true},
        {"adql_healpix_center", 2, f_healpix_center, true},
        {"adql_point", 2, f_point, true},     {"adql_circle", 3, f_circle, true},
        {"adql_circle_p", 2, f_circle_p, true},
        {"adql_box", 4, f_box, true},         {"adql_box_p", 3, f_box_p, true},
        {"adql_polygon", -1, f_polygon, true},
        {"adql_polygon_p", -1, f_polygon_p, true},
        {"adql_range", 4, f_range, true},     {"adql_geometry", 2, f_geometry, true},
        {"adql_contains", 2, f_contains, true},
        {"adql_intersects", 2, f_intersects, true},
        {"adql_contains_point", 3, f_contains_point, true},
        {"adql_contains_point_circle", 5, f_contains_point_circle, true},
        {"adql_distance", 4, f_distance, true},
        {"adql_distance_p", 2, f_distance_p, true},
        {"adql_area", 1, f_area, true},       {"adql_centroid", 1, f_centroid, true},
        {"adql_coord1", 1, f_coord1, true},   {"adql_coord2", 1, f_coord2, true},
    };
    for (const Def& d : defs) {
        int flags = SQLITE_UTF8 | (d.deterministic ? SQLITE_DETERMINISTIC : 0) | SQLITE_INNOCUOUS;
        int rc = sqlite3_create_function_v2(db, d.name, d.nargs, flags, nullptr, d.fn, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return rc;
    }
    return register_spatial_index_module(db);
}

}  // namespace vo::obscore
