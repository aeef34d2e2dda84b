"""The prevalence prior: how common a value is in ordinary benign telemetry of its log source.

Reads `lint/data/prevalence.json` (built by tools/gen_prevalence.py from lab recordings of
Windows hosts, Sysmon/auditd exclusion lists and Splunk's list of native Windows binaries;
its provenance travels with it). For one canonical (field, op, value) it returns an
`Evidence`: an estimated share of hosts whose ordinary activity produces a matching event in
a working period (the lab recordings are the unit), the basis of that estimate, and one
clause of evidence for messages.

Unknown is not rare: a value the data does not name is judged by its form (an exact process
name, a 4-letter substring, a hash), never as 0. A value seen in fewer than
BACKGROUND_RECORDINGS recordings may be the simulated attack itself (the recordings hold it),
so it counts as unseen.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

from ..model.predicate import KEYWORD_FIELD, IndicatorKey
from .field_roles import BROAD_FIELDS, LOG_ROUTING_FIELDS

BACKGROUND_RECORDINGS = 3
SOFTWARE_RECORDINGS = 30  # a process neither native nor excluded as benign: a quarter of the recordings
NATIVE_SHARE = 0.05  # a native binary the lab did not see run: ships on every host, run by admins and scripts
LOGGING_EXCLUDED_SHARE = 0.2  # a value logging configurations drop as high-volume benign noise
MAX_SHARE = 0.95  # nothing but the whole log source matches everything
EVENT_TYPE_SHARE = 0.9
ROUTING_SHARE = 0.95
PRESENCE_SHARE = 0.8
ABSENCE_SHARE = 0.5
COMPARISON_SHARE = 0.3
FIELDREF_SHARE = 0.1
UNKNOWN_EXACT_SHARE = 0.01  # an exact value the data does not name (a process name, a user)
HASH_SHARE = 1e-6
ADDRESS_SHARE = 1e-3
CIDR_SHARE = 0.05
NON_ASCII_WEIGHT = 4  # characters a non-ASCII character counts as
SUBSTRING_TOP = 0.5  # a two-character substring
SUBSTRING_FLOOR = 5e-4  # what a very long unknown substring tends to
SUBSTRING_SCALE = 10.0  # characters over which a substring gets most of its specificity
COMMAND_NAME_FACTOR = 0.8  # a command line naming a binary: most runs of it carry its name
PARENT_FACTOR = 0.5  # a common process as a parent: it starts fewer children than it runs

_BROAD = frozenset(f.casefold() for f in BROAD_FIELDS)
_ROUTING = frozenset(f.casefold() for f in LOG_ROUTING_FIELDS)
_EVENT_NAMING_ROUTES = frozenset(("eventtype",))  # Okta's eventtype names one kind of event
_HASH_FIELD = re.compile(r"(^|\.)(hash|hashes|md5|sha1|sha256|sha512|imphash|ja3s?)($|\.)", re.I)
_ADDRESS_FIELD = re.compile(r"(^|\.)ip$|(^|\.)address$|^(src|dest|dst)(_ip)?$", re.I)
_COMMAND_FIELDS = frozenset(("process.command_line", "process.args", "process.parent.command_line",
                             "powershell.file.script_block_text", KEYWORD_FIELD.casefold()))
_EVENT_CODE_FIELDS = frozenset(("event.code", "winlog.event_id", "eventid", "eventcode"))
_NAME_TABLE_FIELDS = {"process.name": 1.0, "process.parent.name": PARENT_FACTOR}
_LONG_TEXT_FIELDS = frozenset(("powershell.file.script_block_text", KEYWORD_FIELD.casefold(), "message", "data",
                               "event.original", "contextinfo", "payload"))
LONG_TEXT_FACTOR = 4.0
_DIGEST = re.compile(r"[0-9a-f]{32}", re.I)
_REGEX_META = re.compile(r"\\[dDsSwWbB]|[\\^$.|?*+()\[\]{}]")

# Log sources by what a rule names: Sigma categories are the table's own keys; Elastic
# EQL event categories and Splunk data models map onto them.
_CATEGORY = {"process": "process_creation", "network": "network_connection", "registry": "registry_event",
             "file": "file_event", "library": "image_load", "dns": "dns_query"}
# Where a field's table lives when the rule names no category.
_DEFAULT_SOURCE = {"process.name": "process_creation", "process.executable": "process_creation",
                   "process.parent.name": "process_creation", "process.parent.executable": "process_creation",
                   "registry.path": "registry_event", "dns.question.name": "dns_query",
                   "dns.question.registered_domain": "dns_query", "dll.name": "image_load",
                   "file.directory": "file_event", "target.process.name": "process_access",
                   "destination.port": "network_connection"}
# Rule fields read against a table of another field: a file path against the directories
# lab hosts write to.
_TABLE_FIELD = {"file.path": "file.directory", "file.directory": "file.directory",
                "registry.key": "registry.path", "registry.data.strings": "", "process.pe.original_file_name": "process.name",
                "file.pe.original_file_name": "dll.name", "dll.path": "dll.name", "destination.domain": "dns.question.name"}


class Evidence(NamedTuple):
    share: float  # estimated share of hosts/periods with a matching benign event, (0, 1)
    basis: str  # lab | native | logging-excluded | event-type | routing | presence | form
    text: str  # one clause for messages: "a native Windows binary; runs on 54 of 115 lab hosts"
    benign: bool  # the data names it as ordinary benign activity of the log source

    @property
    def known(self) -> bool:
        return self.basis != "form"


@dataclass(frozen=True, slots=True)
class _Entry:
    value: str
    recordings: int
    running: int
    native: bool
    excluded_by: tuple[str, ...]


def _load() -> dict[str, Any]:
    with resources.files("rulelint.data").joinpath("prevalence.json").open("rb") as f:
        return json.load(f)


class Prior:
    """Lookups into the prevalence table; one per process, shared by every rule."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data if data is not None else _load()
        self.recordings = int(data["provenance"]["sources"]["otrf"]["recordings"])
        self.tables: dict[str, dict[str, dict[str, _Entry]]] = {}
        for source, fields in data["sources"].items():
            for fname, values in fields.items():
                self.tables.setdefault(source, {})[fname] = {
                    v: _Entry(v, int(e.get("recordings", 0)), int(e.get("running_recordings", 0)),
                              bool(e.get("native")), tuple(e.get("excluded_by", ())))
                    for v, e in values.items()}
        self.excluded = data.get("excluded", [])
        self._memo: dict[tuple[IndicatorKey, str, str], Evidence] = {}

    # -- tables -----------------------------------------------------------------------------

    def source_of(self, category: str, event_types: tuple[str, ...] = ()) -> str:
        """The table's log source for a rule's category (Sigma) or event types (EQL)."""
        c = category.casefold()
        if c in _CATEGORY:
            return _CATEGORY[c]
        if c:
            return c  # a category the tables may not hold: its own name, so nothing is borrowed
        for t in event_types:
            if t.casefold() in _CATEGORY:
                return _CATEGORY[t.casefold()]
        return ""

    def _table(self, source: str, field: str) -> dict[str, _Entry] | None:
        """The field's table in the rule's log source; a rule that names none (or names process
        creation) reads the field's usual one. A process seen running says nothing of how
        often it queries DNS or writes a stream, so other sources do not borrow it."""
        t = self.tables.get(source, {}).get(field)
        if t is None and source in ("", "process_creation"):
            t = self.tables.get(_DEFAULT_SOURCE.get(field, ""), {}).get(field)
        return t

    def _share(self, e: _Entry) -> tuple[float, str, bool]:
        """(share, evidence text, benign) of one table entry; share 0 when it says nothing."""
        seen = max(e.recordings, e.running)
        parts, share, benign = [], 0.0, False
        if e.native:
            parts.append("a native Windows binary")
            share, benign = NATIVE_SHARE, True
        if e.excluded_by:
            parts.append(f"dropped as benign noise by {' and '.join(e.excluded_by)}")
            share, benign = max(share, LOGGING_EXCLUDED_SHARE), True
        # Unknown software the lab ran: background only when most hosts run it (an Azure
        # agent); the recordings replay attacks, and their implants recur (`grunthttp.exe`).
        lab_only = not e.native and not e.excluded_by and e.running
        if seen >= (SOFTWARE_RECORDINGS if lab_only else BACKGROUND_RECORDINGS):
            verb = "runs" if e.running > e.recordings else "occurs"
            parts.append(f"{verb} on {seen} of {self.recordings} lab recordings")
            share, benign = max(share, seen / self.recordings), True
        return min(share, MAX_SHARE), "; ".join(parts), benign

    def _lookup(self, table: dict[str, _Entry], op: str, value: str) -> tuple[float, str, bool]:
        v = value.casefold()
        if op == "eq":
            e = table.get(v)
            return self._share(e) if e else (0.0, "", False)
        test = _matcher(op, v)
        if test is None:
            return 0.0, "", False
        quiet, best, texts, benign = 1.0, 0.0, [], False
        for k, e in table.items():
            if test(k):
                s, t, b = self._share(e)
                if s:
                    quiet *= 1.0 - s
                    benign |= b
                    if s > best:
                        best, texts = s, [f"matches {k} ({t})"]
        share = 1.0 - quiet
        return min(share, MAX_SHARE), "; ".join(texts), benign

    def pair_recordings(self, parent: str, child: str) -> int:
        """Lab recordings in which `parent` started `child` (process names)."""
        t = self.tables.get("process_creation", {}).get("process.parent.name>process.name", {})
        e = t.get(f"{parent.casefold()}>{child.casefold()}")
        return e.recordings if e else 0

    # -- evidence ---------------------------------------------------------------------------

    def evidence(self, key: IndicatorKey, source: str = "", channel: str = "", platform: str = "") -> Evidence:
        """What the prior knows of one value in one log source (`source` as `source_of` gives;
        `platform` the rule's product: the lab hosts and native binaries are Windows)."""
        windows = platform in ("", "windows")
        memo_key = (key, source, channel, windows)
        ev = self._memo.get(memo_key)
        if ev is None:
            ev = self._memo[memo_key] = self._evidence(key, source, channel, windows)
        return ev

    def _evidence(self, key: IndicatorKey, source: str, channel: str, windows: bool = True) -> Evidence:
        field, op, value = key.field.casefold(), key.op, key.value
        if op in ("exists", "is_null"):
            return (Evidence(PRESENCE_SHARE, "presence", "a presence test", False) if op == "exists"
                    else Evidence(ABSENCE_SHARE, "presence", "an absence test", False))
        if field in _BROAD:
            return Evidence(EVENT_TYPE_SHARE, "event-type", "an event-type field: every event of its kind", True)
        if field in _EVENT_NAMING_ROUTES:
            pass  # judged as an event name, below
        elif field in _ROUTING:
            return Evidence(ROUTING_SHARE, "routing", "names the log to read, narrows nothing within it", True)
        if field in _EVENT_CODE_FIELDS and op == "eq":
            found = self._event_code(value, channel)
            if found is not None:
                return found
        found = self._from_tables(field, op, value, source) if windows or source.startswith("linux") else None
        if found is not None:
            return found
        return _by_form(key)

    def _from_tables(self, field: str, op: str, value: str, source: str) -> Evidence | None:
        table_field = _TABLE_FIELD.get(field, field)
        if table_field:
            table = self._table(source, table_field)
            if table:
                share, text, benign = self._lookup(table, op, value)
                if share:
                    return Evidence(share, "lab" if "lab" in text else "native" if "native" in text
                                    else "logging-excluded", text, benign)
        if source not in ("", "process_creation"):
            return None
        factor = _NAME_TABLE_FIELDS.get(field)
        if factor is not None and factor < 1.0 and op == "eq":
            e = self._table("process_creation", "process.name").get(value.casefold())  # type: ignore[union-attr]
            if e:
                share, text, benign = self._share(e)
                if share:
                    return Evidence(share * factor, "lab" if "lab" in text else "native",
                                    f"{text} (as a parent, fewer runs)", benign)
        # (not `eq`: a command line that is only the binary's name is a run without arguments)
        if field in _COMMAND_FIELDS and field != KEYWORD_FIELD and op in ("contains", "wildcard", "ends_with", "starts_with"):
            return self._command_name(value) or self._command_word(value)
        return None

    def _command_word(self, value: str) -> Evidence | None:
        """A command-line fragment that is a whole word lab hosts' command lines carry
        (`-embedding`, `netsvcs`): background from a quarter of the recordings on."""
        words = self.tables.get("process_creation", {}).get("process.command_line#token", {})
        e = words.get(value.strip(" *\"'").casefold())
        if e is None or e.recordings < SOFTWARE_RECORDINGS:
            return None
        share = min(MAX_SHARE, e.recordings / self.recordings)
        return Evidence(share, "lab", f"a word of command lines on {e.recordings} of {self.recordings} lab recordings",
                        True)

    def _command_name(self, value: str) -> Evidence | None:
        """A command-line fragment that is a binary's name (`hostname`, `nltest.exe`): it is
        in the command line of every run of that binary."""
        token = value.strip(" *\"'\\/").casefold()
        if len(token) < 3 or any(c in token for c in " \\/"):
            return None
        names = self._table("process_creation", "process.name") or {}
        e = names.get(token) or names.get(token + ".exe")
        if e is None:
            return None
        share, text, benign = self._share(e)
        if not share:
            return None
        return Evidence(share * COMMAND_NAME_FACTOR, "lab" if "lab" in text else "native",
                        f"names {e.value}: {text}", benign)

    def _event_code(self, code: str, channel: str) -> Evidence | None:
        table = self.tables.get("windows_eventlog", {}).get("winlog.channel>event.code", {})
        suffix = ">" + code.strip()
        best: tuple[int, str] = (0, "")
        for k, e in table.items():
            if k.endswith(suffix) and (not channel or k.startswith(channel.casefold() + ">")):
                best = max(best, (e.recordings, k))
        if best[0] < BACKGROUND_RECORDINGS:
            return None
        ch = best[1].split(">")[0]
        share = min(MAX_SHARE, best[0] / self.recordings)
        return Evidence(share, "lab", f"event {code} of {ch} occurs on {best[0]} of {self.recordings} lab recordings",
                        True)


