#!/usr/bin/env python3
"""Measure how rulelint's cost grows with the size of the corpus, and print a table.

    python bench/scale.py [--corpus PATH] [--factors 1,2,4,8] [--synthetic N]
                          [--no-synthetic] [--runs N] [--keep DIR] [--seed S] [--generate-only]

CORPUS defaults to ../shared/corpus (Sigma, Elastic and Splunk; read only). Two kinds of
corpus are built in a temporary folder (deleted afterwards unless --keep):

- multiplied Sigma: for each factor k, k copies of every Sigma rule file of
  CORPUS/sigma (the files `rulelint` itself discovers there). Copy 0 is the file as is;
  copy i > 0 gets a file name suffix and, on each top-level `id:` line (the only bytes
  changed), a fresh UUID: uuid5 of the original id and i, so every build is the same.
  `related:` and correlation `rules:` references are left as they are. The corpus is
  thus k times the real one, duplicates included, which is the worst case for the
  corpus-wide checks (overlap, subsumption): each rule has k-1 exact twins.
- synthetic: N rules (default 100,000) over the three vendors, about 60% Sigma YAML,
  25% Elastic TOML (KQL `query` and EQL `eql` rules) and 15% Splunk security_content
  detections (SPL `search`, the real `macros/` folder beside them). They come from a
  seeded random generator that recombines real material read from CORPUS: a real
  rule's metadata (log source, tags / ATT&CK mapping, index, data source) with 1-4
  selections of 1-6 values each, picked from the fields and values real rules of the
  same log source / event category / data model use (as written there, so they parse
  as they do there), some values given a random suffix, some rules with `filter`
  exclusions. Before it is measured, 1,000 of its rules are linted
  (`--format json --no-cache --no-reference`) and their parse errors (RL001) counted:
  the generator is meant to stay under 1%.

Each corpus is linted cold, the way bench.py measures: the installed `rulelint` as a
fresh process, `rulelint CORPUS --no-cache --no-progress --no-reference --format json
-o /dev/null`, `--runs` times, reporting the median wall time and the peak RSS of the
process or its largest child (os.wait4). `--no-reference` keeps the bundled reference
index out: it joins the whole reference corpus (about 7,900 rules, the Sigma ones the
same as copy 0) to every corpus, a constant that would hide the growth.
The rule count of the multiplied series is k times that of one untimed census run on
the 1x corpus; a synthetic corpus has one rule per file.

The growth exponents are least-squares slopes of log(wall s) and log(peak MB) on
log(rules) over the multiplied series, and again with the synthetic point added:
1 is linear growth, 2 quadratic. `--generate-only` builds and checks the synthetic corpus
(timing the generator) without measuring anything.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import uuid
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench import rulelint_cmd, run_once, timed  # noqa: E402

DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"
COPY_NAMESPACE = uuid.UUID("5a1e0f3c-8d4b-4c61-9b7e-2f0c6d1a9e42")  # uuid5 namespace of the copies' ids
ID_LINE = re.compile(rb"^id:[ \t]*(.*?)[ \t]*(\r?)$", re.M)
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SHARES = (("sigma", 0.60), ("elastic", 0.25), ("splunk", 0.15))
BUCKET = 1000  # generated files per folder
SAMPLE = 1000  # generated rules linted for the parse check


def lint_cmd(corpus: str) -> list[str]:
    return rulelint_cmd() + [corpus, "--no-cache", "--no-progress", "--no-reference", "--format", "json",
                             "-o", os.devnull]


# -- multiplied Sigma corpus ------------------------------------------------------

def sigma_files(sigma_root: Path) -> list[Path]:
    """The rule files rulelint finds under the Sigma folder (it skips regression_data/, tests/, ...)."""
    from rulelint.loaders import discover
    return [Path(p) for p in discover([str(sigma_root)])]


def copy_id(match: re.Match[bytes], i: int) -> bytes:
    original = match.group(1).decode("utf-8", "replace")
    return b"id: " + str(uuid.uuid5(COPY_NAMESPACE, f"{original}/{i}")).encode() + match.group(2)


def build_multiplied(files: list[Path], root: Path, dest: Path, k: int) -> int:
    """k copies of each file under dest (same layout); returns the number of files written."""
    made: set[Path] = set()
    for src in files:
        raw = src.read_bytes()
        rel = src.relative_to(root)
        folder = dest / rel.parent
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        (folder / rel.name).write_bytes(raw)
        for i in range(1, k):
            data = ID_LINE.sub(lambda m: copy_id(m, i), raw)
            (folder / f"{rel.stem}__copy{i}{rel.suffix}").write_bytes(data)
    return len(files) * k


# -- material read from the real corpus ----------------------------------------------

# A quoted string of KQL / EQL / SPL as written (escapes kept), an unquoted KQL or SPL value.
DQ = r'"(?:[^"\\\n]|\\.)*"'
# Each *_CLAUSE regex first matches a whole quoted string, so that a scan never starts inside one
# (group 1 is then None): what a quoted value or a note says is never taken for a clause.
SKIP = r'"(?:[^"\\]|\\.)*"|'
KQL_CLAUSE = re.compile(SKIP + r'(?<![\w.@\\])([A-Za-z_@][\w.@]*)\s*:\s*(\((?:[^(){}"\\]|\\.|' + DQ + r')*\)|' + DQ
                        + r'|(?:\\.|[^\s(){}"\\:])+)')
KQL_TOKEN = re.compile(DQ + r'|(?:\\.|[^\s()"\\])+')
EQL_CLAUSE = re.compile(SKIP + r'(?<![\w."\\])([A-Za-z_][\w.]*)\s*(?::|==|\blike~?|\bin~?)\s*(\(\s*' + DQ
                        + r'(?:\s*,\s*' + DQ + r')*\s*,?\s*\)|' + DQ + r')')
SPL_IN = re.compile(SKIP + r'(?<![\w.])([A-Za-z_][\w.]*)\s+IN\s*\(([^()`$]*)\)')
SPL_EQ = re.compile(SKIP + r'(?<![\w.])([A-Za-z_][\w.]*)\s*!?=\s*(' + DQ + r'|[^\s()"|`$=,]+)')
SPL_TOKEN = re.compile(DQ + r'|[^\s,()"]+')
EQL_FIELD = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
EQL_WORDS = {"and", "or", "not", "in", "where", "sequence", "by", "with", "until", "maxspan", "join", "of",
             "any", "true", "false", "null", "like", "regex", "descendant", "child", "event", "sample"}
SPL_WORDS = {"AND", "OR", "NOT", "IN", "and", "or", "not", "by", "BY", "where", "WHERE"}
META_FIELDS = {"host.os.type", "event.category"}
SIGMA_SUFFIXABLE = {"contains", "startswith", "endswith", "all", "windash", "cased"}


def clean(text: object, limit: int = 400) -> str:
    """One line of printable text (for titles, descriptions)."""
    s = " ".join(str(text or "").split())
    s = "".join(c for c in s if c.isprintable())
    return s[:limit]


def pool_add(pool: dict[str, list], field: str, values: list, seen: dict[str, set]) -> None:
    have = seen.setdefault(field, set())
    for v in values:
        if v not in have:
            have.add(v)
            pool.setdefault(field, []).append(v)


class Material:
    """Real fields, values and metadata, by vendor and log source."""

    def __init__(self) -> None:
        # Sigma: rule profiles (logsource, tags, level, status, title, description, falsepositives)
        self.sigma_rules: list[dict] = []
        self.sigma_fields: dict[tuple, dict[str, list]] = defaultdict(dict)  # logsource -> key -> values
        # Elastic: rule profiles; fields by (language, category)
        self.elastic_rules: list[dict] = []
        self.elastic_fields: dict[tuple, dict[str, list]] = defaultdict(dict)
        # Splunk: detection profiles; fields by data model or source macro
        self.splunk_rules: list[dict] = []
        self.splunk_fields: dict[str, dict[str, list]] = defaultdict(dict)
        self.splunk_by: dict[str, list[str]] = defaultdict(list)
        self.splunk_node: dict[str, str] = {}
        self.macros: Path | None = None

    @classmethod
    def read(cls, corpus: Path) -> "Material":
        m = cls()
        m._read_sigma(corpus / "sigma")
        m._read_elastic(corpus / "elastic")
        m._read_splunk(corpus / "splunk")
        for name, profiles in (("sigma", m.sigma_rules), ("elastic", m.elastic_rules), ("splunk", m.splunk_rules)):
            if not profiles:
                raise SystemExit(f"no usable {name} rules under {corpus}: the synthetic corpus needs all three")
        return m

    # Sigma ----------------------------------------------------------------------
    def _read_sigma(self, root: Path) -> None:
        seen: dict[tuple, dict[str, set]] = defaultdict(dict)
        for path in sigma_files(root) if root.is_dir() else []:
            try:
                docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=YAML_LOADER))
            except (yaml.YAMLError, UnicodeDecodeError, OSError):
                continue
            for doc in docs:
                if not isinstance(doc, dict) or not isinstance(doc.get("detection"), dict) or doc.get("action"):
                    continue
                ls = doc.get("logsource")
                if not isinstance(ls, dict):
                    continue
                key = tuple(str(ls.get(k) or "") for k in ("product", "category", "service"))
                got = 0
                for name, sel in doc["detection"].items():
                    if name == "condition":
                        continue
                    for item in (sel if isinstance(sel, list) else [sel]):
                        if not isinstance(item, dict):
                            continue
                        for field, val in item.items():
                            vals = val if isinstance(val, list) else [val]
                            vals = [v for v in vals if (isinstance(v, int) and not isinstance(v, bool))
                                    or (isinstance(v, str) and "\n" not in v and v.isprintable() and len(v) <= 200)]
                            if vals and isinstance(field, str) and field.isprintable():
                                pool_add(self.sigma_fields[key], field, vals, seen[key])
                                got += 1
                if not got:
                    continue
                tags = [str(t) for t in doc.get("tags") or [] if isinstance(t, str)]
                self.sigma_rules.append({
                    "logsource": key, "tags": tags,
                    "level": str(doc.get("level") or "medium"), "status": str(doc.get("status") or "test"),
                    "title": clean(doc.get("title"), 120) or "Suspicious activity",
                    "description": clean(doc.get("description")) or "Detects suspicious activity.",
                    "author": clean(doc.get("author"), 120) or "rulelint bench",
                    "falsepositives": [clean(f, 200) for f in doc.get("falsepositives") or [] if isinstance(f, str)],
                })

    # Elastic --------------------------------------------------------------------
    def _read_elastic(self, root: Path) -> None:
        seen: dict[tuple, dict[str, set]] = defaultdict(dict)
        for path in sorted(root.rglob("*.toml")) if root.is_dir() else []:
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
                continue
            rule = data.get("rule")
            if not isinstance(rule, dict) or "deprecated" in path.parts or "_deprecated" in path.parts:
                continue
            language, query = rule.get("language"), rule.get("query")
            if language not in ("kuery", "eql") or not isinstance(query, str) or "'''" in query:
                continue
            text = re.sub(r"//[^\n]*", "", query)  # EQL comments
            if language == "eql":
                head = re.match(r"\s*(\w+)\s+where\b", text)
                if not head:
                    continue  # sequences, samples: their clauses belong to several events
                category = head.group(1)
                pairs = [(f, re.findall(DQ, v)) for f, v in EQL_CLAUSE.findall(text)
                         if f and EQL_FIELD.match(f) and not set(f.lower().split(".")) & EQL_WORDS]
                os_m = re.search(r'host\.os\.type\s*(?:==|:)\s*"(\w+)"', text)
            else:
                cat = re.search(r'event\.category\s*:\s*\(?\s*"?(\w+)', text)
                category = cat.group(1) if cat else ""
                pairs = []
                for f, v in KQL_CLAUSE.findall(text):
                    if not f:
                        continue
                    if v.startswith("("):
                        inner = v[1:-1]
                        if re.search(r"\b(and|not)\b", re.sub(DQ, "", inner)):
                            continue
                        tokens = [t for t in KQL_TOKEN.findall(inner) if t not in ("or", "*")]
                    else:
                        tokens = [v] if v.lower() not in ("or", "and", "not", "*") else []
                    pairs.append((f, tokens))
                os_m = re.search(r'host\.os\.type\s*:\s*"?(\w+)', text)
            os_name = os_m.group(1) if os_m else ""
            key = (language, category, os_name)
            got = 0
            for field, tokens in pairs:
                tokens = [t for t in tokens if t.isprintable() and len(t) <= 200 and "'''" not in t]
                if tokens and field not in META_FIELDS:
                    pool_add(self.elastic_fields[key], field, tokens, seen[key])
                    got += 1
            if not got:
                continue
            meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
            self.elastic_rules.append({
                "language": language, "category": category, "os": os_name,
                "index": [str(i) for i in rule.get("index") or [] if isinstance(i, str)],
                "tags": [str(t) for t in rule.get("tags") or [] if isinstance(t, str)],
                "threat": rule.get("threat") if isinstance(rule.get("threat"), list) else [],
                "severity": str(rule.get("severity") or "medium"),
                "risk_score": int(rule.get("risk_score") or 47) if str(rule.get("risk_score", "")).isdigit() else 47,
                "integration": [str(i) for i in meta.get("integration") or [] if isinstance(i, str)]
                               if isinstance(meta.get("integration"), list) else [],
                "title": clean(rule.get("name"), 120) or "Suspicious activity",
                "description": clean(rule.get("description")) or "Identifies suspicious activity.",
            })

    # Splunk ---------------------------------------------------------------------
    def _read_splunk(self, root: Path) -> None:
        seen: dict[str, dict[str, set]] = defaultdict(dict)
        detections = root / "detections"
        if (root / "macros").is_dir():
            self.macros = root / "macros"
        for path in sorted(detections.rglob("*.yml")) if detections.is_dir() else []:
            if "deprecated" in path.parts:
                continue
            try:
                data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
            except (yaml.YAMLError, UnicodeDecodeError, OSError):
                continue
            if not isinstance(data, dict) or not isinstance(data.get("search"), str):
                continue
            search = data["search"]
            dm = re.search(r"from\s+datamodel\s*=\s*([\w.]+)\s+where\s+(.*?)\s+by\s+(.*?)\s*\|", search, re.S)
            if dm:
                key, clause = dm.group(1), dm.group(2)
                node = re.search(r"drop_dm_object_name\((\w+)\)", search)
                if node:
                    self.splunk_node.setdefault(key, node.group(1))
                by = " ".join(dm.group(3).split())
                if by not in self.splunk_by[key] and "`" not in by:
                    self.splunk_by[key].append(by)
            else:
                src = re.match(r"\s*`(\w+)`\s*([^|`]*)", search)
                if not src:
                    continue
                key, clause = src.group(1), src.group(2)
            pairs = [(f, SPL_TOKEN.findall(v)) for f, v in SPL_IN.findall(clause) if f]
            no_in = SPL_IN.sub(lambda m: m.group(0) if not m.group(1) else " ", clause)
            pairs += [(f, [v]) for f, v in SPL_EQ.findall(no_in) if f]
            got = 0
            for field, tokens in pairs:
                tokens = [t for t in tokens if t not in SPL_WORDS and t.isprintable() and len(t) <= 200
                          and "'" not in t]
                if tokens and field not in SPL_WORDS and field != "datamodel":
                    pool_add(self.splunk_fields[key], field, tokens, seen[key])
                    got += 1
            if not got:
                continue
            tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
            self.splunk_rules.append({
                "key": key, "datamodel": bool(dm),
                "data_source": [str(d) for d in data.get("data_source") or [] if isinstance(d, str)],
                "analytic_story": [clean(s, 120) for s in tags.get("analytic_story") or [] if isinstance(s, str)],
                "mitre_attack_id": [str(t) for t in tags.get("mitre_attack_id") or [] if isinstance(t, str)],
                "asset_type": clean(tags.get("asset_type"), 60) or "Endpoint",
                "security_domain": clean(tags.get("security_domain"), 60) or "endpoint",
                "type": clean(data.get("type"), 40) or "TTP",
                "title": clean(data.get("name"), 120) or "Suspicious activity",
                "description": clean(data.get("description"), 600) or "The analytic detects suspicious activity.",
                "author": clean(data.get("author"), 120) or "rulelint bench",
            })


# -- the generator ---------------------------------------------------------------------

def yq(s: str) -> str:
    """A YAML single-quoted scalar."""
    return "'" + s.replace("'", "''") + "'"


def tq(s: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, DEL aside)."""
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


