"""A reference oracle for Sigma detection logic: pySigma's SQLite backend run by SQLite itself.

`sqlite_verdicts(rule_texts, events)` converts each rule with ``sigma.backends.sqlite`` (package
pysigma-backend-sqlite 2.0.0, the last release for pySigma 1.x) with no processing pipeline, loads the
flat events into one in-memory table and returns which event positions each rule's query selects.
Field names stay as the rule writes them and the logsource is not applied: only the detection logic is
compared. `flatten_evtx_json` turns one event in the `evtx` crate's JSON form into such a flat event.

The table is built the way Zircolite (the tool this backend's SQL is written for) builds it: a column
whose non-null values are all integers is ``INTEGER``, any other column ``TEXT COLLATE NOCASE``; field
names are folded case-insensitively onto one column (SQLite identifiers are case-insensitive, so a rule
naming ``commandline`` reads ``CommandLine`` too); a field an event lacks is NULL; a field a rule names
but no event carries is added as an all-NULL column, so the rule still gets a verdict (the field reads
as absent) rather than a "no such column" error. Booleans are stored as 'true'/'false', big integers,
lists and dicts as text.

What the backend emits, read from its source, and what that means here:

- Case: plain equality is ``field='v'``, case-insensitive only through the column's NOCASE collation;
  ``|startswith/endswith/contains`` and any value with a wildcard or a backslash become
  ``LIKE ... ESCAPE '\\'``. Both fold ASCII letters only: a non-ASCII letter (é/É) compares by case.
  ``|cased`` becomes ``GLOB`` (case-sensitive; ``[``, ``*``, ``?`` escaped as ``[[]`` ``[*]`` ``[?]``).
- Wildcards: Sigma ``*``/``?`` become ``%``/``_``; literal ``%``, ``_`` and ``\\`` are escaped with ``\\``.
  Patterns are anchored (LIKE matches the whole value).
- ``|re``: ``field REGEXP 'pattern'``, which SQLite runs as ``regexp(pattern, value)``; registered here as
  Python ``re.search`` (unanchored; NULL value gives NULL). Flags ``|i|m|s`` are sent as an inline
  ``(?ims)`` prefix; no ``|i`` means a case-sensitive regex. A pattern Python's ``re`` rejects makes the
  rule land in ``failed`` (the flavour is Python's, not PCRE's).
- ``|cidr``: expanded by pySigma into prefix wildcards on octet (IPv4) or hex-digit (IPv6) boundaries,
  i.e. ``LIKE '10.%'``, ``LIKE 'fe8%'``: a textual prefix test, no address parsing (an IPv6 address only
  matches when written in the same compressed form as the network).
- ``|windash``: pySigma expands ``-`` into ``-``, ``/``, en dash, em dash and horizontal bar, OR-ed.
- ``|base64``/``|base64offset``: pySigma expands to the (three) encoded forms, then ``LIKE``, so the base64
  text is matched case-insensitively (looser than the encoding implies). pySigma 1.5 knows ``|wide``
  (UTF-16LE), ``|utf16`` and ``|utf16be``; ``|utf16le`` is an unknown modifier there.
- ``|fieldref``: ``a=b`` (NOCASE via a's column), ``|fieldref|startswith`` etc. as ``LIKE`` on the other
  field's value with its ``\\ % _`` escaped.
- ``|exists``: ``IS NOT NULL`` / ``IS NULL``; ``null``: ``IS NULL`` -- absent and null are the same here;
  ``''`` is an ordinary value, distinct from absent.
- Numbers: ``field=4688`` (with column affinity, the text '4688' equals it too); ``|lt|lte|gt|gte`` are
  plain ``<``/``>``: numeric on an INTEGER column, but *lexicographic* on a TEXT one (a column mixing
  numbers and text).
- Booleans: ``(f='true' OR f=1)``. ``|neq``: ``NOT COALESCE((f='v'), 0)``, so an absent field matches.
- ``not``: every negated subtree is wrapped ``NOT COALESCE(expr, 0)``, so a comparison on an absent field
  reads false (Sigma's two-valued logic) and ``sel and not filter`` still matches when the filter's field is
  missing. Un-negated, a NULL comparison just fails to select the row.
- Long OR/AND chains (over 100 operands) are regrouped to stay under SQLite's expression-depth limit.
- Unsupported (conversion fails, rule goes to ``failed``): keyword / field-less values (no full-text
  search), unexpanded placeholders (``|expand``), the deprecated pipe aggregation (``| count()``), unknown
  modifiers. Correlation and filter documents are reported as such without being converted. A rule with
  several conditions (or several documents) yields several queries; its matches are their union.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections.abc import Mapping

import yaml
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

TABLE = "events"
# SigmaCollection.from_yaml parses with PyYAML's pure-Python safe loader, which costs more than the
# conversion itself; the C loader reads the same documents.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SQLITE_INT_MAX = 2**63 - 1


def _qident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}"


def _cell(value):
    """An event value as stored in SQLite."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value if -_SQLITE_INT_MAX <= value <= _SQLITE_INT_MAX else str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _convert(backend: sqliteBackend, text: str) -> tuple[list[str], set[str]]:
    """The WHERE clauses of one rule text and the fields they name; raises on anything unsupported."""
    documents = list(yaml.load_all(text, Loader=_LOADER))
    # References are left unresolved: a correlation is refused below, not looked up.
    collection = SigmaCollection.from_dicts(documents, resolve_references=False)
    items = list(collection.rules)
    if not items:
        raise ValueError("no rule in the text")
    wheres: list[str] = []
    fields: set[str] = set()
    prefix = f"SELECT * FROM {backend.resolve_table()} WHERE "
    for item in items:
        if isinstance(item, SigmaCorrelationRule):
            raise NotImplementedError("correlation rule")
        if not isinstance(item, SigmaRule):
            raise NotImplementedError(f"{type(item).__name__} document")
        queries = backend.convert_rule(item)
        if not queries:
            raise ValueError("the backend produced no query")
        for query in queries:
            if not isinstance(query, str) or not query.startswith(prefix):
                raise ValueError(f"unexpected query shape: {str(query)[:80]!r}")
            wheres.append(query[len(prefix):])
        fields.update(backend.required_fields(item))
    return wheres, fields


