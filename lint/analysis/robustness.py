"""robustness: the Summiting the Pyramid (STP) level and column of a rule.

How easily an adversary slips past a rule, after MITRE CTID's method
(`docs/robustness.md`; the observable table is `lint/data/robustness_table.json`):

* each predicate value is an *observable*, scored by the table from its canonical field,
  operator and value: 1 ephemeral (names, hashes, addresses the adversary picks), 2 core
  to an adversary-brought tool (its arguments, its PE header), 3 core to a pre-existing
  tool (a native tool's arguments, signatures, logon types, keys in the environment),
  4 core to some implementations (access rights, behaviour-only event ids, special keys
  and attributes, API operations), 5 core to the technique (the method's few chokepoints);
* the values of one predicate are alternatives: the highest counts (OR);
* combination follows the method's `combiningobservables.rst`: AND takes the lowest
  level (evading one part evades the whole), OR the highest (every branch must be
  evaded), NOT A scores as A, and NOT flips the operators inside a filter (NOT (C AND D)
  is NOT C OR NOT D); a filter is AND-ed with the selection, so a filter an adversary
  can step into lowers the rule (the method's walkthrough: `(1 AND 1) AND 3 = 1`);
* predicates that only route to the event (log source, event category, generic event
  ids) are given: `R((A AND B) | A) = R(B)`; they decide the column, not the level;
* the column comes from the event source (Sysmon/Security ids, log source category,
  Elastic dataset, Splunk data model), per the method's column pages.

Where the method does not decide (no logic, a machine-learning job, a promotion of other
products' alerts, only fields the table does not know) the level is None and `reason`
says why. The rule's own `level`, `status` or folder are never read.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..model.predicate import KEYWORD_FIELD, Predicate
from ..model.rule import NormalizedRule
from ..model.tree import And, Leaf, Node, Not, Or

_TABLE = Path(__file__).resolve().parent.parent / "data" / "robustness_table.json"
_PREVALENCE = Path(__file__).resolve().parent.parent / "data" / "prevalence.json"

COLUMNS = ("A", "U", "K", "H", "P")
# Weakest first: a rule that may match through several sources sits in the weakest.
_COLUMN_RANK = {"P": 0, "H": 1, "A": 0, "U": 1, "K": 2}


@dataclass(frozen=True, slots=True)
class Observable:
    """One predicate of the rule as the method scores it."""

    field: str  # canonical field
    op: str
    value: str  # as the rule wrote it (first value; `+N` when the predicate lists more)
    level: int | None  # None: routing (the event source) or not in the table
    reason: str
    positive: bool = True
    evade: str = ""
    kind: str = ""  # the table's class (hash, image, command_line, ...), "routing", "unknown"
    written: str = ""  # the test as the rule wrote it: `Image ends_with '\\x.exe'`

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "op": self.op, "value": self.value, "level": self.level,
                "reason": self.reason, "positive": self.positive, "kind": self.kind, "written": self.written}

    def text(self) -> str:
        return self.written or f"{self.field} {self.op} {self.value}"


@dataclass(frozen=True, slots=True)
class Robustness:
    level: int | None
    column: str | None
    observables: list[Observable] = field(default_factory=list)
    reason: str = ""  # why None, or which observable set the level
    evade: str = ""  # what an adversary changes to evade the rule
    column_reason: str = ""
    decider: Observable | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "column": self.column,
                "observables": [o.to_dict() for o in self.observables],
                "reason": self.reason, "evade": self.evade}

    @property
    def label(self) -> str:
        return label(self.level, self.column)


def label(level: int | None, column: str | None) -> str:
    """`3K` as the method writes a score; `none` without a level."""
    return "none" if level is None else f"{level}{column or ''}"


# -- the table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    raw: dict[str, Any]
    exact: dict[str, str]  # field (casefolded) -> class
    prefixes: tuple[tuple[str, str], ...]  # (field prefix casefolded, class)
    routing: frozenset[str]
    event_id_fields: frozenset[str]
    native_names: frozenset[str]
    native_dlls: frozenset[str]
    adversary: tuple[str, ...]
    setting: re.Pattern[str]
    hosts: frozenset[str]  # pre-existing services and applications adversaries exploit, not launch
    payload: frozenset[str]  # fields that read a protocol's payload (column P)
    fixed_names: frozenset[str]  # file names the mechanism fixes (authorized_keys, StartupParameters.plist)


@lru_cache(maxsize=1)
def table() -> Table:
    raw = json.loads(_TABLE.read_text(encoding="utf-8"))
    exact: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    for name, entry in raw["classes"].items():
        for f in entry["fields"]:
            if "#" in f:
                continue  # source-specific readings are decided in code (pipes, cloud providers)
            if f.endswith(".*"):
                prefixes.append((f[:-1].casefold(), name))
            else:
                exact.setdefault(f.casefold(), name)
    native: set[str] = {n.casefold() for n in raw["native_names_extra"]}
    dlls: set[str] = {n.casefold() for n in raw["native_dlls_extra"]}
    try:
        prev = json.loads(_PREVALENCE.read_text(encoding="utf-8"))["sources"]
        native |= {k for k, v in prev["process_creation"]["process.name"].items() if v.get("native")}
        dlls |= {k for k, v in prev["image_load"]["dll.name"].items() if v.get("native") or v.get("recordings")}
    except (OSError, KeyError, ValueError):
        pass
    return Table(raw=raw, exact=exact, prefixes=tuple(sorted(prefixes, key=lambda p: -len(p[0]))),
                 routing=frozenset(f.casefold() for f in raw["routing_fields"]),
                 event_id_fields=frozenset(f.casefold() for f in raw["event_id_fields"]),
                 native_names=frozenset(native), native_dlls=frozenset(dlls),
                 adversary=tuple(t.casefold() for t in raw["adversary_tools"]),
                 setting=re.compile(raw["setting_values"], re.I),
                 hosts=frozenset(h.casefold() for h in raw["host_processes"]),
                 payload=frozenset(f.casefold() for f in raw["payload_fields"]),
                 fixed_names=frozenset(n.casefold() for n in raw["fixed_file_names"]))


_IIS_CONFIGURATION = {"configuration": "app_setting", "newvalue": "app_setting_value", "oldvalue": "app_setting_value"}
_COMPONENT = re.compile(r"module$|\.dll\b|[\\/]", re.I)  # an IIS module's name or image, not a setting's value


def field_class(fld: str, source: str = "") -> str | None:
    """The table's class of a canonical field (None: not in the table)."""
    t = table()
    f = fld.casefold()
    if f == KEYWORD_FIELD:
        return "script"
    if source == "pipe_created" and f in ("file.name", "file.path", "pipename"):
        return "pipe"
    if source == "iis-configuration" and f in _IIS_CONFIGURATION:
        return _IIS_CONFIGURATION[f]  # 4657's NewValue is registry data; here it is a server setting
    cls = t.exact.get(f)
    if cls:
        return cls
    for prefix, name in t.prefixes:
        if f.startswith(prefix):
            return name
    return None


