"""Elastic detection-rules TOML: metadata, ATT&CK, and the query of every language."""

from __future__ import annotations

import re
import tomllib
from typing import Any, Callable

from ..model.rule import LogSource, NormalizedRule
from ..model.tree import And, Node, Not, simplify
from .lucene import wildcard_parts
from .query import PredicateSink, QueryError
from .result import LoadResult, no_logic, parse_error

LANGUAGES = ("eql", "kuery", "esql", "lucene")
OS_TAGS = {"os: windows": "windows", "os: linux": "linux", "os: macos": "macos"}
# Sigma log-source categories for the event categories a KQL/ES|QL query pins.
CATEGORY_OF_EVENT = {
    "process": "process_creation", "file": "file_event", "registry": "registry_set",
    "network": "network_connection", "library": "image_load", "driver": "driver_load",
    "authentication": "authentication", "iam": "iam", "configuration": "configuration",
}


try:
    # tomli is the project tomllib was copied from; its wheels are compiled (mypyc) and
    # read the corpus's TOML 2.5 times faster. pyproject.toml keeps it below 2.4, which
    # reads TOML 1.0 as tomllib does (up to Python 3.14).
    from tomli import loads as _compiled_loads
except ImportError:  # pragma: no cover - a dependency, but never required
    _compiled_loads = None


def read_toml(text: str) -> dict[str, Any]:
    """A TOML document, as `tomllib.loads` reads it. A document tomli refuses is read
    again by tomllib, so errors (and the exceptions raised) are tomllib's own."""
    if _compiled_loads is not None:
        try:
            return _compiled_loads(text)
        except Exception:
            pass
    return tomllib.loads(text)


def looks_like_elastic(data: Any) -> bool:
    rule = data.get("rule") if isinstance(data, dict) else None
    return isinstance(rule, dict) and ("rule_id" in rule or "query" in rule or "type" in rule)


def _parser(language: str) -> Callable[[str, PredicateSink], tuple[Node | None, str]]:
    """The query parser of a language: (tree, event type), the event type only from EQL."""
    if language == "eql":
        from .event_query import parse_eql
        return parse_eql
    if language == "kuery":
        from .kql import parse_kql
        return lambda text, sink: (parse_kql(text, sink), "")
    if language == "esql":
        from .esql import parse_esql
        from .kql import parse_kql
        return lambda text, sink: (parse_esql(text, sink, lambda t, s, off: s.embedded(t, off, parse_kql)), "")
    from .lucene import parse_lucene
    return lambda text, sink: (parse_lucene(text, sink), "")


def key_line(text: str, key: str, section: str = "") -> int | None:
    """The line of `key = ...` (first one after `[section]` when given): TOML parsers
    keep no positions."""
    start = 0
    if section:
        m = _line_search(text, f"[{section}]", rf"\[{re.escape(section)}\]\s*$")
        start = m.end() if m else 0
    m = _line_search(text, key, rf"{re.escape(key)}\s*=", start)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _line_search(text: str, literal: str, pattern: str, start: int = 0) -> re.Match | None:
    """`re.compile("^" + pattern, re.M).search(text, start)` for a pattern whose every
    match begins with `literal`: only lines starting with it are tried, where a
    multiline search tries every character of a 5 kB rule."""
    compiled = re.compile(pattern, re.M)
    i = text.find(literal, start)
    while i >= 0:
        if i == 0 or text[i - 1] == "\n":
            m = compiled.match(text, i)
            if m:
                return m
        i = text.find(literal, i + 1)
    return None


def _query_line(text: str, key: str) -> int | None:
    """Line where the query text itself starts (a triple-quoted string drops the newline
    right after its opening quotes)."""
    return _query_start(text, key)[0]


def _query_start(text: str, key: str) -> tuple[int | None, int]:
    """(line, 1-based column) where the query text itself starts: the line after a
    triple quote that ends its line (TOML drops that newline), else just after the
    opening quote."""
    line = key_line(text, key, "rule")
    if line is None:
        return None, 1
    rest = text.split("\n", line)[line - 1] if line <= text.count("\n") + 1 else ""
    if re.search(r"=\s*('''|\"\"\")\s*$", rest):
        return line + 1, 1
    m = re.search(r"=\s*('''|\"\"\"|'|\")", rest)
    return line, (m.end() + 1 if m else 1)


