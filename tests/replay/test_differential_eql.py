"""Differential test: our evaluator on Elastic's EQL rules against eql's own Python engine (oracle_eql.py).

Rules: every `[rule] language = "eql"` TOML under the shared corpus's elastic/rules (not `_deprecated`),
loaded with load_file; single-event queries only (sequences are left out and counted). Two event sets:

1. generated: per rule, one ECS event per AND-branch from the rule's predicates (differential_support.py),
   under the field names the query writes (for Elastic rules the canonical name, except where the
   canonicalizer maps a field onto another: `file.path` of an image-load query is canonically `dll.path`,
   and eql reads `file.path`), values in the case the rule writes and of the type its literal has
   (`== 4`, `== false`), with `event.category` from the query's event type (unless `any`), `@timestamp`
   and `host.os.type`; every other field the rule names gets a neutral value (NEUTRAL), as a real event
   of that category would carry it; plus one event per branch that also trips its first exclusion.
   A wildcard `?` becomes a literal "?": Elasticsearch reads `?` as any one character, eql's engine as a
   literal, and a "?" satisfies both (the lab set shows that difference on real values).
   Rules go in chunks of CHUNK (sorted by event type); each rule is judged on every event of its chunk.
2. lab: LAB_PER_FILE evenly spaced events of each of LAB_ZIPS (Security-Datasets recordings, flat Windows
   records), normalized by us and handed to eql as the ECS document our Event stands for (every dotted
   field; one value as a scalar, several as a list, none as null). Every rule judges every event.

Our verdict: `compile_rule(rule).test(event)` and the query's event type (`event.category` holds it, unless
`any`); the oracle's: `eql_verdicts(query, events, arrays="any")`. Agreement must reach MIN_AGREEMENT on each
set; every disagreement needs a cause from `classify` (run with -s for the counts).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
import tomllib
from collections import Counter
from typing import Any

import eql
import eql.parser
import pytest

from rulelint.analysis.implication import _pattern_parts
from rulelint.loaders import load_file
from rulelint.model.predicate import Predicate
from rulelint.model.rule import NormalizedRule
from rulelint.model.tree import And, Leaf, Not
from rulelint.replay.evaluate import CannotJudge, Compiled, compile_rule
from rulelint.replay.event import Event
from rulelint.replay.normalize import _flatten_into, normalize
from tests.replay.differential_support import (
    check, lab_sample,
    ELASTIC_RULES, LAB_WINDOWS, Disagreement, Tally, branch_fields, critical_predicates, eql_literal_types,
    rule_branches, short, string_test, typed)
from tests.replay.oracle_eql import _Engine, _to_event, _Walker, eql_verdicts

CHUNK = 40
MAX_BRANCHES = 6
TIMESTAMP = "2024-05-01T10:00:00.000Z"
LAB_PER_FILE = 150  # events per recording, evenly spaced (eql's engine takes ~70 µs per rule and event)
LAB_ZIPS = (
    "defense_evasion/host/psh_mshta_html_application_execution.zip",
    "defense_evasion/host/cmd_bitsadmin_download_psh_script.zip",
    "credential_access/host/psh_windows_vault_web_credentials.zip",
)

if not ELASTIC_RULES.is_dir():
    pytest.skip(f"no Elastic rules at {ELASTIC_RULES}", allow_module_level=True)


class World:
    def __init__(self) -> None:
        start = time.perf_counter()
        self.queries: dict[str, str] = {}
        self.rules: dict[str, NormalizedRule] = {}
        self.compiled: dict[str, Compiled] = {}
        self.skipped: dict[str, str] = {}
        for path in sorted(ELASTIC_RULES.rglob("*.toml")):
            if "_deprecated" in path.parts:
                continue
            try:
                doc = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            rule_doc = doc.get("rule") or {}
            if rule_doc.get("language") != "eql" or not isinstance(rule_doc.get("query"), str):
                continue
            key = str(path.relative_to(ELASTIC_RULES))
            self.queries[key] = rule_doc["query"]
            result = load_file(str(path))
            if len(result.rules) != 1:
                self.skipped[key] = f"ours: {len(result.rules)} rules loaded from the file"
                continue
            rule = result.rules[0]
            if len(rule.steps) > 1:
                self.skipped[key] = "a sequence (single-event rules only)"
                continue
            try:
                self.compiled[key] = compile_rule(rule)
            except CannotJudge as e:
                self.skipped[key] = f"ours: CannotJudge: {e}"
                continue
            self.rules[key] = rule
        self.load_seconds = time.perf_counter() - start

    def event_type(self, key: str) -> str:
        steps = self.rules[key].steps
        return steps[0].event_type if steps else "any"

    def literal_types(self, key: str) -> dict[str, type]:
        return eql_literal_types(self.queries[key])

    def skip(self, key: str, reason: str) -> None:
        self.skipped.setdefault(key, reason)

    def skipped_report(self) -> str:
        groups = Counter(r[:100] for r in self.skipped.values())
        lines = [f"EQL rules: {len(self.queries)}; judged by both: {len(self.queries) - len(self.skipped)}; "
                 f"left out: {len(self.skipped)}"]
        lines += [f"  {n:5d}  {reason}" for reason, n in groups.most_common()]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


# -- classification ------------------------------------------------------------------------
#
# As in the Sigma test, a cause is a hypothesis re-run on the disagreement: judge the rule's predicates the
# way the cause says eql's engine does (or on the fields the cause says it sees) and check that our verdict
# becomes the oracle's. A disagreement may need two causes at once; the smallest set that reproduces it is
# its cause. Only causes seen on the corpus are listed, and "fold", which the generated values (in the rule's
# own case) avoid but which would be the reading of any case-only difference.

CAUSES = {
    "null": "three-valued null: eql makes `not`/`!=` over a missing field null, Elasticsearch's must_not (and "
            "ours) lets the event through (ours right)",
    "qmark": "`?` in a wildcard: eql's engine reads it as a literal, Elasticsearch as one character (ours right)",
    "derived": "fields we derive at ingest (process.name from process.executable, file.extension from "
               "file.name...) are absent from the generated document eql sees (generator artefact)",
    "fold": "case: eql's engine folds case everywhere, Elasticsearch's `==`/`in`/`like`/`regex` do not "
            "(ours right)",
    "backquote": "a backquoted field (`a.b/c`): eql's engine looks it up as one top-level key, Elasticsearch "
                 "(and ours) as the dotted path (ours right)",
    "prefix": "regex anchoring: eql's `regex` is Python's re.match (anchored at the start only), "
              "Elasticsearch's (Lucene) must match the whole value, as ours (ours right)",
}
DROPPED = ("OUR BUG: the EQL loader drops terms it cannot express (functions over fields such as "
           "`startswith~(host.name, substring(user.name, 0, -1))`, `endsWith(a, b)`, `length(x) > 0`) instead "
           "of refusing the rule, so we judge a broader (or, inside `or`, narrower) rule; eql on the query with "
           "those terms dropped the same way gives our verdict")
MAX_COMBINATION = 3


def kleene(node, values: list[bool | None]) -> bool | None:
    """The tree under three-valued logic (None: unknown)."""
    if isinstance(node, Leaf):
        return values[node.pred]
    if isinstance(node, Not):
        inner = kleene(node.child, values)
        return None if inner is None else not inner
    results = [kleene(c, values) for c in node.children]
    if isinstance(node, And):
        return False if False in results else None if None in results else True
    return True if True in results else None if None in results else False


def raw_fields_event(doc: dict) -> Event:
    """The generated document's own fields, without the ones `normalize` derives."""
    fields: dict[str, tuple[str, ...]] = {}
    _flatten_into(doc, "", fields)
    return Event(fields=fields)