# -- value kinds ---------------------------------------------------------------------------

_USER_DIRS = ("\\temp\\", "\\tmp\\", "\\appdata\\", "\\users\\public\\", "\\downloads\\", "\\desktop\\",
              "\\perflogs\\", "\\programdata\\", "%temp%", "%appdata%", "%localappdata%", "%public%",
              "/tmp/", "/var/tmp/", "/dev/shm", "/home/", "/users/shared", "\\$recycle.bin", "$env:temp",
              "$env:tmp", "$env:appdata", "$env:localappdata", "$env:public", "$env:userprofile", "%userprofile%")
_FILE_EXT = re.compile(r"\.(exe|dll|sys|ps1|psm1|psd1|bat|cmd|vbs|vbe|js|jse|hta|wsf|wsh|scr|cpl|ocx|lnk|zip|rar|7z|"
                       r"iso|img|vhdx?|msi|msp|txt|log|dmp|tmp|dat|bin|py|sh|pl|rb|jar|xml|xsl|sct|inf|ini|"
                       r"docm?|xlsm?|pptm?|rtf|pdf|one|html?|php|aspx?|jsp|elf|so|dylib|plist|app|pkg|dmg|kirbi|ccache)\b",
                       re.I)
_URL = re.compile(r"^[a-z]+://|^www\.|\.(com|net|org|io|ru|cn|xyz|top|info|biz|co|me|cc|tk|onion|site|online)(/|$|:)", re.I)
_CMDLET = re.compile(r"\b(get|set|new|remove|add|invoke|start|stop|test|enable|disable|import|export|convertto|convertfrom|"
                     r"out|write|read|copy|move|clear|register|unregister|install|uninstall|find|save|send|update|"
                     r"resolve|compress|expand|mount|dismount|select|format|measure|wait|use|grant|revoke|restart|"
                     r"suspend|resume|backup|restore|connect|disconnect|enter|exit|push|pop|join|split|show|hide|"
                     r"lock|unlock|protect|unprotect|request|receive|approve|deny|debug|trace|watch|initialize|"
                     r"reset|rename|sync|search|edit|limit|group|merge|skip|sort|tee|where|foreach)-[a-z]{3,}", re.I)
# WMI classes the OS's providers serve (Win32_*, MSAcpi_*, CIM_*, MSFT_*): calling them is using a pre-existing tool.
_WMI_CLASS = re.compile(r"\b(win32|msacpi|cim|msft)_[a-z]\w+|"
                        # modules that ship with Windows PowerShell or Windows features
                        r"\b(psreadline|microsoft\.powershell\.\w+|cimcmdlets|bitstransfer|scheduledtasks|netsecurity|"
                        r"smbshare|nettcpip|defender|configdefender|activedirectory|grouppolicy|dnsserver|storage|"
                        r"pki|appx|dism|wdac|exchangepowershell|microsoft\.exchange\.management)\b", re.I)
_DOTNET = re.compile(r"\[(system\.|reflection\.|convert\]|io\.|net\.|runtime\.|text\.|security\.)|\]::|"
                     r"\b(system\.(reflection|net|io|management|runtime|security)|add-type|new-object|iex\b|"
                     r"frombase64string|virtualalloc|getprocaddress|getdelegateforfunctionpointer|amsiutils|"
                     r"downloadstring|downloadfile|webclient|memorystream|deflatestream|gzipstream)", re.I)


