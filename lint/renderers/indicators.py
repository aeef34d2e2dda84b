"""The corpus reach table (`rulelint indicators`)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.table import Table
from rich.text import Text

from ..model.index import VENDORS, CorpusIndex
from .text import console_for, inert

ALIASES = 3  # other spellings shown per row in the text table


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
    t = Table(title=f"Corpus reach over {len(index):,} rules", header_style="bold",
              caption="s/e/sp: Sigma/Elastic/Splunk rules; excl: rules excluding it; JSON: every spelling")
    # Narrow columns (`--format json` has everything): the table fits a terminal, and 100
    # columns off one. Long values wrap inside their cell.
    for col, width in (("field", 28), ("op", 11), ("value", 30), ("reach", None), ("s/e/sp", None),
                       ("excl", None), ("also written as", 34)):
        t.add_column(col, justify="right" if width is None else "left", overflow="fold", max_width=width)
    for r in rows:
        # Text cells, not markup: fields and values come from rule files.
        others = [inert(a) for a in r["aliases"] if a != r["field"]]
        aliases = "\n".join(others[:ALIASES]) + (f"\n+{len(others) - ALIASES} more" if len(others) > ALIASES else "")
        t.add_row(Text(inert(r["field"])), r["op"], Text(inert(r["value"])), str(r["reach"]),
                  "/".join(str(r["vendors"][v]) for v in VENDORS), str(r["excluded"]), Text(aliases))
    con = console_for(out)
    if not con.is_terminal:
        con.width = 100
    con.print(t)