def leaf_truth(p: Predicate, test, ev: Event, flags: frozenset[str], query: Query) -> bool | None:
    """One predicate's truth as the flags say eql judges it (no flag that concerns it: ours)."""
    written = p.native_field or p.field
    if "backquote" in flags and written in query.backquoted:
        return None if "null" in flags else False
    values = ev.fields.get(p.field)
    if "null" in flags and not values and p.op not in ("exists", "is_null"):
        return None
    string_op = p.op in ("eq", "contains", "starts_with", "ends_with", "wildcard", "regex_match")
    fold = "fold" in flags and p.case_sensitive
    qmark = "qmark" in flags and p.op == "wildcard" and any("\0?" in _pattern_parts(v) for v in p.values)
    prefix = "prefix" in flags and p.op == "regex_match"
    if not (string_op and (fold or qmark or prefix)) or not values:
        return test(ev)
    cased = p.case_sensitive and not fold
    norm = (lambda s: s) if cased else str.casefold
    candidates = [norm(v) for v in values]
    if p.op == "regex_match":
        compiled = [re.compile(v, 0 if cased else re.IGNORECASE) for v in p.values]
        if prefix:
            return any(r.match(c) for r in compiled for c in candidates)
        return any(r.fullmatch(c) for r in compiled for c in candidates)
    if p.op == "wildcard":
        def piece(part: str | None) -> str:
            if part is None:
                return ".*"
            if part == "\0?":
                return re.escape("?") if qmark else "."
            return re.escape(norm(part))
        regexes = [re.compile("".join(piece(part) for part in _pattern_parts(v)), re.DOTALL) for v in p.values]
        return any(r.fullmatch(c) for r in regexes for c in candidates)
    return any(string_test(p.op, norm(v), c) for v in p.values for c in candidates)


