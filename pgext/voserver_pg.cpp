// voserver's native PostgreSQL functions: the per-row geometry tests of the
// PostgreSQL dialect (adql/dialect_postgres.cpp) computed by the same S2 code
// as the SQLite store's (obscore/sky_geometry.hpp), instead of PL/pgSQL over
// pgSphere (obscore/pg_functions.sql, which stays the fallback when this
// module is not installed). Issue 11: the exact footprint test cost 45 us a
// candidate in PL/pgSQL.
//
// Installed per database by a superuser (scripts/postgres, load_native):
//   voserver_native_version() -> integer             kNativeVersion
//   voserver_native_relate(fn, a, b) -> integer        adql_relate
//   voserver_native_relate_row(fn, a, b, k) -> integer adql_relate_row
//   voserver_native_contains_point(ra, dec, g) -> integer
//   voserver_native_contains_point_circle(ra, dec, cra, cdec, r) -> integer
// pg_functions.sql then makes the adql_* functions of the same names call them.
// fn is 'CONTAINS' (ADQL 2.1 section 4.2.7) or 'INTERSECTS' (section
// 4.2.11); a, b, g are geometry values as DALI text or STC-S (degrees).
//
// PostgreSQL reports errors by longjmp, which must never cross a C++ frame
// with live objects: each entry point below reads its arguments, calls a
// noexcept C++ function that returns a plain Outcome, and only then raises.
#include "pgext/native_geometry.hpp"

#include <string_view>

extern "C" {
#include <postgres.h>
#include <fmgr.h>
#include <utils/palloc.h>

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(voserver_native_version);
PG_FUNCTION_INFO_V1(voserver_native_relate);
PG_FUNCTION_INFO_V1(voserver_native_relate_row);
PG_FUNCTION_INFO_V1(voserver_native_contains_point);
PG_FUNCTION_INFO_V1(voserver_native_contains_point_circle);
}

using namespace vo::pgext;

// ------------------------------------------------------------ entry points
// Only plain C data live in these frames (PostgreSQL's errors longjmp).

namespace {

/// The call site's cache, made on its first call.
Cache* cache_of(FunctionCallInfo fcinfo) {
    FmgrInfo* flinfo = fcinfo->flinfo;
    if (flinfo->fn_extra) return static_cast<Cache*>(flinfo->fn_extra);
    auto* callback =
        static_cast<MemoryContextCallback*>(MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(MemoryContextCallback)));
    Cache* cache = new_cache();
    if (!cache) return nullptr;
    callback->func = free_cache;
    callback->arg = cache;
    MemoryContextRegisterResetCallback(flinfo->fn_mcxt, callback);
    flinfo->fn_extra = cache;
    return cache;
}

std::string_view view(text* t) { return std::string_view(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)); }

Datum finish(FunctionCallInfo fcinfo, const Outcome& out) {
    if (out.error[0]) ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s", out.error)));
    if (out.is_null) PG_RETURN_NULL();
    PG_RETURN_INT32(out.value);
}

}  // namespace

extern "C" {

Datum voserver_native_version(PG_FUNCTION_ARGS) { PG_RETURN_INT32(kNativeVersion); }

Datum voserver_native_relate(PG_FUNCTION_ARGS) {
    text* fn = PG_GETARG_TEXT_PP(0);
    text* a = PG_GETARG_TEXT_PP(1);
    text* b = PG_GETARG_TEXT_PP(2);
    const Outcome out = relate(cache_of(fcinfo), view(fn), view(a), view(b), -1);
    return finish(fcinfo, out);
}

Datum voserver_native_relate_row(PG_FUNCTION_ARGS) {
    text* fn = PG_GETARG_TEXT_PP(0);
    text* a = PG_GETARG_TEXT_PP(1);
    text* b = PG_GETARG_TEXT_PP(2);
    const int row = PG_GETARG_INT32(3) == 1 ? 1 : 0;
    const Outcome out = relate(cache_of(fcinfo), view(fn), view(a), view(b), row);
    return finish(fcinfo, out);
}

Datum voserver_native_contains_point(PG_FUNCTION_ARGS) {
    const double ra = PG_GETARG_FLOAT8(0), dec = PG_GETARG_FLOAT8(1);
    text* g = PG_GETARG_TEXT_PP(2);
    const Outcome out = contains_point(cache_of(fcinfo), ra, dec, view(g));
    return finish(fcinfo, out);
}

Datum voserver_native_contains_point_circle(PG_FUNCTION_ARGS) {
    const Outcome out = contains_point_circle(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
                                              PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4));
    return finish(fcinfo, out);
}

}  // extern "C"
