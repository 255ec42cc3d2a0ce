// The SQLite query backend (obscore/backend.hpp; DESIGN.md "Storage"): a
// read-only obscore::Store connection, queries translated by
// adql::translate_sqlite, run as prepared statements.
#pragma once

#include <memory>
#include <string>

#include "obscore/backend.hpp"

namespace vo::obscore {

/// Opens the SQLite store file `path` read-only (Store::open_read_only: the
/// read-only open flag, `PRAGMA query_only`, an authorizer that denies
/// writes; the ADQL SQL functions registered) as a QueryBackend, with
/// SQLITE_LIMIT_LENGTH = limits.max_cell_bytes (at most 2^31 - 1). Queries
/// are checked every 20,000 SQLite VM steps for ExecuteControl's cancel flag
/// and deadlines (a progress handler). Throws StoreError if the file is
/// missing or is not a voserver store.
std::unique_ptr<QueryBackend> open_sqlite_query_backend(const std::string& path, const BackendLimits& limits = {});

}  // namespace vo::obscore
