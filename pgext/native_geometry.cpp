// The computations behind voserver's native PostgreSQL functions
// (pgext/native_geometry.hpp): obscore's S2 geometry, as the SQLite store's
// SQL functions evaluate it.
#include "pgext/native_geometry.hpp"
#include "obscore/geometry_text.hpp"
#include "obscore/sky_geometry.hpp"

#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>

namespace vo::pgext {

namespace sky = vo::obscore::sky;

namespace {

Outcome fail(const std::string& message) noexcept {
    Outcome o;
    std::snprintf(o.error, sizeof o.error, "%s", message.c_str());
    return o;
}

}  // namespace

struct Cache {
    /// One argument's last value: its text and what parsing it gave.
    struct Slot {
        bool filled = false;
        std::string text;
        std::unique_ptr<sky::Shape> shape;  // nullptr: invalid, `error` says why
        std::string error;
    };
    Slot slot[3];
};

void free_cache(void* p) noexcept { delete static_cast<Cache*>(p); }

Cache* new_cache() noexcept { return new (std::nothrow) Cache(); }

namespace {

/// The shape of argument slot `i` for `text`: from the cache when it holds
/// this text, else parsed (into the cache, or into `holder` when there is
/// none). nullptr and `error` set when the text is not a valid geometry.
const sky::Shape* shape_of(Cache* cache, int i, std::string_view text, std::unique_ptr<sky::Shape>& holder,
                           std::string& error) {
    if (!cache) {
        holder = sky::parse(text, error);
        return holder.get();
    }
    Cache::Slot& slot = cache->slot[i];
    if (!slot.filled || slot.text != text) {
        slot.filled = true;
        slot.text = std::string(text);
        slot.error.clear();
        slot.shape = sky::parse(text, slot.error);
    }
    if (!slot.shape) error = slot.error;
    return slot.shape.get();
}

}  // namespace

Outcome relate(Cache* cache, std::string_view fn, std::string_view a, std::string_view b, int row) noexcept {
    try {
        const bool is_contains = fn == "CONTAINS";
        if (!is_contains && fn != "INTERSECTS") return fail("unknown relation '" + std::string(fn) + "'");
        std::string ea, eb;
        std::unique_ptr<sky::Shape> own_a, own_b;
        // a row's footprint is not cached: it changes with every row
        const sky::Shape* sa = shape_of(row == 0 ? nullptr : cache, 0, a, own_a, ea);
        if (!sa) {
            if (row == 0) return Outcome{0, true, {}};
            return fail(std::string(fn) + ": argument 1: " + ea);
        }
        const sky::Shape* sb = shape_of(row == 1 ? nullptr : cache, 1, b, own_b, eb);
        if (!sb) {
            if (row == 1) return Outcome{0, true, {}};
            return fail(std::string(fn) + ": argument 2: " + eb);
        }
        return Outcome{is_contains ? sky::contains(*sa, *sb) : sky::intersects(*sa, *sb), false, {}};
    } catch (const std::exception& e) {
        return fail(std::string(fn) + ": " + e.what());
    } catch (...) {
        return fail(std::string(fn) + ": internal error");
    }
}

Outcome contains_point(Cache* cache, double ra, double dec, std::string_view g) noexcept {
    try {
        char number[64];
        if (!std::isfinite(ra)) {
            std::snprintf(number, sizeof number, "%g", ra);
            return fail(std::string("CONTAINS: right ascension ") + number + " is not a finite number");
        }
        if (!vo::obscore::valid_latitude(dec)) return Outcome{0, false, {}};
        std::string e;
        std::unique_ptr<sky::Shape> own;
        const sky::Shape* s = shape_of(cache, 2, g, own, e);
        if (!s) return fail("CONTAINS: " + e);
        return Outcome{sky::point_in(sky::to_point(ra, dec), *s), false, {}};
    } catch (...) {
        return fail("CONTAINS: internal error");
    }
}

Outcome contains_point_circle(double ra, double dec, double cra, double cdec, double r) noexcept {
    if (std::isfinite(ra) && std::isfinite(cra)) return Outcome{sky::point_in_circle(ra, dec, cra, cdec, r), false, {}};
    Outcome o;
    std::snprintf(o.error, sizeof o.error, "%s: right ascension %g is not a finite number",
                  std::isfinite(ra) ? "CIRCLE" : "CONTAINS", std::isfinite(ra) ? cra : ra);
    return o;
}

}  // namespace vo::pgext
