#include "obscore/spatial_index.hpp"

#include <s2/s1angle.h>
#include <s2/s2cap.h>
#include <s2/s2cell_id.h>
#include <s2/s2cell_union.h>
#include <s2/s2latlng.h>
#include <s2/s2point_region.h>
#include <s2/s2polygon.h>
#include <s2/s2region.h>
#include <s2/s2region_coverer.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "obscore/sql_functions.hpp"

namespace vo::obscore {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    throw std::runtime_error("spatial index: " + what + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "unknown error";
        sqlite3_free(err);
        throw std::runtime_error("spatial index: " + msg + " (in: " + sql.substr(0, 100) + ")");
    }
}

struct Stmt {
    sqlite3* db;
    sqlite3_stmt* s = nullptr;
    Stmt(sqlite3* d, const char* sql) : db(d) {
        if (sqlite3_prepare_v2(d, sql, -1, &s, nullptr) != SQLITE_OK) fail(d, "cannot prepare");
    }
    ~Stmt() { sqlite3_finalize(s); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool step() {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(db, "statement failed");
    }
};

std::int64_t as_sql(S2CellId id) { return static_cast<std::int64_t>(id.id()); }

S2RegionCoverer::Options cover_options(int max_cells) {
    S2RegionCoverer::Options o;
    o.set_max_cells(max_cells);
    o.set_max_level(kMaxLevel);
    return o;
}

/// A tiny margin added to searched circles so that a point the exact test
/// finds on the boundary (S1ChordAngle rounding) is always a candidate.
constexpr double kMarginRadians = 1e-9;

/// The cell-id ranges to look up for `region` and `kind` (see the header).
std::vector<std::pair<std::int64_t, std::int64_t>> lookup_ranges(const S2Region& region, int kind) {
    S2RegionCoverer coverer(cover_options(kQueryCells));
    S2CellUnion cover = coverer.GetCovering(region);
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    std::set<std::uint64_t> ancestors;
    for (S2CellId q : cover) {
        out.emplace_back(as_sql(q.range_min()), as_sql(q.range_max()));
        if (kind == kIndexRegion)
            for (int level = 0; level < q.level(); ++level) ancestors.insert(q.parent(level).id());
    }
    // a stored cell equal to a query cell is already inside its range
    for (std::uint64_t a : ancestors) {
        S2CellId id(a);
        if (!cover.Contains(id)) out.emplace_back(as_sql(id), as_sql(id));
    }
    return out;
}

// ------------------------------------------------ adql_s2_cover virtual table

constexpr int kColLo = 0, kColHi = 1, kColShape = 2, kColKind = 3;

struct CoverTable {
    sqlite3_vtab base{};
};
struct CoverCursor {
    sqlite3_vtab_cursor base{};
    std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
    std::size_t pos = 0;
};

int cover_connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char**) {
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(lo INTEGER, hi INTEGER, shape HIDDEN, kind HIDDEN)");
    if (rc != SQLITE_OK) return rc;
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    auto* t = new CoverTable;
    *out = &t->base;
    return SQLITE_OK;
}
int cover_disconnect(sqlite3_vtab* v) {
    delete reinterpret_cast<CoverTable*>(v);
    return SQLITE_OK;
}
/// Both hidden arguments must be given (as equality constraints).
int cover_best_index(sqlite3_vtab*, sqlite3_index_info* info) {
    int shape = -1, kind = -1;
    for (int i = 0; i < info->nConstraint; ++i) {
        const auto& c = info->aConstraint[i];
        if (c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
        if (c.iColumn == kColShape) {
            if (!c.usable) return SQLITE_CONSTRAINT;
            shape = i;
        } else if (c.iColumn == kColKind) {
            if (!c.usable) return SQLITE_CONSTRAINT;
            kind = i;
        }
    }
    if (shape < 0 || kind < 0) return SQLITE_CONSTRAINT;
    info->aConstraintUsage[shape].argvIndex = 1;
    info->aConstraintUsage[shape].omit = 1;
    info->aConstraintUsage[kind].argvIndex = 2;
    info->aConstraintUsage[kind].omit = 1;
    info->estimatedCost = 10;
    info->estimatedRows = 30;
    return SQLITE_OK;
}
int cover_open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
    auto* c = new CoverCursor;
    *out = &c->base;
    return SQLITE_OK;
}
int cover_close(sqlite3_vtab_cursor* cur) {
    delete reinterpret_cast<CoverCursor*>(cur);
    return SQLITE_OK;
}
int cover_filter(sqlite3_vtab_cursor* cur, int, const char*, int argc, sqlite3_value** argv) {
    auto* c = reinterpret_cast<CoverCursor*>(cur);
    c->ranges.clear();
    c->pos = 0;
    if (argc < 2 || sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return SQLITE_OK;  // NULL geometry: no row can match
    const char* t = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    std::string_view text(t ? t : "", static_cast<std::size_t>(sqlite3_value_bytes(argv[0])));
    int kind = sqlite3_value_int(argv[1]);
    std::string error;
    std::unique_ptr<S2Region> region = geometry_region(text, error);
    if (!region) {
        sqlite3_free(cur->pVtab->zErrMsg);
        cur->pVtab->zErrMsg = sqlite3_mprintf("spatial search: %s", error.c_str());
        return SQLITE_ERROR;
    }
    try {
        if (auto* pt = dynamic_cast<S2PointRegion*>(region.get())) {
            // the exact point test has a tolerance of 1e-13 rad: search a cap
            c->ranges = lookup_ranges(S2Cap(pt->point(), S1Angle::Radians(kMarginRadians)), kind);
        } else if (auto* cap = dynamic_cast<S2Cap*>(region.get())) {
            S2Cap wider = cap->Expanded(S1Angle::Radians(kMarginRadians));
            c->ranges = lookup_ranges(wider, kind);
        } else {
            c->ranges = lookup_ranges(*region, kind);
        }
    } catch (const std::exception& e) {
        cur->pVtab->zErrMsg = sqlite3_mprintf("spatial search: %s", e.what());
        return SQLITE_ERROR;
    }
    return SQLITE_OK;
}
int cover_next(sqlite3_vtab_cursor* cur) {
    ++reinterpret_cast<CoverCursor*>(cur)->pos;
    return SQLITE_OK;
}
int cover_eof(sqlite3_vtab_cursor* cur) {
    auto* c = reinterpret_cast<CoverCursor*>(cur);
    return c->pos >= c->ranges.size();
}
int cover_column(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) {
    auto* c = reinterpret_cast<CoverCursor*>(cur);
    if (col == kColLo)
        sqlite3_result_int64(ctx, c->ranges[c->pos].first);
    else if (col == kColHi)
        sqlite3_result_int64(ctx, c->ranges[c->pos].second);
    else
        sqlite3_result_null(ctx);
    return SQLITE_OK;
}
int cover_rowid(sqlite3_vtab_cursor* cur, sqlite3_int64* rowid) {
    *rowid = static_cast<sqlite3_int64>(reinterpret_cast<CoverCursor*>(cur)->pos);
    return SQLITE_OK;
}

sqlite3_module make_cover_module() {
    sqlite3_module m;
    std::memset(&m, 0, sizeof m);
    m.iVersion = 0;
    m.xCreate = nullptr;  // eponymous only
    m.xConnect = cover_connect;
    m.xBestIndex = cover_best_index;
    m.xDisconnect = cover_disconnect;
    m.xDestroy = cover_disconnect;
    m.xOpen = cover_open;
    m.xClose = cover_close;
    m.xFilter = cover_filter;
    m.xNext = cover_next;
    m.xEof = cover_eof;
    m.xColumn = cover_column;
    m.xRowid = cover_rowid;
    return m;
}

bool table_exists(sqlite3* db, const char* name) {
    Stmt s(db, "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1");
    sqlite3_bind_text(s.s, 1, name, -1, SQLITE_STATIC);
    return s.step();
}

/// The covering of a footprint: a polygon's bounding cap (see the header).
void cover_footprint(const S2Region& region, std::vector<IndexCell>& cells) {
    thread_local S2RegionCoverer coverer(cover_options(kRegionCells));
    S2CellUnion cover;
    if (auto* polygon = dynamic_cast<const S2Polygon*>(&region))
        cover = coverer.GetCovering(polygon->GetCapBound());
    else
        cover = coverer.GetCovering(region);
    for (S2CellId id : cover) cells.push_back({kIndexRegion, as_sql(id)});
}

std::optional<double> column_double(sqlite3_stmt* s, int i) {
    if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(s, i);
}
std::string_view column_text(sqlite3_stmt* s, int i) {
    const char* t = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return t ? std::string_view(t, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string_view();
}

}  // namespace

void row_index_entries(std::optional<double> s_ra, std::optional<double> s_dec, std::string_view s_region,
                       std::vector<IndexCell>& cells, std::string& footprint) {
    cells.clear();
    footprint.clear();
    if (s_ra && s_dec && std::isfinite(*s_ra) && std::isfinite(*s_dec) && *s_dec >= -90.0 && *s_dec <= 90.0)
        cells.push_back({kIndexPoint, as_sql(S2CellId(S2LatLng::FromDegrees(*s_dec, *s_ra).Normalized()))});
    if (!s_region.empty()) {
        std::string error;
        if (std::optional<IndexedFootprint> f = index_footprint(s_region, error)) {
            cover_footprint(*f->region, cells);
            footprint = std::move(f->blob);
        }
    }
}

void create_spatial_index_schema(sqlite3* db) {
    const bool existed = table_exists(db, kSpatialIndexTable) && table_exists(db, kFootprintTable);
    exec(db, std::string("CREATE TABLE IF NOT EXISTS ") + kSpatialIndexTable +
                 " (kind INTEGER NOT NULL, cell INTEGER NOT NULL, row_id INTEGER NOT NULL, "
                 "PRIMARY KEY (kind, cell, row_id)) WITHOUT ROWID");
    exec(db, std::string("CREATE TABLE IF NOT EXISTS ") + kFootprintTable +
                 " (row_id INTEGER PRIMARY KEY, fp BLOB NOT NULL)");
    if (!existed) {
        rebuild_spatial_index(db);  // makes the row_id index too
        return;
    }
    exec(db, std::string("CREATE INDEX IF NOT EXISTS ") + kSpatialIndexTable + "_row ON " + kSpatialIndexTable +
                 " (row_id)");
}

struct SpatialIndexWriter::Statements {
    Stmt find, del_cells, del_fp, ins_cell, ins_fp;
    explicit Statements(sqlite3* db)
        : find(db, "SELECT rowid FROM ivoa_obscore WHERE obs_publisher_did = ?1"),
          del_cells(db, "DELETE FROM ivoa_obscore_s2 WHERE row_id = ?1"),
          del_fp(db, "DELETE FROM ivoa_obscore_fp WHERE row_id = ?1"),
          ins_cell(db, "INSERT OR IGNORE INTO ivoa_obscore_s2 (kind, cell, row_id) VALUES (?1, ?2, ?3)"),
          ins_fp(db, "INSERT OR REPLACE INTO ivoa_obscore_fp (row_id, fp) VALUES (?1, ?2)") {}
};

SpatialIndexWriter::SpatialIndexWriter(sqlite3* db) : db_(db), s_(new Statements(db)) {}
SpatialIndexWriter::~SpatialIndexWriter() { delete s_; }

void SpatialIndexWriter::index_row(std::int64_t rowid, std::optional<double> s_ra, std::optional<double> s_dec,
                                   std::string_view s_region) {
    row_index_entries(s_ra, s_dec, s_region, cells_, footprint_);
    auto run = [](Stmt& st) {
        st.step();
        sqlite3_reset(st.s);
        sqlite3_clear_bindings(st.s);
    };
    sqlite3_bind_int64(s_->del_cells.s, 1, rowid);
    run(s_->del_cells);
    for (const IndexCell& c : cells_) {
        sqlite3_bind_int(s_->ins_cell.s, 1, c.kind);
        sqlite3_bind_int64(s_->ins_cell.s, 2, c.cell);
        sqlite3_bind_int64(s_->ins_cell.s, 3, rowid);
        run(s_->ins_cell);
    }
    if (footprint_.empty()) {
        sqlite3_bind_int64(s_->del_fp.s, 1, rowid);
        run(s_->del_fp);
    } else {
        sqlite3_bind_int64(s_->ins_fp.s, 1, rowid);
        sqlite3_bind_blob(s_->ins_fp.s, 2, footprint_.data(), static_cast<int>(footprint_.size()), SQLITE_STATIC);
        run(s_->ins_fp);
    }
}

void SpatialIndexWriter::index_product(std::string_view obs_publisher_did, std::optional<double> s_ra,
                                       std::optional<double> s_dec, std::string_view s_region) {
    Stmt& find = s_->find;
    sqlite3_bind_text(find.s, 1, obs_publisher_did.data(), static_cast<int>(obs_publisher_did.size()), SQLITE_STATIC);
    const bool found = find.step();
    const std::int64_t rowid = found ? sqlite3_column_int64(find.s, 0) : 0;
    sqlite3_reset(find.s);
    sqlite3_clear_bindings(find.s);
    if (found) index_row(rowid, s_ra, s_dec, s_region);
}

void index_row(sqlite3* db, std::int64_t rowid, std::optional<double> s_ra, std::optional<double> s_dec,
               std::string_view s_region) {
    SpatialIndexWriter(db).index_row(rowid, s_ra, s_dec, s_region);
}

void index_product(sqlite3* db, const std::string& obs_publisher_did, std::optional<double> s_ra,
                   std::optional<double> s_dec, std::string_view s_region) {
    SpatialIndexWriter(db).index_product(obs_publisher_did, s_ra, s_dec, s_region);
}

void rebuild_spatial_index(sqlite3* db, unsigned threads) {
    if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    exec(db, std::string("DROP INDEX IF EXISTS ") + kSpatialIndexTable + "_row");
    exec(db, std::string("DELETE FROM ") + kSpatialIndexTable);
    exec(db, std::string("DELETE FROM ") + kFootprintTable);
    (void)S2CellId(S2Point(1, 0, 0));  // S2's lookup tables made before the threads start

    struct Row {
        std::int64_t rowid;
        std::optional<double> ra, dec;
        std::string region;
    };
    struct Entry {
        std::int64_t cell, row;
        bool operator<(const Entry& o) const { return cell != o.cell ? cell < o.cell : row < o.row; }
    };
    // what one thread computes from a slice of a chunk; slices are in rowid order
    struct Slice {
        std::vector<Entry> cells[2];  // by kind
        std::vector<std::pair<std::int64_t, std::string>> footprints;
    };
    std::vector<Entry> cells[2];
    Stmt read(db, "SELECT rowid, s_ra, s_dec, s_region FROM ivoa_obscore ORDER BY rowid");
    Stmt ins_fp(db, "INSERT INTO ivoa_obscore_fp (row_id, fp) VALUES (?1, ?2)");
    constexpr std::size_t kChunk = 1 << 15;
    std::vector<Row> rows;
    bool more = true;
    while (more) {
        rows.clear();
        while (rows.size() < kChunk && (more = read.step()))
            rows.push_back({sqlite3_column_int64(read.s, 0), column_double(read.s, 1), column_double(read.s, 2),
                            std::string(column_text(read.s, 3))});
        std::vector<Slice> slices(std::min<std::size_t>(threads, std::max<std::size_t>(rows.size(), 1)));
        std::vector<std::exception_ptr> failures(slices.size());
        auto work = [&](std::size_t k) {
            try {  // (an exception leaving a thread would end the process)
                Slice& out = slices[k];
                std::vector<IndexCell> row_cells;
                std::string fp;
                const std::size_t lo = rows.size() * k / slices.size(), hi = rows.size() * (k + 1) / slices.size();
                for (std::size_t i = lo; i < hi; ++i) {
                    row_index_entries(rows[i].ra, rows[i].dec, rows[i].region, row_cells, fp);
                    for (const IndexCell& c : row_cells) out.cells[c.kind].push_back({c.cell, rows[i].rowid});
                    if (!fp.empty()) out.footprints.emplace_back(rows[i].rowid, std::move(fp));
                }
            } catch (...) {
                failures[k] = std::current_exception();
            }
        };
        std::vector<std::thread> pool;
        for (std::size_t k = 1; k < slices.size(); ++k) pool.emplace_back(work, k);
        work(0);
        for (auto& t : pool) t.join();
        for (const auto& f : failures)
            if (f) std::rethrow_exception(f);
        for (Slice& sl : slices) {
            for (int kind : {0, 1}) cells[kind].insert(cells[kind].end(), sl.cells[kind].begin(), sl.cells[kind].end());
            for (auto& [rowid, fp] : sl.footprints) {  // rowid order: appends to the table's b-tree
                sqlite3_bind_int64(ins_fp.s, 1, rowid);
                sqlite3_bind_blob(ins_fp.s, 2, fp.data(), static_cast<int>(fp.size()), SQLITE_STATIC);
                ins_fp.step();
                sqlite3_reset(ins_fp.s);
            }
        }
    }
    Stmt ins(db, "INSERT OR IGNORE INTO ivoa_obscore_s2 (kind, cell, row_id) VALUES (?1, ?2, ?3)");
    for (int kind : {0, 1}) {  // key order: every insert appends
        std::sort(cells[kind].begin(), cells[kind].end());
        for (const Entry& e : cells[kind]) {
            sqlite3_bind_int(ins.s, 1, kind);
            sqlite3_bind_int64(ins.s, 2, e.cell);
            sqlite3_bind_int64(ins.s, 3, e.row);
            ins.step();
            sqlite3_reset(ins.s);
        }
        std::vector<Entry>().swap(cells[kind]);
    }
    exec(db, std::string("CREATE INDEX ") + kSpatialIndexTable + "_row ON " + kSpatialIndexTable + " (row_id)");
}

std::optional<adql::SpatialIndexInfo> spatial_index_info(sqlite3* db) {
    if (!table_exists(db, kSpatialIndexTable)) return std::nullopt;
    adql::SpatialIndexInfo info;
    info.cell_table = kSpatialIndexTable;
    info.cover_function = "adql_s2_cover";
    info.ra = "s_ra";
    info.dec = "s_dec";
    info.region = "s_region";
    if (table_exists(db, kFootprintTable)) info.footprint_table = kFootprintTable;
    return info;
}

int register_spatial_index_module(sqlite3* db) {
    static const sqlite3_module module = make_cover_module();
    int rc = sqlite3_create_module(db, "adql_s2_cover", &module, nullptr);
    if (rc != SQLITE_OK) return rc;
    // Connect the eponymous table now: its first use runs schema statements
    // that the read-only authorizer of query connections (set after this)
    // would deny.
    sqlite3_stmt* s = nullptr;
    rc = sqlite3_prepare_v2(db, "SELECT lo FROM adql_s2_cover('0 0', 0)", -1, &s, nullptr);
    sqlite3_finalize(s);
    return rc;
}

}  // namespace vo::obscore
