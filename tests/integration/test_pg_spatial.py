"""The PostgreSQL spatial index (issue 11 item 2): ivoa.obscore's pgSphere
companion columns voserver_s_point / voserver_s_region with GiST indexes
(obscore/pg_store.hpp) and the pre-filter the PostgreSQL dialect AND-s with
the exact CONTAINS / INTERSECTS / DISTANCE test (ADQL 2.1 section 4.2;
adql/dialect_postgres.cpp).

What a user would check, without EXPLAIN: cone searches and footprint
intersections return the same rows from the SQLite store and from
PostgreSQL, around the real products of the test archive and over 20,000
synthetic rows (bench_gen_obscore) where circles cross RA 0, hold a pole or
are larger than a hemisphere; on PostgreSQL the same predicate also answers
alike when OR-ing it with a false condition keeps the pre-filter out (the
exact test alone), including rows whose footprint has no bounding circle or
is NULL. Then one EXPLAIN: the translated cone search (`voserver query
--sql`) is planned on the GiST index."""
import contextlib
import os
import shutil
import sqlite3
import subprocess

import numpy as np
import pytest
import pyvo

import conftest

GEN = conftest.ROOT / "build" / "bench_gen_obscore"
PSQL = shutil.which("psql") or "/usr/lib/postgresql/15/bin/psql"
N_SYNTHETIC = 20000


def run(base, adql):
    """Runs one ADQL query through pyvo on the server at `base`; an astropy
    Table, after checking that no error ended the rows (conftest.complete)."""
    return conftest.complete(pyvo.dal.TAPService(base + "/tap", session=conftest.session()).search(
        adql, maxrec=200000)).to_table()


def ids(base, where, columns="obs_id"):
    """The obs_id set of `SELECT obs_id FROM ivoa.obscore WHERE where`."""
    t = run(base, f"SELECT {columns} FROM ivoa.obscore WHERE {where}")
    return {v.decode() if isinstance(v, bytes) else str(v) for v in t["obs_id"]}


