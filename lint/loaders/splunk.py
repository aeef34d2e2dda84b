"""Splunk security_content detection YAML to NormalizedRule.

The detection's `search` is SPL; the spl package reads its filter stage with the repository's
macros (security_content layout: <root>/detections/..., <root>/macros/*.yml). A detection's
result depends on those macros too: `macro_folder_print` fingerprints their folder (for the
cache), and `forget_macro_memos` drops what was remembered about macro folders.
"""

from __future__ import annotations

import hashlib
import os
import re
from bisect import bisect_right
from typing import Any, ClassVar

from ..model.rule import LogSource, NormalizedRule
from ..model.tree import simplify
from .query import PredicateSink, QueryError
from .spl.folders import folder_above
from .result import LoadResult, no_logic, parse_error
from .spl import Macro, parse_spl
from .spl.references import APP_LOOKUPS, APP_MACROS, LookupTable, scan
from .yamlnodes import InputError, decode, load_documents, read_rule_bytes

_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
# Not detections, though they carry a `search`.
_NOT_DETECTIONS = {"baseline", "investigation"}


def looks_like_splunk(data: Any) -> bool:
    """A security_content detection: a mapping with `search` and `name`/`id`."""
    return (isinstance(data, dict) and "search" in data and ("name" in data or "id" in data)
            and "detection" not in data
            and str(data.get("type") or "").lower() not in _NOT_DETECTIONS)


class MacroTable(dict[str, Macro]):
    """Macros by Splunk stanza name (`name`, or `name(n)` for n arguments).

    `MacroTable(folder)` loads one folder of macro YAML files; `MacroTable.for_rule(path)`
    finds the `macros/` folder beside an ancestor of the detection, loaded once per folder.
    """

    _by_folder: ClassVar[dict[str, "MacroTable"]] = {}
    _by_dir: ClassVar[dict[str, str | None]] = {}

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.folder = str(folder) if folder is not None else None
        if self.folder:
            for name in sorted(os.listdir(self.folder)):
                if name.endswith((".yml", ".yaml")):
                    macro = _read_macro(os.path.join(self.folder, name))
                    if macro is not None:
                        self[macro.key] = macro

    @classmethod
    def for_rule(cls, path: str, folder: str | os.PathLike[str] | None = None) -> "MacroTable":
        """The table for a detection file; an explicit `folder` wins over the search."""
        found = str(folder) if folder is not None else cls.folder_for(path)
        if found is None:
            return cls()
        table = cls._by_folder.get(found) if os.path.isabs(found) else None
        if table is None:
            key = os.path.realpath(found)  # a dozen syscalls: asked once per spelling, not per rule
            if key not in cls._by_folder:
                cls._by_folder[key] = cls(found)
            table = cls._by_folder[key]
            if os.path.isabs(found):
                # Also under the path as found. No clash with a realpath key: a spelling that is
                # not its own realpath goes through a symlink, so is no other folder's realpath.
                cls._by_folder[found] = table
        return table

    @classmethod
    def folder_for(cls, path: str) -> str | None:
        """The `macros/` folder beside the detection or one of its ancestors, if any."""
        return folder_above(os.path.dirname(os.path.abspath(path)), "macros", cls._by_dir)

    @classmethod
    def forget(cls) -> None:
        """Forget the tables and folders found so far (macro files may have changed since)."""
        cls._by_folder.clear()
        cls._by_dir.clear()


def _read_macro(path: str) -> Macro | None:
    # Read with the rules' own bounds: a macro file is as untrusted as a rule (a FIFO,
    # an alias bomb whose str() would expand it, a 1 GB file).
    try:
        docs = load_documents(decode(read_rule_bytes(path)[0]))
    except (OSError, InputError):
        return None  # a broken macro file: its calls count as unknown macros
    data = docs[0].data if len(docs) == 1 else None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    name = re.sub(r"\(\d+\)$", "", data["name"].strip())
    args = data.get("arguments") or []
    return Macro(name, tuple(str(a) for a in args) if isinstance(args, list) else (),
                 "" if data.get("definition") is None else str(data["definition"]))


_folder_prints: dict[str, str] = {}


def macro_folder_print(path: str) -> str:
    """Fingerprint of the macros folder a Splunk detection is expanded with, and of the
    lookups folder its lookups are judged against ('' if neither)."""
    if not path.lower().endswith((".yml", ".yaml")):
        return ""
    lookups = LookupTable.folder_print(path)
    return _macro_print(path) + (f"+{lookups}" if lookups else "")


