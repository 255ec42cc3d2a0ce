// The archive's clock (issue 12): the time against which release dates are
// compared, by queries (the SQL function vo_now() of every store, the
// data_rights column, protected metadata: obscore/access.hpp) and by the
// authorization of the byte-serving endpoints.
//
// It is the real time unless the environment variable VOSERVER_NOW is set
// to an ISO 8601 UTC date-time; that variable is for testing only (e.g.
// start the server "in 2031" and see a product become public without a
// re-ingest). It is read once, on the first call of archive_now().
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace vo::obscore {

/// The name of the environment variable that simulates the clock (testing only).
inline constexpr const char* kNowVariable = "VOSERVER_NOW";

/// The archive's current time, in seconds since the epoch (UTC): the value
/// set by set_archive_now_for_testing() if any, else VOSERVER_NOW if set
/// (read on the first call; a fixed time, the clock does not advance), else
/// the real time. Thread-safe. Throws std::runtime_error naming the variable
/// and its value when VOSERVER_NOW is set but not an ISO 8601 UTC date-time
/// (parse_iso_utc); every call throws again, so call it once at start-up to
/// fail early.
std::time_t archive_now();

/// The ISO 8601 date-time (UTC, "YYYY-MM-DDThh:mm:ss") of `t` (seconds
/// since the epoch): the form of obs_release_date, compared as text with it
/// by the data_rights columns and vo_now().
std::string iso_utc(std::time_t t);

/// Replaces the clock of archive_now() in this process (nullopt: back to
/// VOSERVER_NOW or the real time). For tests only. Thread-safe.
void set_archive_now_for_testing(std::optional<std::time_t> now);

/// Seconds since the epoch of an ISO 8601 UTC date-time as DALI 1.1 section
/// 3.3.3 writes timestamps: "YYYY-MM-DD", "YYYY-MM-DDThh:mm" or
/// "YYYY-MM-DDThh:mm:ss" with optional fractional seconds (ignored: the
/// result is whole seconds) and an optional trailing "Z". nullopt for
/// anything else (other separators, time zone offsets, out-of-range fields
/// such as month 13 or February 30).
std::optional<std::time_t> parse_iso_utc(std::string_view text);

}  // namespace vo::obscore