# PowerShell's own Invoke-* cmdlets; other Invoke-Xxx names are functions of offensive scripts (Invoke-Mimikatz).
_BUILTIN_INVOKE = frozenset({"expression", "command", "webrequest", "restmethod", "item", "wmimethod", "cimmethod",
                             "history", "asworkflow", "dscresource", "ciminstance"})


def _native_call(value: str) -> bool:
    """A cmdlet or .NET API of PowerShell itself (arguments of the pre-existing tool)."""
    if _DOTNET.search(value) or _WMI_CLASS.search(value):
        return True
    for m in _CMDLET.finditer(value):
        verb, _, noun = m.group(0).casefold().partition("-")
        if verb != "invoke" or noun in _BUILTIN_INVOKE:
            return True
    return False


_TOKEN_SPLIT = re.compile(r"[\s\"',;|&()=]+")


def _tokens(value: str) -> list[str]:
    """The words of a command line or text: where a program's or file's name can stand alone."""
    return [t for t in _TOKEN_SPLIT.split(value) if t]


def _basename(value: str) -> str:
    v = value.casefold().rstrip("\"' ")
    for sep in ("\\", "/"):
        v = v.rsplit(sep, 1)[-1]
    return v


def _is_native_name(value: str) -> bool:
    t = table()
    b = _basename(value)
    if not b:
        return False
    return b in t.native_names or (b + ".exe") in t.native_names or b.removesuffix(".exe") in t.native_names


def _mentions_native(value: str) -> bool:
    """A native tool named inside a longer value (a command line)."""
    t = table()
    for tok in _tokens(value.casefold()):
        if len(tok) > 2 and (_is_native_name(tok) or _basename(tok) in t.native_dlls) \
                and tok not in ("open", "more", "at", "id", "env", "find", "sort"):
            return True
    return False


def _adversary_tool(value: str) -> str | None:
    v = value.casefold()
    for tok in table().adversary:
        if tok in v:
            return tok
    return None


