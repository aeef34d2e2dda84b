"""What a detection's search refers to outside itself: lookups, data model datasets and fields,
the tstats summaries option, and the repository's `lookups/` folder that defines lookups.

Read from the search as written (``` comments blanked, quoted strings kept out of the structure),
so offsets point into the `search` value. The checks RL501-RL504 judge what is found here; the
Splunk loader records it per rule, so it is cached with the load.

Splunk apps that security_content relies on but does not ship define a few macros and lookups;
`APP_MACROS` and `APP_LOOKUPS` name them (the lists splunk/contentctl keeps for its own
validation: Splunk_SA_CIM, Enterprise Security's asset and identity framework, URL Toolbox,
SA-admon).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar

from ..yamlnodes import InputError, decode, load_documents, read_rule_bytes
from .folders import folder_above
from .macros import _strip_comments

# Macros from apps beside security_content (contentctl's MACROS_TO_IGNORE).
APP_MACROS = frozenset({"drop_dm_object_name", "get_asset", "get_risk_severity", "cim_corporate_web_domain_search"})
# Lookups from apps beside security_content (contentctl's LOOKUPS_TO_IGNORE).
APP_LOOKUPS = frozenset({
    "ut_shannon_lookup", "identity_lookup_expanded", "cim_corporate_web_domain_lookup",
    "cim_corporate_email_domain_lookup", "cim_cloud_domain_lookup", "alexa_lookup_by_str",
    "interesting_ports_lookup", "asset_lookup_by_str", "admon_groups_def",
})
# Fields every event (and so every data model dataset) has.
_EVENT_FIELDS = frozenset({"_time", "_raw", "_indextime", "host", "source", "sourcetype", "index", "tag",
                           "eventtype", "linecount", "splunk_server", "nodename"})

_COMMAND = re.compile(r"(?:^|[|\[])\s*(lookup|inputlookup|outputlookup|tstats)\b", re.I)
_END = re.compile(r"[|\[\]]")
_OPTION = re.compile(r"[A-Za-z_]\w*\s*=\s*\S+")
_WORD = re.compile(r"\S+")
_DATAMODEL = re.compile(r"\bdatamodel\s*=\s*\"?([A-Za-z_][\w.]*)", re.I)
_DOTTED = re.compile(r"(?<![\w.$*])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w*.])")


@dataclass(frozen=True, slots=True)
class LookupUse:
    command: str  # lookup, inputlookup, outputlookup
    name: str
    offset: int


@dataclass(frozen=True, slots=True)
class TstatsUse:
    datamodel: str | None
    summariesonly: bool
    offset: int
    fields: tuple[tuple[str, int], ...]  # dotted data model field names and their offsets


def _blank_strings(text: str) -> str:
    """The text with the inside of each double-quoted string blanked, in one pass: a regex
    retried from every quote of a search whose last quote is never closed is quadratic."""
    if '"' not in text:
        return text
    out = list(text)
    inside, i, n = False, 0, len(text)
    while i < n:
        c = text[i]
        if inside:
            if c == "\\" and i + 1 < n:
                out[i] = out[i + 1] = " "
                i += 2
                continue
            if c == '"':
                inside = False
            else:
                out[i] = " "
        elif c == '"':
            inside = True
        i += 1
    if inside:  # an unclosed string is not masked: the text after it stays as written
        return _blank_closed(text)
    return "".join(out)


def _blank_closed(text: str) -> str:
    """Blank only the strings that close (as the regex did), in linear time."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text[i] != '"':
            i += 1
            continue
        j = i + 1
        while j < n and text[j] != '"':
            j += 2 if text[j] == "\\" else 1
        if j >= n:
            break  # never closed: nothing after it is a string either
        for k in range(i + 1, j):
            out[k] = " "
        i = j + 1
    return "".join(out)


def scan(search: str) -> tuple[list[LookupUse], list[TstatsUse]]:
    """The lookup commands and the tstats commands of a search (subsearches included)."""
    text = _strip_comments(search)
    masked = _blank_strings(text)
    lookups: list[LookupUse] = []
    tstats: list[TstatsUse] = []
    for m in _COMMAND.finditer(masked):
        cmd = m.group(1).lower()
        start = m.end()
        end_m = _END.search(masked, start)
        end = end_m.start() if end_m else len(masked)
        if cmd == "tstats":
            args = text[start:end]
            dm = _DATAMODEL.search(args)
            fields = tuple((w.group(1), start + w.start(1)) for w in _DOTTED.finditer(masked, start, end)
                           if not _after_equals(masked, w.start(1)))
            tstats.append(TstatsUse(dm.group(1) if dm else None, "summariesonly" in args.lower(),
                                    m.start(1), fields))
            continue
        pos = start
        while True:
            w = _WORD.search(masked, pos, end)
            if w is None:
                break
            opt = _OPTION.match(masked, w.start(), end)
            if opt is not None and not masked[w.start()] == '"':
                pos = opt.end()
                continue
            name = text[w.start():w.end()].strip('"')
            if name and "`" not in name and "$" not in name and "=" not in name:
                lookups.append(LookupUse(cmd, name, w.start()))
            break
    return lookups, tstats


