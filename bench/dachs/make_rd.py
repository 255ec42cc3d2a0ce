"""Writes the DaCHS resource descriptor (RD) of the DaCHS comparison (issue 14).

Each table of the RD mirrors one voserver ivoa.obscore: the same column
names, types, units, UCDs and utypes, read from that voserver's own
TAP_SCHEMA.columns (TAP 1.1 section 4.3), so that ``SELECT *`` returns the
same columns from both servers. Each table has a ``data`` element importing
the CSV export of the voserver table (``dachs imp``), B-tree indexes on the
columns voserver marks ``indexed``, and DaCHS's q3c position index
(``//scs#q3cindex``, which DaCHS's ADQL translator turns
``CONTAINS(POINT, CIRCLE)`` into ``q3c_join`` for).

Usage:
  make_rd.py OUT.rd NAME=COLUMNS.csv[:DATA.csv] ...

COLUMNS.csv is the CSV answer of ``SELECT column_name, datatype, xtype, unit,
ucd, utype, indexed FROM TAP_SCHEMA.columns WHERE table_name =
'ivoa.obscore'`` (header line first); DATA.csv (default NAME.csv, relative
to the RD's directory) the rows to import. The RD's schema is ``vsbench``;
table NAME becomes ``vsbench.NAME`` in DaCHS's TAP service.
"""
import csv
import sys
from xml.sax.saxutils import quoteattr

# VOTable datatype (TAP_SCHEMA.columns.datatype) -> DaCHS (PostgreSQL) type
SQL_TYPES = {
    "char": "text",
    "unicodeChar": "unicode",
    "double": "double precision",
    "float": "real",
    "int": "integer",
    "long": "bigint",
    "short": "smallint",
    "boolean": "boolean",
}

# DaCHS's q3cindex mixin finds the position columns by these UCDs
MAIN_POSITION_UCDS = {"s_ra": "pos.eq.ra;meta.main", "s_dec": "pos.eq.dec;meta.main"}

EMPTY_IS_NULL = """
        <apply name="emptyIsNull">
          <code>
            for key, value in list(vars.items()):
              if value == "":
                vars[key] = None
          </code>
        </apply>"""


def column_xml(row):
    """One <column> element for a TAP_SCHEMA.columns row (a dict of strings)."""
    name = row["column_name"]
    attrs = {
        "name": name,
        "type": SQL_TYPES[row["datatype"]],
        "unit": row.get("unit") or "",
        "ucd": MAIN_POSITION_UCDS.get(name, row.get("ucd") or ""),
        "verbLevel": "1",
    }
    if row.get("utype"):
        attrs["utype"] = row["utype"]
    text = " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items())
    return f"    <column {text}/>"


def table_xml(name, columns_csv, data_csv):
    """The <table> and <data> elements of one mirrored obscore table."""
    with open(columns_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{columns_csv}: no columns")
    lines = [f'  <table id="{name}" onDisk="True" adql="True" mixin="//scs#q3cindex">',
             f'    <meta name="description">voserver ivoa.obscore ({name}), mirrored</meta>']
    lines += [column_xml(r) for r in rows]
    for r in rows:
        # s_region: voserver's index is spatial (S2), not a B-tree of the text
        if r.get("indexed") == "1" and r.get("xtype") != "adql:REGION":
            lines.append(f'    <index columns="{r["column_name"]}"/>')
    lines.append("  </table>")
    lines += [f'  <data id="import_{name}">',
              f"    <sources>{data_csv}</sources>",
              "    <csvGrammar/>",
              f'    <make table="{name}">',
              f'      <rowmaker idmaps="*">{EMPTY_IS_NULL}',
              "      </rowmaker>",
              "    </make>",
              "  </data>"]
    return "\n".join(lines)


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    out = argv[1]
    parts = ['<resource schema="vsbench" resdir=".">',
             '  <meta name="title">voserver comparison tables (issue 14)</meta>',
             '  <meta name="description">ivoa.obscore rows exported from voserver'
             " for a side-by-side benchmark.</meta>",
             '  <meta name="creationDate">2026-12-06T00:00:00Z</meta>',
             '  <meta name="subject">benchmarks</meta>']
    for spec in argv[2:]:
        name, _, files = spec.partition("=")
        columns_csv, _, data_csv = files.partition(":")
        parts.append(table_xml(name, columns_csv, data_csv or f"{name}.csv"))
    parts.append("</resource>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    main(sys.argv)
