"""The meaning of a pipeline: which commands filter events, where aggregation starts,
which fields are computed or are group-by fields, and the subsearch of an inner join.

Each filter command's expression goes to the search or the `where` builder; both add
their predicates through the pipeline, which notes what the field means at that point.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any

from lark import Tree
from lark.exceptions import UnexpectedInput

from ...model.predicate import PatternPart
from ...model.tree import And, Node, Not
from ..query import PredicateSink, QueryError
from .grammar import _get_parser, _syntax_error
from .macros import _OffsetMap
from .scan import _STRING, _split_pipeline, _top_words, _unescape, _unquote, split_args
from .search import _SearchBuilder
from .where import _WhereBuilder

# Commands after which rows are aggregates (or model output), not events.
AGGREGATING = {
    "stats", "tstats", "mstats", "chart", "timechart", "eventstats", "streamstats", "transaction",
    "top", "rare", "sistats", "sichart", "sitimechart", "sitop", "sirare", "geostats", "map",
    "inputlookup", "apply", "fit", "xyseries", "untable", "contingency", "associate", "cluster",
}
_COMMAND = re.compile(r"\s*([A-Za-z_]\w*)")
_DATAMODEL = re.compile(r"datamodel\s*[=:\s]\s*\"?([A-Za-z_][\w.]*)", re.I)
_EVAL_TARGET = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[^=\s]+)\s*=(?!=)")

# Aggregations whose `by` fields keep one event value per row.
_GROUPING = {"stats", "sistats", "eventstats", "streamstats"}


def _by_fields(args: str, words: list[tuple[str, int, int]] | None = None) -> list[str]:
    """The fields after a top-level `by` (options such as `span=1h` skipped); `words`, if
    given, are `_top_words(args)` already computed."""
    if words is None:
        words = _top_words(args)
    at = next((i for i, w in enumerate(words) if w[0].lower() in ("by", "groupby")), None)
    if at is None:
        return []
    out = []
    for word, _, _ in words[at + 1:]:
        out += [f for f in word.split(",") if f and "=" not in f]
    return out


class _Pipeline:
    """One pipeline's commands; `origin` is where its text starts in the expanded search
    (a subsearch runs as its own pipeline)."""

    def __init__(self, text: str, omap: _OffsetMap, sink: PredicateSink, info: dict[str, Any],
                 origin: int = 0, notes: tuple[str, ...] = ()) -> None:
        self.text = text
        self.omap = omap
        self.sink = sink
        self.info = info
        self.origin = origin
        self.extra_notes = notes
        self.post = False
        self.computed: set[str] = set()
        self.computed_patterns: list[str] = []
        self.pre_computed: tuple[set[str], list[str]] = (set(), [])  # as they stood at the aggregation
        # After an aggregation: group-by field as now named -> the event field it holds.
        self.groups: dict[str, str] = {}
        self.parts: list[Node] = []

    def run(self) -> Node | None:
        try:
            masked, segments = _split_pipeline(self.text)
        except QueryError as e:  # its offset is local: map it to the search as written
            raise QueryError(e.reason, self.omap(self.origin + (e.offset or 0)), e.construct, e.expected) from None
        for i, (start, end) in enumerate(segments):
            seg = masked[start:end]
            m = _COMMAND.match(seg)
            if i == 0:
                if not seg.strip():
                    continue  # a leading `|`: a generating command follows
                if m and m.group(1) == "search":
                    self.search(seg[m.end():], start + m.end())
                else:
                    self.search(seg, start)  # the implicit search
                continue
            if m is None:
                if seg.strip():
                    raise QueryError("a command must start with its name", self.omap(self.origin + start),
                                     f"command {seg.strip()[:20]!r}")
                continue
            self.command(m.group(1).lower(), seg[m.end():], start + m.end())
        return And(self.parts) if len(self.parts) > 1 else (self.parts[0] if self.parts else None)

    def command(self, cmd: str, args: str, base: int) -> None:
        if cmd == "search":
            self.search(args, base)
        elif cmd == "where":
            self.where(args, base)
        elif cmd == "regex":
            self.regex(args, base)
        elif cmd in ("tstats", "mstats"):
            self.tstats(args, base)
        elif cmd == "from":
            if (m := _DATAMODEL.search(args)) and not self.info["datamodel"]:
                self.info["datamodel"] = m.group(1)
        elif cmd == "datamodel":
            words = args.split()
            if words and not self.info["datamodel"]:
                self.info["datamodel"] = ".".join(w for w in words[:2] if w.lower() != "search")
        elif cmd == "join":
            self.join(args, base)
        elif cmd in AGGREGATING:
            self.aggregate(cmd, _by_fields(args) if cmd in _GROUPING else [])
        else:
            self.track_computed(cmd, args)

    def aggregate(self, cmd: str, by: list[str]) -> None:
        """Rows become aggregates; only the group-by fields still hold event values."""
        if cmd in ("eventstats", "streamstats") and self.post:
            return  # rows and fields kept
        if not self.post:
            self.post = True
            self.pre_computed = (set(self.computed), list(self.computed_patterns))
            self.groups = {f: f for f in by if f != "_time"}  # `_time` is bucketed by span
            if not self.extra_notes:
                self.info["aggregation"] = self.info["aggregation"] or cmd
        else:
            self.groups = {f: self.groups[f] for f in by if f in self.groups}

    def join(self, args: str, base: int) -> None:
        """An inner join keeps only events whose key its subsearch also returns: the
        subsearch's own filter stage is part of the detection (notes=("subsearch",))."""
        if re.search(r"\btype\s*=\s*\"?(left|outer)", args[:args.find("[")] if "[" in args else args, re.I):
            return
        open_at = args.find("[")
        close_at = args.find("]", open_at + 1) if open_at >= 0 else -1  # contents are blanked
        if close_at < 0:
            return
        start = base + open_at + 1
        sub = _Pipeline(self.text[start:base + close_at], self.omap, self.sink, self.info,
                        self.origin + start, self.extra_notes + ("subsearch",))
        self.keep(sub.run())

    # -- filter commands

    def keep(self, node: Node | None) -> None:
        if node is not None:
            self.parts.append(node)

    def search(self, expr: str, base: int) -> None:
        if "[" in expr:  # `search [subsearch]` keeps events matching what the subsearch returns
            self.info["unmodelled"].append("a subsearch filter")
        self.keep(_SearchBuilder(self, base).build(self.parse(expr, base, "start_search", "search")))

    def where(self, expr: str, base: int) -> None:
        self.keep(_WhereBuilder(self, base).build(self.parse(expr, base, "start_where", "where")))

    def regex(self, args: str, base: int) -> None:
        m = re.match(r"\s*(?:([\w.{}@]+)\s*(!?=)\s*)?(" + _STRING + r"|\S+)", args, re.S)
        if not m:
            return
        field, op = m.group(1) or "_raw", m.group(2) or "="
        pattern = _unescape(_unquote(m.group(3)))
        leaf = self.add(field, "regex_match", [pattern], True, base + m.start(3))
        self.keep(Not(leaf) if op == "!=" else leaf)

    def tstats(self, args: str, base: int) -> None:
        words = _top_words(args)
        where = next((w for w in words if w[0].lower() == "where"), None)
        head = args[:where[1]] if where else args
        if (m := _DATAMODEL.search(head)) and not self.info["datamodel"]:
            self.info["datamodel"] = m.group(1)
        if where:
            by = next((w for w in words if w[1] > where[1] and w[0].lower() in ("by", "groupby")), None)
            clause = args[where[2]:by[1] if by else len(args)]
            self.search(clause, base + where[2])
        self.aggregate("tstats", _by_fields(args, words))

    def parse(self, expr: str, base: int, start: str, what: str) -> Tree:
        try:
            return _get_parser().parse(expr, start=start)
        except UnexpectedInput as e:
            raise _syntax_error(expr, e, self.omap, self.origin + base, what) from None

    # -- computed fields

    def track_computed(self, cmd: str, args: str) -> None:
        names: list[str] = []
        if cmd == "eval":
            for part in split_args(args):
                m = _EVAL_TARGET.match(part)
                if m:
                    names.append(_unquote(m.group(1)))
        elif cmd == "rename":
            for m in re.finditer(r"(\"[^\"]*\"\S*|\S+)\s+as\s+(\"[^\"]*\"|'[^']*'|[^\s,]+)", args, re.I):
                src, dst = m.group(1).replace('"', "").strip(","), _unquote(m.group(2))
                self.rename_group(src, dst)
                names.append(dst)
        elif cmd == "rex":
            names = re.findall(r"\(\?P?<([A-Za-z_]\w*)>", args)
        elif cmd == "lookup":
            m = re.search(r"\bOUTPUT(?:NEW)?\b(.*)", args, re.I | re.S)
            if m:
                out = re.sub(r"(\S+)\s+as\s+(\S+)", r"\2", m.group(1), flags=re.I)
                names = [_unquote(w) for w in re.split(r"[\s,]+", out) if w]
        elif cmd == "spath":
            m = re.search(r"\boutput\s*=\s*(\S+)", args) or re.search(r"\bpath\s*=\s*(\S+)", args)
            if m:
                names.append(_unquote(m.group(1)))
        elif cmd == "iplocation":
            prefix = (re.search(r"\bprefix\s*=\s*(\S+)", args) or [None, ""])[1]
            names = [prefix + f for f in ("City", "Country", "Region", "lat", "lon")]
        elif cmd in ("fillnull", "bin", "bucket", "convert", "makemv", "mvexpand", "fieldformat"):
            names = [_unquote(w) for w in re.findall(r"(?<![=\w(])([A-Za-z_][\w.]*)(?![\w.]*\s*=)", args)
                     if w.lower() not in ("as", "value", "span")]
            names += re.findall(r"\w+\((\w+)\)", args)
        for n in names:
            if "*" in n:
                self.computed_patterns.append(n)
            elif n:
                self.computed.add(n)
            if cmd != "rename":  # overwritten: no longer the group's event value
                self.groups.pop(n, None)

    def rename_group(self, src: str, dst: str) -> None:
        if not self.groups:
            return
        if "*" not in src:
            orig = self.groups.pop(src, None)
            self.groups.pop(dst, None)
            if orig is not None:
                self.groups[dst] = orig
            return
        parts = src.split("*")
        renamed: dict[str, str] = {}
        for name, orig in self.groups.items():
            caps = _star_captures(parts, name)
            if caps is not None:
                stars = iter(caps)
                renamed[re.sub(r"\*", lambda _: next(stars, ""), dst)] = orig
            else:
                renamed.setdefault(name, orig)
        self.groups = renamed

    def resolve(self, field: str) -> tuple[str, tuple[str, ...]]:
        """The field a predicate tests, and its notes."""
        if self.post:
            orig = self.groups.get(field)
            if orig is None:
                return field, ("computed", "post_aggregation") + self.extra_notes
            # Filtering groups on a group-by field filters the events behind them.
            computed, patterns = self.pre_computed
            cmp = ("computed",) if orig in computed or any(fnmatchcase(orig, p) for p in patterns) else ()
            return orig, ("group_by",) + cmp + self.extra_notes
        if field in self.computed or any(fnmatchcase(field, p) for p in self.computed_patterns):
            return field, ("computed",) + self.extra_notes
        return field, self.extra_notes

    def add(self, field: str, op: str, values: list[str], case_sensitive: bool, offset: int) -> Node:
        field, notes = self.resolve(field)
        return self.sink.add(field, op, values, case_sensitive=case_sensitive,
                             offset=self.omap(self.origin + offset), notes=notes)

    def add_pattern(self, field: str, parts: list[PatternPart], case_sensitive: bool, offset: int) -> Node:
        field, notes = self.resolve(field)
        return self.sink.add_pattern(field, parts, case_sensitive=case_sensitive,
                                     offset=self.omap(self.origin + offset), notes=notes)


def _star_captures(parts: list[str], name: str) -> list[str] | None:
    """What each `*` between `parts` captures in `name`, as greedy `(.*)` groups of an
    anchored regex would; None if it does not match. The pattern comes from the rule, so
    no regex: `a*b*c*...` against a long name would backtrack for ever. Each literal is
    put as far right as it fits (what greedy stars do), so the scan is linear."""
    head, tail = parts[0], parts[-1]
    if len(head) + len(tail) > len(name) or not name.startswith(head) or not name.endswith(tail):
        return None
    lo, end = len(head), len(name) - len(tail)
    starts: list[int] = []
    for seg in reversed(parts[1:-1]):
        at = name.rfind(seg, lo, end)
        if at < 0:
            return None
        starts.append(at)
        end = at
    caps, pos = [], lo
    for seg, at in zip(parts[1:-1], reversed(starts)):
        caps.append(name[pos:at])
        pos = at + len(seg)
    caps.append(name[pos:len(name) - len(tail)])
    return caps