def sqlite_verdicts(rule_texts: dict[str, str], events: list[dict]) -> tuple[dict[str, set[int]], dict[str, str]]:
    """rule_texts: key -> Sigma rule YAML text. events: flat dicts {field name: value} (Windows field names as
    Sigma writes them: EventID, Channel, Provider_Name, Computer, Image, CommandLine, ...; values str/int/None).
    Returns (matches: key -> set of event positions matched, failed: key -> reason the backend could not convert or run it)."""
    backend = sqliteBackend(table=TABLE)
    failed: dict[str, str] = {}
    converted: dict[str, list[str]] = {}
    rule_fields: set[str] = set()
    for key, text in rule_texts.items():
        try:
            wheres, fields = _convert(backend, text)
        except Exception as exc:  # noqa: BLE001 - any failure of pySigma is a verdict of its own
            failed[key] = _reason(exc)
            continue
        converted[key] = wheres
        rule_fields |= fields

    # Columns: lower-cased name -> [spelling, all values int so far].
    columns: dict[str, list] = {}
    for event in events:
        for name, value in event.items():
            column = columns.setdefault(name.lower(), [name, True])
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not -_SQLITE_INT_MAX <= value <= _SQLITE_INT_MAX):
                column[1] = False
    for name in sorted(rule_fields):
        columns.setdefault(name.lower(), [name, False])
    position = "_pos"
    while position.lower() in columns:
        position = "_" + position
    order = list(columns)

    db = sqlite3.connect(":memory:")
    regex_errors: list[str] = []

    @functools.lru_cache(maxsize=None)
    def compiled(pattern: str) -> re.Pattern:
        return re.compile(pattern)

    def regexp(pattern, value):
        if pattern is None or value is None:
            return None
        try:
            return 1 if compiled(pattern).search(value if isinstance(value, str) else str(value)) else 0
        except re.error as exc:
            regex_errors.append(f"regex {pattern[:60]!r}: {exc}")
            raise

    db.create_function("regexp", 2, regexp, deterministic=True)
    try:
        definitions = [f"{_qident(position)} INTEGER PRIMARY KEY"] + [
            f"{_qident(columns[low][0])} {'INTEGER' if columns[low][1] else 'TEXT COLLATE NOCASE'}" for low in order
        ]
        db.execute(f"CREATE TABLE {TABLE} ({', '.join(definitions)})")
        placeholders = ", ".join("?" * (len(order) + 1))
        slots = {low: i + 1 for i, low in enumerate(order)}
        rows = []
        for index, event in enumerate(events):
            row = [index] + [None] * len(order)
            for name, value in event.items():
                slot = slots[name.lower()]
                if row[slot] is None:  # two spellings of one name in one event: the first non-null wins
                    row[slot] = _cell(value)
            rows.append(row)
        db.executemany(f"INSERT INTO {TABLE} VALUES ({placeholders})", rows)

        matches: dict[str, set[int]] = {}
        for key, wheres in converted.items():
            hits: set[int] = set()
            try:
                for where in wheres:
                    hits.update(r[0] for r in db.execute(f"SELECT {_qident(position)} FROM {TABLE} WHERE {where}"))
            except sqlite3.Error as exc:
                failed[key] = regex_errors[-1] if regex_errors else f"run: {_reason(exc)}"
                regex_errors.clear()
                continue
            matches[key] = hits
        return matches, failed
    finally:
        db.close()