_ADDRESS_CHARS = re.compile(r"^[0-9a-f.:/]+$", re.I)


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The address or network a value writes (None: not one, or a partial prefix such as `10.1.`)."""
    v = value.strip("*/ ")
    if not _ADDRESS_CHARS.match(v) or not any(c.isdigit() or c == ":" for c in v):
        return None  # most values are names: skip the address parser
    try:
        return ipaddress.ip_network(v, strict=False)
    except ValueError:
        return None


def _is_address(value: str) -> bool:
    return _network(value) is not None or bool(re.fullmatch(r"\d{1,3}(\.\d{1,3}){1,3}\.?", value.strip("*/ ")))


def _looks_ephemeral(value: str) -> bool:
    """A file name, user-writable path, address, URL or tool name the adversary picks."""
    v = value.casefold().strip()
    if not v:
        return False
    if (_is_address(v) and not _is_inside_address(v)) or _URL.search(v):
        return True
    if any(d in v for d in _USER_DIRS):
        return True
    if _adversary_tool(v) and (_FILE_EXT.search(v) or len(v) <= 20):
        return True
    for tok in _tokens(v):
        if not tok.startswith(".") and _FILE_EXT.search(tok) and not _is_native_name(tok) \
                and not _is_host(tok) and _basename(tok) not in table().native_dlls:
            return True
    return False


def _in(value: str, needles: list[str] | dict[str, str]) -> bool:
    return _first(value, needles) is not None


def _first(value: str, needles: list[str] | dict[str, str]) -> str | None:
    v = value.casefold()
    return next((n for n in needles if n in v), None)


def _mentions_host(value: str) -> bool:
    return any(_is_host(tok) for tok in _tokens(value))


def _is_folder(value: str) -> bool:
    """A folder of the system or an installed application, two levels deep or more, outside user-writable places."""
    v = value.casefold().rstrip("*")
    inner = v.strip("*\\/")
    return v.endswith(("\\", "/")) and not any(d in v for d in _USER_DIRS) and not _FILE_EXT.search(v) \
        and (inner.count("\\") + inner.count("/")) >= 1


def _is_host(value: str) -> bool:
    """A pre-existing service or application (web server, document reader, service host)."""
    b = _basename(value).strip("*")
    return bool(b) and (b in table().hosts or (b + ".exe") in table().hosts)


# Folders any local user can write: a filter excluding a folder above one of them excludes the adversary's file too.
_WRITABLE = ("c:\\windows\\temp\\", "c:\\users\\public\\", "c:\\users\\", "c:\\programdata\\", "/tmp/", "/var/tmp/",
             "/dev/shm/", "/home/", "/users/")
_PATHLIKE = frozenset({"image", "parent_image", "file", "command_line", "parent_command_line", "dll", "service_binary"})


def _covers_writable(op: str, value: str) -> bool:
    """A filter value (a folder prefix) under which the adversary can put their own file: `C:\\Windows\\`."""
    if op not in ("starts_with", "contains", "wildcard", "regex"):
        return False
    v = value.casefold().strip().strip("\"'").lstrip("*").strip()
    v = re.sub(r"^\?:", "c:", v)
    if op in ("wildcard", "regex"):
        v = re.split(r"[*?\[(|]", v[2:] if v.startswith("c:") else v, maxsplit=1)[0]
        v = ("c:" + v) if value.casefold().lstrip("*\"' ").startswith(("?:", "c:")) else v
    if not v or not v.endswith(("\\", "/")) or len(v) < 3:
        return False
    return any(w.find(v) == 0 or (op == "contains" and v in w) for w in _WRITABLE)


_WELLKNOWN_SID = re.compile(r"^s-1-5-(18|19|20|32-\d+|21-)$|^s-1-5-21-[\d*-]*-(500|502|512|516|518|519|520|521|544)$|"
                            r"^\*?-(500|502|512|516|518|519|520|544)$", re.I)
_WELLKNOWN_NAMES = frozenset({
    "system", "nt authority\\system", "local service", "network service", "administrator", "administrators",
    "domain admins", "enterprise admins", "schema admins", "krbtgt", "esx admins", "dnsadmins", "backup operators",
    "account operators", "server operators", "print operators", "remote desktop users", "guest", "anonymous logon",
    "exchange windows permissions", "domain controllers", "group policy creator owners", "root", "0", "wheel", "sudo",
    "admin", "system:masters", "system:anonymous", "system:unauthenticated", "cluster-admin"})


def _is_wellknown_identity(value: str) -> bool:
    v = value.casefold().strip().strip("*")
    # Kubernetes' own identities (system:serviceaccount:..., system:masters) are the platform's namespace
    return bool(_WELLKNOWN_SID.match(v)) or v in _WELLKNOWN_NAMES or v.startswith("system:")


def _is_inside_address(value: str) -> bool:
    net = _network(value)
    return net is not None and (net.is_private or net.is_loopback or net.is_link_local or net.is_unspecified)


def _is_system_path(value: str) -> bool:
    v = value.casefold()
    system = [n for n in table().raw["system_paths"] if n in v]
    # A user-writable folder decides, unless a system folder inside it is named
    # (`\ProgramData\Microsoft\` is the system's, `\ProgramData\` anyone's).
    if any(d in v and not any(d in n for n in system) for d in _USER_DIRS):
        return False
    return bool(system) and not _FILE_EXT.fullmatch(v.lstrip("*\\/."))


# -- scoring one predicate value ---------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Context:
    native: bool = False  # an AND-ed identity names a pre-existing tool (child process)
    parent_native: bool = False  # ... or a pre-existing parent
    source: str = ""  # log source category (or service)
    column: str | None = None
    webserver: bool = False
    cloud: bool = False
    negated: bool = False  # inside a filter (an odd number of NOTs)
    channel: str = ""  # a Windows log other than Sysmon, Security or System: its ids are its own


def _entry(cls: str, variant: str | None = None) -> tuple[int, str, str]:
    e = table().raw["classes"][cls]
    if variant and variant in e:
        v = e[variant]
        return v["level"], v["reason"], v.get("evade", e.get("evade", ""))
    return e["level"], e["reason"], e.get("evade", "")


def score_value(fld: str, op: str, value: str, ctx: _Context = _Context()) -> tuple[int | None, str, str, str]:
    """(level, reason, evade, kind) of one canonical (field, op, value)."""
    return _score_value(fld, op, value, ctx)


@lru_cache(maxsize=1 << 17)  # the same value recurs across thousands of rules (cmd.exe, lsass.exe)
def _score_value(fld: str, op: str, value: str, ctx: _Context) -> tuple[int | None, str, str, str]:
    t = table()
    f = fld.casefold()
    if f in t.event_id_fields:
        return _event_id(value, ctx.channel)
    okta_operation = f == "eventtype" and ctx.cloud and "." in value  # not Splunk's eventtype routing
    routing = (f in t.routing and not okta_operation) or (f in ("event.action", "category") and not ctx.cloud) \
        or (f == "service.name" and ctx.cloud)  # a cloud log's service.name is the provider's API
    if routing:
        return None, "selects the event source (routing): given, not an observable of the behaviour", "", "routing"
    cls = field_class(fld, ctx.source)
    if cls is None:
        return None, f"{fld} is not in the observable table: the method does not decide it", "", "unknown"
    if op in ("exists", "is_null") or (op == "eq" and value in ("", "-", "null", "none")):
        if ctx.negated and cls in ("command_line", "script") and op != "exists":
            return None, ("an exclusion of empty command lines: a process started without arguments carries no "
                          "payload, so the adversary cannot meet it and still act"), "", "unmeetable"
        return None, "tests only presence or emptiness: no value to evade", "", "presence"
    if cls == "domain" and value.lstrip("*").startswith("/"):
        cls = "url_out"  # a path in a host field (Splunk's IIS mapping puts the URL stem in Web.dest)
    kind = cls
    variant: str | None = None
    if ctx.negated and cls in _PATHLIKE and _covers_writable(op, value):
        return 1, ("a filter on a folder that holds folders any user can write (C:\\Windows\\Temp, C:\\ProgramData, "
                   "/tmp): the adversary puts the file there and meets the exclusion (L1)"), \
            "run the payload from a user-writable folder under the excluded one", kind
    if cls in ("url_out", "http_protocol") and ctx.webserver:
        variant = "webserver"
    elif cls == "image":
        # In a process creation the image is the child the adversary starts (a spawn-to, a LOLBin copy);
        # elsewhere it is the process that acts, which may be a service they exploit.
        if _is_host(value) and ctx.source != "process_creation":
            variant = "host"
        elif ctx.negated and _is_native_name(value):
            variant = "native"
        elif _is_native_name(value):
            level, reason, evade = 1, ("the image name of a native tool is still a file name: a renamed copy evades "
                                       "it (L1 ephemeral)"), "copy the native binary under another name"
            return level, reason, evade, kind
    elif cls == "parent_image":
        if _is_host(value) or (ctx.negated and _is_native_name(value)):
            variant = "native"
    elif cls == "target_image":
        if _basename(value).strip("*") in t.raw["technique_targets"]:
            variant = "technique"
        elif (_is_native_name(value) or _is_host(value)) and not _adversary_tool(value):
            variant = "native"
    elif cls in ("original_name",):
        if _is_native_name(value):
            variant = "native"
    elif cls == "pe_metadata":
        if re.search(r"microsoft|sysinternals|apple inc|^windows\b|operating system", value.strip(), re.I) \
                and not _adversary_tool(value):
            variant = "native"
    elif cls == "dll":
        b = _basename(value)
        if (b in t.native_dlls or _is_system_path(value)) and not _adversary_tool(value):
            variant = "native"
    elif cls in ("command_line", "parent_command_line", "service_binary"):
        native = ctx.parent_native if cls == "parent_command_line" else ctx.native
        if _looks_ephemeral(value):
            variant = "ephemeral"
        elif native or _mentions_native(value) or _native_call(value):
            variant = "native"  # a native tool's argument, or a cmdlet or .NET call of the pre-existing PowerShell
    elif cls == "script" and f == KEYWORD_FIELD and ctx.cloud:
        return score_value("requestParameters.x", op, value, ctx)  # free text of a service's audit record
    elif cls == "script":
        if _looks_ephemeral(value):
            variant = "ephemeral"
        elif _adversary_tool(value):
            variant = None
        elif _native_call(value) or _mentions_native(value) or _is_host(value):
            variant = "native"
    elif cls == "file" and f in ("objectname", "path") and _in(value, t.raw["location_keys"]) \
            and not _FILE_EXT.search(value):
        return score_value("registry.path", op, value, ctx)  # a Security 4657/4663 registry object
    elif cls in ("file", "registry_key") and f == "objectname" and re.match(r"^\*?(s-1-|-\d+$)", value.casefold()):
        return score_value("TargetUserSid", op, value, ctx)  # a SAM object (4661) named by its SID
    elif cls == "file":
        chokepoint = _first(value, t.raw["technique_paths"])
        if chokepoint:
            level, reason, evade = _entry("file", "technique")
            return level, f"{t.raw['technique_paths'][chokepoint]}: {reason}", evade, kind
        if _in(value, t.raw["location_paths"]):
            variant = "location"
        elif _basename(value).strip("*") in t.fixed_names:
            variant = "system"  # a name the mechanism fixes: not one the adversary picks
        elif _is_folder(value):
            variant = "system"  # where the mechanism needs the file (cron.hourly, a web root), not its name
        elif _is_system_path(value) and not _looks_ephemeral(value):
            variant = "system"  # a file of the installed system; a new name under System32 is still the adversary's
    elif cls == "registry_key":
        chokepoint = _first(value, t.raw["technique_keys"])
        if chokepoint:
            level, reason, evade = _entry("registry_key", "technique")
            return level, f"{t.raw['technique_keys'][chokepoint]}: {reason}", evade, kind
        if _adversary_tool(value):
            variant = "ephemeral"
        elif _in(value, t.raw["location_keys"]) or (f in ("registry.value", "registry_value_name")
                                                     and "\\" + value.casefold().strip("\\*") in t.raw["location_keys"]):
            variant = "location"
    elif cls == "registry_data":
        if t.setting.match(value.strip()):
            variant = "setting"
    elif cls == "pipe":
        if _basename(value).strip("\\*") in t.raw["native_pipes"]:
            variant = "native"
    elif cls == "rpc" and f.startswith("zeek.smb_files") and ("/" in value or ":\\" in value):
        return score_value("file.path", op, value, ctx)  # a host path under a field name shared with Zeek
    elif cls == "rpc":
        v = value.casefold().strip("\\*")
        if any(x in v for x in t.raw["technique_rpc"]):
            variant = "technique"
        elif f in ("relativetargetname", "winlog.event_data.relativetargetname", "zeek.smb_files.name",
                   "zeek.smb_files.path", "zeek.smb_mapping.path", "zeek.smb_files.action"):
            if _basename(v) in t.raw["native_pipes"] or v.rstrip("$") in ("ipc", "admin", "c") or v.endswith("$"):
                return 4, ("a native service pipe or administrative share the remote implementation must open "
                           "(L4, the method's atsvc/winreg examples)"), _entry("rpc")[2], kind
            if f == "zeek.smb_files.action":
                return 3, "the SMB operation a pre-existing file-sharing service performs (L3 inside boundary)", \
                    "move the file another way", kind
            return 1, "a file or pipe name on the share, chosen by the adversary (L1 ephemeral)", "pick another name", kind
    elif cls == "access_rights" and f == "calltrace":
        if "unknown" not in value.casefold():
            return 3, ("a pre-existing library on the call stack of the access (dbghelp, comsvcs, ...): the "
                       "implementation goes through it (L3 pre-existing tool)"), \
                "call the API directly or through another library", kind
    elif cls == "cloud_parameter":
        if _looks_ephemeral(value):
            variant = "ephemeral"
    elif cls == "app_setting_value":
        if _COMPONENT.search(value.strip("*")):
            variant = "native" if ctx.negated else "component"
    elif cls == "domain":
        if value.lstrip("*.").startswith("_"):
            variant = "protocol"  # an SRV service label (_ldap._tcp): the protocol names it
    elif cls == "user_agent":
        if any(value.casefold().lstrip("*").startswith(ua) for ua in t.raw["native_user_agents"]):
            variant = "native"
    elif cls == "identity":
        if _is_wellknown_identity(value):
            variant = "wellknown"
    elif cls == "address":
        if _is_inside_address(value):
            variant = "inside"
    level, reason, evade = _entry(cls, variant)
    return level, reason, evade, kind


# Sysmon's event ids: in another Windows log the same numbers name that log's own events
# (TerminalServices 21 is a session logon, not a WMI binding; IIS configuration 29 a change).
_SYSMON_IDS = frozenset({str(i) for i in range(1, 30)} | {"255"})


def foreign_channel(rule: NormalizedRule) -> str:
    """The rule's Windows log when it is neither Sysmon, Security nor System ("" otherwise)."""
    ls = rule.logsource
    own = ls.product == "windows" and ls.service and not ls.category
    return ls.service if own and ls.service not in ("sysmon", "security", "system") else ""