def load_elastic(path: str, text: str, data: dict) -> LoadResult:
    rule = data["rule"]
    for key in ("tags", "threat"):  # iterated below: another type is a malformed rule, not a crash
        if key in rule and not isinstance(rule[key], list):
            return LoadResult(findings=[parse_error(
                path, key_line(text, key, "rule"), f"`{key}` is {type(rule[key]).__name__}, not an array")])
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    rid = str(rule.get("rule_id") or "")
    rtype = str(rule.get("type") or "")
    language = str(rule.get("language") or ("eql" if rtype == "eql" else "esql" if rtype == "esql" else ""))
    techniques, tactics, names, threat = _threat(rule.get("threat"))
    tags = [str(t) for t in rule.get("tags", []) if isinstance(t, str)]
    product = next((OS_TAGS[t.lower()] for t in tags if t.lower() in OS_TAGS), "")
    out = NormalizedRule(
        key=rid or f"{path}#0", id=rid, title=str(rule.get("name") or ""), vendor="elastic", path=path,
        line=key_line(text, "name", "rule") or 1, logic_line=key_line(text, "query", "rule"),
        techniques=techniques, tactics=tactics,
        logsource=LogSource(product=product),
        level=str(rule.get("severity") or ""), status=str(meta.get("maturity") or ""),
        extra={k: v for k, v in {
            "type": rtype, "language": language, "technique_names": names, "threat": threat, "tags": tags,
            "index": rule.get("index"), "building_block": rule.get("building_block_type"),
            "new_terms_fields": _new_terms(rule), "threshold": rule.get("threshold"),
            "ml_job": _job(rule.get("machine_learning_job_id")) if rtype == "machine_learning" else "",
            "esql_from": _esql_sources(rule.get("query")) if language == "esql" else [],
            "toml": _layout(text, data),
        }.items() if v},
    )
    out.beyond_query = _beyond_query(rtype, rule)
    result = LoadResult(rules=[out])
    query = rule.get("query")
    if rtype == "machine_learning" or query is None:
        job = rule.get("machine_learning_job_id")
        why = (f"a machine_learning rule (job {_job(job)}) has no query: its logic lives in the anomaly job"
               if rtype == "machine_learning" else f"a {rtype or 'rule'} rule without a query")
        result.findings.append(no_logic(path, out.line, rid, why))
        return result
    if not isinstance(query, str):
        return LoadResult(findings=[parse_error(path, out.logic_line, "`query` is not a string")])
    if language not in LANGUAGES:
        return LoadResult(findings=[parse_error(path, out.logic_line, f"unknown query language {language!r}")])
    base, base_column = _query_start(text, "query")
    sink = PredicateSink(query, base, base_column)
    try:
        node, event_type = _parser(language)(query, sink)
        if event_type:
            from .event_query import EVENT_CATEGORY
            out.logsource.category = EVENT_CATEGORY.get(event_type, event_type)
        threat_query = rule.get("threat_query")
        if isinstance(threat_query, str) and rule.get("threat_language") == "kuery":
            # The indicator index's own filter: checked for errors, not an event predicate.
            _parser("kuery")(threat_query, PredicateSink(threat_query))
    except QueryError as e:
        line, column = sink.line_at(e.offset), sink.column_at(e.offset)
        return LoadResult(findings=[parse_error(path, line, _describe(language, e, line, column), column)])
    m = _line_search(text, "[[rule.filters]]", r"\[\[rule\.filters\]\]")
    filters = _filters(rule.get("filters"), sink, text.count("\n", 0, m.start()) + 1 if m else None)
    if filters:
        node = And([n for n in (node, *filters) if n is not None])
    out.predicates = sink.predicates
    out.steps, out.maxspan, out.unmodelled = sink.steps, sink.maxspan, sink.unmodelled
    out.tree = simplify(node)
    if out.logsource.category in ("", "network_connection") and any(
            p.field.startswith("dns.") for p in out.predicates):
        out.logsource.category = "dns_query"  # DNS lookups are network events in ECS
    elif not out.logsource.category:
        out.logsource.category = _category_from_predicates(out)
    return result


def _describe(language: str, e: QueryError, line: int | None, column: int | None) -> str:
    """The query's error in one sentence, at its line and column in the file."""
    name = {"kuery": "KQL", "eql": "EQL", "esql": "ES|QL", "lucene": "Lucene"}[language]
    return e.describe(name, line, column)


def _category_from_predicates(rule: NormalizedRule) -> str:
    """A KQL/ES|QL query names its event category in an `event.category` test."""
    for i, p in enumerate(rule.predicates):
        if p.field == "event.category" and p.op == "eq" and rule.polarity.get(i):
            for v in p.values:
                if v in CATEGORY_OF_EVENT:
                    return CATEGORY_OF_EVENT[v]
    return ""


def _threat(threat: Any) -> tuple[list[str], list[str], dict[str, str], list[tuple[str, str, tuple[str, ...]]]]:
    """Techniques, tactics, technique names, and each `[[rule.threat]]` entry as
    (tactic id, tactic name, technique and sub-technique ids): which tactic the rule
    files each technique under."""
    techniques: set[str] = set()
    tactics: set[str] = set()
    names: dict[str, str] = {}
    entries: list[tuple[str, str, tuple[str, ...]]] = []
    for entry in threat if isinstance(threat, list) else []:
        if not isinstance(entry, dict):
            continue
        tactic = entry.get("tactic")
        tactic = tactic if isinstance(tactic, dict) else {}
        if tactic.get("name"):
            tactics.add(str(tactic["name"]).lower().replace(" ", "-"))
        ids: list[str] = []
        for tech in _array(entry.get("technique")):
            if not isinstance(tech, dict) or not tech.get("id"):
                continue
            ids.append(str(tech["id"]).upper())
            names[str(tech["id"]).upper()] = str(tech.get("name") or "")
            for sub in _array(tech.get("subtechnique")):
                if isinstance(sub, dict) and sub.get("id"):
                    ids.append(str(sub["id"]).upper())
                    names[str(sub["id"]).upper()] = str(sub.get("name") or "")
        techniques.update(ids)
        entries.append((str(tactic.get("id") or ""), str(tactic.get("name") or ""), tuple(ids)))
    return sorted(techniques), sorted(tactics), names, entries


