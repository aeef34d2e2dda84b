"""Differential test: our Sigma evaluator against pySigma's SQLite backend run by SQLite (oracle_sigma.py).

Rules: every `logsource.product: windows` rule under the shared corpus's sigma/rules* folders. Logic only:
neither side applies the log source. Two event sets:

1. regression: every document of sigma/regression_data/**/*.json (SigmaHQ's own recorded events, several
   concatenated documents per file), every rule against every event;
2. generated: per rule, one `evtx`-form event per AND-branch built from the branch's positive predicates
   as the rule writes them (differential_support.py), the same with every value's case flipped, one that
   also trips the branch's first filter, and the rule's own regression events with flipped case. Rules are
   taken in chunks of CHUNK (sorted by log source), each rule judged on every event of its chunk.

Our verdict: `compile_rule(rule).test(normalize(doc))`; the oracle's: `sqlite_verdicts` on
`flatten_evtx_json(doc)`. Pairs are compared where both give a verdict (rules the oracle cannot convert or
run, and rules that raise CannotJudge, are counted and left out). Agreement must reach MIN_AGREEMENT on each
set, and every disagreement must have a cause from `classify` (run with -s to see the counts).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.types import SigmaString

from rulelint.loaders import load_file
from rulelint.model.predicate import KEYWORD_FIELD
from rulelint.model.rule import NormalizedRule
from rulelint.replay.evaluate import CannotJudge, Compiled, compile_rule
from rulelint.replay.event import Event, as_strings
from rulelint.replay.normalize import normalize
from rulelint.replay.sources import SourceError, read_events
from rulelint.replay.scope import rule_scope
from tests.replay.differential_support import (
    check,
    SIGMA_CORPUS, Disagreement, Tally, ascii_lower, branch_fields, critical_predicates, evtx_document, flip_case,
    rule_branches, short, string_test, verdict_with)
from tests.replay.oracle_sigma import flatten_evtx_json, sqlite_verdicts

CHUNK = 40  # rules per oracle table in the generated set
MAX_BRANCHES = 6  # branches per rule in the generated set
LOGSOURCES = json.loads((Path(__file__).resolve().parents[2] / "lint" / "replay" / "logsources.json")
                        .read_text(encoding="utf-8"))

if not SIGMA_CORPUS.is_dir() or not any(SIGMA_CORPUS.glob("rules*")):
    pytest.skip(f"no Sigma corpus at {SIGMA_CORPUS} (rules* folders)", allow_module_level=True)


# -- the corpus -----------------------------------------------------------------------------

class World:
    """The corpus, loaded once: rule texts, our rules compiled, regression events, what was left out."""

    def __init__(self) -> None:
        start = time.perf_counter()
        self.texts: dict[str, str] = {}
        self.rules: dict[str, NormalizedRule] = {}
        self.compiled: dict[str, Compiled] = {}
        self.skipped: dict[str, list[str]] = {}  # rule -> why it is left out (ours, the oracle's)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for folder in sorted(SIGMA_CORPUS.glob("rules*")):
            for path in sorted(folder.rglob("*.yml")):
                text = path.read_text(encoding="utf-8")
                try:
                    doc = next(iter(yaml.load_all(text, Loader=loader)), None)
                except yaml.YAMLError:
                    continue
                logsource = doc.get("logsource") if isinstance(doc, dict) else None
                if not (isinstance(logsource, dict) and str(logsource.get("product", "")).lower() == "windows"):
                    continue
                key = str(path.relative_to(SIGMA_CORPUS))
                self.texts[key] = text
                result = load_file(str(path))
                if len(result.rules) != 1:
                    self.skip(key, f"ours: {len(result.rules)} rules loaded from the file")
                    continue
                rule = result.rules[0]
                try:
                    self.compiled[key] = compile_rule(rule)
                except CannotJudge as e:
                    self.skip(key, f"ours: CannotJudge: {e}")
                    continue
                self.rules[key] = rule
        # Whether the oracle would judge the rules we leave out (no events needed to know).
        _, failed = sqlite_verdicts({k: self.texts[k] for k in self.skipped}, [])
        for key, reason in failed.items():
            self.skip(key, f"oracle: {reason}")
        self.regression: list[tuple[str, dict]] = []  # (file#position, document)
        for path in sorted((SIGMA_CORPUS / "regression_data").rglob("*.json")):
            for item in read_events(str(path)):
                assert not isinstance(item, SourceError), item
                self.regression.append((f"{path.relative_to(SIGMA_CORPUS)}#{item[0]}", item[1]))
        self.load_seconds = time.perf_counter() - start

    def skip(self, key: str, reason: str) -> None:
        reasons = self.skipped.setdefault(key, [])
        if reason not in reasons:
            reasons.append(reason)

    def skipped_report(self) -> str:
        groups = Counter(" & ".join(re.sub(r"'[^']*'|\"[^\"]*\"|\b\w+ names placeholders", "…", r)[:90] for r in rs)
                         for rs in self.skipped.values())
        lines = [f"rules (product windows): {len(self.texts)}; judged by both: "
                 f"{len(self.texts) - len(self.skipped)}; left out: {len(self.skipped)}"]
        lines += [f"  {n:5d}  {reason}" for reason, n in groups.most_common()]
        return "\n".join(lines)


@pytest.fixture(scope="module")
def world() -> World:
    return World()


# -- classification ------------------------------------------------------------------------
#
# Each cause is a hypothesis tested on the disagreement itself: change what the cause says differs
# (the fields the event is read with, or one predicate's matching rule) and see whether our verdict then
# becomes the oracle's. Only causes seen on the corpus are listed; anything else stays unclassified and
# fails the test.

CANONICAL_FALLBACK = ("canonical fallback: the rule's field is absent from the event, we judge the ECS field "
                      "another native field of the event fills (by design, for ECS events; the rule's log source "
                      "does not cover the event)")
SPACELESS_NAMES = ("field names with spaces: Defender writes `Source Name`, we also give it as `SourceName` (the "
                   "name the rule reads); the oracle keeps only the written name (ours right: the rule's own "
                   "regression event)")
ASCII_FOLD = ("case of non-ASCII letters: the oracle's NOCASE/LIKE fold ASCII only, we casefold Unicode as the "
              "Sigma specification's case-insensitive matching asks (ours right)")
LITERAL_STAR_BUG = ("OUR BUG: a Sigma value with a literal backslash right before an escaped `*`/`?` (Sigma "
                    r"`?:\\\*.`) is rendered ambiguously (`\\*`) and matched as backslash + wildcard (oracle right)")


def classify(rule: NormalizedRule, compiled: Compiled, text: str, doc: dict, flat: dict, ev: Event,
             ours: bool, theirs: bool) -> tuple[str, str]:
    r"""(cause, detail) of one disagreement; cause "" when none of the known ones reproduces it.

    - canonical fallback. evaluate.py judges a predicate on its written field when the event has it and
      on the canonical (ECS) field otherwise, so that ECS documents can be judged by Sigma rules. On a
      native Windows event of another log source that canonical field can be filled from a different
      native field: `SourceImage` (create_remote_thread) reads `process.executable`, which a process
      creation event fills from `Image`; `Image: null` in a filter is then false. Sigma itself (and the
      oracle) reads the absent field as null: on the event alone the oracle is right, but the rule's log
      source would never hand it this event, so the replay's scoped result is unaffected. Reproduced by
      judging the event with its native fields only.
    - space-less names. `normalize` also files Defender's `Threat Name`, `Source Name`, `Process Name`
      under `ThreatName`, `SourceName`, `ProcessName`, the names Sigma's Defender rules use (SIEMs ingest
      them so); oracle_sigma.flatten_evtx_json does not. Reproduced by judging the oracle's flat event.
    - non-ASCII case. SQLite's NOCASE collation and LIKE fold A-Z only, so `ARRÊTÉ` is not `arrêté`
      there. Sigma says string matching is case-insensitive, without an ASCII restriction: ours is right.
      Reproduced by re-running the involved predicates with ASCII-only folding.
    - literal star after a backslash (our bug). Sigma `' ?:\\\*.'` is a literal backslash then a literal
      `*`; the loader renders it `:\\*.` (model/predicate.py render_pattern escapes `*` as `\*` but does
      not escape the backslash before it), which implication._pattern_parts (and so evaluate's wildcard
      matching) reads as a literal backslash followed by a `*` wildcard. Reproduced by re-running the
      wildcard predicates with that sequence read as two literals, on rules whose text has such a value.
    """
    truths = [t(ev) for t in compiled.tests]

    # The event's own fields only: no canonical names, no derived ones.
    native_only = Event(fields={k: ev.fields[k] for k in ev.native if k in ev.fields}, native=ev.native)
    if verdict_with(rule, [t(native_only) for t in compiled.tests], {}) == theirs:
        fallbacks = []
        for p in rule.predicates:
            if p.native_field and p.native_field != p.field and ev.fields.get(p.native_field) is None \
                    and ev.fields.get(p.field) is not None:
                read = ev.fields[p.field]
                source = next((k for k in ev.native if ev.fields[k] is read), None) or next(
                    (k for k in ev.native if any(r and r in v for r in read for v in ev.fields[k])), "?")
                fallbacks.append(f"{p.native_field} absent, read {p.field}={short(ev.fields[p.field])} "
                                 f"(from {source})")
        if fallbacks and not rule_scope(rule)(ev):
            return CANONICAL_FALLBACK, "; ".join(fallbacks[:3])
        if fallbacks:  # inside the rule's own log source the fallback would change a replay's result
            return "", "canonical fallback inside the rule's log source: " + "; ".join(fallbacks[:3])

    # The oracle's flat event.
    as_oracle = Event(fields={k: as_strings(v) for k, v in flat.items()}, native=tuple(flat))
    if compiled.test(as_oracle) == theirs:
        spaced = {k.replace(" ", ""): k for k in flat if " " in k}
        written = {p.native_field or p.field for p in rule.predicates}
        named = sorted(n for n in written if n in spaced and n.lower() not in {k.lower() for k in flat})
        if named:
            return SPACELESS_NAMES, ", ".join(f"{n} <- {spaced[n]!r}={short(flat[spaced[n]])}" for n in named)

    # Non-ASCII letters compared with ASCII-only folding.
    overrides: dict[int, bool] = {}
    involved = []
    for i, p in enumerate(rule.predicates):
        if p.case_sensitive or p.transform or p.field == KEYWORD_FIELD:
            continue
        values = _values(p, ev)
        keys = p.native_keys()
        if not values or all(v.isascii() for v in values) and all(k.value.isascii() for k in keys):
            continue
        results = [string_test(k.op, ascii_lower(k.value), ascii_lower(v)) for k in keys for v in values]
        if None in results:
            continue
        if any(results) != truths[i]:
            overrides[i] = any(results)
            k, v = next(((k, v) for k in keys for v in values
                         if string_test(k.op, ascii_lower(k.value), ascii_lower(v))
                         != string_test(k.op, k.value.casefold(), v.casefold())), (keys[0], values[0]))
            involved.append(f"{p.native_field or p.field} {k.op} {short(k.value)} vs {short(v)}")
    if overrides and verdict_with(rule, truths, overrides) == theirs:
        return ASCII_FOLD, "; ".join(involved[:3])

    # A literal backslash before a literal `*`/`?`, read as backslash + wildcard.
    if _has_literal_star_after_backslash(text):
        overrides = {}
        involved = []
        for i, p in enumerate(rule.predicates):
            keys = p.native_keys()
            if not any(k.op == "wildcard" and re.search(r"\\\\[*?]", k.value) for k in keys):
                continue
            values = [v.casefold() for v in (_values(p, ev) or ())]
            hit = any(_literal_reading(k.value).fullmatch(v) for k in keys if k.op == "wildcard" for v in values)
            if hit != truths[i]:
                overrides[i] = hit
                patterns = [k.value for k in keys if k.op == "wildcard" and "\\\\" in k.value][:2]
                involved.append(f"{p.native_field} wildcard {patterns} vs {short(values[0] if values else None)}")
        if overrides and verdict_with(rule, truths, overrides) == theirs:
            return LITERAL_STAR_BUG, "; ".join(involved[:2])

    crit = critical_predicates(rule, truths, theirs)
    return "", "critical predicates: " + "; ".join(
        f"{rule.predicates[i].native_field or rule.predicates[i].field} {rule.predicates[i].op} "
        f"{short(rule.predicates[i].values[:3])} ours={truths[i]} event={short(_values(rule.predicates[i], ev))}"
        for i in crit[:3]) + f"; flat={short(flat, 300)}"


def _values(p, ev: Event) -> tuple[str, ...] | None:
    if p.native_field and ev.fields.get(p.native_field) is not None:
        return ev.fields[p.native_field]
    return ev.fields.get(p.field)


def _has_literal_star_after_backslash(text: str) -> bool:
    """Whether a value of the rule, as pySigma parses it, has a literal backslash right before a literal `*` or `?`."""
    try:
        collection = SigmaCollection.from_yaml(text)
    except Exception:  # noqa: BLE001 - the oracle converted it, so this does not happen
        return False
    for item in collection.rules:
        detections = getattr(getattr(item, "detection", None), "detections", {}) or {}
        for detection in detections.values():
            for entry in _items(detection):
                for value in getattr(entry, "value", None) or ():
                    if isinstance(value, SigmaString) and any(
                            isinstance(part, str) and re.search(r"\\[*?]", part) for part in value.s):
                        return True
    return False


def _items(detection):
    for entry in getattr(detection, "detection_items", ()):
        if hasattr(entry, "detection_items"):
            yield from _items(entry)
        else:
            yield entry


def _literal_reading(pattern: str) -> re.Pattern:
    """A rendered wildcard pattern with `\\\\*` / `\\\\?` read as a literal backslash and a literal `*`/`?`."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("\\\\", i) and i + 2 < len(pattern) and pattern[i + 2] in "*?":
            out.append(re.escape("\\" + pattern[i + 2]))
            i += 3
        elif pattern[i] == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*?":
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif pattern[i] in "*?":
            out.append(".*" if pattern[i] == "*" else ".")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)


