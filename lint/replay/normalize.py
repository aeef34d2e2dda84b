"""Events as the evaluator reads them: a Windows event log record (the `evtx` JSON of
SigmaHQ's regression data, the flat JSON of lab recordings and Winlogbeat-less exports) or an
ECS document from a SIEM, each stated under its own field names and the canonical (ECS)
names rules are stated in, with the fields Elastic and Splunk rules derive at ingest.

Tables: `logsources.json` (which channel and event id each Sigma log source covers, from
pySigma's Sysmon and Windows pipelines) and `windows_events.json` (the ECS category, type and
action, Elastic indices and Splunk data models of each Windows event).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..model.fields import _data as _field_data, canonical_field
from .event import Event, as_strings

_HERE = Path(__file__).parent
SYSMON = "Microsoft-Windows-Sysmon/Operational"


@lru_cache(maxsize=1)
def _tables() -> tuple[dict, dict, dict]:
    sources = json.loads((_HERE / "logsources.json").read_text(encoding="utf-8"))
    windows = json.loads((_HERE / "windows_events.json").read_text(encoding="utf-8"))
    by_event: dict[tuple[str, int], set[str]] = {}
    for category, entries in sources["categories"].items():
        for e in entries:
            for eid in e["event_ids"]:
                by_event.setdefault((e["channel"].casefold(), eid), set()).add(category)
    by_channel: dict[str, set[str]] = {}
    for service, channels in sources["services"].items():
        for ch in channels:
            by_channel.setdefault(ch.casefold(), set()).add(service)
    return ({k: frozenset(v) for k, v in by_event.items()}, {k: frozenset(v) for k, v in by_channel.items()},
            windows)


def normalize(raw: dict[str, Any], event_data: frozenset[str] | None = None) -> Event:
    """One event from its JSON document, whichever of the known layouts it has.
    `event_data`: the Windows fields rules read as `winlog.event_data.*` (None: all)."""
    if isinstance(raw.get("Event"), dict) and "System" in raw["Event"]:
        return windows_event(flatten_evtx(raw), event_data)
    if "EventID" in raw and ("Channel" in raw or "SourceName" in raw):
        return windows_event(flatten_record(raw), event_data)
    return ecs_event(raw)


# -- Windows event logs -------------------------------------------------------

def flatten_evtx(doc: dict[str, Any]) -> dict[str, Any]:
    """The `evtx` JSON of one record as Windows field names: EventData (or UserData) as is,
    System's EventID, Channel, Computer, Provider_Name and time."""
    ev = doc["Event"]
    system = ev.get("System") or {}
    out: dict[str, Any] = {}
    data = ev.get("EventData")
    if not isinstance(data, dict):
        user = ev.get("UserData")
        data = next(iter(user.values()), {}) if isinstance(user, dict) and user else {}
        data = data if isinstance(data, dict) else {}
    for k, v in data.items():
        if k == "#attributes":
            continue
        out[k] = json.dumps(v, sort_keys=True) if isinstance(v, dict) else v
        if " " in k:  # Defender writes `Threat Name`; SIEMs and Sigma's taxonomy read `ThreatName`
            out.setdefault(k.replace(" ", ""), out[k])
    eid = system.get("EventID")
    if isinstance(eid, dict):
        eid = eid.get("#text", eid.get("value"))
    out["EventID"] = eid
    out["Channel"] = system.get("Channel")
    out["Computer"] = system.get("Computer")
    provider = system.get("Provider") or {}
    out["Provider_Name"] = (provider.get("#attributes") or {}).get("Name") if isinstance(provider, dict) else None
    created = system.get("TimeCreated") or {}
    out["@time"] = (created.get("#attributes") or {}).get("SystemTime") if isinstance(created, dict) else None
    return out


