// The PostgreSQL query backend (obscore/backend.hpp; issue 11): a read-only
// libpq connection to a database with the layout of obscore/pg_store.hpp,
// queries translated by the PostgreSQL dialect (adql/dialect_postgres.cpp).
#pragma once

#include <memory>
#include <string>

#include "obscore/backend.hpp"

namespace vo::obscore {

/// Connects to `url` (a libpq URI, "postgresql://voserver_reader@host:port/db")
/// as a QueryBackend: every query in a read-only transaction, rows streamed
/// one at a time (libpq single-row mode), a query stopped by PQcancel when
/// ExecuteControl's cancel flag is set or a deadline passes, and by the
/// server-side statement_timeout as a backstop. Query failures are
/// classified by SQLSTATE: data exceptions (class 22), syntax and access
/// rule violations (42), program limits (54) and the time limit are the
/// client's; a lost connection (class 08) is the server's, and the next
/// call reconnects. Throws StoreError naming the URL (without a password)
/// when the database cannot be reached or has no voserver layout.
std::unique_ptr<QueryBackend> open_pg_query_backend(const std::string& url, const BackendLimits& limits = {});

}  // namespace vo::obscore