def _event_id(value: str, channel: str = "") -> tuple[int | None, str, str, str]:
    ids = table().raw["event_ids"]
    v = value.strip()
    if channel and v in _SYSMON_IDS:
        return None, (f"event {v} of the {channel} log selects the event kind within that log (routing): given, "
                      "not an observable"), "", "routing"
    if v in ids["behaviour"]:
        meaning = ids["behaviour"][v][1]
        return 4, (f"event {v} ({meaning}) is produced only by this behaviour, through every implementation that "
                   "goes through the logging service (L4 some implementations)"), \
            "reach the same end without the logged service (another mechanism, or before logging is on)", "event_id"
    if v in ids["routing"]:
        return None, f"event {v} names a generic event kind (routing): given, not an observable", "", "routing"
    return None, f"event id {v} is not in the observable table: the method does not decide it", "", "unknown"


# -- the column ------------------------------------------------------------------------------

_DATASET_COLUMNS = (
    (re.compile(r"^(network_traffic|zeek|suricata|panw|fortinet|cisco|checkpoint|pfsense|netflow|fortigate|"
                r"juniper|sonicwall|palo_alto|corelight|stream:|bro)", re.I), "H",
     "a network sensor: protocol header fields (Header column)"),
    (re.compile(r"^(aws|azure|gcp|o365|m365|okta|github|google_workspace|kubernetes|gsuite|gws|"
                r"microsoft365|office365|entra|onelogin|slack|zoom|1password|jamf|duo|teleport|"
                r"cloudtrail|ms:|mscs:|azure:|o365:|oktaim2|google:|crowdstrike:identities|pingid|box|"
                r"salesforce|atlassian|bitbucket|gitlab|cisco_duo|auth0|beyondinsight|lastpass)", re.I), "A",
     "a cloud or SaaS audit log written by the service (Application column)"),
)
_ELASTIC_CATEGORY = {"process": "process_creation", "file": "file_event", "registry": "registry_set",
                     "network": "network_connection", "library": "image_load", "driver": "driver_load",
                     "authentication": "windows/security", "iam": "windows/security", "configuration": "windows/security",
                     "api": "process_access", "intrusion_detection": "application", "web": "webserver"}


