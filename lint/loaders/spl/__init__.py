"""SPL (Splunk search) filter stage to a predicate tree.

No maintained SPL parser exists, so this is our own: macros are expanded as text
(as Splunk does), the pipeline is split on top-level `|`, and the expressions of
the filter commands go through grammars/spl.lark.

The filter stage is what selects events before any aggregation:
- the leading search (`search ...` or bare terms), or `| tstats/mstats ... where <expr>`;
- every later `| search`, `| where` and `| regex` up to the first aggregating command;
- the filter stage of an inner `| join`'s subsearch (notes=("subsearch",)): only events
  whose key it also returns survive.
All are ANDed. `eval`, `rename`, `rex`, `lookup`, ... pass through, but predicates on
the fields they create get notes=("computed",).

After the first aggregation (`stats`, `tstats`, `eventstats`, ...) later `| where` /
`| search` / `| regex` still become predicates, ANDed into the tree:
- on a group-by field (followed through `rename` and `drop_dm_object_name`), a test on
  the group is a test on its events: the predicate names the event field as the
  aggregation wrote it (`process_name` -> `Processes.process_name`), notes=("group_by",);
- on anything else (aggregates, fields computed later) notes=("computed", "post_aggregation").
info["filter_predicates"] counts every predicate without "post_aggregation".

Semantics: in search, NOT binds tightest, then OR, then AND (`a b OR c` is
`a AND (b OR c)`); values are case-insensitive and `*` is a wildcard. In `where`
(the eval language) the usual NOT > AND > OR holds and comparisons are case-sensitive
unless the field is wrapped in lower()/upper(). Functions we do not model (len(),
if(), arithmetic ...) drop out of the tree without failing the parse.

Modules, in the order a search goes through them:
- macros.py: `Macro`, and macro expansion as text (with the offset map back to the search);
- scan.py: strings, `|`, subsearch brackets, words and arguments found in the text;
- pipeline.py: what each command means (filter, aggregation, computed and group-by fields);
- search.py, where.py: the two expression languages to predicates;
- grammar.py: the Lark parser of both, and its syntax errors.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...model.tree import MAX_DEPTH, Node, depth
from ..query import PredicateSink, QueryError
from .grammar import _get_parser  # noqa: F401 - the parser, built once (tests build inputs from its grammar)
from .macros import MAX_EXPANDED_CHARS, MAX_MACRO_DEPTH, Macro, _Expander
from .pipeline import _Pipeline

__all__ = ["MAX_EXPANDED_CHARS", "MAX_MACRO_DEPTH", "MAX_QUERY_CHARS", "Macro", "parse_spl"]

MAX_QUERY_CHARS = 1 << 20


def parse_spl(text: str, sink: PredicateSink,
              macros: Mapping[str, Macro | str] | None = None) -> tuple[Node | None, dict[str, Any]]:
    """Parse a detection's search; predicates of its filter stage go to `sink`.

    `macros` maps `name` / `name(n)` to a Macro (a plain string is a zero-argument
    definition). Returns (tree, info): info has `filter_macro` (the `*_filter` tuning hook,
    treated as empty), `unknown_macros` (undefined, treated as empty), `macros` (the
    calls written in the search), `datamodel`, `aggregation` (the first aggregating
    command) and `filter_predicates` (predicates not tagged "post_aggregation").
    Raises QueryError, with an offset into `text`, for anything it cannot parse.
    """
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"search longer than {MAX_QUERY_CHARS} characters", 0, "search too long")
    info: dict[str, Any] = {"filter_macro": None, "unknown_macros": [], "unmodelled": [], "macros": [], "datamodel": None,
                            "aggregation": None, "filter_predicates": 0}
    expanded, omap = _Expander(macros or {}, info).top(text)
    first = len(sink.predicates)
    try:
        node = _Pipeline(expanded, omap, sink, info).run()
    except RecursionError:
        raise QueryError(f"search nests deeper than {MAX_DEPTH} levels", 0, "nesting too deep") from None
    if depth(node) > MAX_DEPTH:
        raise QueryError(f"search nests deeper than {MAX_DEPTH} levels", 0, "nesting too deep")
    info["filter_predicates"] = sum("post_aggregation" not in p.notes for p in sink.predicates[first:])
    return node, info