class Query:
    """What the classifier needs of a rule's EQL text, parsed once: its backquoted fields, and
    the query as our loader reads it (the terms it cannot express dropped)."""

    _EXPRESSIBLE = {"wildcard", "match", "startswith", "endswith", "stringcontains", "cidrmatch"}

    def __init__(self, text: str) -> None:
        self.backquoted: set[str] = set()
        self.dropped = 0
        self.loader_view = None
        parsed = self._unoptimized(text)  # the loader parses with eql's optimizations off
        if parsed is None:
            return
        for node in parsed:
            if isinstance(node, eql.ast.Field) and "." in node.base:
                self.backquoted.add(".".join([node.base, *map(str, node.path)]))
        first = parsed.first
        if isinstance(first, eql.ast.EventQuery):
            pruned = self._prune(first.query)
            if self.dropped and pruned is not None:
                self.loader_view = eql.ast.PipedQuery(eql.ast.EventQuery(first.event_type, pruned), parsed.pipes)

    @staticmethod
    def _unoptimized(text: str):
        """eql's AST as lint/loaders/event_query.py gets it (optimizations skipped), with the oracle's walker
        (function names without case)."""
        P = eql.parser
        text = text if text.endswith("\n") else text + "\n"
        try:
            with P.elasticsearch_syntax, P.ignore_missing_functions, P.allow_negation, P.skip_optimizations, \
                    P.allow_sample, P.allow_runs, \
                    P.ParserConfig(implied_any=False, implied_base=False, allow_subqueries=True, preprocessor=None,
                                   allow_pipes=True):
                node = _Walker(text).visit(P.lark_parser.parse(text, start="piped_query"))
        except Exception:  # noqa: BLE001 - the oracle reports the same text as unparsable
            return None
        return getattr(node, "node", node)

    def _prune(self, node):
        """lint/loaders/event_query.py's reading: a term it cannot make a predicate of is left out (an
        `and`/`or` keeps its other terms, a `not` of nothing is nothing)."""
        ast = eql.ast
        if isinstance(node, (ast.And, ast.Or)):
            kids = [k for k in (self._prune(t) for t in node.terms) if k is not None]
            return None if not kids else kids[0] if len(kids) == 1 else type(node)(kids)
        if isinstance(node, ast.Not):
            inner = self._prune(node.term)
            return None if inner is None else ast.Not(inner)
        if isinstance(node, ast.Comparison):
            sides = (node.left, node.right)
            if any(isinstance(x, ast.Field) for x in sides) and \
                    all(isinstance(x, (ast.Field, ast.Literal)) for x in sides):
                return node
        elif isinstance(node, ast.InSet):
            if isinstance(node.expression, ast.Field) and all(isinstance(v, ast.Literal) for v in node.container):
                return node
        elif isinstance(node, (ast.IsNull, ast.IsNotNull)):
            if isinstance(node.expr, ast.Field):
                return node
        elif isinstance(node, ast.FunctionCall):
            args = node.arguments
            if node.name.lower() in self._EXPRESSIBLE and len(args) > 1 and isinstance(args[0], ast.Field) \
                    and all(isinstance(a, ast.Literal) for a in args[1:]):
                return node
        self.dropped += 1
        return None

    def loader_verdict(self, doc: dict) -> bool | None:
        """eql's verdict on one event for the query as our loader reads it (None: nothing was dropped)."""
        if self.loader_view is None:
            return None
        engine = _Engine(lift_arrays=True)
        hits: list = []
        engine.add_output_hook(hits.append)
        engine.add_query(self.loader_view)
        engine.stream_events([_to_event(doc)])
        return bool(hits)