def _source_column(name: str) -> tuple[str | None, str]:
    for entry in table().raw["source_columns"]:
        if name in entry["sources"]:
            return entry["column"], entry["reason"]
    return None, ""


# Field families that name a second event source inside one rule (a Splunk join of two data
# models, an EQL sequence): the rule is evaded at its weakest sensor.
_FAMILY_SOURCES = (("file.", "file_event"), ("registry.", "registry_set"))


def column_of(rule: NormalizedRule) -> tuple[str | None, str, bool]:
    """(column, reason, cloud?) of the rule's event source: the weakest of the sources it reads."""
    col, why, cloud = _primary_column(rule)
    for i, p in enumerate(rule.predicates):
        if rule.polarity.get(i, True) and p.field.casefold() in table().payload:
            return "P", f"the rule reads {p.field}, the protocol payload (Payload column)", cloud
    if col not in ("U", "K") or rule.logsource.category != "process_creation":
        return col, why, cloud  # file-like sources (pipes, file access) name their object with file.* fields
    for i, p in enumerate(rule.predicates):
        if not rule.polarity.get(i, True):
            continue
        for prefix, source in _FAMILY_SOURCES:
            if p.field.startswith(prefix):
                other, other_why = _source_column(source)
                if other and _COLUMN_RANK.get(other, 9) < _COLUMN_RANK[col]:
                    return other, f"{other_why} (the rule also reads {p.field}: the weaker sensor decides)", cloud
    return col, why, cloud