class Generator:
    def __init__(self, material: Material, seed: int) -> None:
        self.m = material
        self.rng = random.Random(seed)

    # shared helpers
    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def tag(self) -> str:
        return f"{self.rng.getrandbits(24):06x}"

    def day(self) -> date:
        return date(2018, 1, 1) + timedelta(days=self.rng.randrange(3000))

    def suffixed(self, token: str) -> str:
        """A raw query token with a random suffix inside its quotes."""
        suffix = "_" + self.tag()[:4]
        return token[:-1] + suffix + '"' if token.endswith('"') and len(token) >= 2 else token + suffix

    def vary(self, value, raw: bool):
        """A value with a random suffix (raw query tokens: inside their quotes); numbers stay."""
        if raw:
            return self.suffixed(value)
        return value + "_" + self.tag()[:4] if isinstance(value, str) else value

    def pick_values(self, values: list, raw: bool, may_suffix: bool = True) -> list:
        """1-6 values of a field, some with a random suffix (more of them when the field has few)."""
        want = self.rng.randint(1, 6)
        out = self.rng.sample(values, min(want, len(values)))
        if may_suffix:
            out = [self.vary(v, raw) if self.rng.random() < 0.25 else v for v in out]
            while len(out) < want and self.rng.random() < 0.5:
                out.append(self.vary(self.rng.choice(values), raw))
        return list(dict.fromkeys(out))

    def groups(self, fields: dict[str, list], n_max: int = 4) -> tuple[list[list[str]], list[list[str]]]:
        """Field names for 1-4 selections of 1-2 fields, and 0-2 filters of one field (one the
        selections do not use, when there is one: a filter on the selected values kills a branch)."""
        names = list(fields)
        sels = [self.rng.sample(names, min(len(names), 1 + (self.rng.random() < 0.35)))
                for _ in range(self.rng.randint(1, n_max))]
        used = {f for group in sels for f in group}
        others = [f for f in names if f not in used] or names
        filters = [[self.rng.choice(others)] for _ in range(self.rng.choice((0, 0, 1, 1, 2)))]
        return sels, filters

    def joiner(self) -> bool:
        """Whether selections are ANDed (else ORed): mostly ORed, as real rules' selections are."""
        return self.rng.random() < 0.25

    # Sigma
    def sigma(self, i: int) -> str:
        rng, p = self.rng, self.rng.choice(self.m.sigma_rules)
        fields = self.m.sigma_fields[p["logsource"]]
        sels, filters = self.groups(fields)
        out = [f"title: {yq(p['title'] + ' (' + self.tag() + ')')}", f"id: {self.uuid()}",
               f"status: {p['status']}", f"description: {yq(p['description'])}",
               "references:", f"    - https://example.org/rules/{i}",
               f"author: {yq(p['author'])}", f"date: {self.day().isoformat()}"]
        if p["tags"]:
            out += ["tags:"] + [f"    - {t}" for t in p["tags"]]
        out.append("logsource:")
        for k, v in zip(("product", "category", "service"), p["logsource"]):
            if v:
                out.append(f"    {k}: {v}")
        out.append("detection:")
        names = []
        for kind, groups in (("selection", sels), ("filter", filters)):
            for n, group in enumerate(groups, 1):
                name = f"{kind}_{n}" if kind == "selection" or rng.random() < 0.5 else f"{kind}_main_{n}"
                names.append(name)
                out.append(f"    {name}:")
                for field in group:
                    mods = set(field.split("|")[1:])
                    vals = self.pick_values(fields[field], raw=False, may_suffix=mods <= SIGMA_SUFFIXABLE)
                    out.append(f"        {yq(field)}:")
                    out += [f"            - {yq(v) if isinstance(v, str) else v}" for v in vals]
        n_sel = len(sels)
        if n_sel == 1:
            cond = "selection_1"
        elif self.joiner():
            cond = rng.choice(("all of selection_*", " and ".join(f"selection_{n}" for n in range(1, n_sel + 1))))
        else:
            cond = rng.choice(("1 of selection_*", " or ".join(f"selection_{n}" for n in range(1, n_sel + 1))))
        if filters:
            cond = (f"({cond})" if " or " in cond else cond) + " and not 1 of filter_*"
        out.append(f"    condition: {cond}")
        out += ["falsepositives:"] + [f"    - {yq(f)}" for f in (p["falsepositives"] or ["Unknown"])]
        out.append(f"level: {p['level']}")
        return "\n".join(out) + "\n"

    # Elastic
    def elastic_clause(self, language: str, field: str, values: list[str]) -> str:
        if language == "eql":
            return f"{field} : {values[0]}" if len(values) == 1 else f"{field} : ({', '.join(values)})"
        return f"{field}:{values[0]}" if len(values) == 1 else f"{field}:({' or '.join(values)})"

    def elastic(self, i: int) -> str:
        rng, p = self.rng, self.rng.choice(self.m.elastic_rules)
        lang = p["language"]
        fields = self.m.elastic_fields[(lang, p["category"], p["os"])]
        sels, filters = self.groups(fields)

        def clause(field: str) -> str:
            return self.elastic_clause(lang, field, self.pick_values(fields[field], raw=True))

        parts = [" and ".join(clause(f) for f in group) for group in sels]
        glue = " and " if self.joiner() else " or "
        body = "(" + glue.join(f"({x})" for x in parts) + ")" if len(parts) > 1 else f"({parts[0]})"
        head = []
        if lang == "eql":
            if p["os"]:
                head.append(f'host.os.type == "{p["os"]}"')
        else:
            if p["category"]:
                head.append(f"event.category:{p['category']}")
            if p["os"]:
                head.append(f"host.os.type:{p['os']}")
        query = " and ".join(head + [body])
        for group in filters:
            query += f" and\n  not {clause(group[0])}"
        if lang == "eql":
            query = f"{p['category']} where {query}"
        d1 = self.day()
        out = ["[metadata]", f'creation_date = "{d1:%Y/%m/%d}"']
        if p["integration"]:
            out.append(f"integration = [{', '.join(tq(x) for x in p['integration'])}]")
        out += ['maturity = "production"', f'updated_date = "{d1 + timedelta(days=rng.randrange(400)):%Y/%m/%d}"',
                "", "[rule]", 'author = ["Elastic"]', f"description = {tq(p['description'])}", 'from = "now-9m"']
        if p["index"]:
            out.append("index = [" + ", ".join(tq(x) for x in p["index"]) + "]")
        out += [f'language = "{lang}"', 'license = "Elastic License v2"',
                f"name = {tq(p['title'] + ' (' + self.tag() + ')')}",
                f'references = ["https://example.org/rules/{i}"]',
                f"risk_score = {p['risk_score']}", f'rule_id = "{self.uuid()}"', f"severity = {tq(p['severity'])}"]
        if p["tags"]:
            out += ["tags = ["] + [f"    {tq(t)}," for t in p["tags"]] + ["]"]
        out += ['timestamp_override = "event.ingested"', f'type = "{"eql" if lang == "eql" else "query"}"',
                "", "query = '''", query, "'''", ""]
        out += self.threat(p["threat"])
        return "\n".join(out) + "\n"

    @staticmethod
    def threat(threat: list) -> list[str]:
        out = []
        for t in threat:
            if not isinstance(t, dict):
                continue
            out += ["[[rule.threat]]", f"framework = {tq(str(t.get('framework') or 'MITRE ATT&CK'))}"]
            for tech in t.get("technique") or []:
                if not isinstance(tech, dict):
                    continue
                out += ["", "[[rule.threat.technique]]"] + [f"{k} = {tq(str(tech[k]))}"
                                                             for k in ("id", "name", "reference") if k in tech]
                for sub in tech.get("subtechnique") or []:
                    if isinstance(sub, dict):
                        out += ["", "[[rule.threat.technique.subtechnique]]"] + [
                            f"{k} = {tq(str(sub[k]))}" for k in ("id", "name", "reference") if k in sub]
            tactic = t.get("tactic")
            if isinstance(tactic, dict):
                out += ["", "[rule.threat.tactic]"] + [f"{k} = {tq(str(tactic[k]))}"
                                                       for k in ("id", "name", "reference") if k in tactic]
            out.append("")
        return out

    # Splunk
    def spl_clause(self, field: str, values: list[str], negate: bool = False) -> str:
        if len(values) == 1:
            return f"{field}{'!=' if negate else '='}{values[0]}"
        text = f"{field} IN ({', '.join(values)})"
        return f"NOT {text}" if negate else text

    def splunk(self, i: int) -> tuple[str, str]:
        rng, p = self.rng, self.rng.choice(self.m.splunk_rules)
        key = p["key"]
        fields = self.m.splunk_fields[key]
        sels, filters = self.groups(fields)

        def values(field: str) -> list[str]:
            return self.pick_values(fields[field], raw=True)

        parts = [" AND ".join(self.spl_clause(f, values(f)) for f in group) for group in sels]
        glue = " AND " if self.joiner() else " OR "
        cond = "(" + glue.join(f"({x})" for x in parts) + ")" if len(parts) > 1 and filters else \
            glue.join(f"({x})" for x in parts) if len(parts) > 1 else parts[0]
        cond += "".join(f" AND {self.spl_clause(g[0], values(g[0]), negate=True)}" for g in filters)
        slug = re.sub(r"[^a-z0-9]+", "_", p["title"].lower()).strip("_")[:60] + f"_{i}"
        ctime = "| `security_content_ctime(firstTime)` | `security_content_ctime(lastTime)`"
        if p["datamodel"]:
            node = self.m.splunk_node.get(key) or key.split(".")[-1]
            by = rng.choice(self.m.splunk_by[key]) if self.m.splunk_by[key] else f"{node}.dest"
            search = (f"| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime "
                      f"from datamodel={key} where {cond} by {by} | `drop_dm_object_name({node})` {ctime} "
                      f"| `{slug}_filter`")
        else:
            search = (f"`{key}` {cond} | stats count min(_time) as firstTime max(_time) as lastTime by dest user "
                      f"{ctime} | `{slug}_filter`")
        out = [f"name: {yq(p['title'] + ' (' + self.tag() + ')')}", f"id: {self.uuid()}",
               f"version: {rng.randint(1, 9)}", f"date: '{self.day().isoformat()}'", f"author: {yq(p['author'])}",
               "status: production", f"type: {yq(p['type'])}", f"description: {yq(p['description'])}"]
        if p["data_source"]:
            out += ["data_source:"] + [f"- {yq(d)}" for d in p["data_source"]]
        out += [f"search: {yq(search)}",
                "how_to_implement: The detection is based on data the listed data sources provide.",
                "known_false_positives: Administrators may run these commands legitimately.",
                "references:", f"- https://example.org/rules/{i}", "tags:"]
        if p["analytic_story"]:
            out += ["  analytic_story:"] + [f"  - {yq(s)}" for s in p["analytic_story"]]
        out.append(f"  asset_type: {yq(p['asset_type'])}")
        if p["mitre_attack_id"]:
            out += ["  mitre_attack_id:"] + [f"  - {t}" for t in p["mitre_attack_id"]]
        out += ["  product:", "  - Splunk Enterprise", "  - Splunk Enterprise Security", "  - Splunk Cloud",
                f"  security_domain: {yq(p['security_domain'])}"]
        return slug, "\n".join(out) + "\n"


