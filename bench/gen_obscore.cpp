// Fills a store with N synthetic ObsCore rows spread uniformly over the sky,
// for the TAP streaming and spatial-query benchmarks (bench/README.md).
//
//   bench_gen_obscore STORE N [SEED [ROWS_PER_COMMIT]]
//
// STORE is a SQLite path or a postgresql:// URL of the writer role (the rows
// then go through the PostgreSQL writer: COPY + upsert, obscore/pg_writer.hpp);
// the figure printed is the bulk-ingest rate of that store. The rows are
// committed every ROWS_PER_COMMIT rows (default 100,000; 0: one transaction).
//
// Each row is a 0.1 x 0.1 degree square image footprint around a random
// position; spectral and time ranges are random but plausible. The rows have
// no product file (SODA on them answers "not found").
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include "obscore/writer.hpp"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s STORE N [SEED [ROWS_PER_COMMIT]]\n", argv[0]);
        return 2;
    }
    const std::string path = argv[1];
    const long n = std::stol(argv[2]);
    std::mt19937_64 rng(argc > 3 ? std::stoul(argv[3]) : 42);
    const long per_commit = argc > 4 ? std::stol(argv[4]) : 100000;
    std::uniform_real_distribution<double> u01(0.0, 1.0);
    try {
        auto store = vo::obscore::open_archive_writer(path, {});
        auto t0 = std::chrono::steady_clock::now();
        store->begin();
        for (long i = 0; i < n; ++i) {
            vo::obscore::ObsCoreRecord r;
            const double ra = 360.0 * u01(rng);
            const double half = 0.05;
            // uniform over the sphere, the centre kept `half` from the poles
            // so that every corner is a valid latitude (a footprint whose
            // corners passed a pole was not a valid region)
            const double dec = std::clamp(std::asin(2.0 * u01(rng) - 1.0) * 180.0 / M_PI, -90.0 + half, 90.0 - half);
            const double dra = half / std::max(std::cos(dec * M_PI / 180.0), 1e-3);
            r.dataproduct_type = (i % 3 == 0) ? "cube" : "image";
            r.calib_level = 2;
            r.obs_collection = "bench";
            r.obs_id = "bench-" + std::to_string(i);
            r.obs_publisher_did = "ivo://bench/bench?" + r.obs_id;
            r.access_url = "http://127.0.0.1:8080/datalink/sync?ID=ivo%3A%2F%2Fbench%2Fbench%3F" + r.obs_id;
            r.access_format = "application/x-votable+xml;content=datalink";
            r.access_estsize = 1000 + static_cast<long>(u01(rng) * 1e6);
            r.target_name = "field " + std::to_string(i % 1000);
            r.s_ra = ra;
            r.s_dec = dec;
            r.s_fov = 0.1414;
            auto wrap = [](double a) { return a < 0 ? a + 360 : (a >= 360 ? a - 360 : a); };
            r.s_region = {{wrap(ra - dra), dec - half},
                          {wrap(ra + dra), dec - half},
                          {wrap(ra + dra), dec + half},
                          {wrap(ra - dra), dec + half}};
            r.s_resolution = 0.5 + u01(rng);
            r.s_xel1 = r.s_xel2 = 1800;
            r.t_min = 55000 + 5000 * u01(rng);
            r.t_max = *r.t_min + 0.1;
            r.t_exptime = 3600;
            r.em_min = 4.7e-7;
            r.em_max = 9.3e-7;
            r.em_xel = 3681;
            r.o_ucd = "phot.flux.density";
            r.facility_name = "ESO-VLT-U4";
            r.instrument_name = "MUSE";
            store->upsert(r, vo::obscore::ProductFile{"", 0, 0, {}});
            if (per_commit > 0 && (i + 1) % per_commit == 0) {
                store->commit();
                store->begin();
                std::fprintf(stderr, "%ld rows\n", i + 1);
            }
        }
        store->commit();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%ld rows in %.1f s (%.0f rows/s) into %s\n", n, s, n / s, store->name().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_gen_obscore: %s\n", e.what());
        return 1;
    }
    return 0;
}
