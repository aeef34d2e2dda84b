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
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Mapping

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..model.predicate import KEYWORD_FIELD, QMARK, STAR, PatternPart, classify_pattern
from ..model.tree import MAX_DEPTH, And, Node, Not, Or, depth
from .query import PredicateSink, QueryError

GRAMMAR = Path(__file__).parent / "grammars" / "spl.lark"
MAX_QUERY_CHARS = 1 << 20
MAX_MACRO_DEPTH = 10
MAX_EXPANDED_CHARS = 1 << 20  # a macro loop that grows text stops here


@dataclass(frozen=True, slots=True)
class Macro:
    """One search macro: `name` (without the `(n)` suffix), argument names, definition."""

    name: str
    args: tuple[str, ...]
    definition: str

    @property
    def key(self) -> str:
        """Splunk's stanza name: `name`, or `name(n)` for n arguments."""
        return f"{self.name}({len(self.args)})" if self.args else self.name


# Macros from Splunk apps that security_content relies on but does not ship.
BUILTIN_MACROS: dict[str, Macro] = {
    "drop_dm_object_name(1)": Macro("drop_dm_object_name", ("object",), "rename $object$.* AS *"),
}

# Commands after which rows are aggregates (or model output), not events.
AGGREGATING = {
    "stats", "tstats", "mstats", "chart", "timechart", "eventstats", "streamstats", "transaction",
    "top", "rare", "sistats", "sichart", "sitimechart", "sitop", "sirare", "geostats", "map",
    "inputlookup", "apply", "fit", "xyseries", "untable", "contingency", "associate", "cluster",
}
# Search terms that bound time, not events.
TIME_TERMS = {
    "earliest", "latest", "_index_earliest", "_index_latest", "starttime", "endtime",
    "starthoursago", "endhoursago", "startdaysago", "enddaysago", "startminutesago",
    "endminutesago", "timeformat", "earliest_time", "latest_time",
}
_CMP_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_MIRROR = {"lt": "gt", "gt": "lt", "le": "ge", "ge": "le", "eq": "eq", "ne": "ne"}

_STRING = r'"(?:[^"\\]|\\.)*"'
_CLOSED_STRING = re.compile(_STRING, re.S)


class _Scanner:
    """`finditer` over text whose quoted strings are tokens of their own.

    A quote that no later quote closes opens no string; and then no later quote can
    either (each lies inside that failed attempt's escape-aware scan as an escaped `\"`).
    The plain `_STRING|...` regex rediscovers this once per quote, a scan to the end
    each time: quadratic on `\"\"\"...`. Here the first unclosed quote switches to the
    pattern without strings: the same tokens, in linear time.
    """

    def __init__(self, rest: str) -> None:
        self.full = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|' + rest, re.S)
        self.plain = re.compile(rest, re.S)

    def finditer(self, text: str) -> list[re.Match[str]]:
        # A list from the C iterator, not a generator: callers run it over every word of every
        # search. Only the last match can reach the end of the text as an unclosed string.
        found = list(self.full.finditer(text))
        if found:
            m = found[-1]
            if m.end() == len(text) and text[m.start()] == '"' and not _CLOSED_STRING.fullmatch(m.group(0)):
                found[-1:] = self.plain.finditer(text, m.start() + 1)
        return found


_MACRO_SCAN = _Scanner(r"`([^`]*)`")
# The optional argument list owns its leading space: `\s*(...)?\s*` would try every split of
# a run of spaces between the two and go quadratic on `a<1 MB of spaces>x`.
_MACRO_CALL = re.compile(r"\s*([\w.:-]+)(?:\s*\((.*)\))?\s*", re.S)
_COMMENT = re.compile(r"```.*?```", re.S)
_PIPE_SCAN = _Scanner(r"[\[\]|]")
_PARENS = _Scanner(r"[()]")
_WORD = re.compile(r'[^\s()"]+')
_ARGS_SCAN = _Scanner(r"[(),]")
_COMMAND = re.compile(r"\s*([A-Za-z_]\w*)")
_DATAMODEL = re.compile(r"datamodel\s*[=:\s]\s*\"?([A-Za-z_][\w.]*)", re.I)
_UNESCAPE = re.compile(r'\\([\\"])')
_EVAL_TARGET = re.compile(r"\s*(\"[^\"]*\"|'[^']*'|[^=\s]+)\s*=(?!=)")

_parser: Lark | None = None