# Lab exports flatten System under other names.
_RECORD_RENAMES = {"SourceName": "Provider_Name", "Hostname": "Computer"}
_RECORD_DROP = {"Message", "@version", "tags", "port", "host", "Keywords", "Task", "Level", "Opcode",
                "EventType", "Severity", "SeverityValue", "RecordNumber", "ProviderGuid", "Version"}


def flatten_record(doc: dict[str, Any]) -> dict[str, Any]:
    """A flat Windows record (Security-Datasets, NXLog): System fields renamed to Sigma's names."""
    out = dict(doc)
    out["@time"] = doc.get("@timestamp") or doc.get("TimeCreated") or doc.get("EventTime")
    for k in _RECORD_DROP.intersection(doc):
        del out[k]
    for old, new in _RECORD_RENAMES.items():
        if old in out:
            out[new] = out.pop(old)
    out.pop("@timestamp", None)
    return out


_SYSTEM_FIELDS = frozenset({"EventID", "Channel", "Computer", "Provider_Name"})
_SHAPES: dict[tuple, tuple] = {}  # (field names, categories, wanted event data) -> what to copy where
MAX_SHAPES = 20_000


def _shape(names: tuple[str, ...], categories: frozenset[str], event_data: frozenset[str] | None) -> tuple:
    """For events of one kind (the same fields, the same log source): the (native, other name)
    pairs to copy. Computed once per kind: a recording holds a few dozen kinds."""
    key = (names, categories, event_data)
    hit = _SHAPES.get(key)
    if hit is None:
        wanted = names if event_data is None else [k for k in names if k in event_data]
        data = tuple((k, f"winlog.event_data.{k}") for k in wanted if k not in _SYSTEM_FIELDS)
        canon: dict[str, str] = {}
        for cat in sorted(categories) or [""]:
            for k in names:
                if k in _SYSTEM_FIELDS:
                    continue
                c = _canonical(k, cat)
                if c != k and c not in canon and c not in names:
                    canon[c] = k
        hit = (data, tuple((k, c) for c, k in canon.items()))
        if len(_SHAPES) < MAX_SHAPES:
            _SHAPES[key] = hit
    return hit