def _primary_column(rule: NormalizedRule) -> tuple[str | None, str, bool]:
    ls = rule.logsource
    t = table()
    cloud = False
    # event ids the rule reads
    ids = []
    datasets = []
    categories = []
    for i, p in enumerate(rule.predicates):
        if not rule.polarity.get(i, True):
            continue
        f = p.field.casefold()
        if f in t.event_id_fields:
            ids += list(p.values)
        elif f in ("data_stream.dataset", "event.dataset", "sourcetype", "source", "event.module", "index"):
            datasets += list(p.values)
        elif f == "event.category":
            categories += list(p.values)
    for name in (ls.category, f"{ls.product}/{ls.category}" if ls.category else "", ls.service,
                 f"{ls.product}/{ls.service}" if ls.service else "", ls.product):
        if not name:
            continue
        col, why = _source_column(name)
        if col is None and name == ls.product and name in ("aws", "azure", "gcp", "m365", "okta", "github",
                                                            "kubernetes", "google_workspace", "onelogin",
                                                            "bitbucket", "cisco", "jumpcloud", "zoom"):
            col, why = _source_column("cloud")
        if col is not None:
            if col == "A" and ls.product not in ("windows", "linux", "macos") \
                    and name not in ("ps_script", "ps_module", "windows/security", "windows/system"):
                cloud = True
            if name in ("windows/security", "windows/system") and ids:
                col, why = _id_column(ids, col, why)
            return col, why, cloud or (name in ("windows/security",) and False)
    # Splunk / Elastic without a category: datasets and event categories
    for d in datasets:
        for pat, col, why in _DATASET_COLUMNS:
            if pat.search(d):
                return col, why, col == "A"
        if "security" in d.casefold() and ids:
            return _id_column(ids, "A", "Windows Security log") + (False,)
        if "sysmon" in d.casefold() and ids:
            return _id_column(ids, "U", "Sysmon") + (False,)
    for c in categories:
        name = _ELASTIC_CATEGORY.get(c.casefold())
        if name:
            col, why = _source_column(name)
            if col:
                return col, why, False
    channel = foreign_channel(rule)
    service_log = f"the {channel} log is written by a Windows service (Application column)"
    if channel:
        ids = [v for v in ids if v not in _SYSMON_IDS]
    if ids:
        return _id_column(ids, "A" if channel else None, service_log if channel else "") + (False,)
    if channel:
        return "A", service_log, False
    if ls.product in ("aws", "azure", "gcp", "m365", "okta", "github", "kubernetes"):
        return "A", "a cloud audit log written by the service (Application column)", True
    return None, "the rule does not say which event source it reads: the column is not decided", False


def _id_column(ids: list[str], default: str | None, why: str) -> tuple[str | None, str]:
    ev = table().raw["event_ids"]
    cols = []
    for v in ids:
        c = ev["routing"].get(v) or (ev["behaviour"].get(v) or [None])[0]
        if c:
            cols.append((c, v))
    if not cols:
        return default, why
    c, v = min(cols, key=lambda x: _COLUMN_RANK[x[0]])
    names = {"A": "Application", "U": "User-Mode", "K": "Kernel-Mode"}
    return c, f"event {v} is placed in {names.get(c, c)} by the method's column pages (or beside its peers there)"


# -- combination over the tree -------------------------------------------------------------------

_IDENTITY = ("image", "original_name")


def _native_identity(rule: NormalizedRule, node: Node, cls_wanted: tuple[str, ...], source: str) -> bool:
    """A leaf (or an OR of leaves) naming the acting (or parent) process with pre-existing tools only."""
    leaves = [node] if isinstance(node, Leaf) else (node.children if isinstance(node, Or) else [])
    if not leaves or not all(isinstance(c, Leaf) for c in leaves):
        return False
    for leaf in leaves:
        p = rule.predicates[leaf.pred]  # type: ignore[union-attr]
        cls = field_class(p.field, source)
        if not p.values or not rule.polarity.get(leaf.pred, True):  # type: ignore[union-attr]
            return False
        if (cls, cls_wanted) in (("command_line", _IDENTITY), ("parent_command_line", ("parent_image",))):
            # `CommandLine|contains|all: [schtasks, /create]`: the native tool named in one part runs the others
            if not all((_mentions_native(v) or _mentions_host(v)) and not _looks_ephemeral(v) for v in p.values):
                return False
        elif cls not in cls_wanted or not all(_is_native_name(v) for v in p.values):
            return False
    return True


_STORED = "robustness"  # rule.extra key: the score computed at load, cached with it


def attach_robustness(rule: NormalizedRule) -> None:
    """Score the rule now and keep the score with it (the loader calls this). A scoring
    fault must not cost the loader the rule: it is then scored again on demand."""
    try:
        rule.extra[_STORED] = score_rule(rule)
    except Exception:
        rule.extra.pop(_STORED, None)


def robustness_of(rule: NormalizedRule) -> Robustness:
    """The rule's STP level, column and observables (computed from its logic only; the
    score attached at load when there is one)."""
    stored = rule.extra.get(_STORED)
    return stored if isinstance(stored, Robustness) else score_rule(rule)