def _scalar(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def flatten_evtx_json(doc: dict) -> dict:
    """One event in the evtx crate's JSON form -> a flat {field: value} dict as Sigma names the fields.

    EventData keys as they are (nested values as JSON text, ``#attributes`` dropped); the fields of the
    element under UserData likewise (the rules name them the same way); from System: EventID (an int
    where it is one; ``#text`` of an EventID with Qualifiers), Channel, Computer and Provider_Name
    (Provider's Name attribute). System fields win over EventData keys of the same name. Raises
    KeyError/TypeError on a document of another layout.
    """
    event = doc["Event"]
    if not isinstance(event, Mapping):
        raise TypeError("Event is not an object")
    system = event.get("System") or {}
    flat: dict = {}
    data = event.get("EventData")
    if isinstance(data, Mapping):
        for name, value in data.items():
            if name != "#attributes":
                flat[name] = _scalar(value)
    elif data is not None:
        flat["EventData"] = _scalar(data)
    user_data = event.get("UserData")
    if isinstance(user_data, Mapping):
        for name, element in user_data.items():
            if name == "#attributes":
                continue
            if isinstance(element, Mapping):
                for field, value in element.items():
                    if field != "#attributes":
                        flat.setdefault(field, _scalar(value))
            else:
                flat.setdefault(name, _scalar(element))

    event_id = system.get("EventID")
    if isinstance(event_id, Mapping):
        event_id = event_id.get("#text", event_id.get("value"))
    if isinstance(event_id, str) and event_id.strip().isdigit():
        event_id = int(event_id)
    flat["EventID"] = event_id
    for name in ("Channel", "Computer"):
        value = system.get(name)
        flat[name] = value if not isinstance(value, Mapping) else value.get("#text")
    provider = system.get("Provider")
    name = None
    if isinstance(provider, Mapping):
        attributes = provider.get("#attributes")
        if isinstance(attributes, Mapping):
            name = attributes.get("Name")
    flat["Provider_Name"] = name
    return flat