def windows_event(flat: dict[str, Any], event_data: frozenset[str] | None = None) -> Event:
    by_event, by_channel, tables = _tables()
    channel = str(flat.get("Channel") or "")
    try:
        eid = int(flat.get("EventID"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        eid = -1
    categories = by_event.get((channel.casefold(), eid), frozenset())
    services = by_channel.get(channel.casefold(), frozenset())
    when = flat.pop("@time", None)
    fields: dict[str, tuple[str, ...]] = {}
    for k, v in flat.items():
        fields[k] = (v,) if type(v) is str else as_strings(v)
    native = tuple(fields)
    data, canon = _shape(native, categories, event_data)
    for k, name in data:
        # Winlogbeat keeps every event field here too; Elastic's rules read some of them so.
        fields[name] = fields[k]
    for k, c in canon:
        fields[c] = fields[k]
    host = str(flat.get("Computer") or "")
    _common_windows(fields, channel, eid, host, flat.get("Provider_Name"))
    derive_ecs(fields)
    ecs = tables["ecs"].get(channel, {}).get(str(eid))
    if ecs:
        fields["event.category"] = tuple(ecs["category"])
        fields["event.type"] = tuple(ecs["type"])
        fields["event.action"] = (ecs["action"],)
    indices = tuple(tables["elastic_indices"].get(channel) or tables["elastic_indices"][""])
    models = {m for cat in categories for m in tables["splunk_datamodels"].get(cat, ())}
    if eid in tables["splunk_services_events"].get(channel, ()):
        models.add("Endpoint.Services")
    return Event(fields=fields, product="windows", categories=categories, services=services, indices=indices,
                 datamodels=frozenset(models), host=host, when=when, native=native)


@lru_cache(maxsize=65536)
def _canonical(name: str, category: str) -> str:
    return canonical_field("sigma", name, category)


def _common_windows(fields: dict[str, tuple[str, ...]], channel: str, eid: int, host: str, provider: Any) -> None:
    put = fields.setdefault
    put("event.code", (str(eid),))
    put("EventCode", (str(eid),))  # the name Splunk's Windows add-on gives it
    put("winlog.channel", (channel,))
    put("winlog.event_id", (str(eid),))
    if provider:
        put("winlog.provider_name", (str(provider),))
        put("event.provider", (str(provider),))
    if host:
        put("host.name", (host,))
        put("host.hostname", (host,))
        put("dest", (host,))
    put("host.os.type", ("windows",))
    put("host.os.family", ("windows",))
    put("host.os.platform", ("windows",))
    put("source", (f"XmlWinEventLog:{channel}",))
    put("sourcetype", ("XmlWinEventLog",))
    put("event.module", ("sysmon" if channel == SYSMON else "windows",))


# -- fields derived at ingest ---------------------------------------------------

def derive_ecs(fields: dict[str, tuple[str, ...]]) -> None:
    """Fields an ECS pipeline derives from others: names from paths, arguments from the
    command line, user and domain from `DOMAIN\\user`, registry parts, hashes."""
    for path_field, name_field in _field_data()["name_fields"].items():
        if path_field in fields and name_field not in fields:
            fields[name_field] = tuple(_basename(v) for v in fields[path_field])
    for prefix in ("process", "process.parent"):
        line = fields.get(f"{prefix}.command_line")
        if line and f"{prefix}.args" not in fields:
            args = split_command_line(line[0])
            fields[f"{prefix}.args"] = tuple(args)
            fields.setdefault(f"{prefix}.args_count", (str(len(args)),))
    for name in ("file.name", "dll.name", "process.name"):
        ext_field = name.rsplit(".", 1)[0] + ".extension"
        if name in fields and ext_field not in fields:
            exts = tuple(v.rsplit(".", 1)[1] for v in fields[name] if "." in v)
            if exts:
                fields[ext_field] = exts
    user = fields.get("user.name")
    if user and "\\" in user[0]:
        domain, _, name = user[0].partition("\\")
        fields["user.name"] = (name,)
        fields.setdefault("user.domain", (domain,))
    reg = fields.get("registry.path")
    if reg:
        path = reg[0]
        hive, _, rest = path.partition("\\")
        fields.setdefault("registry.hive", (hive,))
        key, _, value = path.rpartition("\\")
        fields.setdefault("registry.key", (rest.rpartition("\\")[0] if rest else "",))
        fields.setdefault("registry.value", (value,))
        fields.setdefault("registry.data.strings", fields.get("Details", ()))
    hashes = fields.get("Hashes") or fields.get("Hash")
    if hashes:
        target = "dll" if "dll.path" in fields else "file" if "file.path" in fields and "process.command_line" not in fields \
            else "process"
        for part in hashes[0].split(","):
            algo, _, digest = part.partition("=")
            if digest:
                fields.setdefault(f"{target}.hash.{algo.strip().lower()}", (digest.strip().lower(),))


def _basename(path: str) -> str:
    cut = max(path.rfind("\\"), path.rfind("/"))
    return path[cut + 1:]


def split_command_line(line: str) -> list[str]:
    """Arguments as Windows' CommandLineToArgvW splits them (quotes group, backslashes
    before a quote escape it), which is how Elastic fills `process.args`."""
    args: list[str] = []
    cur: list[str] = []
    in_quotes = False
    have = False
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            j = i
            while j < n and line[j] == "\\":
                j += 1
            count = j - i
            if j < n and line[j] == '"':
                cur.append("\\" * (count // 2))
                if count % 2:
                    cur.append('"')
                    i = j + 1
                else:
                    i = j
                have = True
                continue
            cur.append("\\" * count)
            have = True
            i = j
            continue
        if c == '"':
            in_quotes = not in_quotes
            have = True
        elif c in " \t" and not in_quotes:
            if have:
                args.append("".join(cur))
                cur, have = [], False
        else:
            cur.append(c)
            have = True
        i += 1
    if have:
        args.append("".join(cur))
    return args


def epoch(value: Any) -> float | None:
    if not value:
        return None
    if isinstance(value, (int, float)):
        return float(value) / (1000.0 if value > 1e11 else 1.0)
    try:
        dt = datetime.fromisoformat(str(value))  # Python 3.11 reads Z and 7-digit fractions
        if dt.tzinfo is None:
            from datetime import timezone
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.timestamp()
    except ValueError:
        pass
    text = str(value).strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Fractions longer than microseconds (evtx writes 7 digits) are cut to six.
    if "." in text:
        head, _, frac = text.partition(".")
        digits = "".join(ch for ch in frac if ch.isdigit())
        zone = frac[len(digits):]
        text = f"{head}.{digits[:6]}{zone}"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        from datetime import timezone
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


# -- ECS documents ------------------------------------------------------------------

# ECS event.category/type pairs and the Sigma categories and Splunk datasets they are.
_ECS_CATEGORIES = {
    ("process", "start"): (("process_creation",), "Endpoint.Processes"),
    ("file", "creation"): (("file_event",), "Endpoint.Filesystem"),
    ("file", "deletion"): (("file_delete",), "Endpoint.Filesystem"),
    ("registry", "change"): (("registry_set", "registry_event"), "Endpoint.Registry"),
    ("library", "start"): (("image_load",), ""),
    ("driver", "start"): (("driver_load",), ""),
    ("network", "start"): (("network_connection",), "Network_Traffic.All_Traffic"),
    ("network", "connection"): (("network_connection",), "Network_Traffic.All_Traffic"),
    ("authentication", "start"): (("authentication",), "Authentication.Authentication"),
}


def ecs_event(doc: dict[str, Any]) -> Event:
    """An ECS document (nested or dotted keys), as exported from Elasticsearch or a data lake."""
    fields: dict[str, tuple[str, ...]] = {}
    _flatten_into(doc.get("_source", doc) if isinstance(doc.get("_source"), dict) else doc, "", fields)
    derive_ecs(fields)
    cats = {c.casefold() for c in fields.get("event.category", ())}
    types = {t.casefold() for t in fields.get("event.type", ())}
    sigma_cats, models = set(), set()
    for (c, t), (named, model) in _ECS_CATEGORIES.items():
        if c in cats and t in types:
            sigma_cats.update(named)
            if model:
                models.add(model)
    if "dns.question.name" in fields:
        sigma_cats.add("dns_query")
        models.add("Network_Resolution.DNS")
    os_type = (fields.get("host.os.type") or fields.get("host.os.family") or ("",))[0].casefold()
    channel = (fields.get("winlog.channel") or ("",))[0]
    _, by_channel, _ = _tables()
    index = doc.get("_index")
    dataset = (fields.get("data_stream.dataset") or fields.get("event.dataset") or ("",))[0]
    indices = tuple(i for i in (str(index) if index else "", f"logs-{dataset}-default" if dataset else "") if i)
    host = (fields.get("host.name") or fields.get("host.hostname") or ("",))[0]
    ts = doc.get("@timestamp") or (fields.get("@timestamp") or (None,))[0]
    return Event(fields=fields, product=os_type, categories=frozenset(sigma_cats),
                 services=by_channel.get(channel.casefold(), frozenset()), indices=indices,
                 datamodels=frozenset(models), host=host, when=ts)


def _flatten_into(value: Any, prefix: str, out: dict[str, tuple[str, ...]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten_into(v, f"{prefix}.{k}" if prefix else str(k), out)
        return
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for v in value:  # arrays of objects: every leaf joins its dotted field
            part: dict[str, tuple[str, ...]] = {}
            _flatten_into(v, prefix, part)
            for k, vals in part.items():
                out[k] = out.get(k, ()) + vals
        return
    out[prefix] = as_strings(value)