def psql(database, sql, role="voserver_writer"):
    """Runs `sql` with psql on the scripts/postgres cluster; its stdout (unaligned, tuples only)."""
    done = subprocess.run([PSQL, "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                           str(conftest.PG_PORT), "-U", role, "-d", database, "-c", sql],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


# a footprint whose corners pass the south pole (latitude -90.02): not a
# valid region, as bench_gen_obscore once made for |s_dec| > 89.95
POLE_REGION = "Polygon ICRS 10 -90.02 110 -90.02 110 -89.92 10 -89.92"


def add_pole_row(store):
    """Adds to the SQLite store `store` a copy of bench-0, obs_id pole-1, whose
    s_region is POLE_REGION. The spatial index tables are dropped; the
    fixture's `voserver ingest` of an empty directory then builds them again
    as the writers index a row: the point indexed, the footprint (not a
    region) not."""
    con = sqlite3.connect(store)
    with con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(ivoa_obscore)") if r[1] != "voserver_row_id"]
        new = {"obs_publisher_did": "'ivo://bench/pole?1'", "obs_id": "'pole-1'", "s_dec": "-89.97",
               "s_region": f"'{POLE_REGION}'"}
        con.execute(f"INSERT INTO ivoa_obscore ({', '.join(cols)}) SELECT "
                    f"{', '.join(new.get(c, c) for c in cols)} FROM ivoa_obscore WHERE obs_id = 'bench-0'")
        con.execute("DROP TABLE ivoa_obscore_s2")
        con.execute("DROP TABLE ivoa_obscore_fp")
    con.close()


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """20,000 synthetic rows (0.1 degree squares uniform over the sky) in a
    SQLite store and, through `voserver pg-load`, in a fresh PostgreSQL
    database, each served by a server; plus, in PostgreSQL only, three rows
    extra-1..3 whose footprint has no bounding circle (circles of 120 and 95
    degrees) or is NULL; and in both, pole-1, whose footprint is not a valid
    region (add_pole_row). Yields {"sqlite": base, "postgresql": base, "database", "pg_config"}."""
    work = tmp_path_factory.mktemp("pg_spatial")
    cfg = conftest.write_config(work)
    made = subprocess.run([str(GEN), str(work / "store.sqlite"), str(N_SYNTHETIC), "7"], capture_output=True,
                          text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    add_pole_row(work / "store.sqlite")
    (work / "empty").mkdir()
    reindexed = subprocess.run([str(conftest.VOSERVER), "ingest", "--config", str(cfg), str(work / "empty")],
                               capture_output=True, text=True, timeout=600)
    assert reindexed.returncode == 0, reindexed.stdout + reindexed.stderr
    with contextlib.closing(sqlite3.connect(work / "store.sqlite")) as con:
        assert con.execute("SELECT count(*) FROM ivoa_obscore_fp").fetchone()[0] == N_SYNTHETIC
    name = f"voserver_sp_{os.getpid()}"
    created = subprocess.run([str(conftest.ROOT / "scripts" / "postgres"), "createdb", name], capture_output=True,
                             text=True, timeout=300)
    assert created.returncode == 0, created.stdout + created.stderr
    try:
        loaded = subprocess.run([str(conftest.VOSERVER), "pg-load", "--config", str(cfg), "--database",
                                 conftest.pg_url("voserver_writer", name)], capture_output=True, text=True,
                                timeout=900)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        # rows only PostgreSQL has: copies of bench-0 with other footprints
        psql(name, """
            DO $$ DECLARE cols text; BEGIN
              SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
                FROM information_schema.columns
               WHERE table_schema = 'ivoa' AND table_name = 'obscore' AND is_generated = 'NEVER'
                 AND column_name NOT LIKE 'voserver%';
              EXECUTE format('CREATE TEMP TABLE extra AS SELECT %s FROM ivoa.obscore WHERE obs_id = ''bench-0''', cols);
              EXECUTE format('INSERT INTO ivoa.obscore (%s) SELECT %s FROM ('
                || 'SELECT * FROM extra CROSS JOIN generate_series(1, 3) AS k) AS e', cols,
                replace(replace(replace(replace(cols, 'obs_publisher_did', '''ivo://bench/extra?'' || k AS d'),
                  'obs_id', '''extra-'' || k AS i'),
                  's_region', 'CASE k WHEN 1 THEN ''Circle ICRS 10 20 120'' WHEN 2 THEN ''Circle ICRS 359.5 0.5 95'' END'),
                  's_ra', 'CASE k WHEN 3 THEN 0.1 ELSE s_ra END'));
            END $$;
            -- the spatial companions, as a writer other than voserver's must set them (pg_store.hpp)
            UPDATE ivoa.obscore SET voserver_s_point = voserver_point(s_ra, s_dec),
                                    voserver_s_region = voserver_bound(s_region)
             WHERE obs_id LIKE 'extra-%';
            ANALYZE ivoa.obscore""")
        pg_work = work / "pg"
        pg_work.mkdir()
        pg_cfg = pg_work / "voserver.toml"
        pg_cfg.write_text(cfg.read_text().replace(
            "[archive]\n", f'[archive]\nquery_database = "{conftest.pg_url("voserver_reader", name)}"\n', 1))
        with contextlib.ExitStack() as stack:
            lite = stack.enter_context(conftest.running_server(cfg, work))
            pg = stack.enter_context(conftest.running_server(pg_cfg, pg_work))
            yield {"sqlite": lite, "postgresql": pg, "database": name, "pg_config": pg_cfg}
    finally:
        subprocess.run([str(conftest.ROOT / "scripts" / "postgres"), "dropdb", name], capture_output=True,
                       text=True, timeout=120)


SYNTHETIC_CASES = [
    # cones: crossing RA 0, holding a pole, near 90 degrees, larger than a hemisphere
    "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0.2, 5, 3)) = 1",
    "CONTAINS(POINT(s_ra, s_dec), CIRCLE(359.5, -20, 2)) = 1",
    "1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(45, 88.5, 3))",
    "CONTAINS(POINT(s_ra, s_dec), CIRCLE(0, -90, 4)) = 1",
    "CONTAINS(POINT(s_ra, s_dec), CIRCLE(100, 10, 89.99)) = 1",
    "CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 120)) = 1",
    "INTERSECTS(POINT(s_ra, s_dec), BOX(0, 0, 4, 4)) = 1",
    "CONTAINS(POINT(s_ra, s_dec), POLYGON(358, -3, 3, -3, 3, 3, 358, 3)) = 1",
    "CONTAINS(POINT(s_ra, s_dec), RANGE_S2D(350, 10, 75, 89)) = 1",
    # ranges with a corner at a pole (regression: pgSphere's sbox is not the RA/dec box there)
    "CONTAINS(POINT(s_ra, s_dec), RANGE_S2D(350, 10, 75, 90)) = 1",
    "INTERSECTS(RANGE_S2D(100, 200, -90, -80), POINT(s_ra, s_dec)) = 1",
    "DISTANCE(POINT(s_ra, s_dec), POINT(359.9, 0)) < 2",
    "CONTAINS(POINT(359.9, 0), CIRCLE(s_ra, s_dec, 2)) = 1",
    # footprints
    "INTERSECTS(s_region, CIRCLE(0.1, -10, 2)) = 1",
    "INTERSECTS(s_region, POLYGON(358, -2, 2, -2, 2, 2, 358, 2)) = 1",
    "INTERSECTS(s_region, RANGE_S2D(359, 1, -3, 3)) = 1",
    "INTERSECTS(CIRCLE(0, 90, 4), s_region) = 1",
    "INTERSECTS(s_region, CIRCLE(200, -30, 100)) = 1",
    "CONTAINS(s_region, CIRCLE(0.5, 0.5, 3)) = 1",
    "calib_level = 2 AND INTERSECTS(s_region, CIRCLE(180, -89.5, 3)) = 1 AND dataproduct_type = 'image'",
]


@pytest.mark.parametrize("where", SYNTHETIC_CASES)
def test_synthetic_rows_agree(synthetic, where):
    """The same rows from SQLite, from PostgreSQL, and from PostgreSQL with
    the pre-filter kept out (an OR with a false condition)."""
    pg = ids(synthetic["postgresql"], where)
    exact = ids(synthetic["postgresql"], f"({where}) OR obs_id = 'none'")
    assert pg == exact, "the pre-filter changed the result"
    lite = ids(synthetic["sqlite"], where)
    assert {i for i in pg if not i.startswith("extra-")} == lite, "SQLite and PostgreSQL differ"
    assert lite  # each case finds some of the synthetic rows


def test_footprints_holding_a_point_agree(synthetic):
    """CONTAINS(POINT, s_region) at the centres of footprints near RA 0 and a pole."""
    t = run(synthetic["sqlite"], "SELECT TOP 4 s_ra, s_dec FROM ivoa.obscore WHERE s_ra < 0.5 OR s_ra > 359.5 "
            "OR s_dec > 85 ORDER BY obs_id")
    assert len(t) == 4
    for ra, dec in zip(t["s_ra"], t["s_dec"]):
        where = f"CONTAINS(POINT({float(ra)!r}, {float(dec)!r}), s_region) = 1"
        pg = ids(synthetic["postgresql"], where)
        assert pg == ids(synthetic["postgresql"], f"({where}) OR obs_id = 'none'")
        lite = ids(synthetic["sqlite"], where)
        assert lite and {i for i in pg if not i.startswith("extra-")} == lite


def test_footprints_without_a_bound_are_found(synthetic):
    """Rows whose footprint no circle of at most 90 degrees encloses are kept
    by the pre-filter (its partial index); a NULL footprint matches nothing."""
    got = ids(synthetic["postgresql"], "INTERSECTS(s_region, CIRCLE(150, 50, 0.1)) = 1")
    assert "extra-1" in got and "extra-2" not in got and "extra-3" not in got
    got = ids(synthetic["postgresql"], "INTERSECTS(s_region, POINT(359.8, 0.4)) = 1")
    assert "extra-2" in got and "extra-3" not in got


@pytest.mark.parametrize("where", [
    "INTERSECTS(s_region, CIRCLE(0.1, -27, 1)) = 1",
    "INTERSECTS(s_region, CIRCLE(60, -89.95, 1)) = 1",
    "CONTAINS(POINT(60, -89.95), s_region) = 1",
    "INTERSECTS(s_region, POLYGON(358, -2, 2, -2, 2, 2, 358, 2)) = 1",
])
def test_an_invalid_stored_footprint_matches_nothing(synthetic, where):
    """Regression: a row whose s_region is not a valid region (pole-1, a
    corner at latitude -90.02) made every PostgreSQL footprint query that
    reached it in its exact test fail with HTTP 400 "POLYGON: latitude ... is
    outside [-90, 90]", even one centred at dec -27, and SQLite failed alike
    once the index was kept out. On both backends, with and without the
    index, it now matches nothing and the other rows are found."""
    found = {}
    for backend in ("postgresql", "sqlite"):
        assert ids(synthetic[backend], "obs_id = 'pole-1'", "obs_id, s_region") == {"pole-1"}
        for form in (where, f"({where}) OR obs_id = 'none'"):
            got = ids(synthetic[backend], form)
            assert "pole-1" not in got
            found[backend, form] = {i for i in got if not i.startswith("extra-")}
    assert len({frozenset(v) for v in found.values()}) == 1, found


def test_cone_search_uses_the_gist_index(synthetic):
    """EXPLAIN of the SQL `voserver query --sql` gives for a cone search and
    for a footprint search: the GiST indexes of the companion columns."""
    def plan(adql):
        sql = subprocess.run([str(conftest.VOSERVER), "query", "--sql", "--config", str(synthetic["pg_config"]),
                              adql], capture_output=True, text=True, timeout=60)
        assert sql.returncode == 0, sql.stderr
        return psql(synthetic["database"], "EXPLAIN " + sql.stdout, role="voserver_reader")

    cone = plan("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), "
                "CIRCLE('ICRS', 10, 20, 0.5)) = 1")
    assert "obscore_voserver_s_point" in cone, cone
    footprint = plan("SELECT * FROM ivoa.obscore WHERE INTERSECTS(s_region, CIRCLE(10, 20, 0.5)) = 1")
    assert "obscore_voserver_s_region" in footprint, footprint
    # no bound (a circle over 90 degrees): nothing to look up, the exact test alone
    big = plan("SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 100)) = 1")
    assert "voserver_s_point" not in big, big


def test_prewarm_reads_the_table_and_its_spatial_indexes(synthetic):
    """`scripts/postgres prewarm DB` reads every page of ivoa.obscore, its
    two GiST indexes and its DID index into shared buffers (pg_prewarm
    counts the blocks it read); a database without ivoa.obscore is a clear
    error."""
    script = str(conftest.ROOT / "scripts" / "postgres")
    done = subprocess.run([script, "prewarm", synthetic["database"]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    relations = ["obscore", "obscore_obs_publisher_did", "obscore_voserver_s_point", "obscore_voserver_s_region"]
    blocks = psql(synthetic["database"], "SELECT sum(pg_relation_size(c.oid) / 8192) FROM pg_class AS c WHERE "
                  "c.relnamespace = 'ivoa'::regnamespace AND c.relname IN ("
                  + ", ".join(f"'{r}'" for r in relations) + ")").strip()
    assert int(blocks) > 1000  # 20,000 rows and their indexes
    assert done.stdout.strip() == f"postgres: {blocks} pages of {', '.join(relations)} in shared buffers", done.stdout
    missing = subprocess.run([script, "prewarm", "postgres"], capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1
    assert "database postgres has no ivoa.obscore" in missing.stderr, missing.stderr


@pytest.fixture(scope="module")
def products(archive):
    """The real products with a position: (obs_id, s_ra, s_dec)."""
    t = run(archive["base"], "SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE s_ra IS NOT NULL")
    out = [(str(t["obs_id"][i]), float(t["s_ra"][i]), float(t["s_dec"][i])) for i in range(len(t))
           if not np.ma.is_masked(t["s_dec"][i])]
    assert len(out) >= 10
    return out


@pytest.mark.parametrize("radius", [0.001, 0.05, 2.0])
def test_real_products_agree(archive, pg_archive, products, radius):
    """Around every real product: its cone and the footprints meeting a circle
    on it are the same rows from both stores; the product finds itself."""
    for obs_id, ra, dec in products:
        for where in (f"CONTAINS(POINT(s_ra, s_dec), CIRCLE({ra!r}, {dec!r}, {radius})) = 1",
                      f"INTERSECTS(s_region, CIRCLE({ra!r}, {dec!r}, {radius})) = 1"):
            lite = ids(archive["base"], where)
            assert ids(pg_archive["base"], where) == lite, where
            if where.startswith("CONTAINS"):
                assert obs_id in lite, where


def test_companion_columns_are_not_published(pg_archive):
    """TAP_SCHEMA and SELECT * do not show voserver_s_point / voserver_s_region."""
    names = run(pg_archive["base"], "SELECT column_name FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore'")
    listed = {str(v).lower() for v in names["column_name"]}
    assert "s_region" in listed and not any(n.startswith("voserver_") for n in listed)
    star = run(pg_archive["base"], "SELECT TOP 1 * FROM ivoa.obscore")
    assert "s_region" in star.colnames and not any(n.startswith("voserver_") for n in star.colnames)
    with pytest.raises(pyvo.dal.DALQueryError):
        run(pg_archive["base"], "SELECT TOP 1 voserver_s_point FROM ivoa.obscore")
