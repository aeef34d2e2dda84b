"""Generate lint/data/prevalence.json: how common a value is in ordinary benign telemetry.

The data half of the noise model's prevalence prior. For each log source (Sigma category, keys
canonical ECS names via rulelint.model.fields) it lists values with what is known about them,
and the provenance of every part. Reads (read-only; default root $RULELINT_SHARED_PREVALENCE or
../shared/prevalence, Splunk corpus $RULELINT_SHARED_CORPUS or ../shared/corpus):

  * OTRF/Security-Datasets (MIT): otrf-security-datasets/atomic/windows/**/*.zip, the JSON
    event files in each (one event object per line; .cap/.pcapng members are ignored, so zips
    holding only packet captures add no recording). Measured, per value:
      - "recordings": in how many recordings (zips with JSON events) the value occurs;
      - "events": how many events carry it, summed over recordings;
      - "running_recordings" (process_creation / process.name only): in how many recordings any
        event names the image (Image, ParentImage, SourceImage, TargetImage, Security
        NewProcessName / ParentProcessName / ProcessName / Application), i.e. it ran on the host.
        Process creation events are sparse (a recording spans minutes), so cmd.exe is created in
        about a third of the recordings but runs in most.
    Fields: Sysmon 1 / Security 4688 process image basename and full path (users normalised),
    the words of their command lines (process.command_line#token, from TOKEN_MIN_RECORDINGS on),
    parent>child basename pairs; Sysmon 22 QueryName (full and registered domain); Sysmon 7
    ImageLoaded basename; Sysmon 12/13/14 TargetObject (registry_event; 13 also registry_set)
    truncated to a stable prefix; Sysmon 11 TargetFilename directory prefix; Sysmon 3 image and
    destination port/host; Sysmon 17/18 PipeName; Sysmon 10 source/target image; event ids per
    channel.
    LIMITS: these are lab VMs (a handful of hosts of one lab domain, mordor.local), each recorded
    for minutes around one simulated attack, not enterprise-scale counts. The attack's own
    events are inside the recordings and are NOT removed (the datasets' adversary_view is free
    text, too unreliable to filter on); use "recordings" rather than "events": a value seen in
    >= 10 recordings is background, not one attack, while "events" can be dominated by one noisy
    recording. A value absent from the table (or without counts) was not seen in the lab, or was
    pruned; unknown is not rare.
  * olafhartong/sysmon-modular (MIT), sysmonconfig-excludes-only.xml, and
    SwiftOnSecurity/sysmon-config (CC-BY-4.0), sysmonconfig-export.xml: every condition under an
    onmatch="exclude" filter (values excluded from logging as high-volume benign), with the
    condition as op (is, contains, endswith, startswith, image, contains_any, contains_all,
    excludes_all); conditions inside one <Rule groupRelation="and"> share an "and_group" id
    (they only exclude together). sysmon-config's same-line comment (the product) is the note,
    else its current SECTION comment.
  * Neo23x0/auditd (Apache-2.0), audit.rules: `never` / `exclude` rules (Linux noise), each -F
    filter except arch/key; a rule's filters share an and_group.
  * splunk/security_content (Apache-2.0), lookups/is_windows_system_file*.csv: native Windows
    binaries (System32/SysWOW64 of Server 2016 and Windows 10): "native": true on process names;
    every native name is listed under process_creation / process.name even if unseen in the lab.

Values are casefolded. Normalisation (the placeholder is "*"): C:\\Users\\<name>\\ ->
c:\\users\\*\\ (public and default kept), SIDs S-1-5-21-... and GUIDs -> *, long hex/digit runs in
pipe names -> *. Registry paths are cut to REG_DEPTH keys, directories to DIR_DEPTH parts.
Values seen in a single recording with < MIN_EVENTS events are pruned unless an exclusion list
or the native list names them. Exclusion values enter the table ("excluded_by") only when the
condition pins a value: is / image / endswith of a full path or basename (process and dll
names, executables) or of a domain (dns / destination names); the rest stay in "excluded" only.

Output: json.dumps(indent=1, sort_keys=True) + newline; deterministic (zips scanned in sorted
order, counts are sums, lists sorted).

Usage: .venv/bin/python tools/gen_prevalence.py [--prevalence DIR] [--corpus DIR] [--jobs N] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import io
import json
import multiprocessing
import os
import re
import sys
import time
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # so `lint` is importable from a checkout without install
try:
    from rulelint.model.fields import canonical_field, name_field
except ImportError:  # pragma: no cover - checkout without the package installed
    from lint.model.fields import canonical_field, name_field

OUT = REPO / "lint" / "data" / "prevalence.json"
PREVALENCE = Path(os.environ.get("RULELINT_SHARED_PREVALENCE", REPO.parent / "shared" / "prevalence"))
CORPUS = Path(os.environ.get("RULELINT_SHARED_CORPUS", REPO.parent / "shared" / "corpus"))

MIN_EVENTS = 5  # pruning: keep single-recording values only from this many events on
TOKEN_MIN_RECORDINGS = 10  # command-line words: kept only from this many recordings on
TOKEN_FIELDS = ("process.command_line#token",)
REG_DEPTH = 6  # registry path components kept (hive included)
DIR_DEPTH = 6  # directory components kept (drive included)

SOURCES_META = {
    "otrf": {"repository": "OTRF/Security-Datasets", "commit": "d9d40ef1", "licence": "MIT",
             "files": "datasets/atomic/windows/**/*.zip"},
    "sysmon-modular": {"repository": "olafhartong/sysmon-modular", "commit": "a507259", "licence": "MIT",
                       "files": "sysmonconfig-excludes-only.xml"},
    "sysmon-config": {"repository": "SwiftOnSecurity/sysmon-config", "commit": "1836897", "licence": "CC-BY-4.0",
                      "files": "sysmonconfig-export.xml"},
    "auditd": {"repository": "Neo23x0/auditd", "commit": "9622068", "licence": "Apache-2.0",
               "files": "audit.rules"},
    "splunk-lookup": {"repository": "splunk/security_content", "commit": "b13b314a", "licence": "Apache-2.0",
                      "files": "lookups/is_windows_system_file*.csv"},
}

SYSMON = "microsoft-windows-sysmon/operational"
SECURITY = "security"
# Sysmon XML filter element -> Sigma category
SYSMON_ELEMENTS = {
    "ProcessCreate": "process_creation", "FileCreateTime": "file_change", "NetworkConnect": "network_connection",
    "ProcessTerminate": "process_termination", "DriverLoad": "driver_load", "ImageLoad": "image_load",
    "CreateRemoteThread": "create_remote_thread", "RawAccessRead": "raw_access_thread",
    "ProcessAccess": "process_access", "FileCreate": "file_event", "RegistryEvent": "registry_event",
    "FileCreateStreamHash": "create_stream_hash", "PipeEvent": "pipe_created", "WmiEvent": "wmi_event",
    "DnsQuery": "dns_query", "FileDelete": "file_delete", "ClipboardChange": "clipboard_change",
    "ProcessTampering": "process_tampering", "FileDeleteDetected": "file_delete_detected",
    "FileBlockExecutable": "file_block_executable", "FileBlockShredding": "file_block_shredding",
}
OPS = {"is": "is", "is not": "is_not", "contains": "contains", "contains any": "contains_any",
       "contains all": "contains_all", "excludes": "excludes", "excludes any": "excludes_any",
       "excludes all": "excludes_all", "begin with": "startswith", "end with": "endswith",
       "not begin with": "not_startswith", "not end with": "not_endswith", "less than": "less_than",
       "more than": "more_than", "image": "image"}
# two-label public suffixes common enough to matter for a registered-domain heuristic
TWO_LEVEL_SUFFIXES = {"co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.jp", "ne.jp",
                      "com.br", "com.cn", "com.tw", "co.in", "co.kr", "co.nz", "co.za", "com.mx", "com.tr",
                      "azurewebsites.net", "cloudapp.net", "blob.core.windows.net", "trafficmanager.net",
                      "akamaiedge.net", "akadns.net", "edgekey.net", "edgesuite.net", "cloudfront.net",
                      "amazonaws.com", "appspot.com", "githubusercontent.com"}

# --- normalisation ---------------------------------------------------------------------------
_USER = re.compile(r"^([a-z]:\\users\\)(?!public\\|default\\|\*\\)[^\\]+(\\|$)")
_GUID = re.compile(r"\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?")
_SID = re.compile(r"s-1-5-21-\d+-\d+-\d+(-\d+)?")
_RUN = re.compile(r"(?<![a-z])[0-9a-f]*\d[0-9a-f]{3,}(?![a-z])")  # hex/digit runs with >= 4 chars, one digit
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$|:")


def _ids(s: str) -> str:
    s = _GUID.sub(lambda m: "{*}" if m.group(0).startswith("{") else "*", s)
    return _SID.sub("*", s)


def norm_path(p: str) -> str:
    """Casefolded Windows path, per-user and per-install parts replaced by *."""
    p = p.strip().strip('"').casefold()
    p = _USER.sub(r"\1*\2", p)
    return _ids(p)


def basename(p: str) -> str:
    p = p.strip().strip('"').replace("/", "\\")
    return p.rsplit("\\", 1)[-1].casefold()


def directory(p: str) -> str:
    parts = norm_path(p).split("\\")[:-1]
    return "\\".join(parts[:DIR_DEPTH]) + "\\" if parts else ""


def reg_prefix(p: str) -> str:
    p = p.strip().casefold()
    for long, short in (("\\registry\\machine\\", "hklm\\"), ("\\registry\\user\\", "hku\\")):
        if p.startswith(long):
            p = short + p[len(long):]
    p = _ids(p)
    return "\\".join(p.split("\\")[:REG_DEPTH])


def pipe_name(p: str) -> str:
    return _RUN.sub("*", _ids(html.unescape(p).strip().casefold()))


def registered_domain(name: str) -> str | None:
    labels = [x for x in name.split(".") if x]
    if len(labels) < 2 or _IP.search(name):
        return None
    for n in (4, 3):  # longest listed suffix wins
        if len(labels) > n - 1 and ".".join(labels[-(n - 1):]) in TWO_LEVEL_SUFFIXES:
            return ".".join(labels[-n:])
    return ".".join(labels[-2:])


def dns_name(q: str) -> str | None:
    q = q.strip().rstrip(".").casefold()
    return q or None


# --- OTRF recordings ---------------------------------------------------------------------------
F = {}  # (category, native field) -> canonical, filled lazily in each process


def cf(cat: str, native: str) -> str:
    key = (cat, native)
    if key not in F:
        F[key] = canonical_field("sigma", native, cat)
    return F[key]


def nf(cat: str, native: str) -> str:
    path = cf(cat, native)
    return name_field(path) or path


# any event naming a process image is evidence it ran on the host during the recording
RUNNING_FIELDS = ("Image", "ParentImage", "SourceImage", "TargetImage", "NewProcessName", "ParentProcessName",
                  "ProcessName", "Application")
RUNNING = "*running"


_CMD_TOKEN = re.compile(r'[^\s"\']+')


def cmd_tokens(cmd: str) -> set[str]:
    """Whitespace-separated words of a command line, unquoted, casefolded, user parts normalised."""
    return {_ids(norm_path(t)) if "\\" in t else t.casefold() for t in _CMD_TOKEN.findall(cmd)[:200] if len(t) <= 60}


def _event_values(e: dict) -> list[tuple[str, str, str]]:
    """(category, canonical field, value) triples one event contributes."""
    ch = str(e.get("Channel") or "").casefold()
    eid = e.get("EventID")
    try:
        eid = int(eid)
    except (TypeError, ValueError):
        return []
    out = [("windows_eventlog", "winlog.channel", ch), ("windows_eventlog", "winlog.channel>event.code", f"{ch}>{eid}")]
    g = e.get
    running = {basename(str(g(k))) for k in RUNNING_FIELDS if g(k) and str(g(k)) != "-"}
    out += [(RUNNING, "process.name", n) for n in running if n]
    if (ch == SYSMON and eid == 1 or ch == SECURITY and eid == 4688) and g("CommandLine"):
        out += [("process_creation", TOKEN_FIELDS[0], t) for t in cmd_tokens(str(g("CommandLine")))]
    if ch == SYSMON:
        if eid == 1 and g("Image"):
            c = "process_creation"
            out += [(c, nf(c, "Image"), basename(g("Image"))), (c, cf(c, "Image"), norm_path(g("Image")))]
            if g("ParentImage"):
                out += [(c, nf(c, "ParentImage"), basename(g("ParentImage"))),
                        (c, f"{nf(c, 'ParentImage')}>{nf(c, 'Image')}", f"{basename(g('ParentImage'))}>{basename(g('Image'))}")]
        elif eid == 22 and g("QueryName"):
            c = "dns_query"
            q = dns_name(str(g("QueryName")))
            if q:
                out.append((c, cf(c, "QueryName"), q))
                rd = registered_domain(q)
                if rd:
                    out.append((c, "dns.question.registered_domain", rd))
        elif eid == 7 and g("ImageLoaded"):
            c = "image_load"
            out.append((c, nf(c, "ImageLoaded"), basename(g("ImageLoaded"))))
        elif eid in (12, 13, 14) and g("TargetObject"):
            v = reg_prefix(g("TargetObject"))
            out.append(("registry_event", cf("registry_event", "TargetObject"), v))
            if eid == 13:
                out.append(("registry_set", cf("registry_set", "TargetObject"), v))
        elif eid == 11 and g("TargetFilename"):
            c = "file_event"
            d = directory(g("TargetFilename"))
            if d:
                out.append((c, "file.directory", d))
        elif eid == 3:
            c = "network_connection"
            if g("Image"):
                out.append((c, nf(c, "Image"), basename(g("Image"))))
            if g("DestinationPort") not in (None, ""):
                out.append((c, cf(c, "DestinationPort"), str(g("DestinationPort"))))
            h = dns_name(str(g("DestinationHostname") or ""))
            if h and h != "-":
                out.append((c, cf(c, "DestinationHostname"), h))
        elif eid in (17, 18) and g("PipeName"):
            c = "pipe_created"
            out.append((c, cf(c, "PipeName"), pipe_name(g("PipeName"))))
        elif eid == 10 and g("SourceImage"):
            c = "process_access"
            out.append((c, nf(c, "SourceImage"), basename(g("SourceImage"))))
            if g("TargetImage"):
                out.append((c, nf(c, "TargetImage").replace(".executable", ".name"), basename(g("TargetImage"))))
    elif ch == SECURITY and eid == 4688 and g("NewProcessName"):
        c = "process_creation"
        out += [(c, nf(c, "Image"), basename(g("NewProcessName"))), (c, cf(c, "Image"), norm_path(g("NewProcessName")))]
        if g("ParentProcessName"):
            out += [(c, nf(c, "ParentImage"), basename(g("ParentProcessName"))),
                    (c, f"{nf(c, 'ParentImage')}>{nf(c, 'Image')}", f"{basename(g('ParentProcessName'))}>{basename(g('NewProcessName'))}")]
    return out


def scan_zip(path: str) -> tuple[str, int, list[str], dict]:
    """One recording: (path, events, host names, {(category, field, value): events})."""
    counts: Counter = Counter()
    n = 0
    hosts: set[str] = set()
    with zipfile.ZipFile(path) as z:
        for member in sorted(z.namelist()):
            if not member.casefold().endswith(".json"):
                continue
            with z.open(member) as fh:
                for line in io.BufferedReader(fh):
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        e = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if not isinstance(e, dict):
                        continue
                    n += 1
                    h = e.get("Hostname") or e.get("Computer")
                    if h:
                        hosts.add(str(h).casefold())
                    counts.update(_event_values(e))
    return path, n, sorted(hosts), dict(counts)


def scan_otrf(root: Path, jobs: int) -> tuple[dict, dict]:
    zips = sorted(str(p) for p in (root / "otrf-security-datasets" / "atomic" / "windows").rglob("*.zip"))
    table: dict = defaultdict(lambda: [0, 0])  # (cat, field, value) -> [recordings, events]
    events = recordings = 0
    hosts: set[str] = set()
    digest = hashlib.sha256()
    with multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn").Pool(jobs) as pool:
        for path, n, hs, counts in pool.imap(scan_zip, zips, chunksize=1):  # imap keeps the order
            rel = os.path.relpath(path, root)
            digest.update(f"{rel}\0{os.path.getsize(path)}\n".encode())
            if not n:
                continue
            recordings += 1
            events += n
            hosts.update(hs)
            for k, v in counts.items():
                t = table[k]
                t[0] += 1
                t[1] += v
    meta = {"zips": len(zips), "recordings": recordings, "events": events, "hosts": len(hosts),
            "zips_sha256": digest.hexdigest()[:16],
            "note": "recordings = zips with JSON events (zips of packet captures only are not counted)"}
    return dict(table), meta


# --- exclusion lists ---------------------------------------------------------------------------
def _sysmon_excludes(path: Path, by: str) -> list[dict]:
    tree = ET.parse(path, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    out: list[dict] = []
    group = 0

    def walk(node, cat, and_group, section):
        nonlocal group
        kids = list(node)
        for i, el in enumerate(kids):
            if el.tag is ET.Comment:
                text = (el.text or "").strip()
                if text.upper().startswith("SECTION:"):
                    section = text.split(":", 1)[1].strip()
                continue
            if el.tag == "Rule":
                ag = and_group
                if (el.get("groupRelation") or "or").casefold() == "and":
                    group += 1
                    ag = group
                walk(el, cat, ag, section)
                continue
            if el.get("condition") is None:
                continue
            note = None
            nxt = kids[i + 1] if i + 1 < len(kids) else None
            if nxt is not None and nxt.tag is ET.Comment and "\n" not in (el.tail or ""):
                note = (nxt.text or "").strip()
            note = note or section
            entry = {"source": cat, "field": cf(cat, el.tag), "op": OPS.get(el.get("condition"), el.get("condition")),
                     "value": (el.text or "").strip(), "by": by}
            if and_group:
                entry["and_group"] = f"{by}#{and_group}"
            if note:
                entry["note"] = note
            out.append(entry)

    for rg in tree.getroot().iter("RuleGroup"):
        for filt in rg:
            if filt.tag in SYSMON_ELEMENTS and (filt.get("onmatch") or "").casefold() == "exclude":
                cat = SYSMON_ELEMENTS[filt.tag]
                walk(filt, cat, 0, None)
    return out


AUDITD_FIELDS = {"exe": "process.executable", "path": "file.path", "dir": "file.directory",
                 "comm": "process.name", "msgtype": "auditd.message_type"}


def _auditd_excludes(path: Path) -> list[dict]:
    out: list[dict] = []
    comment = None
    n = 0
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            text = line.lstrip("#").strip()
            if text and not text.startswith("-"):
                comment = text
            continue
        if not line:
            comment = None
            continue
        toks = line.split()
        if "-a" not in toks:
            continue
        action = toks[toks.index("-a") + 1].split(",")
        if not ({"never", "exclude"} & set(action)):
            continue
        filters = [toks[i + 1] for i, t in enumerate(toks[:-1]) if t == "-F"]
        filters = [f for f in filters if not f.startswith(("arch=", "key="))]
        if not filters:
            continue
        n += 1
        for f in filters:
            name, op, value = re.match(r"([^=!<>]+)(!=|<=|>=|=|<|>)(.*)", f).groups()
            entry = {"source": "linux_process", "field": AUDITD_FIELDS.get(name, f"auditd.{name}"),
                     "op": "is" if op == "=" else op, "value": value, "by": "auditd"}
            if name == "dir":
                entry["op"] = "startswith"
            if len(filters) > 1:
                entry["and_group"] = f"auditd#{n}"
            if comment:
                entry["note"] = comment
            out.append(entry)
    return out


def excluded(root: Path) -> list[dict]:
    out = (_sysmon_excludes(root / "sysmon-modular" / "sysmonconfig-excludes-only.xml", "sysmon-modular")
           + _sysmon_excludes(root / "sysmon-config" / "sysmonconfig-export.xml", "sysmon-config")
           + _auditd_excludes(root / "auditd" / "audit.rules"))
    seen, uniq = set(), []
    for e in out:
        k = json.dumps(e, sort_keys=True)
        if k not in seen:
            seen.add(k)
            uniq.append(e)
    return sorted(uniq, key=lambda e: (e["source"], e["field"], e["op"], e["value"], e["by"], e.get("and_group", ""), e.get("note", "")))


def native_names(corpus: Path) -> tuple[set[str], list[str]]:
    files = sorted((corpus / "splunk" / "lookups").glob("is_windows_system_file*.csv"))
    names: set[str] = set()
    for f in files:
        with f.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if str(row.get("systemFile", "")).casefold() == "true" and row.get("filename"):
                    names.add(row["filename"].strip().casefold())
    return names, [f.name for f in files]


def _pinned(e: dict) -> list[tuple[str, str, str]]:
    """(category, field, value) keys an exclusion pins in the table, if any."""
    src, field, op, v = e["source"], e["field"], e["op"], e["value"].strip().strip('"')
    if not v or op not in ("is", "image", "endswith") or e.get("and_group"):
        return []
    out = []
    if field.endswith((".executable", ".path")) and src != "linux_process":
        if re.match(r"^[a-z]:\\", v, re.I):  # absolute path: the executable itself is pinned
            out.append((src, field, norm_path(v)))
        base = basename(v)
        if base:
            out.append((src, name_field(field) or field, base))
    elif field in ("dns.question.name", "destination.domain"):
        q = v.casefold().lstrip("*")
        if op == "is":
            out.append((src, field, q.rstrip(".")))
        elif q.startswith(".") and registered_domain(q[1:]) == q[1:] and field == "dns.question.name":
            out.append((src, "dns.question.registered_domain", q[1:]))
    elif src == "linux_process" and op == "is":
        out.append((src, field, v))
    elif field == "file.name" and src == "pipe_created" and op == "is":
        out.append((src, field, pipe_name(v)))
    return out


def build(root: Path, corpus: Path, jobs: int, otrf: tuple[dict, dict] | None = None) -> dict:
    table, meta = otrf if otrf is not None else scan_otrf(root, jobs)
    excl = excluded(root)
    native, native_files = native_names(corpus)
    pinned: dict = defaultdict(set)
    for e in excl:
        for k in _pinned(e):
            pinned[k].add(e["by"])
    out: dict = defaultdict(lambda: defaultdict(dict))
    keep = set(pinned) | {("process_creation", "process.name", n) for n in native}
    for k, (rec, ev) in table.items():
        if k[0] == RUNNING:
            continue
        if k[1] in TOKEN_FIELDS:
            if rec >= TOKEN_MIN_RECORDINGS:
                out[k[0]][k[1]][k[2]] = {"recordings": rec, "events": ev}
        elif rec >= 2 or ev >= MIN_EVENTS or k in keep or k[0] == "windows_eventlog":
            out[k[0]][k[1]][k[2]] = {"recordings": rec, "events": ev}
    for k, by in pinned.items():
        out[k[0]][k[1]].setdefault(k[2], {})["excluded_by"] = sorted(by)
    for n in native:
        out["process_creation"]["process.name"].setdefault(n, {})
    for (cat, field, n), (rec, _ev) in table.items():
        if cat == RUNNING and (rec >= 2 or n in out["process_creation"]["process.name"]):
            out["process_creation"]["process.name"].setdefault(n, {})["running_recordings"] = rec
    for cat, fields in out.items():
        for field, values in fields.items():
            if field.split(">")[-1] in ("process.name", "process.parent.name", "target.process.name"):
                for v, entry in values.items():
                    if v.split(">")[-1] in native:
                        entry["native"] = True
    counts = {"otrf": meta, "excluded": Counter(e["by"] for e in excl)}
    prov_sources = {k: dict(v) for k, v in SOURCES_META.items()}
    prov_sources["otrf"].update(meta)
    for by in ("sysmon-modular", "sysmon-config", "auditd"):
        prov_sources[by]["conditions"] = counts["excluded"].get(by, 0)
    prov_sources["splunk-lookup"].update({"native_names": len(native), "lookup_files": native_files})
    return {
        "provenance": {
            "generator": "tools/gen_prevalence.py",
            "meaning": {
                "recordings": "OTRF lab recordings (of those with JSON events) the value occurs in",
                "events": "OTRF events carrying the value, summed over recordings (lab VMs, attack events included)",
                "running_recordings": "process_creation/process.name only: OTRF recordings in which any event names the image (as actor, parent, source/target, Security ProcessName/Application), i.e. it ran on the host; creation events are sparse (minutes per recording)",
                "#token": "process.command_line#token: whitespace-separated words of Sysmon 1 / Security 4688 command lines, casefolded, kept from %d recordings on (attack command lines recur across recordings: the score counts a word as background only from a quarter of them)" % TOKEN_MIN_RECORDINGS,
                "native": "in Splunk's is_windows_system_file lookup (System32/SysWOW64 binary)",
                "excluded_by": "Sysmon/auditd configurations that exclude the value from logging as benign noise",
                "absent": "no counts = not seen in OTRF (or pruned: 1 recording and < %d events); unknown is not rare" % MIN_EVENTS,
                "*": "placeholder for a normalised per-user/per-install part (user name, SID, GUID, id run)",
            },
            "normalisation": {"case": "casefold", "registry_depth": REG_DEPTH, "directory_depth": DIR_DEPTH,
                              "min_events_single_recording": MIN_EVENTS},
            "sources": prov_sources,
        },
        "sources": out,
        "excluded": excl,
    }


def dump(doc: dict) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prevalence", type=Path, default=PREVALENCE)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    t = time.monotonic()
    doc = build(a.prevalence, a.corpus, a.jobs)
    text = dump(doc)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text, encoding="utf-8")
    srcs = doc["provenance"]["sources"]
    print(f"wrote {a.out} ({len(text.encode()) / 1e6:.2f} MB) in {time.monotonic() - t:.0f}s: "
          f"{srcs['otrf']['recordings']} recordings, {srcs['otrf']['events']} events, "
          f"{len(doc['excluded'])} exclusions", file=sys.stderr)
    for cat in sorted(doc["sources"]):
        for field in sorted(doc["sources"][cat]):
            print(f"  {cat} / {field}: {len(doc['sources'][cat][field])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