def _after_equals(text: str, at: int) -> bool:
    """Whether a word stands as a value: after `=`, `!=`, `<`, `>` (a dotted value such as cmd.exe)."""
    i = at - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    return i >= 0 and text[i] in "=<>"


# -- data model fields -----------------------------------------------------------

@lru_cache(maxsize=1)
def cim() -> dict[str, Any]:
    """The CIM data models (lint/model/cim_fields.json, generated by tools/gen_cim_fields.py)."""
    raw = resources.files("rulelint.model").joinpath("cim_fields.json").read_text(encoding="utf-8")
    doc = json.loads(raw)
    doc["by_lower"] = {m.lower(): m for m in doc["models"]}
    doc["common_set"] = frozenset(doc["common"]) | _EVENT_FIELDS
    doc["field_sets"] = {m: {d: frozenset(v["fields"]) for d, v in ds.items()} for m, ds in doc["models"].items()}
    return doc


def unknown_field(datamodel: str, dotted: str) -> tuple[str, str, str] | None:
    """(model, dataset, field) when `dotted` (`Processes.proces_name`) names a dataset of the
    data model but a field that dataset does not have; None when it is known or undecidable
    (an unknown model, a first part that is no dataset of the model)."""
    data = cim()
    model = data["by_lower"].get(datamodel.split(".")[0].lower())
    if model is None:
        return None
    datasets = data["models"][model]
    parts = dotted.split(".")
    if parts[0] not in datasets:
        return None
    current, i = parts[0], 1
    while i < len(parts) - 1 and datasets.get(parts[i], {}).get("parent") == current:
        current, i = parts[i], i + 1
    rest = parts[i:]
    if len(rest) != 1:
        return None
    field = rest[0]
    if datasets.get(field, {}).get("parent") == current:
        return None  # a child dataset named (nodename=All_Changes.Account_Management), not a field
    if field in data["field_sets"][model][current] or field in data["common_set"]:
        return None
    return model, current, field


def cim_version() -> str:
    return str(cim().get("version", ""))


# -- the lookups folder ------------------------------------------------------------

class LookupTable:
    """The lookups a `lookups/` folder defines: `name:` of each YAML file, its `filename:`, and
    every file in the folder (a search may name a lookup table file directly)."""

    _by_folder: ClassVar[dict[str, "LookupTable"]] = {}
    _by_dir: ClassVar[dict[str, str | None]] = {}
    _prints: ClassVar[dict[str, str]] = {}

    def __init__(self, folder: str | None = None) -> None:
        self.folder = folder
        self.names: set[str] = set()
        if folder is None:
            return
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            return
        for entry in entries:
            self.names.add(entry.lower())
            if entry.endswith((".yml", ".yaml")):
                for value in _lookup_names(os.path.join(folder, entry)):
                    self.names.add(value.lower())

    def defines(self, name: str) -> bool:
        return name.lower() in self.names

    @classmethod
    def for_rule(cls, path: str) -> "LookupTable":
        folder = cls.folder_for(path)
        if folder is None:
            return cls()
        table = cls._by_folder.get(folder)
        if table is None:
            table = cls._by_folder[folder] = cls(folder)
        return table

    @classmethod
    def folder_for(cls, path: str) -> str | None:
        """The `lookups/` folder beside the detection or one of its ancestors, if any."""
        return folder_above(os.path.dirname(os.path.abspath(path)), "lookups", cls._by_dir)

    @classmethod
    def folder_print(cls, path: str) -> str:
        """Fingerprint of the lookups folder a detection is judged with ('' if none)."""
        folder = cls.folder_for(path)
        if folder is None:
            return ""
        fp = cls._prints.get(folder)
        if fp is None:
            h = hashlib.sha1()
            try:
                with os.scandir(folder) as it:
                    for e in sorted(it, key=lambda e: e.name):
                        try:
                            st = e.stat()
                        except OSError:
                            st = e.stat(follow_symlinks=False)
                        h.update(f"{e.name}/{st.st_size}/{st.st_mtime_ns}".encode())
            except OSError:
                pass
            fp = cls._prints[folder] = h.hexdigest()[:16]
        return fp

    @classmethod
    def forget(cls) -> None:
        cls._by_folder.clear()
        cls._by_dir.clear()
        cls._prints.clear()


def _lookup_names(path: str) -> list[str]:
    # A lookup file is as untrusted as a rule: read with the rules' own bounds.
    try:
        docs = load_documents(decode(read_rule_bytes(path)[0]))
    except (OSError, InputError):
        return []
    data = docs[0].data if len(docs) == 1 else None
    if not isinstance(data, dict):
        return []
    return [str(data[k]).strip() for k in ("name", "filename") if isinstance(data.get(k), str) and data[k].strip()]