def generate(material: Material, n: int, dest: Path, seed: int) -> dict[str, list[Path]]:
    """Write n rules under dest (sigma/, elastic/, splunk/); returns the files by vendor."""
    gen = Generator(material, seed)
    counts = {v: round(n * share) for v, share in SHARES[:-1]}
    counts[SHARES[-1][0]] = n - sum(counts.values())
    # The vendors interleaved in a seeded order: the same seed gives the same corpus.
    order = [v for v, c in counts.items() for _ in range(c)]
    random.Random(seed ^ 0x5CA1E).shuffle(order)
    files: dict[str, list[Path]] = {v: [] for v in counts}
    if material.macros is not None:
        shutil.copytree(material.macros, dest / "splunk" / "macros")  # what the detections' macros expand to
    made: set[Path] = set()
    for i, vendor in enumerate(order):
        n_v = len(files[vendor])
        if vendor == "sigma":
            folder, name = dest / "sigma" / "rules" / f"{n_v // BUCKET:03d}", f"syn_{i:06d}.yml"
            text = gen.sigma(i)
        elif vendor == "elastic":
            folder, name = dest / "elastic" / "rules" / f"{n_v // BUCKET:03d}", f"syn_{i:06d}.toml"
            text = gen.elastic(i)
        else:
            slug, text = gen.splunk(i)
            folder, name = dest / "splunk" / "detections" / f"{n_v // BUCKET:03d}", f"{slug}.yml"
        if folder not in made:
            folder.mkdir(parents=True, exist_ok=True)
            made.add(folder)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        files[vendor].append(path)
    return files


