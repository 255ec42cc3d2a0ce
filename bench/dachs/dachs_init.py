"""`dachs init` for the DaCHS comparison (issue 14), with one workaround.

DaCHS's initialisation (gavo.user.initdachs) runs ``CREATE EXTENSION
pg_sphere``. Debian 12's pg_sphere extension script ends with two operators
for DaCHS whose COMMUTATOR clash is refused by PostgreSQL 15, so that
statement fails (see scripts/postgres, load_pgsphere). dachs_bench.sh loads
the same pgSphere SQL as a plain script first (without those two
operators); this wrapper then tells DaCHS that pg_sphere is present instead
of letting it retry the extension, and runs DaCHS's own init unchanged.

Usage (GAVOSETTINGS pointing at the private settings file):
  python3 dachs_init.py -d "host=127.0.0.1 port=PORT user=postgres dbname=gavo"
"""
from gavo.user import initdachs

_original = initdachs._loadPgExtension


def _load_pg_extension(conn, ext_name):
    """Like DaCHS's own, except that pg_sphere counts as loaded (by script)."""
    if ext_name == "pg_sphere":
        return True
    return _original(conn, ext_name)


initdachs._loadPgExtension = _load_pg_extension

if __name__ == "__main__":
    initdachs.main()