def _get_parser() -> Lark:
    # Built once; LALR with the contextual lexer parses the whole security_content in well under a second.
    global _parser
    if _parser is None:
        _parser = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr",
                       start=["start_search", "start_where"])
    return _parser


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
    info: dict[str, Any] = {"filter_macro": None, "unknown_macros": [], "macros": [], "datamodel": None,
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


# -- macros --------------------------------------------------------------------

def _blank(m: re.Match) -> str:
    return " " * len(m.group(0))


def _strip_comments(text: str) -> str:
    """``` comments blanked out (same length: offsets still hold)."""
    return _COMMENT.sub(_blank, text) if "```" in text else text


def split_args(text: str) -> list[str]:
    """Comma-separated arguments at the top level (quotes and parentheses respected)."""
    out, depth_, start = [], 0, 0
    for m in _ARGS_SCAN.finditer(text):
        tok = m.group(0)
        if tok == "(":
            depth_ += 1
        elif tok == ")":
            depth_ -= 1
        elif tok == "," and depth_ == 0:
            out.append(text[start:m.start()].strip())
            start = m.end()
    out.append(text[start:].strip())
    return out


class _OffsetMap:
    """Expanded-text offset -> original-text offset: literal spans map one to one, text
    from a macro maps to the macro call."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.spans: list[tuple[int, int, bool]] = []  # (expanded start, original start, literal)

    def add(self, exp_start: int, orig_start: int, literal: bool) -> None:
        self.starts.append(exp_start)
        self.spans.append((exp_start, orig_start, literal))

    def __call__(self, offset: int) -> int:
        i = bisect_right(self.starts, offset) - 1
        if i < 0:
            return offset
        exp_start, orig_start, literal = self.spans[i]
        return orig_start + (offset - exp_start) if literal else orig_start


class _Expander:
    def __init__(self, macros: Mapping[str, Macro | str], info: dict[str, Any]) -> None:
        self.macros = macros
        self.info = info
        self.size = 0

    def top(self, text: str) -> tuple[str, _OffsetMap]:
        omap = _OffsetMap()
        out = self.expand(_strip_comments(text), 0, omap)
        return out, omap

    def expand(self, text: str, level: int, omap: _OffsetMap | None = None,
               call_offset: int = 0) -> str:
        if "`" not in text:  # no macro call: the scan below would copy the text as it is
            if omap is not None:
                omap.add(0, 0, True)
            return text
        pieces: list[str] = []
        pos = last = 0  # pos: length of output so far
        for m in _MACRO_SCAN.finditer(text):
            body = m.group(1)
            if body is None:  # a quoted string: backticks inside are literal
                continue
            call = _MACRO_CALL.fullmatch(body)
            if call is None:
                continue  # not a macro call (a stray backtick pair): left as written
            lit = text[last:m.start()]
            if omap is not None:
                omap.add(pos, last, True)
            pieces.append(lit)
            pos += len(lit)
            here = m.start() if level == 0 else call_offset
            repl = self.call(call.group(1), call.group(2), level, here)
            if omap is not None:
                omap.add(pos, m.start(), False)
            pieces.append(repl)
            pos += len(repl)
            last = m.end()
        if omap is not None:
            omap.add(pos, last, True)
        pieces.append(text[last:])
        return "".join(pieces)

    def call(self, name: str, arg_text: str | None, level: int, offset: int) -> str:
        if level >= MAX_MACRO_DEPTH:
            raise QueryError(f"macros nest deeper than {MAX_MACRO_DEPTH} levels (at `{name}`)",
                             offset, "macro expansion too deep")
        args = split_args(arg_text) if arg_text is not None and arg_text.strip() else []
        key = f"{name}({len(args)})" if args else name
        if level == 0:
            self.info["macros"].append(key)
        macro = self.macros.get(key) or BUILTIN_MACROS.get(key)
        if macro is None:
            if name.endswith("_filter"):
                self.info["filter_macro"] = name  # the detection's tuning hook: empty by design
            elif key not in self.info["unknown_macros"]:
                self.info["unknown_macros"].append(key)
            return " "
        if isinstance(macro, str):
            definition, names = macro, ()
        else:
            definition, names = macro.definition, macro.args
        if name.endswith("_filter"):
            self.info["filter_macro"] = name
        definition = _strip_comments(str(definition))
        for arg_name, value in zip(names, args):
            definition = definition.replace(f"${arg_name}$", value)
        self.size += len(definition)
        if self.size > MAX_EXPANDED_CHARS:
            raise QueryError(f"macro expansion exceeds {MAX_EXPANDED_CHARS} characters (at `{name}`)",
                             offset, "macro expansion too large")
        # Padded: a macro is a token boundary, `a`m`b` must not glue into one word.
        return " " + self.expand(definition, level + 1, None, offset) + " "


# -- pipeline ------------------------------------------------------------------

def _split_pipeline(text: str) -> tuple[str, list[tuple[int, int]]]:
    """(text with subsearch contents blanked, [(start, end)] of each command)."""
    masked: list[str] | None = None  # a copy only once a subsearch needs blanking
    segments: list[tuple[int, int]] = []
    level, start, open_at = 0, 0, 0
    for m in _PIPE_SCAN.finditer(text):
        tok = m.group(0)
        if tok == "[":
            if level == 0:
                open_at = m.start()
            level += 1
        elif tok == "]" and level > 0:
            level -= 1
            if level == 0:
                if masked is None:
                    masked = list(text)
                masked[open_at + 1:m.start()] = " " * (m.start() - open_at - 1)
        elif tok == "|" and level == 0:
            segments.append((start, m.start()))
            start = m.end()
    if level:
        raise QueryError("unclosed subsearch '['", open_at, "unclosed '['")
    segments.append((start, len(text)))
    return ("".join(masked) if masked is not None else text), segments


def _top_words(text: str) -> list[tuple[str, int, int]]:
    """Unquoted words outside parentheses, with their spans.

    Only parentheses and strings are scanned in Python; the words of each top-level gap
    between them come from one C-level finditer. A gap holds no `(`, `)` or string, so its
    words are exactly what a word-by-word scan would see (a `"` there, after an unclosed
    quote, is a separator)."""
    out: list[tuple[str, int, int]] = []
    level = gap = 0
    for m in _PARENS.finditer(text):
        if level == 0:
            out += [(w.group(), w.start(), w.end()) for w in _WORD.finditer(text, gap, m.start())]
        tok = m.group(0)
        if tok == "(":
            level += 1
        elif tok == ")":
            level = max(0, level - 1)
        gap = m.end()
    if level == 0:
        out += [(w.group(), w.start(), w.end()) for w in _WORD.finditer(text, gap)]
    return out


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


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        s = s[1:-1]
    return s


def _unescape(s: str) -> str:
    """SPL escapes in strings and values: only `\\\\` and `\\"`; other backslashes stay."""
    if "\\" not in s:
        return s
    return _UNESCAPE.sub(r"\1", s)


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
            raise QueryError(e.reason, self.omap(self.origin + (e.offset or 0)), e.construct) from None
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


def _syntax_error(expr: str, e: UnexpectedInput, omap: _OffsetMap, base: int, what: str) -> QueryError:
    pos = getattr(e, "pos_in_stream", None)
    if isinstance(e, UnexpectedToken):
        tok = e.token
        if tok.type == "$END":
            construct, pos = f"unexpected end of {what} expression", len(expr.rstrip())
        else:
            construct, pos = f"unexpected {tok.value!r} in {what} expression", tok.start_pos
    elif isinstance(e, UnexpectedCharacters):
        construct = f"unexpected character {expr[e.pos_in_stream]!r} in {what} expression"
    elif isinstance(e, UnexpectedEOF):
        construct, pos = f"unexpected end of {what} expression", len(expr.rstrip())
    else:  # pragma: no cover
        construct = f"cannot parse {what} expression"
    offset = omap(base + (pos or 0))
    return QueryError(construct, offset, construct)


# -- search expressions --------------------------------------------------------

def _star_parts(text: str) -> list[PatternPart]:
    parts: list[PatternPart] = []
    for i, chunk in enumerate(text.split("*")):
        if i:
            if parts and parts[-1] is STAR:
                pass  # `**` is one wildcard
            else:
                parts.append(STAR)
        if chunk:
            parts.append(chunk)
    return parts


class _SearchBuilder:
    def __init__(self, pipe: _Pipeline, base: int) -> None:
        self.pipe = pipe
        self.base = base

    def build(self, tree: Tree) -> Node | None:
        return self.node(tree.children[0]) if tree.children else None

    def node(self, t: Tree) -> Node | None:
        kind = t.data
        if kind in ("s_and", "s_or"):
            kids = [k for k in (self.node(c) for c in t.children) if k is not None]
            if not kids:
                return None
            return kids[0] if len(kids) == 1 else (And if kind == "s_and" else Or)(kids)
        if kind == "s_neg":
            child = self.node(t.children[0])
            return Not(child) if child is not None else None
        if kind == "s_empty":
            return None
        if kind == "s_term":
            parts, cased = self.value(t.children[0])
            if all(p is STAR for p in parts):
                return None  # `*`: every event
            return self.pipe.add_pattern(KEYWORD_FIELD, parts, cased, self.base + t.children[0].start_pos)
        field_tok = t.children[0]
        field = _unescape(_unquote(str(field_tok)))
        offset = self.base + field_tok.start_pos
        if kind == "s_cmp":
            op, val = str(t.children[1]), t.children[2]
            if field.lower() in TIME_TERMS:
                return None
            parts, cased = self.value(val)
            if op in _CMP_OPS:
                return self.pipe.add(field, _CMP_OPS[op], ["".join(parts)], False, offset)
            leaf = self.pipe.add_pattern(field, parts, cased, offset)
            return Not(leaf) if op == "!=" else leaf
        # s_in: values with the same operator share one predicate.
        groups: dict[tuple[str, bool], list[str]] = {}
        for item in t.children[1:]:
            parts, cased = self.value(item)
            op, value = classify_pattern(parts)
            groups.setdefault((op, cased), []).append(value)
        kids = [self.pipe.add(field, op, vals if op != "exists" else [""], cased, offset)
                for (op, cased), vals in groups.items()]
        if not kids:
            return None
        return kids[0] if len(kids) == 1 else Or(kids)

    @staticmethod
    def value(tok: Token) -> tuple[list[PatternPart], bool]:
        """A search value as a wildcard pattern, and whether it is case-sensitive (CASE())."""
        s = str(tok)
        cased = False
        if tok.type == "TERMFN":
            cased = s[:4].upper() == "CASE"
            s = s[5:-1].strip()
        if s.startswith('"') and s.endswith('"') and len(s) >= 2:
            s = s[1:-1]
        return _star_parts(_unescape(s)), cased


# -- where (eval) expressions --------------------------------------------------

@dataclass(slots=True)
class _Field:
    name: str
    offset: int
    folded: bool = False  # wrapped in lower()/upper(): the comparison ignores case


@dataclass(slots=True)
class _Lit:
    value: str
    offset: int


@dataclass(slots=True)
class _Bool:
    node: Node | None


_OTHER = _Bool(None)  # anything we do not model: skipped, never an error
_PASS_THROUGH = {"trim", "ltrim", "rtrim", "tostring", "mvjoin", "coalesce"}


class _WhereBuilder:
    def __init__(self, pipe: _Pipeline, base: int) -> None:
        self.pipe = pipe
        self.base = base

    def build(self, tree: Tree) -> Node | None:
        v = self.val(tree.children[0])
        return v.node if isinstance(v, _Bool) else None

    def val(self, t: Tree | Token) -> Any:
        kind = t.data
        if kind in ("w_or", "w_and"):
            kids = [k for k in (self.bool(c) for c in t.children) if k is not None]
            if not kids:
                return _OTHER
            return _Bool(kids[0] if len(kids) == 1 else (And if kind == "w_and" else Or)(kids))
        if kind == "w_neg":
            child = self.bool(t.children[0])
            return _Bool(Not(child) if child is not None else None)
        if kind == "w_field":
            tok = t.children[0]
            return _Field(_unquote(str(tok)), self.base + tok.start_pos)
        if kind == "w_str":
            tok = t.children[0]
            return _Lit(_unescape(str(tok)[1:-1]), self.base + tok.start_pos)
        if kind == "w_num":
            tok = t.children[0]
            return _Lit(str(tok), self.base + tok.start_pos)
        if kind == "w_compare":
            return self.compare(self.val(t.children[0]), str(t.children[1]), self.val(t.children[2]))
        if kind in ("w_in", "w_in_call"):
            args = self.args(t.children[-1]) if t.children and isinstance(t.children[-1], Tree) \
                and t.children[-1].data == "w_args" else []
            if kind == "w_in":
                args = [self.val(t.children[0])] + args
            return self.in_(args)
        if kind == "w_like":
            return self.like(self.val(t.children[0]), self.val(t.children[1]))
        if kind == "w_like_call":
            args = self.args(t.children[0]) if t.children else []
            return self.like(*args) if len(args) == 2 else _OTHER
        if kind == "w_call":
            name = str(t.children[0]).lower()
            args = self.args(t.children[1]) if len(t.children) > 1 else []
            return self.call(name, args, t)
        return _OTHER  # w_xor, w_arith: not modelled

    def bool(self, t: Tree) -> Node | None:
        v = self.val(t)
        return v.node if isinstance(v, _Bool) else None

    def args(self, t: Tree) -> list[Any]:
        return [self.val(c) for c in t.children]

    def compare(self, a: Any, op: str, b: Any) -> _Bool:
        op = {"=": "eq", "==": "eq", "!=": "ne", "<>": "ne"}.get(op) or _CMP_OPS[op]
        if isinstance(a, _Lit) and isinstance(b, _Field):
            a, b, op = b, a, _MIRROR[op]
        if not isinstance(a, _Field):
            return _OTHER
        if isinstance(b, _Lit):
            if op in ("eq", "ne"):
                leaf = self.pipe.add(a.name, "eq", [b.value], not a.folded, a.offset)
                return _Bool(Not(leaf) if op == "ne" else leaf)
            return _Bool(self.pipe.add(a.name, op, [b.value], False, a.offset))
        if isinstance(b, _Field) and op in ("eq", "ne") and not a.folded and not b.folded:
            leaf = self.pipe.add(a.name, "fieldref", [b.name], True, a.offset)
            return _Bool(Not(leaf) if op == "ne" else leaf)
        return _OTHER

    def in_(self, args: list[Any]) -> _Bool:
        if not args or not isinstance(args[0], _Field):
            return _OTHER
        values = [v.value for v in args[1:] if isinstance(v, _Lit)]
        if not values:
            return _OTHER
        f = args[0]
        return _Bool(self.pipe.add(f.name, "eq", values, not f.folded, f.offset))

    def like(self, f: Any, pat: Any) -> _Bool:
        if not isinstance(f, _Field) or not isinstance(pat, _Lit):
            return _OTHER
        parts: list[PatternPart] = []
        for chunk in re.split(r"([%_])", pat.value):
            if chunk == "%":
                if not parts or parts[-1] is not STAR:
                    parts.append(STAR)
            elif chunk == "_":
                parts.append(QMARK)
            elif chunk:
                parts.append(chunk)
        return _Bool(self.pipe.add_pattern(f.name, parts, not f.folded, f.offset))

    def call(self, name: str, args: list[Any], t: Tree) -> Any:
        first = args[0] if args else None
        if name in ("lower", "upper") and isinstance(first, _Field):
            return _Field(first.name, first.offset, True)
        if name in _PASS_THROUGH and isinstance(first, _Field):
            return first
        if name == "match" and len(args) == 2 and isinstance(first, _Field) and isinstance(args[1], _Lit):
            return _Bool(self.pipe.add(first.name, "regex_match", [args[1].value], True, first.offset))
        if name in ("isnull", "isnotnull") and isinstance(first, _Field):
            op = "is_null" if name == "isnull" else "exists"
            return _Bool(self.pipe.add(first.name, op, [""], False, first.offset))
        if name == "cidrmatch" and len(args) == 2 and isinstance(first, _Lit) and isinstance(args[1], _Field):
            return _Bool(self.pipe.add(args[1].name, "cidr", [first.value], False, args[1].offset))
        if name == "searchmatch" and isinstance(first, _Lit):
            # The inner text is a search; its offsets fall back to the string's position.
            tree = self.pipe.parse(first.value, first.offset, "start_search", "searchmatch")
            return _Bool(_SearchBuilder(_PinnedPipe(self.pipe, first.offset), 0).build(tree))  # type: ignore[arg-type]
        return _OTHER


class _PinnedPipe:
    """Adds through the pipeline with one fixed offset (a search written inside a string)."""

    def __init__(self, pipe: _Pipeline, offset: int) -> None:
        self.pipe = pipe
        self.offset = offset

    def add(self, field: str, op: str, values: list[str], cased: bool, _offset: int) -> Node:
        return self.pipe.add(field, op, values, cased, self.offset)

    def add_pattern(self, field: str, parts: list[PatternPart], cased: bool, _offset: int) -> Node:
        return self.pipe.add_pattern(field, parts, cased, self.offset)