def parse_check(files: dict[str, list[Path]], work: Path, seed: int) -> tuple[int, int, Counter, list[str]]:
    """Lint a sample of generated rules: (sampled, files failing, failures by vendor, first messages).
    A file fails with a parse error (RL001) or when it loads as no rule at all (not recognised)."""
    everything = [(v, p) for v, ps in files.items() for p in ps]
    sample = sorted(random.Random(seed + 1).sample(everything, min(SAMPLE, len(everything))), key=lambda x: str(x[1]))
    vendor_of = {str(p): v for v, p in sample}
    out = work / "parse-check.json"
    cmd = rulelint_cmd() + [str(p) for _, p in sample] + [
        "--format", "json", "--no-cache", "--no-reference", "--no-progress", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"parse check failed ({proc.returncode}): {proc.stderr[-500:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    errors = [f for f in report["findings"] if f.get("code") == "RL001" or f.get("name") == "parse-error"]
    failed = {f.get("path") for f in errors}
    bad = Counter(vendor_of.get(p or "", "?") for p in failed)
    loaded = {r.get("path") for r in report.get("rules", [])}
    for path, vendor in vendor_of.items():
        if path not in loaded and path not in failed:
            bad[vendor] += 1  # neither a rule nor an error: the generator wrote something that is no rule
            errors.append({"message": f"{path}: loaded as no rule"})
    return len(sample), sum(bad.values()), bad, [f.get("message", "") for f in errors[:5]]


# -- measuring and fitting ----------------------------------------------------------------

def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) on log(x); None with fewer than two distinct x."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx, my = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def census(corpus: Path, work: Path) -> dict:
    """One untimed run's summary (rules, files, parse errors)."""
    out = work / "census.json"
    run_once(rulelint_cmd() + [str(corpus), "--no-cache", "--no-progress", "--no-reference", "--format", "json",
                               "-o", str(out)])
    return json.loads(out.read_text(encoding="utf-8"))["summary"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="the real corpus (sigma/, elastic/, splunk/)")
    ap.add_argument("--factors", default="1,2,4,8", help="copies of the Sigma rules, comma-separated")
    ap.add_argument("--synthetic", type=int, default=100_000, metavar="N", help="rules of the synthetic corpus")
    ap.add_argument("--no-synthetic", action="store_true", help="skip the synthetic corpus")
    ap.add_argument("--runs", type=int, default=1, help="runs per corpus (median wall time, largest peak)")
    ap.add_argument("--seed", type=int, default=20240, help="seed of the synthetic corpus")
    ap.add_argument("--keep", metavar="DIR", help="build the corpora in DIR and keep them")
    ap.add_argument("--generate-only", action="store_true",
                    help="only build the synthetic corpus (timed) and check a sample of it; no measurement")
    args = ap.parse_args()
    corpus = Path(args.corpus).resolve()
    sigma_root = corpus / "sigma"
    try:
        factors = sorted({int(f) for f in args.factors.split(",") if f.strip()})
    except ValueError:
        ap.error("--factors takes whole numbers, e.g. 1,2,4,8")
    if any(k < 1 for k in factors) or args.runs < 1 or args.synthetic < 1:
        ap.error("factors, --runs and --synthetic must be at least 1")
    if args.generate_only:
        factors = []
    if factors and not sigma_root.is_dir():
        print(f"no Sigma rules at {sigma_root}", file=sys.stderr)
        return 2
    # As bench.py: an editable install run with PYTHONDONTWRITEBYTECODE would compile every module every run.
    import rulelint
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(rulelint.__file__).parent)],
                   check=False, stdout=subprocess.DEVNULL)

    if args.keep:
        work = Path(args.keep).resolve()
        work.mkdir(parents=True, exist_ok=True)
        cleanup = None
    else:
        work = Path(tempfile.mkdtemp(prefix="rulelint-scale-"))
        cleanup = work
    rows: list[tuple[str, str, int, int, float, float]] = []  # (kind, name, rules, files, wall, peak)
    notes: list[str] = []
    try:
        if factors:
            files = sigma_files(sigma_root)
            base = None
            for k in factors:
                dest = work / f"sigma-x{k}"
                shutil.rmtree(dest, ignore_errors=True)
                t0 = time.perf_counter()
                n_files = build_multiplied(files, sigma_root, dest, k)
                print(f"sigma x{k}: {n_files} files built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
                if base is None:
                    if k == 1:
                        base = census(dest, work)
                    else:
                        once = work / "sigma-x1-census"
                        build_multiplied(files, sigma_root, once, 1)
                        base = census(once, work)
                        shutil.rmtree(once, ignore_errors=True)
                    notes.append(f"Sigma x1 (census run): {base['rules']} rules in {base['files']} files, "
                                 f"{base['by_check'].get('parse-error', 0)} parse error(s)")
                med, _, peak = timed(lint_cmd(str(dest)), args.runs)
                rows.append(("multiplied", f"sigma x{k}", base["rules"] * k, n_files, med, peak))
                print(f"  {med:.2f} s, {peak} MB", file=sys.stderr)
                if not args.keep:
                    shutil.rmtree(dest, ignore_errors=True)
        if not args.no_synthetic:
            t0 = time.perf_counter()
            material = Material.read(corpus)
            t_read = time.perf_counter() - t0
            dest = work / f"synthetic-{args.synthetic}"
            shutil.rmtree(dest, ignore_errors=True)
            t0 = time.perf_counter()
            files_by = generate(material, args.synthetic, dest, args.seed)
            t_gen = time.perf_counter() - t0
            n_files = sum(len(v) for v in files_by.values())
            shares = ", ".join(f"{v} {len(p)}" for v, p in files_by.items())
            print(f"synthetic: real material read in {t_read:.1f} s, {n_files} rules ({shares}) "
                  f"written in {t_gen:.1f} s", file=sys.stderr)
            sampled, bad, by_vendor, examples = parse_check(files_by, work, args.seed)
            notes.append(f"synthetic {args.synthetic}: {shares}; generated in {t_read:.1f} s (reading the real "
                         f"corpus) + {t_gen:.1f} s; parse check: {bad}/{sampled} sampled rules failed "
                         f"({100 * bad / sampled:.1f}%)" + (f" {dict(by_vendor)}" if bad else ""))
            for e in examples:
                print(f"  parse error: {e[:300]}", file=sys.stderr)
            if bad / sampled >= 0.01:
                print(f"warning: {bad}/{sampled} generated rules do not parse", file=sys.stderr)
            if args.generate_only:
                print(notes[-1])
                return 0
            med, _, peak = timed(lint_cmd(str(dest)), args.runs)
            print(f"  {med:.2f} s, {peak} MB", file=sys.stderr)
            n_macros = len(list((dest / "splunk" / "macros").glob("*.y*ml")))  # discovered too (as no rules)
            rows.append(("synthetic", f"synthetic {args.synthetic}", args.synthetic, n_files + n_macros, med, peak))
            if not args.keep:
                shutil.rmtree(dest, ignore_errors=True)
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)

    print(f"rulelint scale benchmark on {corpus} ({os.cpu_count()} cores, {args.runs} run(s) each, cold, "
          f"--no-reference)\n")
    print(f"| {'corpus':<18} | {'rules':>7} | {'files':>7} | {'wall s':>7} | {'peak MB':>7} |")
    print(f"|{'-' * 20}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for _, name, rules, n_files, wall, peak in rows:
        print(f"| {name:<18} | {rules:>7} | {n_files:>7} | {wall:>7.2f} | {peak:>7} |")
    print()
    for n in notes:
        print(f"- {n}")
    multi = [r for r in rows if r[0] == "multiplied"]
    fits = [("multiplied Sigma", multi)]
    if any(r[0] == "synthetic" for r in rows) and multi:
        fits.append(("multiplied Sigma + synthetic", rows))
    print("\nGrowth exponents (least-squares slope on log(rules); 1 = linear, 2 = quadratic):\n")
    for label, pts in fits:
        t = slope([r[2] for r in pts], [r[4] for r in pts])
        m = slope([r[2] for r in pts], [r[5] for r in pts])
        t_s, m_s = ("n/a (fewer than 2 sizes)" if e is None else f"{e:.2f}" for e in (t, m))
        print(f"- {label} ({len(pts)} points): time ~ rules^{t_s}, peak MB ~ rules^{m_s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
