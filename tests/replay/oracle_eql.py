"""Which events an Elastic EQL rule matches, according to eql's own Python engine.

An oracle for differential tests: `eql_verdicts(query, events)` parses the rule with
the parser settings Elastic rules need and streams the events through
`eql.PythonEngine` (eql 1.0.1). What it reports is *eql's* verdict, which is not
always Elasticsearch's. Findings from reading eql's source (engine.py, parser.py,
events.py, functions.py, utils.py, walkers.py):

Event type. The engine keys every callback by `Event.type`, one string, and
`Event.from_data` reads it from `event_type`/`event_type_full`, never from ECS. So
`process where` only fires for `Event(type="process")`. ECS `event.category` may be a
list; the engine cannot express that. This module adapts exactly two places:
an event's type is the *set* of its categories, a `<cat> where` query tests
membership, and hooks run once each in registration order (identical to the stock
engine for a single string category: a test checks that). `any where` matches every
event, including ones without `event.category`.

Fields. A field is read as `data[base]` then `.get()` down the path, so events must be
nested; dotted keys (`{"process.name": ...}`) are nested here first, mixed styles merge.
A path through a list yields null (except numeric indexes); a path *through a
string* compares the string to the next path part (eql's enum shorthand).

Case. The parser turns `:`, `like`, `like~` into `wildcard(...)` and `regex`, `regex~`
into `match(...)`; `in~` into `in`; `startsWith~(...)` into `startsWith(...)`: the
`~`/case information is gone after parsing. The engine then folds case everywhere
(utils.CASE_INSENSITIVE is True): `==`, `!=`, `in`, `like`, `regex`, every string
function and sequence `by` keys are case-insensitive. In Elasticsearch, `==`, `in`,
`like`, `regex` and functions without `~` are case-sensitive.

Patterns. `wildcard` knows only `*`; `?` is a literal character. `match` (`regex`)
is Python `re.match`: anchored at the start only, so `regex "cmd"` matches "cmd.exe"
(Lucene regexps are anchored at both ends).

Arrays. The engine has no multi-value semantics: `==`/`:`/`like`/functions on a list
value are null (they never match, and `not` of them is null too), and `in`/`in~` on a
list raises TypeError (reported as a reason string). With `arrays="any"` this module
lifts each boolean leaf (comparison, `in`, boolean function) over list values: true
if any element makes it true, false if some element makes it false, else null; `!=`
becomes `not ==`, so `not`/`!=` mean "no element matches", and an empty list is null.
This is Elasticsearch's reading of a multi-valued keyword; the default ("engine")
is eql's own.

Null. Missing fields are null; comparisons and functions with a null argument are
null; `not null` is null; and/or are three-valued; an event matches only if the
condition is true. So `not process.name in (...)` and `process.name != "x"` do not
match an event without `process.name`. `x == null`/`x != null` become IsNull/IsNotNull.
Numbers compare only with numbers ("4" != 4: null).

Time and sequences. Timestamps are `Event.time` in ticks of `time_unit` (default 1e7
per second); `@timestamp` is converted to 100 ns ticks since the epoch (naive = UTC).
`maxspan` is truncated to whole seconds (`as_milliseconds() // 1000`, so 1500ms acts
as 1s and 500ms as 0). A pending sequence is dropped when a later event of one of
the sequence's types arrives with `first.time < event.time - maxspan`: a span of
exactly maxspan still matches. `by` keys are case-folded (lists become tuples); a
null key joins other null keys (Elasticsearch only allows null keys for `?field`).
Per join key and step only one pending sequence is kept; a new first-step event
replaces it. `until` drops pending sequences of its key. A missing-event step `![...]`
is passed by the next same-type, same-key event that does *not* match it (consumed,
not reported) and killed by one that does: `a, b` does not match `[a] ![stop] [b]`,
while `a, x, stop, b` does (Elasticsearch: no `stop` between). A one-step sequence
(allowed by the Elasticsearch syntax) crashes the engine (IndexError). The engine
processes events in the order given; this module sorts them by (@timestamp, position)
first, as Elasticsearch orders by time.

Functions. eql's function table is exact-case camelCase (`cidrMatch`); Elasticsearch
resolves names case-insensitively and 50+ rules write `cidrmatch`, `startswith`,
`endswith`. With `ignore_missing_functions` (mirrored from lint/loaders/event_query.py)
such a name parses unchecked and the engine then fails to compile it; so the walker
here looks names up without case and renames the call to eql's spelling (signature
checks then run as usual). A function eql does not have at all still parses, and the
engine's EqlCompileError "Unknown function" comes back as a reason string. eql's
`cidrMatch` accepts only `a/n` patterns, so the rules that list a bare "::1" fail
its signature check (a parse error reason).
Pipes are run by the engine; if their output is not source events (count,
unique_count), a reason is returned.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
from typing import Any, Callable

import eql.utils

eql.utils._loaded_plugins = True  # never import `eql_*` modules from sys.path

import eql  # noqa: E402
import eql.functions  # noqa: E402
import eql.optimizer  # noqa: E402
import eql.parser as _P  # noqa: E402
from eql.ast import Comparison, Field, FunctionCall, Literal, String  # noqa: E402
from eql.engine import PythonEngine  # noqa: E402
from eql.events import Event  # noqa: E402
from eql.schema import EVENT_TYPE_ANY  # noqa: E402
from eql.types import TypeHint  # noqa: E402
from eql.utils import fold_case  # noqa: E402
from eql.walkers import DEFAULT_TIME_UNIT  # noqa: E402

__all__ = ["eql_verdicts"]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_FRACTION = re.compile(r"(\.\d{6})\d+")  # fromisoformat takes at most microseconds
_NOT_LIFTED = {"arrayContains", "arrayCount", "arraySearch", "length"}  # take arrays on purpose


def eql_verdicts(query: str, events: list[dict], *, arrays: str = "engine") -> set[int] | str:
    """query: an Elastic rule's EQL text (Elasticsearch syntax: `:` , `like~`, `in~`, `?field`, sequences with `by`, `with maxspan=`, `until`).
    events: ECS events as nested or dotted dicts ({"process": {"name": "cmd.exe"}} or {"process.name": "cmd.exe"}; both must work),
    each with "@timestamp" (ISO 8601 string) and "event": {"category": ...}.
    Returns the positions of the events the query matches (for a sequence: every event of every matched sequence),
    or a str saying why the engine cannot run it (unsupported function, pipe, parse error...).

    arrays: "engine" (eql's own semantics: a list value never matches a leaf) or
    "any" (a leaf matches if any element of a list value does; see the module docstring).
    """
    if arrays not in ("engine", "any"):
        raise ValueError(f"arrays must be 'engine' or 'any', not {arrays!r}")
    parsed = _parse(query)
    if isinstance(parsed, str):
        return parsed

    stream: list[tuple[int, int, Event]] = []
    for pos, raw in enumerate(events):
        ev = _to_event(raw)
        if isinstance(ev, str):
            return f"bad event {pos}: {ev}"
        stream.append((ev.time, pos, ev))
    stream.sort(key=lambda t: (t[0], t[1]))
    position = {id(ev): pos for _, pos, ev in stream}

    engine = _Engine(lift_arrays=arrays == "any")
    results: list[Any] = []
    engine.add_output_hook(results.append)
    try:
        engine.add_query(parsed)
    except eql.errors.EqlCompileError as e:
        msg = str(e)
        if msg.startswith("Unknown function "):
            return f"unsupported function: {msg[len('Unknown function '):]}"
        return f"compile error: {msg}"
    except NotImplementedError as e:  # eql's DynamicFunctionSignature: "can only be processed in a transpiler"
        return f"unsupported function: {e}"
    except Exception as e:  # noqa: BLE001 - any failure is a reason, not a verdict
        return f"compile error: {type(e).__name__}: {e}"
    try:
        engine.stream_events([ev for _, _, ev in stream])
    except Exception as e:  # noqa: BLE001
        return f"engine error: {type(e).__name__}: {e}"

    matched: set[int] = set()
    for out in results:
        for ev in getattr(out, "events", [out]):
            pos = position.get(id(ev))
            if pos is None:
                return "pipe output is not source events (aggregating pipe)"
            matched.add(pos)
    return matched


# ---- parsing ------------------------------------------------------------------------

def _parse(query: str) -> Any:
    """eql's AST for an Elastic rule, with the settings of lint/loaders/event_query.py
    (elasticsearch_syntax, ignore_missing_functions, allow_negation/sample/runs, no
    implied `any`/base, subqueries and pipes on). This is eql.parser._parse (which
    eql.parse_query calls) with one change, the walker: function names resolve
    case-insensitively, as in Elasticsearch (rules write `cidrmatch`, `startswith`),
    and end up spelled as eql's registry spells them so the engine finds them.
    Optimizations stay on: that is eql's normal path to its engine."""
    text = query if query.endswith("\n") else query + "\n"
    if not text.strip():
        return "parse error: empty query"
    try:
        with _P.elasticsearch_syntax, _P.ignore_missing_functions, _P.allow_negation, \
                _P.allow_sample, _P.allow_runs, \
                _P.ParserConfig(implied_any=False, implied_base=False, allow_subqueries=True,
                                preprocessor=None, allow_pipes=True):
            walker = _Walker(text)
            try:
                tree = _P.lark_parser.parse(text, start="piped_query")
            except _P.LarkError as e:
                return f"parse error: invalid syntax at line {getattr(e, 'line', '?')}, column {getattr(e, 'column', '?')}"
            node = walker.visit(tree)
            node = getattr(node, "node", node)
            return eql.optimizer.Optimizer(recursive=True).walk(node)
    except eql.errors.EqlParseError as e:
        return f"parse error: {type(e).__name__}: {e.error_msg}"
    except eql.errors.EqlError as e:
        return f"parse error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    except RecursionError:
        return "parse error: query nests too deeply"
    except Exception as e:  # noqa: BLE001
        return f"parse error: {type(e).__name__}: {e}"


_CANONICAL = {name.lower(): name for name in eql.functions.list_functions()}


class _FoldedLookup(dict):
    """eql's function table, looked up without regard to case."""

    def get(self, key, default=None):
        hit = super().get(key)
        if hit is None and isinstance(key, str):
            hit = super().get(_CANONICAL.get(key.lower(), key))
        return default if hit is None else hit


class _Walker(_P.LarkToEQL):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._function_lookup = _FoldedLookup(self._function_lookup)

    def function_call(self, node, prev_node=None, prev_arg=None):
        info = super().function_call(node, prev_node, prev_arg)
        call = info.node
        if isinstance(call, FunctionCall) and eql.functions.get_function(call.name) is None:
            canonical = _CANONICAL.get(call.name.lower())
            if canonical and canonical in self._function_lookup:
                call.name = canonical
        return info


# ---- events -------------------------------------------------------------------------

def _to_event(raw: dict) -> Event | str:
    if not isinstance(raw, dict):
        return f"not a dict: {type(raw).__name__}"
    try:
        data = _nest(raw)
    except ValueError as e:
        return str(e)
    ts = data.get("@timestamp")
    if not isinstance(ts, str):
        return "missing or non-string @timestamp"
    ticks = _ticks(ts)
    if ticks is None:
        return f"unreadable @timestamp {ts!r}"
    cat = data.get("event", {}).get("category") if isinstance(data.get("event"), dict) else None
    if isinstance(cat, str):
        types = frozenset([cat])
    elif isinstance(cat, list):
        types = frozenset(c for c in cat if isinstance(c, str))
    else:
        types = frozenset()
    return Event(types, ticks, data)


def _nest(d: dict) -> dict:
    """{"process.name": x, "process": {"pid": 1}} -> {"process": {"name": x, "pid": 1}}."""
    out: dict = {}
    for key, value in d.items():
        value = _nest_value(value)
        parts = key.split(".") if key != "@timestamp" and "." in key else [key]
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ValueError(f"field conflict at {'.'.join(parts[:i + 1])!r}")
            node = nxt
        last = parts[-1]
        if last in node:
            if isinstance(node[last], dict) and isinstance(value, dict):
                _merge(node[last], value, key)
                continue
            raise ValueError(f"field conflict at {key!r}")
        node[last] = value
    return out


def _nest_value(v: Any) -> Any:
    if isinstance(v, dict):
        return _nest(v)
    if isinstance(v, list):
        return [_nest_value(x) for x in v]
    return v


def _merge(dst: dict, src: dict, where: str) -> None:
    for k, v in src.items():
        if k in dst:
            if isinstance(dst[k], dict) and isinstance(v, dict):
                _merge(dst[k], v, f"{where}.{k}")
                continue
            raise ValueError(f"field conflict at {where}.{k!r}")
        dst[k] = v


def _ticks(ts: str) -> int | None:
    """ISO 8601 -> 100 ns ticks since the epoch (the engine's default time unit)."""
    text = ts.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(r"\1", text)
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    delta = when - _EPOCH
    per_second = DEFAULT_TIME_UNIT
    return (delta.days * 86400 + delta.seconds) * per_second + delta.microseconds * (per_second // 1_000_000)


# ---- the engine ---------------------------------------------------------------------

class _Engine(PythonEngine):
    """eql.PythonEngine with a set of categories as the event type, and optionally
    multi-value (any element) evaluation of boolean leaves."""

    def __init__(self, lift_arrays: bool) -> None:
        self._registered: list[tuple[str, Callable]] = []
        self._lift_arrays = lift_arrays
        super().__init__()

    # event types: categories are a set -------------------------------------------------
    def add_event_callback(self, event_type, f):
        self._registered.append((event_type, f))
        super().add_event_callback(event_type, f)  # keep eql's own tables consistent (unused)

    def stream_event(self, event):
        # The stock engine runs `_event_hooks[event.type]`: the hooks of that type and
        # of `any`, in registration order. Same here for a set of types, each hook once.
        cats = event.type
        done: set[int] = set()
        for event_type, hook in self._registered:
            if (event_type == EVENT_TYPE_ANY or event_type in cats) and id(hook) not in done:
                done.add(id(hook))
                hook(event)

    def _convert_event_query(self, node):
        check_match = self.convert(node.query, scoped=True)
        expected = node.event_type
        if expected == EVENT_TYPE_ANY:
            return check_match
        return lambda event: expected in event.type and check_match(event)

    # arrays="any": lift boolean leaves over list values --------------------------------
    def _convert_comparison(self, node):
        if not self._lift_arrays:
            return super()._convert_comparison(node)
        negate = node.comparator == Comparison.NE
        function = Comparison.func_lookup[Comparison.EQ] if negate else node.function
        strings = FunctionCall, String, Field
        if isinstance(node.left, strings) and isinstance(node.right, strings):
            compare = self.check_types(self.lowercase(function, always=False))
        else:
            compare = self.check_types(function)
        lifted = _lift([self.convert(node.left), self.convert(node.right)], compare)
        if not negate:
            return lifted

        def not_equal(scope):
            value = lifted(scope)
            return None if value is None else not value
        return not_equal

    def _convert_in_set(self, node):
        if not self._lift_arrays or not all(isinstance(i, Literal) for i in node.container):
            return super()._convert_in_set(node)  # non-literal sets become ORed comparisons
        values = {fold_case(i.value) for i in node.container}

        def member(value):
            return None if value is None else fold_case(value) in values
        return _lift([self.convert(node.expression)], member)

    def _convert_function_call(self, node):
        signature = node.signature
        if (not self._lift_arrays or signature is None or node.name in _NOT_LIFTED
                or signature.return_value != TypeHint.Boolean
                or getattr(self, f"_function_{self.camelized(node.name)}", None)):
            return super()._convert_function_call(node)
        func = self._functions.get(node.name, signature)
        if hasattr(func, "get_callback"):
            func = func.get_callback(*node.arguments)
        return _lift([self.convert(a) for a in node.arguments], func)


def _lift(getters: list[Callable], fn: Callable) -> Callable:
    """fn over the argument values; a list value counts as any of its elements."""
    def callback(scope):
        values = [g(scope) for g in getters]
        if not any(isinstance(v, list) for v in values):
            return fn(*values)
        result = None
        for combo in itertools.product(*[v if isinstance(v, list) else [v] for v in values]):
            try:
                r = fn(*combo)
            except TypeError:  # e.g. an unhashable element (a dict) tested with `in`
                continue
            if r:
                return True
            if r is not None:
                result = False
        return result
    return callback
