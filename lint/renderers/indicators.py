"""The corpus reach table (`rulelint indicators`)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.table import Table
from rich.text import Text

from ..model.index import VENDORS, CorpusIndex
from .text import console_for, inert


def indicator_rows(index: CorpusIndex, fields: list[str] | None = None, min_reach: int = 1,
                   limit: int | None = None) -> list[dict[str, Any]]:
    wanted = {f.casefold() for f in fields or []}
    rows = []
    for key, usage in index.usage.items():
        if wanted and key.field.casefold() not in wanted and not any(
                a.casefold() in wanted for a in index.aliases(key)):
            continue
        reach = index.reach(key)
        if reach < min_reach:
            continue
        rows.append((reach, key, usage))
    rows.sort(key=lambda r: (-r[0], r[1].field, r[1].op, r[1].value))
    if limit is not None:
        rows = rows[:limit]
    return [
        {
            "field": key.field, "op": key.op, "value": key.value, "reach": reach,
            "vendors": index.vendor_counts(key),
            "aliases": index.aliases(key),
            "written": [nk.display() for nk in index.native_forms(key)],
            "positive": len(usage.positive), "excluded": len(usage.excluded),
        }
        for reach, key, usage in rows
    ]


def render_indicators(index: CorpusIndex, out: TextIO, fmt: str, **kw: Any) -> None:
    rows = indicator_rows(index, **kw)
    if fmt == "json":
        out.write(json.dumps({"indicators": rows, "rules": len(index)}, ensure_ascii=False))
        out.write("\n")
        return
    t = Table(title=f"Corpus reach over {len(index)} rules", header_style="bold")
    for col in ("field", "op", "value", "reach", *VENDORS, "excluded", "aliases"):
        t.add_column(col, justify="right" if col in ("reach", "excluded", *VENDORS) else "left",
                     overflow="fold")
    for r in rows:
        # Text cells, not markup: fields and values come from rule files.
        t.add_row(Text(inert(r["field"])), r["op"], Text(inert(r["value"])), str(r["reach"]),
                  *(str(r["vendors"][v]) for v in VENDORS), str(r["excluded"]), Text(inert(", ".join(r["aliases"]))))
    console_for(out).print(t)