def _array(value: Any) -> list:
    return value if isinstance(value, list) else []


def _new_terms(rule: dict) -> list[str]:
    nt = rule.get("new_terms")
    if isinstance(nt, dict) and isinstance(nt.get("value"), list):
        return [str(v) for v in nt["value"]]
    return []


def _job(job: Any) -> str:
    if isinstance(job, list):
        return ", ".join(str(j) for j in job)
    return str(job or "unnamed")


# An ES|QL query's sources: `FROM a, b METADATA ...` (or TS), after any leading comments.
_ESQL_FROM = re.compile(r"(?:\s|//[^\n]*\n?)*(?:from|ts)\s+(.*?)(?:\s+metadata\b|\||$)", re.I | re.S)


def _esql_sources(query: Any) -> list[str]:
    """The index patterns an ES|QL query reads (what `index` is to other rule types)."""
    m = _ESQL_FROM.match(query) if isinstance(query, str) else None
    if not m:
        return []
    sources = re.sub(r"//[^\n]*", "", m.group(1))
    return [s.strip().strip('"') for s in sources.split(",") if s.strip()][:20]


def _layout(text: str, data: dict) -> dict[str, Any]:
    """What the schema checks (RL601-RL604) read of the file beyond the query: the keys
    each table holds, `metadata.integration`, and the line of each table header."""
    rule = data["rule"]
    meta = data.get("metadata")
    out: dict[str, Any] = {"rule": sorted(rule), "lines": {}}
    if isinstance(meta, dict):
        out["metadata"] = sorted(meta)
        integration = meta.get("integration")
        integration = [integration] if isinstance(integration, str) else integration
        if isinstance(integration, list):
            out["integration"] = [str(i) for i in integration]
    for key in ("threshold", "new_terms"):
        if isinstance(rule.get(key), dict):
            out[key] = sorted(rule[key])
    for table in ("rule", "metadata", "rule.threshold", "rule.new_terms"):
        m = _line_search(text, f"[{table}]", rf"\[{re.escape(table)}\]")
        if m:
            out["lines"][table] = text.count("\n", 0, m.start()) + 1
    for table, key in (("metadata", "integration"), ("rule", "index")):
        line = key_line(text, key, table) if key in out.get(table, ()) else None
        if line:
            out["lines"][f"{table}.{key}"] = line
    return out


def _beyond_query(rtype: str, rule: dict) -> str:
    """What a rule type adds to its query's filter, in words."""
    if rtype == "new_terms":
        return f"new terms of {', '.join(_new_terms(rule)) or 'a field'}"
    if rtype == "threshold":
        th = rule.get("threshold") if isinstance(rule.get("threshold"), dict) else {}
        by = th.get("field") or []
        by = ", ".join(by) if isinstance(by, list) else str(by)
        return f"at least {th.get('value', '?')} events" + (f" by {by}" if by else "")
    if rtype == "threat_match":
        return "a match against threat indicators"
    return ""


def _filters(filters: Any, sink: PredicateSink, line: int | None) -> list[Node]:
    """Kibana filters stored beside the query (`[[rule.filters]]`): query-DSL `exists`
    and `wildcard` clauses, each ANDed with the query, `meta.negate` as NOT."""
    out: list[Node] = []
    for flt in filters if isinstance(filters, list) else []:
        if not isinstance(flt, dict):
            continue
        meta = flt.get("meta") if isinstance(flt.get("meta"), dict) else {}
        if meta.get("disabled"):
            continue
        query = flt.get("query") if isinstance(flt.get("query"), dict) else flt
        node = None
        if isinstance(query.get("exists"), dict) and query["exists"].get("field"):
            node = sink.add(str(query["exists"]["field"]), "exists", [""])
        elif isinstance(query.get("wildcard"), dict) and len(query["wildcard"]) == 1:
            (field, spec), = query["wildcard"].items()
            spec = spec if isinstance(spec, dict) else {"value": spec}
            node = sink.add_pattern(str(field), wildcard_parts(str(spec.get("value", ""))),
                                    case_sensitive=not spec.get("case_insensitive"))
        if node is None:
            continue
        if line is not None:
            sink.predicates[-1].line = line
        out.append(Not(node) if meta.get("negate") else node)
    return out
