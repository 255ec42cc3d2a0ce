"""third_party_notes.md lists exactly what voserver links (issue 8 item 7):
every shared library the executable needs (its ELF NEEDED entries) belongs to
a Debian package named in the last column of the notes' table.

    /usr/bin/python3 tests/check_linked.py [build/voserver] [third_party_notes.md]

Without arguments it checks build/voserver and, when built, the PostgreSQL
module build/voserver_pg.so (pgext/voserver_pg.cpp).

Exit status 0 when they agree, 1 otherwise (each disagreement printed)."""
import re
import subprocess
import sys
from pathlib import Path

# the C/C++ runtime, part of every program
SYSTEM = ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "ld-linux", "libpthread.so", "libdl.so", "librt.so")
# soname prefix -> the Debian development package that provides it
PACKAGE = {
    "libwcs.so": "wcslib-dev",
    "libs2.so": "libs2-dev",
    "libcfitsio.so": "libcfitsio-dev",
    "libxml2.so": "libxml2-dev",
    "libz.so": "zlib1g-dev",
    "libsqlite3.so": "libsqlite3-dev",
    "libboost_url.so": "libboost-url1.81-dev",
    "libspdlog.so": "libspdlog-dev",
    "libfmt.so": "libfmt-dev",
    "libtomlplusplus.so": "libtomlplusplus-dev",
    "liberfa.so": "liberfa-dev",
    "libabsl_": "libabsl-dev",
    "libpng16.so": "libpng-dev",
    "libcairo.so": "libcairo2-dev",
    "libpq.so": "libpq-dev",
    "libsodium.so": "libsodium-dev",
    "libjwt.so": "libjwt-dev",
}


def needed(binary):
    out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def main():
    root = Path(__file__).resolve().parent.parent
    if len(sys.argv) > 1:
        binaries = [Path(sys.argv[1])]
    else:
        binaries = [root / "build" / "voserver"]
        if (root / "build" / "voserver_pg.so").exists():
            binaries.append(root / "build" / "voserver_pg.so")
    notes = (Path(sys.argv[2]) if len(sys.argv) > 2 else root / "third_party_notes.md").read_text()
    problems = []
    for lib in sorted({lib for binary in binaries for lib in needed(binary)}):
        if lib.startswith(SYSTEM):
            continue
        pkg = next((p for prefix, p in PACKAGE.items() if lib.startswith(prefix)), None)
        if pkg is None:
            problems.append(f"{lib}: linked, but tests/check_linked.py does not know its Debian package")
        elif not re.search(r"\|\s*[^|\n]*\b" + re.escape(pkg) + r"\b[^|\n]*\|\s*$", notes, re.M):
            problems.append(f"{lib}: linked, but its package {pkg} is not in third_party_notes.md")
    for p in problems:
        print(p)
    print("check_linked: " + (f"{len(problems)} problem(s)" if problems else "every linked library is listed"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
