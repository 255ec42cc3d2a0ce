"""`voserver ingest` straight into PostgreSQL + pgSphere (issue 11 item 3).

The configuration's `[archive] database` is a postgresql:// URL of the writer
role; queries read the same database as the reader role. What a user checks:
the archive answers the same rows, values and footprints as the SQLite store
built from the same files (the `archive` fixture), a product ingested while the
server runs appears without a restart, ingesting again changes no row count,
and the product files are found (a SODA cutout of a real cube).
"""
import csv
import io
import os
import subprocess
import time

import pytest

import conftest

COLUMNS = ("obs_publisher_did, obs_id, dataproduct_type, calib_level, target_name, s_ra, s_dec, s_fov, s_region, "
           "em_min, em_max, t_min, t_max, t_exptime, pol_states, access_estsize, access_url, obs_release_date, "
           "frequency, data_rights, gal_longitude, band_list")


def sync_csv(base, adql):
    r = conftest.session().get(base + "/tap/sync", params={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "csv"},
                               timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text
    return list(csv.reader(io.StringIO(r.text)))


def postgres(*args):
    return subprocess.run([str(conftest.ROOT / "scripts" / "postgres"), *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def pg_ingested(tmp_path_factory):
    name = f"voserver_ingest_{os.getpid()}"
    made = postgres("createdb", name)
    assert made.returncode == 0, "scripts/postgres createdb failed (scripts/postgres start?):\n" + made.stdout + \
        made.stderr
    try:
        work = tmp_path_factory.mktemp("pg_ingest")
        cfg = conftest.write_config(work)
        text = cfg.read_text()
        text = text.replace(f'database = "{work / "store.sqlite"}"',
                            f'database = "{conftest.pg_url("voserver_writer", name)}"\n'
                            f'query_database = "{conftest.pg_url("voserver_reader", name)}"')
        assert "postgresql://voserver_writer" in text
        cfg.write_text(text)
        # first the MUSE products only, then (while serving) the rest
        first = conftest.ingest(cfg, conftest.FITS_DIR / "muse", "samples")
        assert first.returncode == 0, first.stdout + first.stderr
        with conftest.running_server(cfg, work) as base:
            yield {"base": base, "cfg": cfg, "work": work, "first": first, "database": name}
    finally:
        postgres("dropdb", name)


def test_ingest_into_postgresql_answers_as_the_sqlite_store(pg_ingested, archive):
    base = pg_ingested["base"]
    muse = sync_csv(base, "SELECT COUNT(*) AS n FROM ivoa.obscore")
    assert int(muse[1][0]) > 0
    # the rest of the files, while the server runs: the server sees them at once
    rest = conftest.ingest(pg_ingested["cfg"], conftest.FITS_DIR, "samples")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert "ingested" in rest.stdout
    query = f"SELECT {COLUMNS} FROM ivoa.obscore ORDER BY obs_publisher_did"
    on_pg = sync_csv(base, query)
    on_sqlite = sync_csv(archive["base"], query)
    assert len(on_pg) == len(on_sqlite) > 10
    assert int(muse[1][0]) < len(on_pg) - 1
    header = on_pg[0]
    url = header.index("access_url")
    for a, b in zip(on_pg[1:], on_sqlite[1:]):
        # access_url is completed with each server's own base URL
        assert a[url].replace(base, "") == b[url].replace(archive["base"], "")
        a[url] = b[url] = ""
        assert a == b


def test_ingesting_again_updates_rows_in_place(pg_ingested):
    base = pg_ingested["base"]
    before = sync_csv(base, "SELECT COUNT(*) AS n, COUNT(DISTINCT obs_publisher_did) AS d FROM ivoa.obscore")
    again = conftest.ingest(pg_ingested["cfg"], conftest.FITS_DIR / "muse", "samples")
    assert again.returncode == 0, again.stdout + again.stderr
    after = sync_csv(base, "SELECT COUNT(*) AS n, COUNT(DISTINCT obs_publisher_did) AS d FROM ivoa.obscore")
    assert after == before
    assert after[1][0] == after[1][1]


def test_products_ingested_into_postgresql_are_cut_out(pg_ingested):
    base = pg_ingested["base"]
    rows = sync_csv(base, "SELECT TOP 1 obs_publisher_did, s_ra, s_dec FROM ivoa.obscore "
                          "WHERE dataproduct_type = 'cube' AND instrument_name = 'MUSE' ORDER BY obs_publisher_did")
    assert len(rows) == 2, rows
    did, ra, dec = rows[1][0], float(rows[1][1]), float(rows[1][2])
    r = conftest.session().get(base + "/soda/sync", params={"ID": did, "CIRCLE": f"{ra} {dec} 0.001"},
                               timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text[:500]
    assert r.content[:30].startswith(b"SIMPLE  =                    T")


def test_pg_load_refuses_a_postgresql_store(pg_ingested):
    done = subprocess.run([str(conftest.VOSERVER), "pg-load", "--config", str(pg_ingested["cfg"]), "--database",
                           conftest.pg_url("voserver_writer", pg_ingested["database"])],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "already a PostgreSQL database" in done.stderr + done.stdout


def admin_sql(sql):
    """Runs `sql` on the cluster as its superuser (trusted on loopback)."""
    done = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                           f"postgresql://postgres@127.0.0.1:{conftest.PG_PORT}/postgres", "-c", sql],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_database_lost_answers_503_and_the_server_reconnects(pg_ingested):
    base, name = pg_ingested["base"], pg_ingested["database"]
    query = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore", "RESPONSEFORMAT": "csv"}
    s = conftest.session()
    good = s.get(base + "/tap/sync", params=query, timeout=conftest.TIMEOUT)
    assert good.status_code == 200
    # the database goes away: no new connections, the server's are cut
    admin_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    try:
        admin_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        for _ in range(3):  # whichever connection a request gets
            r = s.get(base + "/tap/sync", params=query, timeout=conftest.TIMEOUT)
            assert r.status_code == 503, r.text
            message = conftest.dali_error(r, 503)
            assert "unavailable" in message.lower(), message
        # VOSI availability says so too (VOSI 1.1 section 3.3)
        avail = s.get(base + "/tap/availability", timeout=conftest.TIMEOUT)
        assert avail.status_code == 200
        assert "<vosi:available>false</vosi:available>" in avail.text.replace(" ", ""), avail.text
    finally:
        admin_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    # back: answered again without a restart
    end = time.monotonic() + 30
    while True:
        r = s.get(base + "/tap/sync", params=query, timeout=conftest.TIMEOUT)
        if r.status_code == 200:
            break
        assert time.monotonic() < end, r.text
        time.sleep(0.5)
    assert r.text == good.text


def test_an_unreachable_database_at_start_up_is_named_and_exits_non_zero(tmp_path):
    cfg = conftest.write_config(tmp_path)
    url = "postgresql://voserver_reader:s3cret@127.0.0.1:1/voserver?connect_timeout=3"
    cfg.write_text(cfg.read_text().replace("[archive]\n", f'[archive]\nquery_database = "{url}"\n', 1))
    done = subprocess.run([str(conftest.VOSERVER), "serve", "--config", str(cfg), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    out = done.stdout + done.stderr
    assert "postgresql://voserver_reader@127.0.0.1:1/voserver" in out, out
    assert "s3cret" not in out


def test_tap_schema_tables_and_capabilities_identical_on_both_stores(archive, pg_archive):
    """TAP_SCHEMA (TAP 1.1 section 4), VOSI /tables and /capabilities answered
    alike by the SQLite store and its PostgreSQL copy (pg-load), modulo each
    server's own base URL."""
    s = conftest.session()
    for adql in ["SELECT * FROM TAP_SCHEMA.schemas ORDER BY schema_name",
                 "SELECT * FROM TAP_SCHEMA.tables ORDER BY table_name",
                 "SELECT * FROM TAP_SCHEMA.columns ORDER BY table_name, column_index, column_name",
                 "SELECT * FROM TAP_SCHEMA.keys ORDER BY key_id",
                 "SELECT * FROM TAP_SCHEMA.key_columns ORDER BY key_id, from_column"]:
        assert sync_csv(pg_archive["base"], adql) == sync_csv(archive["base"], adql), adql
    for path in ["/tap/tables", "/tap/capabilities"]:
        a = s.get(archive["base"] + path, timeout=conftest.TIMEOUT)
        b = s.get(pg_archive["base"] + path, timeout=conftest.TIMEOUT)
        assert a.status_code == b.status_code == 200
        assert b.text.replace(pg_archive["base"], "BASE") == a.text.replace(archive["base"], "BASE"), path


def test_contains_a_region_in_a_point_is_0_on_both_stores(archive, pg_archive):
    """Regression: CONTAINS(s_region, POINT(...)) failed on PostgreSQL with
    "operator is not unique: spoly <@ spoint"; ADQL 2.1 section 4.2.12 asks
    whether the region lies wholly inside the point: 0, as on SQLite."""
    adql = ("SELECT obs_id, CONTAINS(s_region, POINT('ICRS', s_ra, s_dec)) AS c FROM ivoa.obscore "
            "WHERE s_region IS NOT NULL AND s_ra IS NOT NULL ORDER BY obs_id")
    on_sqlite = sync_csv(archive["base"], adql)
    on_pg = sync_csv(pg_archive["base"], adql)
    assert len(on_sqlite) > 10
    assert on_pg == on_sqlite
    assert {row[1] for row in on_pg[1:]} == {"0"}


GEN = conftest.ROOT / "build" / "bench_gen_obscore"
BULK_CASES = [
    "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0.2, 5, 3)) = 1",
    "CONTAINS(POINT(s_ra, s_dec), CIRCLE(45, 88.5, 4)) = 1",
    "INTERSECTS(s_region, CIRCLE(0.1, -10, 3)) = 1",
    "INTERSECTS(s_region, POLYGON(358, -4, 4, -4, 4, 4, 358, 4)) = 1",
    "CONTAINS(s_region, POINT(120.05, -30.02)) = 1 OR INTERSECTS(s_region, CIRCLE(120, -30, 5)) = 1",
]


def psql_rows(database, sql):
    done = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
                           conftest.pg_url("voserver_writer", database), "-c", sql],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()


@pytest.fixture(scope="module")
def bulk_loaded(tmp_path_factory):
    """5,000 synthetic rows written by bench_gen_obscore into a SQLite store
    and, through the PostgreSQL writer in transactions of 3,000 rows, into a
    fresh database: the first transaction is a bulk load (indexes dropped and
    built again), the second an incremental merge. Yields the two servers'
    base URLs, the database and its index names before the load."""
    name = f"voserver_bulk_{os.getpid()}"
    made = postgres("createdb", name)
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        work = tmp_path_factory.mktemp("pg_bulk")
        cfg = conftest.write_config(work)
        lite = subprocess.run([str(GEN), str(work / "store.sqlite"), "5000", "11"], capture_output=True, text=True,
                              timeout=600)
        assert lite.returncode == 0, lite.stdout + lite.stderr
        writer = conftest.pg_url("voserver_writer", name)
        empty = subprocess.run([str(GEN), writer, "0"], capture_output=True, text=True, timeout=600)
        assert empty.returncode == 0, empty.stdout + empty.stderr
        indexes = psql_rows(name, "SELECT indexname FROM pg_indexes WHERE schemaname = 'ivoa' ORDER BY 1")
        loaded = subprocess.run([str(GEN), writer, "5000", "11", "3000"], capture_output=True, text=True,
                                timeout=600)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        pg_work = work / "pg"
        pg_work.mkdir()
        pg_cfg = pg_work / "voserver.toml"
        pg_cfg.write_text(cfg.read_text().replace(
            "[archive]\n", f'[archive]\nquery_database = "{conftest.pg_url("voserver_reader", name)}"\n', 1))
        with conftest.running_server(cfg, work) as lite_base, conftest.running_server(pg_cfg, pg_work) as pg_base:
            yield {"sqlite": lite_base, "postgresql": pg_base, "database": name, "indexes": indexes,
                   "writer": writer}
    finally:
        postgres("dropdb", name)


@pytest.mark.parametrize("where", BULK_CASES)
def test_bulk_loaded_rows_answer_as_the_sqlite_store(bulk_loaded, where):
    query = f"SELECT obs_id, s_ra, s_dec, s_region FROM ivoa.obscore WHERE {where} ORDER BY obs_id"
    on_pg = sync_csv(bulk_loaded["postgresql"], query)
    on_sqlite = sync_csv(bulk_loaded["sqlite"], query)
    assert len(on_sqlite) > 2, on_sqlite
    assert on_pg == on_sqlite


def test_bulk_load_keeps_every_index_and_the_spatial_companions(bulk_loaded):
    name = bulk_loaded["database"]
    assert psql_rows(name, "SELECT count(*) FROM ivoa.obscore") == ["5000"]
    after = psql_rows(name, "SELECT indexname FROM pg_indexes WHERE schemaname = 'ivoa' ORDER BY 1")
    assert after == bulk_loaded["indexes"]
    assert "obscore_voserver_s_point" in after and "obscore_voserver_s_region" in after and len(after) > 10
    # the companions the writer computed are what the function library computes
    assert psql_rows(name, "SELECT count(*) FROM ivoa.obscore WHERE voserver_s_point IS NULL "
                           "OR voserver_s_region IS NULL OR NOT voserver_s_point = voserver_point(s_ra, s_dec) "
                           "OR NOT voserver_s_region = voserver_bound(s_region)") == ["0"]


def test_bulk_loaded_rows_are_updated_in_place(bulk_loaded):
    """The same 5,000 DIDs written again (one transaction, into a table as
    large as the load: the incremental merge) update the rows, add none."""
    again = subprocess.run([str(GEN), bulk_loaded["writer"], "5000", "12", "0"], capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    rows = sync_csv(bulk_loaded["postgresql"], "SELECT COUNT(*) AS n, COUNT(DISTINCT obs_publisher_did) AS d "
                                               "FROM ivoa.obscore")
    assert rows[1] == ["5000", "5000"]
    # seed 12 moved every row: the pre-filtered searches find what the exact
    # test alone finds (an OR with a condition no row meets keeps the index out)
    for where in BULK_CASES:
        fast = sync_csv(bulk_loaded["postgresql"], f"SELECT obs_id FROM ivoa.obscore WHERE {where} ORDER BY obs_id")
        exact = sync_csv(bulk_loaded["postgresql"],
                         f"SELECT obs_id FROM ivoa.obscore WHERE ({where}) OR obs_id = 'none' ORDER BY obs_id")
        assert len(fast) > 2 and fast == exact, where


def test_a_product_given_twice_in_one_run_is_stored_once(tmp_path):
    """The same files twice in one `voserver ingest` (one transaction): each
    DID is merged once, its last version wins, into an empty database (the
    bulk path's plain INSERT) and again into the filled one (ON CONFLICT)."""
    name = f"voserver_twice_{os.getpid()}"
    made = postgres("createdb", name)
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        cfg = conftest.write_config(tmp_path)
        cfg.write_text(cfg.read_text().replace(f'database = "{tmp_path / "store.sqlite"}"',
                                               f'database = "{conftest.pg_url("voserver_writer", name)}"'))
        muse = conftest.FITS_DIR / "muse"
        for _ in range(2):
            done = conftest.ingest(cfg, [muse, muse], "samples")
            assert done.returncode == 0, done.stdout + done.stderr
            counts = psql_rows(name, "SELECT count(*), count(DISTINCT obs_publisher_did), "
                                     "(SELECT count(*) FROM voserver.files) FROM ivoa.obscore")
            n, distinct, files = counts[0].split("|")
            assert int(n) == int(distinct) == int(files) > 1
    finally:
        postgres("dropdb", name)