def _macro_print(path: str) -> str:
    folder = MacroTable.folder_for(path)
    if folder is None:
        return ""
    fp = _folder_prints.get(folder)
    if fp is None:
        h = hashlib.sha1()
        with os.scandir(folder) as it:
            for e in sorted(it, key=lambda e: e.name):
                try:
                    st = e.stat()
                except OSError:  # a symlink loop or a file gone meanwhile: fingerprint the link
                    st = e.stat(follow_symlinks=False)
                h.update(f"{e.name}/{st.st_size}/{st.st_mtime_ns}".encode())
        fp = _folder_prints[folder] = h.hexdigest()[:16]
    return fp


def forget_macro_memos() -> None:
    """Forget what loading remembered about macros (tables, folders, fingerprints): the
    next detection sees the macro files as they are now."""
    MacroTable.forget()
    LookupTable.forget()
    _folder_prints.clear()


# -- log source ------------------------------------------------------------------

# CIM data model (dataset) -> Sigma category.
DATAMODEL_CATEGORY = {
    "endpoint.processes": "process_creation",
    "endpoint.filesystem": "file_event",
    "endpoint.registry": "registry_event",
    "endpoint.services": "service_creation",
    "endpoint.ports": "network_connection",
    "network_resolution": "dns_query",
    "network_resolution.dns": "dns_query",
    "network_traffic": "network_connection",
    "network_traffic.all_traffic": "network_connection",
    "authentication": "authentication",
    "authentication.authentication": "authentication",
    "web": "webserver",
    "web.web": "webserver",
    "web.proxy": "proxy",
    "intrusion_detection": "ids",
    "intrusion_detection.ids_attacks": "ids",
}
SYSMON_CATEGORY = {
    1: "process_creation", 3: "network_connection", 5: "process_termination", 6: "driver_load",
    7: "image_load", 8: "create_remote_thread", 9: "raw_access_thread", 10: "process_access",
    11: "file_event", 12: "registry_add", 13: "registry_set", 14: "registry_rename",
    15: "create_stream_hash", 17: "pipe_created", 18: "pipe_created", 19: "wmi_event",
    20: "wmi_event", 21: "wmi_event", 22: "dns_query", 23: "file_delete", 25: "process_tampering",
    26: "file_delete", 29: "file_executable_detected",
}
# data_source name prefix -> (product, category, service)
DATA_SOURCE = [
    ("Windows Event Log Security 4688", ("windows", "process_creation", "")),
    ("Powershell Script Block Logging 4104", ("windows", "ps_script", "")),
    ("CrowdStrike ProcessRollup2", ("", "process_creation", "")),
    ("Windows Event Log Security", ("windows", "", "security")),
    ("Windows Security", ("windows", "", "security")),
    ("Windows Event Log System", ("windows", "", "system")),
    ("Windows Event Log Application", ("windows", "", "application")),
    ("Windows Event Log Defender", ("windows", "", "windefend")),
    ("Linux Auditd", ("linux", "", "auditd")),
    ("AWS CloudTrail", ("aws", "", "cloudtrail")),
    ("Azure Active Directory", ("azure", "", "")),
    ("O365", ("m365", "", "")),
    ("Office 365", ("m365", "", "")),
    ("Okta", ("okta", "", "okta")),
    ("Kubernetes Audit", ("kubernetes", "", "audit")),
    ("GitHub", ("github", "", "audit")),
    ("Google Workspace", ("google_workspace", "", "")),
    ("G Suite", ("google_workspace", "", "")),
]


# Source macro a search starts from -> (product, category, service), when nothing else says.
MACRO_LOGSOURCE = {
    "wineventlog_security": ("windows", "", "security"),
    "wineventlog_system": ("windows", "", "system"),
    "powershell": ("windows", "ps_script", ""),
    "cloudtrail": ("aws", "", "cloudtrail"),
    "amazon_security_lake": ("aws", "", ""),
    "o365_management_activity": ("m365", "", ""),
    "okta": ("okta", "", "okta"),
    "google_gcp_pubsub_message": ("gcp", "", ""),
    "kube_audit": ("kubernetes", "", "audit"),
    "aws_cloudwatchlogs_eks": ("kubernetes", "", "audit"),
    "zscaler_proxy": ("", "proxy", ""),
    "stream_http": ("", "proxy", ""),
    "stream_dns": ("", "dns", ""),
}