def score_rule(rule: NormalizedRule) -> Robustness:
    """Score the rule afresh (robustness_of reads the score attached at load)."""
    column, column_reason, cloud = column_of(rule) if rule.tree is not None else (None, "", False)
    none = _why_none(rule)
    if none:
        return Robustness(None, column, [], none, "", column_reason)
    ctx0 = _Context(source=rule.logsource.category or rule.logsource.service, column=column,
                    webserver=rule.logsource.category == "webserver" or rule.logsource.key().startswith("webserver")
                    or any(p.field in ("cs-uri-stem", "cs-uri-query") for p in rule.predicates)
                    # an exploit of a public-facing application: the URL is that application's endpoint
                    or any(t.upper() == "T1190" for t in rule.techniques),
                    cloud=cloud, channel=foreign_channel(rule))
    seen: dict[int, Observable] = {}
    pol = rule.polarity

    def leaf(i: int, ctx: _Context) -> tuple[int | None, Observable]:
        p = rule.predicates[i]
        best: tuple[int | None, str, str, str] | None = None
        best_j = 0
        # A predicate's values are alternatives: the strongest counts, except inside a filter,
        # where NOT (A OR B) is NOT A AND NOT B and the weakest exclusion decides.
        better = (lambda a, b: a < b) if ctx.negated else (lambda a, b: a > b)
        for j, v in enumerate(p.values or ("",)):
            s = score_value(p.field, p.op, v, ctx)
            if best is None or (s[0] is not None and (best[0] is None or better(s[0], best[0]))):
                best, best_j = s, j
        assert best is not None
        shown = _shown(p, best_j)
        more = len(p.values) - 1
        written = p.describe(best_j) if best_j < len(p.native_keys()) else f"{p.field} {p.op} {shown}"
        written += f" (+{more} more)" if more > 0 else ""
        obs = Observable(p.field, p.op, shown, best[0], best[1], pol.get(i, True), best[2], best[3], written)
        prev = seen.get(i)
        if prev is None or (obs.level or 0) > (prev.level or 0):
            seen[i] = obs
        return best[0], obs

    def walk(node: Node, neg: bool, ctx: _Context) -> tuple[int | None, Observable | None]:
        if isinstance(node, Leaf):
            return leaf(node.pred, ctx)
        if isinstance(node, Not):
            return walk(node.child, not neg, replace(ctx, negated=not neg))
        if isinstance(node, And):
            native = ctx.native or any(_native_identity(rule, c, _IDENTITY, ctx.source) for c in node.children)
            pnative = ctx.parent_native or any(_native_identity(rule, c, ("parent_image",), ctx.source)
                                               for c in node.children)
            if native != ctx.native or pnative != ctx.parent_native:
                ctx = replace(ctx, native=native, parent_native=pnative)
        parts = [walk(c, neg, ctx) for c in node.children]
        take_min = isinstance(node, And) != neg  # NOT flips AND and OR inside a filter
        if not take_min and any(o is not None and o.kind == "unmeetable" for _, o in parts):
            return None, None  # one branch of NOT (A AND B) always holds for an attack: the exclusion never applies
        scored = [(lv, o) for lv, o in parts if lv is not None]
        if not scored:
            return None, None
        return (min if take_min else max)(scored, key=lambda x: x[0])  # type: ignore[arg-type,return-value]

    assert rule.tree is not None
    level, decider = walk(rule.tree, False, ctx0)
    observables = [seen[i] for i in sorted(seen)]
    if level is None:
        unknown = sorted({o.field for o in observables if o.kind == "unknown"})
        if unknown:
            reason = "its fields are not in the observable table (the method does not decide them): " + ", ".join(unknown[:6])
        else:
            reason = "the rule only selects its event source (routing fields, generic event ids): no observable to score"
        return Robustness(None, column, observables, reason, "", column_reason)
    assert decider is not None
    where = "a filter" if not decider.positive else "the selection"
    reason = f"{decider.text()} ({where}) sets level {level}: {decider.reason}"
    evade = decider.evade or "change the value the rule looks for"
    if not decider.positive:
        evade = f"make the activity match the exclusion: {evade}"
    return Robustness(level, column, observables, reason, evade, column_reason, decider)


def _shown(p: Predicate, j: int) -> str:
    keys = p.native_keys()
    v = keys[j].value if j < len(keys) else (p.values[j] if j < len(p.values) else "")
    more = len(p.values) - 1
    return v + (f" (+{more} more)" if more > 0 else "")


def _why_none(rule: NormalizedRule) -> str:
    from .intent import intent as rule_intent

    if not getattr(rule, "has_logic", True):
        return "known only from a stored index: no logic to score"
    if rule.kind == "correlation":
        return "a correlation: its robustness is that of the rules it combines"
    if rule.kind == "filter":
        return "a filter only removes matches from other rules"
    what = rule_intent(rule)
    if what.kind in ("machine-learning", "alert-promotion"):
        return f"{what.note}: the method scores observables of the behaviour, which this rule does not test"
    if rule.tree is None or not rule.predicates:
        return "no logic to score"
    return ""


def is_native_name(value: str) -> bool:
    """A native binary's name (or a path ending in one): fixed by the platform, not chosen."""
    return _is_native_name(value)


def native_dll(value: str) -> bool:
    """A native DLL's name (or a path ending in one)."""
    return _basename(value) in table().native_dlls


def is_system_path(value: str) -> bool:
    """A path under a system folder an unprivileged adversary does not name."""
    return _is_system_path(value)


def adversary_tool(value: str) -> str | None:
    """The known offensive tool a value names (mimikatz, rubeus, ...), if any."""
    return _adversary_tool(value)
