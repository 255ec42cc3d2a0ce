"""Where DaCHS's time per TAP query goes, measured inside one Python process
(no HTTP): the DaCHS comparison of issue 14 (bench/README.md).

For an ADQL query against the tables dachs_bench.sh loads, it times, as DaCHS's
sync TAP does them (gavo.protocols.adqlglue):
  parse+morph     adqlglue.morphADQL: ADQL parsing, annotation with the
                  tables' metadata, translation to PostgreSQL (pgSphere/q3c)
  postgres+fetch  adqlglue.runTAPQuery (which parses and morphs again) and
                  fetching every row; minus parse+morph, the database's part
  votable td      writing the rows as VOTable TABLEDATA into memory
Medians over N runs after one warm-up, in ms.

Usage (the settings of dachs_bench.sh, its PostgreSQL cluster running):
  GAVOSETTINGS=var/dachs/gavo.rc GAVOCUSTOM=/nonexistent \\
    /usr/bin/python3 bench/dachs/dachs_stages.py "SELECT TOP 10 * FROM vsbench.big" [N]
"""
import io
import statistics
import sys
import time

from gavo import api  # noqa: F401 (importing it sets up DaCHS: RD caches, DB access)
from gavo import base, formats, rsc
from gavo.protocols import adqlglue

MAXREC = 20000  # DaCHS's default MAXREC ([async] defaultMAXREC)


def stages(query):
    """(parse+morph ms, postgres+fetch ms, votable ms, rows, bytes) of one run."""
    t0 = time.perf_counter()
    adqlglue.morphADQL(query, maxrec=MAXREC)
    t1 = time.perf_counter()
    with base.getWritableUntrustedConn() as conn:
        qtable = adqlglue.runTAPQuery(query, 15, conn, [], MAXREC, False)
        result = rsc.InMemoryTable(qtable.tableDef, rows=list(qtable))
        qtable.cleanup()
    t2 = time.perf_counter()
    out = io.BytesIO()
    formats.formatData("votabletd", rsc.wrapTable(result), out)
    t3 = time.perf_counter()
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, len(result.rows), len(out.getvalue())


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    query, n = argv[1], int(argv[2]) if len(argv) > 2 else 30
    stages(query)  # warm-up: RD and metadata loading
    runs = [stages(query) for _ in range(n)]
    med = [statistics.median(r[i] for r in runs) for i in range(3)]
    print(f"{query}: parse+morph {med[0]:.1f} ms, postgres+fetch {med[1]:.1f} ms "
          f"(of which database about {med[1] - med[0]:.1f}), votable td {med[2]:.1f} ms; "
          f"{runs[-1][3]} rows, {runs[-1][4]} bytes")


if __name__ == "__main__":
    main(sys.argv)
