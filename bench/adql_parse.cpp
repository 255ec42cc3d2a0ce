// ADQL benchmarks (issue 3 "Benchmark"; figures in bench/README.md, section
// "ADQL and spatial queries").
//
//   bench_adql_parse corpus LYONETIA.jsonl
//       parse (check_syntax) and parse+check+translate (translate_sqlite
//       against an ObsCore-like catalogue) time per query over the corpus.
//   bench_adql_parse index STORE
//       opens STORE for writing, which builds the S2 spatial index if the store
//       has none yet (obscore/spatial_index.hpp), and reports the time.
//   bench_adql_parse reindex STORE [THREADS]
//       rebuilds the whole index of STORE in bulk (rebuild_spatial_index on
//       THREADS threads, default one per hardware thread), in one
//       transaction, and reports the time (issue 14).
//   bench_adql_parse spatial STORE [N]
//       in process, on the read-only store: median time of N cone queries
//       (CONTAINS(POINT(s_ra, s_dec), CIRCLE(..., r)) = 1) and N footprint
//       queries (INTERSECTS(s_region, CIRCLE(..., r)) = 1), r = 0.1 and 1 deg,
//       at random centres, each translated, executed and every column of every
//       row read as text; and of the same rows fetched without the spatial
//       predicate by primary key (obs_publisher_did IN (...)).
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <boost/json/src.hpp>

#include "adql/adql.hpp"
#include "obscore/spatial_index.hpp"
#include "obscore/store.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double micros(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::micro>(b - a).count();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}
double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))];
}

class BenchCatalog : public vo::adql::Catalog {
public:
    BenchCatalog() {
        vo::adql::TableInfo t;
        t.schema = "ivoa";
        t.name = "obscore";
        t.physical = "ivoa_obscore";
        for (const char* n : {"s_ra", "s_dec", "s_fov", "em_min", "em_max", "t_min", "t_max", "x", "y", "ra", "dec"}) {
            vo::adql::ColumnInfo c;
            c.name = c.physical = n;
            c.datatype = "double";
            c.unit = "deg";
            t.columns.push_back(c);
        }
        for (const char* n : {"obs_id", "obs_publisher_did", "target_name", "a", "b"}) {
            vo::adql::ColumnInfo c;
            c.name = c.physical = n;
            c.datatype = "char";
            c.arraysize = "*";
            t.columns.push_back(c);
        }
        vo::adql::ColumnInfo r;
        r.name = r.physical = "s_region";
        r.datatype = "char";
        r.arraysize = "*";
        r.xtype = "adql:REGION";
        t.columns.push_back(r);
        tables_.push_back(t);
    }
    const std::vector<vo::adql::TableInfo>& tables() const override { return tables_; }

private:
    std::vector<vo::adql::TableInfo> tables_;
};

int corpus(const char* path) {
    std::ifstream in(path);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    struct Case {
        std::string adql;
        std::vector<vo::adql::UdfDecl> udfs;
    };
    std::vector<Case> cases;
    std::string line;
    while (std::getline(in, line)) {
        auto v = boost::json::parse(line).as_object();
        Case c;
        c.adql = std::string(v["adql"].as_string());
        for (auto& u : v["udfs"].as_array()) {
            try {
                c.udfs.push_back(vo::adql::parse_udf_decl(std::string(u.as_string())));
            } catch (const vo::adql::AdqlError&) {
            }
        }
        cases.push_back(std::move(c));
    }
    BenchCatalog catalog;
    std::vector<double> parse_t, translate_t;
    int translated = 0;
    const int rounds = 20;
    for (auto& c : cases) {
        std::vector<double> p, t;
        vo::adql::TranslateOptions opt;
        opt.udfs = c.udfs;
        for (int k = 0; k < rounds; ++k) {
            auto a = Clock::now();
            (void)vo::adql::check_syntax(c.adql, c.udfs);
            auto b = Clock::now();
            bool ok = true;
            try {
                (void)vo::adql::translate_sqlite(c.adql, catalog, opt);
            } catch (const vo::adql::AdqlError&) {
                ok = false;
            }
            auto d = Clock::now();
            p.push_back(micros(a, b));
            t.push_back(micros(b, d));
            if (k == 0 && ok) ++translated;
        }
        parse_t.push_back(median(p));
        translate_t.push_back(median(t));
    }
    double sum = 0;
    for (double x : translate_t) sum += x;
    std::printf(
        "lyonetia corpus: %zu queries (%d translate against the bench catalogue, the rest end in an "
        "AdqlError)\n",
        cases.size(), translated);
    std::printf("parse (check_syntax):          median %.1f us, p90 %.1f us, max %.1f us\n", median(parse_t),
                percentile(parse_t, 0.9), percentile(parse_t, 1.0));
    std::printf("parse+check+translate:         median %.1f us, p90 %.1f us, max %.1f us, mean %.1f us\n",
                median(translate_t), percentile(translate_t, 0.9), percentile(translate_t, 1.0),
                sum / translate_t.size());
    return 0;
}