_QUERIES: dict[str, Query] = {}


def query_of(text: str) -> Query:
    if text not in _QUERIES:
        _QUERIES[text] = Query(text)
    return _QUERIES[text]


def classify(rule: NormalizedRule, compiled: Compiled, text: str, doc: dict, ev: Event, in_type: bool,
             ours: bool, theirs: bool, generated: bool) -> tuple[str, str]:
    r"""(cause, detail) of one disagreement; cause "" when no combination of known causes reproduces it.

    - null. eql.PythonEngine reads a missing field as null, a comparison with null is null and `not null`
      is null, so `not process.name in (...)` never holds on an event without `process.name`.
      Elasticsearch compiles `not`/`!=` to a bool `must_not`, which a document lacking the field passes;
      our two-valued logic is Elasticsearch's. Re-run in Kleene logic, predicates on missing fields unknown.
    - qmark. eql's `wildcard()` knows only `*`; Elasticsearch's EQL wildcards (`:`, `like`) take `?` as one
      character, and the rules are written so (`"?:\\Windows\\*.exe"`). Re-run with `?` literal.
    - derived. `normalize` of an ECS document derives what an ECS pipeline would (names from paths,
      extensions, args from the command line); a generated document may lack them, so eql reads null. Real
      ECS documents carry those fields. Re-run on the document's own fields (generated set only).
    - fold. eql's engine folds case in `==`, `in`, `like`, `regex` alike; Elasticsearch and we keep case
      there (only `:` and the `~` forms fold). Re-run the case-sensitive predicates folded.
    - backquote. `kubernetes.audit.annotations.authorization_k8s_io/decision`, backquoted, is one Field
      whose base is the whole dotted name; eql's engine reads `event[base]`, which a nested document never has.
      Elasticsearch field names are dotted paths: the document's field is that field. Re-run with those
      predicates unknown.
    - prefix. eql's `regex` is `match()`, Python's re.match: anchored at the start only, so
      `regex ".*\\.(top|xyz)"` matches "a.toptail". Lucene regexps (Elasticsearch) match the whole value, as
      ours do for Elastic rules. Re-run the regex predicates with re.match.
    - dropped terms (our bug): see DROPPED; checked by running eql itself on the pruned query.
    """
    truths = [t(ev) for t in compiled.tests]
    if not in_type:
        return "", f"event type differs: event.category={short(ev.fields.get('event.category'))}"
    query = query_of(text)
    if query.loader_view is not None and query.loader_verdict(doc) == ours:
        return DROPPED, f"{query.dropped} term(s) dropped"
    views = {"": ev}
    if generated:
        views["derived"] = raw_fields_event(doc)
    names = [n for n in CAUSES if n != "derived"]
    for size in range(1, MAX_COMBINATION + 1):
        for view_name, view in views.items():
            rest = size - (1 if view_name else 0)
            for combo in itertools.combinations(names, rest):
                flags = frozenset(combo)
                if not flags and not view_name:
                    continue
                values = [leaf_truth(p, t, view, flags, query) for p, t in zip(rule.predicates, compiled.tests)]
                if (kleene(rule.tree, values) is True) == theirs:
                    causes = sorted(flags | ({view_name} if view_name else set()))
                    changed = [f"{rule.predicates[i].native_field or rule.predicates[i].field} {rule.predicates[i].op} "
                               f"{short(rule.predicates[i].values[:2], 80)}: {truths[i]}->{v}"
                               for i, v in enumerate(values) if v != truths[i]]
                    label = CAUSES[causes[0]] if len(causes) == 1 else " + ".join(causes)
                    return label, "; ".join(changed[:3])
    crit = [rule.predicates[i] for i in critical_predicates(rule, truths, theirs)]
    return "", "critical predicates: " + "; ".join(
        f"{p.field} {p.op} {short(p.values[:3])} cs={p.case_sensitive} event={short(ev.fields.get(p.field))}"
        for p in crit[:3]) + f"; doc={short(doc, 300)}"


# -- comparing ------------------------------------------------------------------------------

def in_event_type(event_type: str, ev: Event) -> bool:
    return event_type == "any" or event_type in (ev.fields.get("event.category") or ())