# -- comparing ------------------------------------------------------------------------------

def compare(world: World, tally: Tally, keys: list[str], docs: list[tuple[str, dict]]) -> None:
    flats = [flatten_evtx_json(doc) for _, doc in docs]
    events = [normalize(doc) for _, doc in docs]
    matches, failed = sqlite_verdicts({k: world.texts[k] for k in keys}, flats)
    for key in keys:
        if key in failed:
            world.skip(key, f"oracle: {failed[key]}")
            continue
        hits = matches[key]
        test = world.compiled[key].test
        for i, ev in enumerate(events):
            ours, theirs = test(ev), i in hits
            if ours != theirs:
                cause, detail = classify(world.rules[key], world.compiled[key], world.texts[key], docs[i][1],
                                         flats[i], ev, ours, theirs)
                tally.add(ours, theirs, lambda: Disagreement(key, docs[i][0], ours, theirs, cause, detail))
            else:
                tally.compared += 1
                tally.agreeing += 1




def test_regression_events(world: World) -> None:
    started = time.perf_counter()
    print(f"\nloaded in {world.load_seconds:.1f}s; {len(world.regression)} regression events")
    tally = Tally("sigma / regression events")
    compare(world, tally, sorted(world.rules), world.regression)
    print(world.skipped_report())
    check(tally, started)


