// The ADQL SQL functions without spherical geometry (obscore/sql_scalar_functions.hpp).
#include "obscore/sql_scalar_functions.hpp"

#include "obscore/clock.hpp"
#include "obscore/profile.hpp"

#include <mutex>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <locale.h>  // newlocale (POSIX)
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <wctype.h>  // towlower_l, towupper_l, iswalnum_l (POSIX)

namespace vo::obscore::sqlfn {
namespace {

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

#define MATH1(NAME, EXPR, ...)                                                      \
    void NAME(sqlite3_context* ctx, int, sqlite3_value** argv) {                    \
        math1(ctx, argv, [](double x) { return EXPR; } __VA_OPT__(, ) __VA_ARGS__); \
    }
MATH1(f_log, std::log(x), true)
MATH1(f_log10, std::log10(x), true)
MATH1(f_exp, std::exp(x))
MATH1(f_sqrt, std::sqrt(x), false, false, true)
MATH1(f_ceiling, std::ceil(x))
MATH1(f_floor, std::floor(x))
MATH1(f_degrees, x * 180.0 / kPi)
MATH1(f_radians, x* kPi / 180.0)
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
    if (sqlite3_value_numeric_type(argv[0]) == SQLITE_INTEGER &&
        sqlite3_value_numeric_type(argv[1]) == SQLITE_INTEGER) {
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
        if (fresh)
            sqlite3_set_auxdata(ctx, 0, fresh.release(), [](void* p) { delete static_cast<std::mt19937_64*>(p); });
        return;
    }
    thread_local std::mt19937_64 gen{std::random_device{}()};
    sqlite3_result_double(ctx, std::uniform_real_distribution<double>(0.0, 1.0)(gen));
}

// ---- Case folding beyond ASCII (ADQL 2.1 section 4.4.1)
//
// ASCII as ADQL specifies; every other character by the Unicode simple case
// mappings of glibc's C.UTF-8 locale, the towlower/towupper PostgreSQL's libc
// provider applies on a UTF-8 database, so both stores fold alike. Bytes that
// are not well-formed UTF-8 are kept as they are.

/// glibc's C.UTF-8 character classes, or nullptr where the C library lacks
/// them (then only ASCII folds).
locale_t utf8_ctype() {
    static const locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    return loc;
}

/// The code point at s[i] (advancing i past it), or -1 (advancing one byte)
/// for a byte that does not start a well-formed UTF-8 sequence.
long next_code_point(std::string_view s, std::size_t& i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
        ++i;
        return b;
    }
    const std::size_t n = (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : 0;
    if (n == 0 || i + n >= s.size()) {
        ++i;
        return -1;
    }
    long cp = b & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) {
            ++i;
            return -1;
        }
        cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr long kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return -1;
    }
    i += n + 1;
    return cp;
}

void append_utf8(std::string& out, long cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// `s` in lower case (`upper` false) or upper case, into `out` (replacing
/// what it held, keeping its capacity).
void fold_case(std::string& out, std::string_view s, bool upper) {
    out.clear();
    out.reserve(s.size());
    const locale_t loc = utf8_ctype();
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t at = i;
        const long cp = next_code_point(s, i);
        if (cp < 0) {
            out += s[at];
        } else if (cp < 0x80) {
            const int c = static_cast<int>(cp);
            out += static_cast<char>(upper ? std::toupper(c) : std::tolower(c));
        } else if (!loc) {
            out.append(s.substr(at, i - at));
        } else {
            const auto w = static_cast<wint_t>(cp);
            append_utf8(out, static_cast<long>(upper ? towupper_l(w, loc) : towlower_l(w, loc)));
        }
    }
}

/// A letter, digit or underscore (a word character of ivo_hasword), in
/// C.UTF-8 beyond ASCII as PostgreSQL's [[:alnum:]_].
bool word_code_point(long cp) {
    if (cp < 0) return false;
    if (cp < 0x80) return std::isalnum(static_cast<int>(cp)) || cp == '_';
    const locale_t loc = utf8_ctype();
    return loc && iswalnum_l(static_cast<wint_t>(cp), loc);
}

