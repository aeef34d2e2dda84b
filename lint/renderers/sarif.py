"""`--format sarif`: SARIF 2.1.0 for code-scanning tools (GitHub code scanning, IDEs).

Every check is a reporting descriptor with its documentation; every finding a result
whose locations are relative to the run's root (`%SRCROOT%`) where the file lies under
it, with a fingerprint that survives line moves (rulelint.fingerprint).
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any, TextIO
from urllib.parse import quote

from .. import __version__
from ..checks import CHECKS, Check
from ..checks.base import unregistered
from ..run_result import RunResult
from ..fingerprint import VERSION as FP_VERSION, fingerprints
from ..findings import Finding
from .docs import check_markdown

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = f"rulelint/{FP_VERSION}"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
# `SigmaHQ/sigma:rules/...`: a rule of the reference index, where it lives upstream.
_UPSTREAM = re.compile(r"^[^/\\:]+/[^/\\:]+:")


@lru_cache(maxsize=1)
def information_uri() -> str | None:
    """The project's home page as its package metadata declares it, if any."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        meta = metadata("rulelint")
    except PackageNotFoundError:
        return None
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        if label.strip().casefold() in ("homepage", "home", "repository", "source") and url.strip():
            return url.strip()
    home = meta.get("Home-page")
    return home if home and home != "UNKNOWN" else None


def _help_text(check: Check) -> str:
    return "\n\n".join(f"{section.capitalize()}:\n{body}" for section, body in check.doc().items())


def rule_descriptor(check: Check) -> dict[str, Any]:
    return {
        "id": check.code,
        "name": check.name,
        "shortDescription": {"text": check.summary},
        "fullDescription": {"text": check.what_it_does},
        "help": {"text": _help_text(check), "markdown": check_markdown(check)},
        "defaultConfiguration": {"level": LEVELS.get(check.severity, "warning")},
        "properties": {"tags": [check.scope], "name": check.name},
    }


def artifact_location(path: str, root: str, upstream: dict[str, str] | None = None) -> dict[str, Any]:
    """A file as SARIF names it: relative to %SRCROOT% when under the root, a file URI
    elsewhere, and a reference-index rule (`owner/repo:path`) as its file on GitHub at
    the commit the index was built from (code scanning shows it as a link)."""
    if _UPSTREAM.match(path) and not os.path.exists(path):
        repo, _, rel = path.partition(":")
        rel = quote(rel.replace("\\", "/"), safe="/")
        commit = (upstream or {}).get(repo)
        if commit:
            return {"uri": f"https://github.com/{quote(repo, safe='/')}/blob/{commit}/{rel}"}
        return {"uri": f"https://github.com/{quote(repo, safe='/')}/blob/HEAD/{rel}"}
    absolute = os.path.abspath(path)
    try:
        inside = os.path.commonpath([absolute, root]) == root
    except ValueError:  # another drive
        inside = False
    if inside:
        rel = os.path.relpath(absolute, root).replace(os.sep, "/")
        return {"uri": quote(rel, safe="/"), "uriBaseId": SRCROOT}
    from pathlib import Path

    return {"uri": Path(absolute).as_uri()}


def _physical(path: str, line: int | None, root: str, column: int | None = None,
              upstream: dict[str, str] | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {"artifactLocation": artifact_location(path, root, upstream)}
    if line and line > 0:
        loc["region"] = {"startLine": line}
        if column and column > 0:
            loc["region"]["startColumn"] = column
    return loc


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def result(f: Finding, fp: str, rule_index: int | None, root: str,
           upstream: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.code,
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": f.message},
        "locations": [{"physicalLocation": _physical(f.path, f.line, root, f.column)}] if f.path else [],
        "partialFingerprints": {FINGERPRINT_KEY: fp},
        "properties": {"name": f.name, "rule_id": f.rule_id, "rule_key": f.rule_key,
                       "data": _json_safe(f.data)},
    }
    if rule_index is not None:
        out["ruleIndex"] = rule_index
    if f.related:
        out["relatedLocations"] = [
            {"id": i, "physicalLocation": _physical(r.path, r.line, root, upstream=upstream), "message": {"text": r.message}}
            for i, r in enumerate(f.related) if r.path
        ]
    return out


def sarif_log(run: RunResult, root: str | None = None, describe_root: bool = True) -> dict[str, Any]:
    """The SARIF log of a run. Paths are made relative to `root` (default: the current
    folder); `describe_root=False` leaves the root's absolute location out, so the same
    files give the same log wherever they are checked out."""
    root = os.path.abspath(root or os.getcwd())
    checks = list(CHECKS)
    index = {c.code: i for i, c in enumerate(checks)}
    for f in run.findings:  # a finding of a check outside the registry still gets a descriptor
        if f.code not in index:
            index[f.code] = len(checks)
            checks.append(unregistered(f.code, f.name, f.severity))
    driver: dict[str, Any] = {
        "name": "rulelint",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [rule_descriptor(c) for c in checks],
    }
    uri = information_uri()
    if uri:
        driver["informationUri"] = uri
    sarif_run: dict[str, Any] = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": [result(f, fp, index.get(f.code), root, run.counts.get("upstream"))
                    for f, fp in zip(run.findings, fingerprints(run.findings))],
        "properties": {"summary": _json_safe({k: v for k, v in run.summary().items() if k != "seconds"})},
    }
    if describe_root:
        from pathlib import Path

        base = Path(root).as_uri()
        sarif_run["originalUriBaseIds"] = {SRCROOT: {"uri": base if base.endswith("/") else base + "/"}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [sarif_run]}


def render(run: RunResult, out: TextIO) -> None:
    # Without the root's absolute location: the same files give the same log in any
    # checkout (code scanning resolves %SRCROOT% to the repository itself).
    out.write(json.dumps(sarif_log(run, describe_root=False), ensure_ascii=False, indent=1))
    out.write("\n")