def logsource_for(datamodel: str | None, data_sources: list[str], macros: list[str] = ()) -> LogSource:
    """The Sigma-style log source of a detection: from its data model, else its data
    sources, else the source macro it starts from."""
    if datamodel:
        dm = datamodel.lower()
        return LogSource("", DATAMODEL_CATEGORY.get(dm) or DATAMODEL_CATEGORY.get(dm.split(".")[0])
                         or dm.split(".")[0])
    fallback: LogSource | None = None
    for name in data_sources:
        m = re.match(r"Sysmon(?: for (Linux))? EventID (\d+)", name)
        if m and int(m.group(2)) in SYSMON_CATEGORY:
            return LogSource("linux" if m.group(1) else "windows", SYSMON_CATEGORY[int(m.group(2))])
        for prefix, (product, category, service) in DATA_SOURCE:
            if name.startswith(prefix):
                if category:
                    return LogSource(product, category, service)
                fallback = fallback or LogSource(product, category, service)
                break
    if fallback is None:
        hit = next((MACRO_LOGSOURCE[m] for m in macros if m in MACRO_LOGSOURCE), None)
        fallback = LogSource(*hit) if hit else None
    return fallback or LogSource()


# -- loading ---------------------------------------------------------------------

def load_splunk(path: str, data: dict, text: str, macros: MacroTable | dict[str, Macro]) -> LoadResult:
    """One detection: its metadata and the predicates of its search's filter stage."""
    line = _key_line(text, "name") or 1
    search_line = _key_line(text, "search") or line
    try:
        return _load(path, data, text, macros, line, search_line)
    except RecursionError:
        return LoadResult(findings=[parse_error(path, search_line, "SPL: search nests too deeply")])
    except Exception as e:  # last resort: one bad file must not end the run
        return LoadResult(findings=[parse_error(
            path, search_line, f"internal error while loading: {type(e).__name__}: {e}")])


def _load(path: str, data: dict, text: str, macros: dict[str, Macro], line: int,
          search_line: int) -> LoadResult:
    search = data.get("search")
    if not isinstance(search, str):
        return LoadResult(findings=[parse_error(path, search_line, "`search` is not a string")])
    sink = _LineSink(search, text, search_line)
    try:
        node, info = parse_spl(search, sink, macros)
    except QueryError as e:
        line, column = sink.line_at(e.offset), sink.column_at(e.offset)
        return LoadResult(findings=[parse_error(path, line, e.describe("SPL", line, column), column)])
    rid = str(data.get("id") or "")
    tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
    attack = tags.get("mitre_attack_id") or []
    sources = data.get("data_source") or []
    sources = [str(s) for s in sources] if isinstance(sources, list) else [str(sources)]
    rtype = str(data.get("type") or "")
    out = NormalizedRule(
        key=rid or f"{path}#0", id=rid, title=str(data.get("name") or ""), vendor="splunk",
        path=path, line=line, logic_line=search_line,
        techniques=sorted({str(t).strip().upper() for t in (attack if isinstance(attack, list) else [attack])
                           if _TECHNIQUE.match(str(t).strip().upper())}),
        logsource=logsource_for(info["datamodel"], sources, info["macros"]),
        predicates=sink.predicates, tree=simplify(node), kind="rule",
        unmodelled=tuple(dict.fromkeys(info["unmodelled"])),
        level=rtype.lower(), status=str(data.get("status") or ""),
        extra={
            "type": rtype, "datamodel": info["datamodel"], "filter_macro": info["filter_macro"],
            "unknown_macros": info["unknown_macros"], "data_source": sources,
            **_references(path, search, data, macros, info, sink),
            "aggregation": info["aggregation"], "filter_predicates": info["filter_predicates"],
            **({"confidence": tags["confidence"]} if "confidence" in tags else {}),
        },
    )
    result = LoadResult(rules=[out])
    if not out.predicates:
        result.findings.append(no_logic(path, search_line, rid, "the search has no filter the analysis can read"))
    return result