std::string_view text_of(sqlite3_value* v) {
    const auto* t = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return t ? std::string_view(t, static_cast<std::size_t>(sqlite3_value_bytes(v))) : std::string_view();
}

/// LOWER / UPPER (ADQL 2.1 sections 4.4.2, 4.4.3), in place of SQLite's
/// built-in ones, which fold ASCII only.
void fold_impl(sqlite3_context* ctx, sqlite3_value** argv, bool upper) {
    if (is_null(argv[0])) return sqlite3_result_null(ctx);
    std::string r;
    fold_case(r, text_of(argv[0]), upper);
    sqlite3_result_text(ctx, r.data(), static_cast<int>(r.size()), SQLITE_TRANSIENT);
}
void f_lower(sqlite3_context* ctx, int, sqlite3_value** argv) { fold_impl(ctx, argv, false); }
void f_upper(sqlite3_context* ctx, int, sqlite3_value** argv) { fold_impl(ctx, argv, true); }

// LIKE with % and _ (one UTF-8 character), no escape character, byte for
// byte (ILIKE folds both operands first).
bool like_match(const unsigned char* s, const unsigned char* p) {
    auto next_char = [](const unsigned char*& q) {
        ++q;
        while ((*q & 0xC0) == 0x80) ++q;
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
        } else if (*p && *p == *s) {
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
/// LIKE, or ILIKE (`nocase`: both operands in lower case first, as
/// PostgreSQL does; ADQL 2.1 section 4.4.4 with 4.4.1's R2). A constant
/// pattern is folded once per statement (sqlite3_get_auxdata), the value
/// into a buffer of the thread.
void like_impl(sqlite3_context* ctx, sqlite3_value** argv, bool nocase) {
    if (is_null(argv[0]) || is_null(argv[1])) return sqlite3_result_null(ctx);
    if (!nocase) return sqlite3_result_int(ctx, like_match(sqlite3_value_text(argv[0]), sqlite3_value_text(argv[1])));
    thread_local std::string value;
    fold_case(value, text_of(argv[0]), false);
    const auto* pattern = static_cast<const std::string*>(sqlite3_get_auxdata(ctx, 1));
    std::unique_ptr<std::string> folded;
    if (!pattern) {
        folded = std::make_unique<std::string>();
        fold_case(*folded, text_of(argv[1]), false);
        pattern = folded.get();
    }
    const bool match = like_match(reinterpret_cast<const unsigned char*>(value.c_str()),
                                  reinterpret_cast<const unsigned char*>(pattern->c_str()));
    // kept by SQLite while the pattern is a constant of the statement, else freed here
    if (folded) sqlite3_set_auxdata(ctx, 1, folded.release(), [](void* p) { delete static_cast<std::string*>(p); });
    sqlite3_result_int(ctx, match);
}
void f_like(sqlite3_context* ctx, int, sqlite3_value** argv) { like_impl(ctx, argv, false); }
void f_ilike(sqlite3_context* ctx, int, sqlite3_value** argv) { like_impl(ctx, argv, true); }

/// ivo_hasword: `needle` occurs in `haystack` as a whole word, case-insensitively.
void f_hasword(sqlite3_context* ctx, int, sqlite3_value** argv) {
    if (is_null(argv[0]) || is_null(argv[1])) return sqlite3_result_null(ctx);
    // both in lower case, words of letters, digits and _ beyond ASCII too
    // (section 4.4.1's R2, as PostgreSQL's lower() and [[:alnum:]_])
    std::string h, n;
    fold_case(h, text_of(argv[0]), false);
    fold_case(n, text_of(argv[1]), false);
    if (n.empty()) return sqlite3_result_int(ctx, 0);
    // the code point that ends just before byte `end` (its first byte found
    // by stepping back over continuation bytes)
    const auto before = [&h](std::size_t end) {
        std::size_t start = end - 1;
        while (start > 0 && end - start < 4 && (static_cast<unsigned char>(h[start]) & 0xC0) == 0x80) --start;
        return next_code_point(h, start);
    };
    for (std::size_t at = h.find(n); at != std::string::npos; at = h.find(n, at + 1)) {
        std::size_t after = at + n.size();
        const bool left = at == 0 || !word_code_point(before(at));
        const bool right = after == h.size() || !word_code_point(next_code_point(h, after));
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

}  // namespace

namespace {
std::mutex base_url_mutex;
std::string public_base_url;  // set_public_base_url()

/// vo_base_url(): the server's public base URL (no trailing '/').
void f_base_url(sqlite3_context* ctx, int, sqlite3_value**) {
    std::lock_guard lock(base_url_mutex);
    result_text(ctx, public_base_url);
}

/// vo_now(): the archive's clock (obscore/clock.hpp) as ISO 8601 UTC text
/// "YYYY-MM-DDThh:mm:ss", the form of obs_release_date (issue 12). A
/// clock-time function like SQLite's own date('now'): constant in one run of
/// a statement.
void f_now(sqlite3_context* ctx, int, sqlite3_value**) {
    try {
        result_text(ctx, iso_utc(archive_now()));
    } catch (const std::exception& e) {  // a malformed VOSERVER_NOW
        sqlite3_result_error(ctx, e.what(), -1);
    }
}
}  // namespace

int register_scalar_functions(sqlite3* db) {
    struct Def {
        const char* name;
        int nargs;
        Fn fn;
        bool deterministic;
    };
    static const Def defs[] = {
        {"adql_log", 1, f_log, true},
        {"adql_log10", 1, f_log10, true},
        {"adql_exp", 1, f_exp, true},
        {"adql_sqrt", 1, f_sqrt, true},
        {"adql_ceiling", 1, f_ceiling, true},
        {"adql_floor", 1, f_floor, true},
        {"adql_degrees", 1, f_degrees, true},
        {"adql_radians", 1, f_radians, true},
        {"adql_sin", 1, f_sin, true},
        {"adql_cos", 1, f_cos, true},
        {"adql_tan", 1, f_tan, true},
        {"adql_cot", 1, f_cot, true},
        {"adql_asin", 1, f_asin, true},
        {"adql_acos", 1, f_acos, true},
        {"adql_atan", 1, f_atan, true},
        {"adql_atan2", 2, f_atan2, true},
        {"adql_power", 2, f_power, true},
        {"adql_mod", 2, f_mod, true},
        {"adql_round", 2, f_round, true},
        {"adql_truncate", 2, f_truncate, true},
        {"adql_cast_integer", 1, f_cast_integer, true},
        {"adql_timestamp", 1, f_timestamp, true},
        {"adql_rand", 0, f_rand, false},
        {"adql_rand", 1, f_rand, false},
        // in place of SQLite's built-in LOWER/UPPER (ASCII only)
        {"lower", 1, f_lower, true},
        {"upper", 1, f_upper, true},
        {"adql_like", 2, f_like, true},
        {"adql_ilike", 2, f_ilike, true},
        {"adql_nocasematch", 2, f_ilike, true},
        {"adql_hasword", 2, f_hasword, true},
        {"adql_interval_overlaps", 4, f_interval_overlaps, true},
        {"adql_healpix_index", 3, f_healpix_index, true},
        {"adql_healpix_center", 2, f_healpix_center, true},
        {"vo_base_url", 0, f_base_url, false},
        // SQLITE_DETERMINISTIC: no arguments, so SQLite computes it once per
        // run of a statement (constant factoring), not once per row; a
        // prepared statement run again computes it again
        {"vo_now", 0, f_now, true},
    };
    for (const Def& d : defs) {
        const int flags = SQLITE_UTF8 | (d.deterministic ? SQLITE_DETERMINISTIC : 0) | SQLITE_INNOCUOUS;
        const int rc = sqlite3_create_function_v2(db, d.name, d.nargs, flags, nullptr, d.fn, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

}  // namespace vo::obscore::sqlfn

namespace vo::obscore {
void set_public_base_url(const std::string& url) {
    std::lock_guard lock(sqlfn::base_url_mutex);
    sqlfn::public_base_url = url;
}
std::string public_base_url() {
    std::lock_guard lock(sqlfn::base_url_mutex);
    return sqlfn::public_base_url;
}
}  // namespace vo::obscore
