"""Writes web/public/divisions.json, the names the console shows beside codes: every township
and village of the demo county from the registry's division register (real names), and the
demo schools (invented, as the demo's children and people are). A county replaces this file
with its own schools; division names also come with every record the registry answers.

    python web/scripts/demo_names.py      (from the repository root)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHOOL_KINDS = ("中心小学", "第二小学", "中学")


def names() -> dict[str, object]:
    from services import demo
    from services.registry.division_data import read_edition, shipped_editions

    county = demo.COUNTY[:6]
    newest = shipped_editions()[-1]
    divisions = {code: name for code, _level, name, _parent in read_edition(newest.path) if code.startswith(county)}
    schools = {}
    for township in demo.TOWNSHIPS:
        for n, kind in enumerate(SCHOOL_KINDS[:demo.SCHOOLS_PER_TOWNSHIP], start=1):
            schools[f"demo-school-{township[6:9]}-{n}"] = {"name": f"{divisions[township]}{kind}",
                                                             "township_code": township}
    return {"note": "区划名称取自信息库的行政区划；学校为演示县虚构，县里以本县学校替换本文件。",
            "divisions": divisions, "schools": schools}


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    target = REPO / "web" / "public" / "divisions.json"
    target.write_text(json.dumps(names(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(target.relative_to(REPO))
