"""The include arrows of ARCHITECTURE.md, checked (issue 8 item 7): each
library folder may include only its own headers and those of the folders it
is allowed to use; a wrong arrow fails the build's test run with the file,
line and the arrow it draws.

    /usr/bin/python3 tests/check_includes.py [PROJECT_ROOT]

Exit status 0 when every arrow is allowed, 1 otherwise (each offence printed)."""
import re
import sys
from pathlib import Path

# folder -> the project folders its sources may include (besides itself)
ALLOWED = {
    "adql": set(),
    "fits": set(),
    "votable": set(),
    "uws": set(),
    "obscore": {"adql", "fits"},
    "soda": {"fits"},
    "server": {"obscore", "soda", "votable", "uws", "adql", "fits"},
    "pgext": {"obscore"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([A-Za-z_]+)/')


def offences(root: Path):
    for folder, allowed in ALLOWED.items():
        for path in sorted((root / folder).glob("*.[ch]pp")):
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) != folder and m.group(1) not in allowed:
                    yield f"{path.relative_to(root)}:{number}: {folder}/ may not include {m.group(1)}/ " \
                          f"(allowed: {', '.join(sorted(allowed)) or 'only its own headers'})"


def main():
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    missing = [f for f in ALLOWED if not (root / f).is_dir()]
    if missing:
        print(f"check_includes: no folder {', '.join(missing)} under {root}")
        return 1
    found = list(offences(root))
    for o in found:
        print(o)
    print(f"check_includes: {len(found)} wrong include arrow(s)" if found else "check_includes: every arrow allowed")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