/// Runs `sql`, reading every column of every row as text (as a writer
/// would); returns the rows' first column values.
std::vector<std::string> run(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "prepare failed: %s\n%s\n", sqlite3_errmsg(db), sql.c_str());
        std::exit(1);
    }
    std::vector<std::string> first;
    std::size_t bytes = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        int n = sqlite3_column_count(s);
        for (int i = 0; i < n; ++i) {
            auto p = sqlite3_column_text(s, i);
            bytes += sqlite3_column_bytes(s, i);
            if (i == 0) first.emplace_back(p ? reinterpret_cast<const char*>(p) : "");
        }
    }
    sqlite3_finalize(s);
    (void)bytes;
    return first;
}

int spatial(const char* path, int n) {
    auto store = vo::obscore::Store::open_read_only(path);
    const auto& catalog = store->catalog();
    std::printf("store %s: %lld rows\n", path, store->count_rows());
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    struct Kind {
        const char* name;
        const char* pattern;
    };
    const Kind kinds[] = {
        {"cone CONTAINS(POINT(s_ra, s_dec), CIRCLE)",
         "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', %.6f, %.6f, %g)) = 1"},
        {"footprint INTERSECTS(s_region, CIRCLE)", "INTERSECTS(s_region, CIRCLE('ICRS', %.6f, %.6f, %g)) = 1"}};
    std::printf("%-44s %6s %9s %12s %12s %14s %6s\n", "query", "r/deg", "matches", "median/ms", "p90/ms",
                "by PK median/ms", "ratio");
    for (const Kind& k : kinds) {
        for (double r : {0.1, 1.0}) {
            std::vector<double> t_spatial, t_pk, matches;
            for (int i = 0; i < n; ++i) {
                double ra = 360 * u(rng), dec = std::asin(2 * u(rng) - 1) * 180 / M_PI;
                char where[200];
                std::snprintf(where, sizeof where, k.pattern, ra, dec, r);
                std::string adql = std::string("SELECT obs_publisher_did, * FROM ivoa.obscore WHERE ") + where;
                auto a = Clock::now();
                auto tr = vo::adql::translate_sqlite(adql, catalog);
                auto ids = run(store->db(), tr.sql);
                auto b = Clock::now();
                t_spatial.push_back(micros(a, b) / 1000);
                matches.push_back(static_cast<double>(ids.size()));
                std::string list;
                for (auto& id : ids) list += (list.empty() ? "'" : ", '") + id + "'";
                if (list.empty()) list = "''";
                std::string pk =
                    "SELECT obs_publisher_did, * FROM ivoa.obscore WHERE obs_publisher_did IN (" + list + ")";
                a = Clock::now();
                auto tr2 = vo::adql::translate_sqlite(pk, catalog);
                auto ids2 = run(store->db(), tr2.sql);
                b = Clock::now();
                t_pk.push_back(micros(a, b) / 1000);
                if (ids2.size() != ids.size())
                    std::fprintf(stderr, "warning: PK query returned %zu rows, not %zu\n", ids2.size(), ids.size());
            }
            double ms = median(t_spatial), pk = median(t_pk);
            std::printf("%-44s %6g %9.1f %12.3f %12.3f %14.3f %6.1f\n", k.name, r, median(matches), ms,
                        percentile(t_spatial, 0.9), pk, pk > 0 ? ms / pk : 0.0);
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 3 && std::string(argv[1]) == "corpus") return corpus(argv[2]);
    if (argc >= 3 && std::string(argv[1]) == "index") {
        auto a = Clock::now();
        auto store = vo::obscore::Store::open_for_write(argv[2]);
        auto b = Clock::now();
        std::printf("open_for_write (builds the spatial index if missing): %.1f s, %lld rows\n", micros(a, b) / 1e6,
                    store->count_rows());
        return 0;
    }
    if (argc >= 3 && std::string(argv[1]) == "reindex") {
        auto store = vo::obscore::Store::open_for_write(argv[2]);
        const unsigned threads = argc > 3 ? static_cast<unsigned>(std::atoi(argv[3])) : 0;
        auto a = Clock::now();
        store->begin();
        vo::obscore::rebuild_spatial_index(store->db(), threads);
        store->commit();
        auto b = Clock::now();
        std::printf("rebuild_spatial_index (%u threads, 0: one per hardware thread): %.1f s, %lld rows\n", threads,
                    micros(a, b) / 1e6, store->count_rows());
        return 0;
    }
    if (argc >= 3 && std::string(argv[1]) == "spatial") return spatial(argv[2], argc > 3 ? std::atoi(argv[3]) : 200);
    std::fprintf(stderr,
                 "usage: %s corpus LYONETIA.jsonl | index STORE | reindex STORE [THREADS] | spatial STORE [N]\n",
                 argv[0]);
    return 2;
}
