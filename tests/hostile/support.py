"""What every hostile-input test shares: the hypothesis profile, rule-file writers, and
the property itself (`assert_contained`)."""

from __future__ import annotations

import json
import math
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml
from hypothesis import settings

from rulelint.engine import Settings, run
from rulelint.loaders import LoadResult, load_file, load_paths
from rulelint.renderers.json_out import rule_dict

from . import conftest  # noqa: F401  registers the "hostile" profile, also when run outside pytest

HOSTILE = settings.get_profile("hostile")

# Findings a loader may give besides rules.
LOADER_FINDINGS = {"parse-error", "no-query-logic", "control-character-in-value"}

GOOD_SIGMA = (
    "title: Good neighbour\n"
    "id: 5c0b1a66-0000-4000-8000-00000000900d\n"
    "logsource:\n    product: windows\n    category: process_creation\n"
    "detection:\n"
    "    sel:\n        Image|endswith: '\\\\neighbour.exe'\n"
    "    filter:\n        User: SYSTEM\n"
    "    condition: sel and not filter\n"
)


# -- writing rule files ----------------------------------------------------------------------

def toml_value(v: Any) -> str:
    """One TOML value (inline form). No TOML writer is a dependency; this covers what
    the generators produce: str, int, float, bool, list, dict."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        out = []
        for c in v:
            if c in '"\\':
                out.append("\\" + c)
            elif ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF:
                out.append(f"\\u{ord(c):04x}" if ord(c) < 0xD800 else "\\ufffd")
            else:
                out.append(c)
        return '"' + "".join(out) + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    return toml_value(str(v))


def toml_key(k: Any) -> str:
    return toml_value(str(k))


def toml_doc(doc: dict[str, Any]) -> str:
    """A document whose top-level dict values become `[tables]` (so the loader finds
    its keys' lines), everything else `key = value`."""
    head = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    parts = ["\n".join(head)] if head else []
    for name, table in doc.items():
        if isinstance(table, dict):
            body = "\n".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items())
            parts.append(f"[{toml_key(name)}]\n{body}")
    return "\n\n".join(parts) + "\n"


def elastic_doc(query: Any, language: Any = "kuery", rtype: Any = "query", **rule: Any) -> dict[str, Any]:
    body = {"name": "Hostile", "rule_id": "00000000-0000-4000-8000-0000000e1a57", "type": rtype,
            "language": language, "query": query, "severity": "low", "risk_score": 21}
    body.update(rule)
    return {"metadata": {"creation_date": "2024/01/01", "maturity": "production"}, "rule": body}


def splunk_doc(search: Any, **extra: Any) -> dict[str, Any]:
    doc = {"name": "Hostile", "id": "00000000-0000-4000-8000-00000005b1c0", "type": "TTP",
           "search": search, "tags": {"mitre_attack_id": ["T1059"]}}
    doc.update(extra)
    return doc


def yaml_text(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# -- the property ------------------------------------------------------------------------------

@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh folder per example (hypothesis reruns one test function many times)."""
    with tempfile.TemporaryDirectory(prefix="rulelint-hostile-") as d:
        yield Path(d)


def _view(result: LoadResult) -> str:
    """A comparable picture of a load result (rules as the JSON renderer shows them)."""
    return json.dumps({
        "rules": [rule_dict(r, None) for r in result.rules],
        "findings": [f.to_dict() for f in result.findings],
    }, sort_keys=True, default=str)


_GOOD_VIEW: dict[str, str] = {}


def assert_contained(folder: Path, name: str, data: str | bytes, *, engine: bool = True) -> LoadResult:
    """The property: the file `name` with `data` loads into rules and/or loader findings
    (a parse-error names the file and says why), never raises; a good rule beside it
    loads exactly as it does alone; and a whole lint run over both finishes."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    good = folder / "zz_good_neighbour.yml"
    good.write_text(GOOD_SIGMA, encoding="utf-8")

    alone = load_file(str(path))
    check_result(str(path), alone)

    if "alone" not in _GOOD_VIEW:
        _GOOD_VIEW["alone"] = _view(load_file(str(good))).replace(str(good), "GOOD")
    both = load_paths([str(path), str(good)], jobs=1)
    neighbour = LoadResult(
        rules=[r for r in both.rules if r.path == str(good)],
        findings=[f for f in both.findings if f.path == str(good)],
    )
    assert _view(neighbour).replace(str(good), "GOOD") == _GOOD_VIEW["alone"], "a hostile file changed its neighbour"
    assert _view(LoadResult(
        rules=[r for r in both.rules if r.path == str(path)],
        findings=[f for f in both.findings if f.path == str(path)],
    )) == _view(alone), "loading beside another file changed this file's result"

    if engine:
        result = run([str(folder)], settings=Settings(jobs=1))
        assert any(r.path == str(good) for r in result.corpus)
        for f in result.findings:
            if f.name == "parse-error":  # the hostile file's, or a macro file's the test wrote
                assert f.path != str(good), f.message
    return alone


def check_result(path: str, result: LoadResult) -> None:
    for f in result.findings:
        assert f.name in LOADER_FINDINGS, f
        assert f.path == path
        if f.name == "parse-error":
            reason = f.data.get("reason") or ""
            assert reason, f
            assert path in f.message
            # The loaders' last resort turns unexpected exceptions into parse-errors; the
            # hostile tests hold the loaders to explaining every failure themselves.
            assert "internal error" not in reason, f.message
            assert f.line is None or f.line >= 1
    for r in result.rules:
        assert r.path == path
        n = len(r.predicates)
        for leaf in _leaves(r.tree):
            assert 0 <= leaf < n


def _leaves(node: Any) -> Iterator[int]:
    from rulelint.model.tree import leaves
    return leaves(node)


def corpus_root() -> Path | None:
    from tests.conftest import SHARED_CORPUS
    return SHARED_CORPUS if (SHARED_CORPUS / "sigma").is_dir() else None


def real_rule_files(per_vendor: int = 40) -> list[Path]:
    """A fixed, spread-out sample of real rule files from the shared corpus."""
    root = corpus_root()
    if root is None:
        return []
    out: list[Path] = []
    for vendor, pattern in (("sigma", "*.yml"), ("elastic", "*.toml"), ("splunk", "*.yml")):
        base = root / vendor / ("detections" if vendor == "splunk" else "rules")
        files = sorted(base.rglob(pattern))
        step = max(1, len(files) // per_vendor)
        out += files[::step][:per_vendor]
    return out


__all__ = ["HOSTILE", "assert_contained", "check_result", "elastic_doc", "splunk_doc", "toml_doc",
           "yaml_text", "scratch", "real_rule_files", "corpus_root"]