def _matcher(op: str, v: str):  # type: ignore[no-untyped-def]
    if not v:
        return None
    if op == "contains":
        return lambda k: v in k
    if op == "starts_with":
        return lambda k: k.startswith(v)
    if op == "ends_with":
        return lambda k: k.endswith(v)
    if op == "wildcard":
        rx = re.compile(".*".join(re.escape(p) for p in v.split("*")).replace("\\?", "."), re.S)
        return lambda k: rx.fullmatch(k) is not None
    return None


def literal_length(key: IndicatorKey) -> int:
    """Characters a value pins down: a wildcard's or regular expression's literal part."""
    v = key.value
    if key.op == "regex_match":
        v = _REGEX_META.sub("", v)
    elif key.op == "wildcard":
        v = v.replace("*", "").replace("?", "")
    # A character outside ASCII (an emoji, a Cyrillic look-alike) is rare in ordinary text.
    return len(v) + (NON_ASCII_WEIGHT - 1) * sum(1 for c in v if ord(c) > 127)


def _by_form(key: IndicatorKey) -> Evidence:
    """A value the data does not name, judged by what kind of test it is."""
    field, op = key.field, key.op
    if op in ("gt", "ge", "lt", "le"):
        return Evidence(COMPARISON_SHARE, "form", "a comparison, unknown to the prior", False)
    if op == "fieldref":
        return Evidence(FIELDREF_SHARE, "form", "a comparison of two fields, unknown to the prior", False)
    if _HASH_FIELD.search(field) and _DIGEST.search(key.value):
        return Evidence(HASH_SHARE, "form", "a hash: one file", False)
    if op == "cidr":
        return Evidence(CIDR_SHARE, "form", "an address range, unknown to the prior", False)
    if _ADDRESS_FIELD.search(field) and op == "eq":
        return Evidence(ADDRESS_SHARE, "form", "one address, unknown to the prior", False)
    if (op == "eq" or op == "in") and field != KEYWORD_FIELD:  # a keyword is found anywhere in the event
        return Evidence(UNKNOWN_EXACT_SHARE, "form", "an exact value unknown to the prior", False)
    n = literal_length(key)
    # Longer is rarer, fast at first, then slowly: a long fragment is about as specific as an
    # exact value (SUBSTRING_FLOOR), never impossible.
    share = SUBSTRING_TOP * (SUBSTRING_FLOOR / SUBSTRING_TOP) ** (1 - math.exp(-max(n - 2, 0) / SUBSTRING_SCALE))
    if op in ("starts_with", "ends_with"):
        share *= 0.5  # anchored at one end
    elif field.casefold() in _LONG_TEXT_FIELDS:
        # A script block or a whole message holds hundreds of lines where a command line
        # holds one: a fragment finds a match there far more often.
        share = 1.0 - (1.0 - share) ** LONG_TEXT_FACTOR
    return Evidence(share, "form", f"a {n}-character {'pattern' if op in ('wildcard', 'regex_match') else 'substring'} "
                    "unknown to the prior", False)


@lru_cache(maxsize=1)
def shared_prior() -> Prior:
    return Prior()
