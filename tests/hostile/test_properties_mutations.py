"""Mutations of real rules from the shared corpus: truncated, bytes flipped, lines
deleted or duplicated, keys given the wrong type (a list where a string is expected, a
dict for `query`, an int for `tags` ...). Each mutant loads or is a parse-error."""

from __future__ import annotations

import tomllib

import pytest
import yaml
from hypothesis import given, strategies as st

from .support import HOSTILE, assert_contained, real_rule_files, scratch, toml_doc, yaml_text

FILES = real_rule_files()
pytestmark = pytest.mark.skipif(not FILES, reason="shared corpus not found (set RULELINT_SHARED_CORPUS)")

files = st.sampled_from(FILES) if FILES else st.nothing()


@st.composite
def byte_mutants(draw) -> tuple[str, bytes]:
    path = draw(files)
    raw = path.read_bytes()
    kind = draw(st.sampled_from(["truncate", "flip", "delete_line", "duplicate_line", "insert_bytes"]))
    if kind == "truncate":
        raw = raw[:draw(st.integers(0, len(raw)))]
    elif kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, max(0, len(raw) - 1)))
            raw = raw[:i] + bytes([raw[i] ^ draw(st.integers(1, 255))]) + raw[i + 1:] if raw else raw
    elif kind in ("delete_line", "duplicate_line"):
        lines = raw.splitlines(keepends=True)
        if lines:
            i = draw(st.integers(0, len(lines) - 1))
            lines[i:i + 1] = [] if kind == "delete_line" else [lines[i]] * draw(st.integers(2, 4))
        raw = b"".join(lines)
    else:
        i = draw(st.integers(0, len(raw)))
        raw = raw[:i] + draw(st.binary(min_size=1, max_size=16)) + raw[i:]
    return path.suffix, raw


@HOSTILE
@given(byte_mutants())
def test_byte_level_mutants_of_real_rules(mutant):
    suffix, raw = mutant
    with scratch() as folder:
        assert_contained(folder, f"detections/mutant{suffix}", raw)


WRONG = st.one_of(
    st.integers(-5, 10**20), st.booleans(), st.just([]), st.lists(st.text(max_size=8), min_size=1, max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), min_size=1, max_size=2),
    st.text(max_size=10), st.floats(allow_nan=False, allow_infinity=False),
)


def _set_path(doc, keys: list, value) -> None:
    """Put `value` at the nested key path, where the path exists."""
    for k in keys[:-1]:
        if not isinstance(doc, dict) or k not in doc:
            return
        doc = doc[k]
    if isinstance(doc, dict):
        doc[keys[-1]] = value


SIGMA_KEYS = [["title"], ["id"], ["tags"], ["logsource"], ["logsource", "product"], ["detection"],
              ["detection", "condition"], ["level"], ["status"], ["date"], ["related"], ["fields"],
              ["falsepositives"], ["references"], ["author"]]
ELASTIC_KEYS = [["rule", "query"], ["rule", "tags"], ["rule", "language"], ["rule", "type"], ["rule", "threat"],
                ["rule", "index"], ["rule", "name"], ["rule", "rule_id"], ["rule", "filters"], ["rule", "new_terms"],
                ["rule", "threshold"], ["metadata"], ["rule"]]
SPLUNK_KEYS = [["search"], ["name"], ["id"], ["tags"], ["tags", "mitre_attack_id"], ["data_source"], ["type"]]


@st.composite
def typed_mutants(draw) -> tuple[str, str]:
    path = draw(files)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        doc = tomllib.loads(text)
        for _ in range(draw(st.integers(1, 3))):
            _set_path(doc, draw(st.sampled_from(ELASTIC_KEYS)), draw(WRONG))
        return ".toml", toml_doc(doc)
    doc = yaml.safe_load(text)
    keys = SIGMA_KEYS if "detection" in doc else SPLUNK_KEYS
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(keys))
        if target == ["detection"] and isinstance(doc.get("detection"), dict) and draw(st.booleans()):
            # A selection of the wrong shape rather than the whole detection.
            names = [k for k in doc["detection"] if k != "condition"]
            if names:
                target = ["detection", draw(st.sampled_from(names))]
        _set_path(doc, target, draw(WRONG))
    return path.suffix, yaml_text(doc)


@HOSTILE
@given(typed_mutants())
def test_real_rules_with_keys_of_the_wrong_type(mutant):
    suffix, text = mutant
    with scratch() as folder:
        assert_contained(folder, f"detections/mutant{suffix}", text)