def generated_events(world: World, key: str, own: dict[str, list[tuple[str, dict]]]) -> list[tuple[str, dict]]:
    rule = world.rules[key]
    base: dict[str, Any] = {}
    source = LOGSOURCES["categories"].get(rule.logsource.category)
    if source:
        base = {"Channel": source[0]["channel"], "EventID": source[0]["event_ids"][0]}
    elif rule.logsource.service in LOGSOURCES["services"]:
        base = {"Channel": LOGSOURCES["services"][rule.logsource.service][0]}
    out: list[tuple[str, dict]] = []
    for turn, (positive, tripped) in enumerate(rule_branches(rule, MAX_BRANCHES)):
        fields = {**base, **branch_fields(rule, positive, turn, native=True)}
        out.append((f"{key}:branch{turn}", evtx_document(fields)))
        out.append((f"{key}:branch{turn}:flipped", evtx_document(flip_case(fields))))
        if tripped:
            both = {**base, **branch_fields(rule, positive | tripped, turn, native=True)}
            out.append((f"{key}:branch{turn}:filtered", evtx_document(both)))
    folder = re.search(r"^regression_tests_path:\s*(\S+)", world.texts[key], re.M)
    if folder:
        prefix = str(Path(folder.group(1)).parent) + "/"
        out += [(f"{name}:flipped", flip_case(doc)) for name, doc in own.get(prefix, [])]
    return out


def test_generated_events(world: World) -> None:
    started = time.perf_counter()
    own: dict[str, list[tuple[str, dict]]] = {}
    for name, doc in world.regression:
        own.setdefault(str(Path(name.split("#")[0]).parent) + "/", []).append((name, doc))
    keys = sorted(world.rules, key=lambda k: (world.rules[k].logsource.key(), k))
    tally = Tally("sigma / generated events")
    count = 0
    for at in range(0, len(keys), CHUNK):
        chunk = keys[at:at + CHUNK]
        docs = [d for k in chunk for d in generated_events(world, k, own)]
        count += len(docs)
        compare(world, tally, chunk, docs)
    print(f"\n{count} generated events for {len(keys)} rules, in chunks of {CHUNK} rules")
    check(tally, started)