def compare(world: World, tally: Tally, keys: list[str], docs: list[tuple[str, dict]], events: list[Event],
            generated: bool) -> None:
    for key in keys:
        verdict = eql_verdicts(world.queries[key], [doc for _, doc in docs], arrays="any")
        if isinstance(verdict, str):
            world.skip(key, f"oracle: {verdict}")
            continue
        test = world.compiled[key].test
        event_type = world.event_type(key)
        for i, ev in enumerate(events):
            in_type = in_event_type(event_type, ev)
            ours, theirs = in_type and test(ev), i in verdict
            tally.compared += 1
            if ours == theirs:
                tally.agreeing += 1
                continue
            cause, detail = classify(world.rules[key], world.compiled[key], world.queries[key], docs[i][1], ev,
                                     in_type, ours, theirs, generated)
            tally.disagreements.append(Disagreement(key, docs[i][0], ours, theirs, cause, detail))




def without_conflicts(doc: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys eql can nest: a key that is also the parent of another (`a.b` and `a.b.c`) is dropped."""
    names = set(doc)
    return {k: v for k, v in doc.items() if not any(n.startswith(k + ".") for n in names if n != k)}


NEUTRAL = "zzneutral"
NEUTRAL_NUMBER = 987654321


def generated_events(world: World, key: str) -> list[tuple[str, dict]]:
    rule = world.rules[key]
    event_type = world.event_type(key)
    kinds = world.literal_types(key)
    base: dict[str, Any] = {"@timestamp": TIMESTAMP, "host.os.type": "windows"}
    # Fields the rule names, present but matching nothing: an event lacking them would only test
    # eql's null logic (see the "null" cause), over and over.
    for p in rule.predicates:
        for k in p.native_keys():
            if k.op not in ("exists", "is_null") and kinds.get(k.field) is not bool:
                base.setdefault(k.field, NEUTRAL_NUMBER if kinds.get(k.field) in (int, float) else NEUTRAL)
    if event_type != "any":
        base["event.category"] = event_type
    out = []
    for turn, (positive, tripped) in enumerate(rule_branches(rule, MAX_BRANCHES)):
        for label, chosen in (("", positive), (":filtered", positive | tripped if tripped else None)):
            if chosen is None:
                continue
            fields = {name: typed(value, kinds.get(name)) for name, value in
                      branch_fields(rule, chosen, turn, native=True, qmark="?").items()}
            out.append((f"{key}:branch{turn}{label}", without_conflicts({**base, **fields})))
    return out


def test_generated_events(world: World) -> None:
    started = time.perf_counter()
    print(f"\nloaded in {world.load_seconds:.1f}s")
    keys = sorted(world.rules, key=lambda k: (world.event_type(k), k))
    tally = Tally("eql / generated ECS events")
    count = 0
    for at in range(0, len(keys), CHUNK):
        chunk = keys[at:at + CHUNK]
        docs = [d for k in chunk for d in generated_events(world, k)]
        count += len(docs)
        compare(world, tally, chunk, docs, [normalize(doc) for _, doc in docs], generated=True)
    print(f"{count} generated events for {len(keys)} single-event rules, in chunks of {CHUNK} rules")
    print(world.skipped_report())
    check(tally, started)


def ecs_document(ev: Event) -> dict[str, Any]:
    """The ECS document our Event stands for: every dotted field, one value as a scalar, several as a list,
    none (JSON null) as null; `@timestamp` from the event's time."""
    doc: dict[str, Any] = {name: (values[0] if len(values) == 1 else list(values) if values else None)
                           for name, values in ev.fields.items() if "." in name}
    when = dt.datetime.fromtimestamp(ev.timestamp, dt.timezone.utc) if ev.timestamp is not None else None
    doc["@timestamp"] = when.isoformat().replace("+00:00", "Z") if when else TIMESTAMP
    return without_conflicts(doc)




def test_lab_events(world: World) -> None:
    started = time.perf_counter()
    docs, events = lab_sample(LAB_ZIPS, LAB_PER_FILE, ecs_document)
    if not docs:
        pytest.skip(f"none of the lab recordings under {LAB_WINDOWS}")
    tally = Tally("eql / lab recordings")
    compare(world, tally, sorted(world.rules), docs, events, generated=False)
    print(f"\n{len(docs)} lab events sampled from {len(LAB_ZIPS)} recordings (at most {LAB_PER_FILE} each)")
    check(tally, started)