def _references(path: str, search: str, data: dict, macros: dict[str, Macro], info: dict[str, Any],
                sink: "_LineSink") -> dict[str, Any]:
    """What the search refers to outside itself (see spl/references.py), with file lines:
    `undefined_macros` (None when no macros folder was found), `lookups` (`defined` is None
    when no lookups folder was found, True for lookups of apps beside security_content),
    `tstats` (data model, summaries option, dotted data model fields), `filter_macro_expected`
    (contentctl's `<name>_filter`) and whether the search calls it."""
    folder = getattr(macros, "folder", None) if isinstance(macros, MacroTable) else ("" if macros else None)
    undefined = None
    if folder is not None:
        undefined = []
        for key in info["unknown_macros"]:
            name = key.split("(")[0]
            if name in APP_MACROS:
                continue
            at = re.search(rf"`\s*{re.escape(name)}\s*[`(]", search)
            undefined.append({"macro": key, "line": sink.line_at(at.start()) if at else sink.line_at(None),
                              "direct": at is not None})
    table = LookupTable.for_rule(path)
    lookups_found, tstats_found = scan(search)
    lookups = [{"command": u.command, "name": u.name, "line": sink.line_at(u.offset),
                "defined": (True if u.name.lower() in APP_LOOKUPS
                            else table.defines(u.name) if table.folder is not None else None)}
               for u in lookups_found]
    tstats = [{"datamodel": t.datamodel, "summariesonly": t.summariesonly, "line": sink.line_at(t.offset),
               "fields": [(f, sink.line_at(o)) for f, o in t.fields]} for t in tstats_found]
    name = str(data.get("name") or "")
    expected = (name.replace(" ", "_").replace("-", "_").replace(".", "_").replace("/", "_").lower() + "_filter"
                if name else None)
    return {"undefined_macros": undefined, "lookups": lookups, "tstats": tstats,
            "filter_macro_expected": expected,
            "filter_macro_present": bool(expected) and f"`{expected}`" in search}




def _key_line(text: str, key: str) -> int | None:
    """Line of a top-level key (column 0), found in the raw text."""
    m = re.search(rf"^{key}[ \t]*:", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


class _LineSink(PredicateSink):
    """Maps offsets in the parsed `search` value to file lines.

    YAML folds a quoted multi-line scalar into one line, so counting newlines in the
    value is wrong; instead each source line's first characters are found in the value.
    """

    def __init__(self, value: str, text: str, key_line: int) -> None:
        super().__init__(value, key_line)
        self.starts, self.lines = [0], [key_line]
        self.columns = [1]  # file column of each span's first character
        raw = text.splitlines()[key_line - 1:]
        if not raw:
            return
        head = raw[0].split(":", 1)[1].strip() if ":" in raw[0] else ""
        if head[:1] in ("|", ">"):
            self.lines[0] = key_line + 1
            nxt = raw[1] if len(raw) > 1 else ""
            self.columns[0] = len(nxt) - len(nxt.lstrip()) + 1
        elif head:
            self.columns[0] = raw[0].index(head) + (2 if head[:1] in ("'", '"') else 1)
        cursor = 0
        for i, src in enumerate(raw[1:], start=1):
            if src[:1] not in (" ", "\t", ""):
                break  # the next top-level key
            content = src.strip().replace("''", "'")
            probe = content.rstrip("'\"")[:16]  # without the scalar's closing quote
            if not probe:
                continue
            at = value.find(probe, cursor)
            if at < 0:
                continue  # escapes changed the text: the previous line keeps the span
            if at > self.starts[-1]:
                self.starts.append(at)
                self.lines.append(key_line + i)
                self.columns.append(len(src) - len(src.lstrip()) + 1)
            cursor = at + max(1, len(content) - 4)

    def line_at(self, offset: int | None) -> int | None:
        if offset is None:
            return self.lines[0]
        return self.lines[max(0, bisect_right(self.starts, offset) - 1)]

    def column_at(self, offset: int | None) -> int | None:
        """The file column of an offset: its span's first column plus the distance into
        the span (exact but for escapes the YAML scalar dropped). A block scalar (`|`)
        keeps its line breaks: there the line within the span counts."""
        if offset is None:
            return None
        offset = max(0, min(offset, len(self.text.rstrip())))
        i = max(0, bisect_right(self.starts, offset) - 1)
        nl = self.text.rfind("\n", self.starts[i], offset)
        if nl >= 0:
            return offset - nl
        return self.columns[i] + offset - self.starts[i]
