"""control-character-in-value (RL007): a backslash escape in a double-quoted string that
made a control character the author did not type (`"C:\\temp"` holds a tab).

Run while a file loads, on the text the loaders already hold, so it is cached with the
load: Sigma detection values and Splunk searches (YAML double-quoted scalars, whose
escapes libyaml has already applied: the escape is read back from the source span),
Elastic queries in TOML basic strings (`"..."`, `\"\"\"...\"\"\"`).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

import yaml

from ..findings import Finding
from ..model.rule import NormalizedRule
from .yamlnodes import YamlDoc, line_of, mapping_get

CODE, NAME = "RL007", "control-character-in-value"

# One escape of a double-quoted YAML or TOML basic string.
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)
_SIMPLE = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
           "e": "\x1b"}
_NAMES = {"\0": "a NUL byte", "\a": "a bell character", "\b": "a backspace", "\t": "a tab", "\n": "a line break",
          "\v": "a vertical tab", "\f": "a form feed", "\r": "a carriage return", "\x1b": "an escape character"}
_SPACE = {"\t", "\n", "\r"}


def _control(m: re.Match) -> str | None:
    """The control character an escape makes, if it makes one."""
    body = m.group(1)
    if body in _SIMPLE:
        return _SIMPLE[body]
    if body[0] in "xuU" and len(body) > 1:
        c = chr(int(body[1:], 16))
        return c if ord(c) < 32 or ord(c) == 127 else None
    return None


def _char_name(c: str) -> str:
    return _NAMES.get(c, f"the control character U+{ord(c):04X}")


def _escapes(raw: str, glued_only: bool) -> Iterator[tuple[int, str, str]]:
    """(offset, escape as written, character) of each escape in `raw` making a control
    character. `glued_only`: a tab, line break or carriage return counts only inside a
    word (`C:\\temp`, `\\new`), not between words, where it may be meant as spacing."""
    for m in _ESCAPE.finditer(raw):
        c = _control(m)
        if c is None:
            continue
        if glued_only and c in _SPACE:
            before = raw[m.start() - 1] if m.start() else " "
            after = raw[m.end()] if m.end() < len(raw) else " "
            if before.isspace() or not (after.isalnum() or after in "_."):
                continue
        yield m.start(), m.group(0), c


def _intended(raw: str) -> str:
    """What the author meant: escapes making control characters kept as typed (a backslash
    and a letter), the others read as the string reads them (`\\\\` one backslash)."""
    def one(m: re.Match) -> str:
        if _control(m) is not None:
            return m.group(0)
        body = m.group(1)
        if body[0] in "xuU" and len(body) > 1:
            return chr(int(body[1:], 16))
        return {"N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029", " ": " ", "/": "/"}.get(body, body)
    return _ESCAPE.sub(one, raw)


def _finding(path: str, line: int | None, rule: NormalizedRule | None, where: str, raw: str, escape: str,
             char: str, quote_hint: bool) -> Finding:
    shown = raw if len(raw) <= 80 else raw[:77] + "..."
    meant = _intended(raw).replace("'", "''")
    meant = meant if len(meant) <= 80 else meant[:77] + "..."
    fix = (f"write it in single quotes ('{meant}'), where a backslash is a backslash, or double the backslash"
           if quote_hint else "double the backslash (`\\\\`) or use a literal string ('''...''')")
    message = (f"{where} \"{shown}\" holds {_char_name(char)} where `{escape}` is written: in a double-quoted "
               f"string `{escape}` is an escape; {fix}.")
    return Finding(code=CODE, name=NAME, severity="warning", message=message, path=path, line=line,
                   rule_id=rule.id if rule else "", rule_key=rule.key if rule else "",
                   data={"escape": escape, "char": f"U+{ord(char):04X}"})


# -- YAML ----------------------------------------------------------------------

def _scalars(node: yaml.Node, key: str) -> Iterator[tuple[str, yaml.ScalarNode]]:
    """(nearest mapping key, scalar) of every double-quoted scalar under `node`."""
    stack: list[tuple[str, yaml.Node]] = [(key, node)]
    seen = 0
    while stack and seen < 100_000:
        seen += 1
        k, n = stack.pop()
        if isinstance(n, yaml.ScalarNode):
            if n.style == '"' and isinstance(n.value, str) and any(ord(c) < 32 or ord(c) == 127 for c in n.value):
                yield k, n
        elif isinstance(n, yaml.MappingNode):
            for kn, vn in reversed(n.value):
                stack.append((str(kn.value) if isinstance(kn, yaml.ScalarNode) else k, vn))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((k, v) for v in reversed(n.value))


def yaml_findings(path: str, docs: list[YamlDoc], text: str, rules: list[NormalizedRule],
                  vendor: str) -> list[Finding]:
    """Escapes making control characters in Sigma detections or a Splunk search."""
    if '"' not in text or "\\" not in text or not rules:
        return []
    keys = ("detection", "filter") if vendor == "sigma" else ("search",)
    out: list[Finding] = []
    for doc in docs:
        start = line_of(doc.node)
        rule = next((r for r in rules if r.line == start), rules[0])
        for top in keys:
            _, section = mapping_get(doc.node, top)
            if section is None:
                continue
            for key, node in _scalars(section, top):
                span = text[node.start_mark.index:node.end_mark.index]
                if not (span.startswith('"') and span.endswith('"')):
                    continue  # marks that do not point at the source: nothing to read back
                raw = span[1:-1]
                hit = next(_escapes(raw, glued_only=vendor != "sigma"), None)
                if hit is None:
                    continue
                offset, escape, char = hit
                line = (node.start_mark.line + 1) + raw.count("\n", 0, offset)
                where = f"The `{key}` value" if vendor == "sigma" else "The `search`"
                out.append(_finding(path, line, rule, where, raw if vendor == "sigma" else _around(raw, offset),
                                    escape, char, True))
    return out


def _around(raw: str, offset: int) -> str:
    """A window of a long text around an offset."""
    a, b = max(0, offset - 30), min(len(raw), offset + 30)
    return ("..." if a else "") + raw[a:b] + ("..." if b < len(raw) else "")


# -- TOML ----------------------------------------------------------------------

_QUERY_KEY = re.compile(r'^(query)[ \t]*=[ \t]*("""|")', re.M)
_TABLE = re.compile(r"^\s*\[", re.M)


def toml_findings(path: str, text: str, rules: list[NormalizedRule]) -> list[Finding]:
    """Escapes making control characters in the `[rule]` query of an Elastic rule."""
    if "\\" not in text or not rules:
        return []
    out: list[Finding] = []
    table = ""
    for m in _QUERY_KEY.finditer(text):
        heads = [t for t in re.finditer(r"^\s*\[\[?([^\]]+)\]", text[:m.start()], re.M)]
        table = heads[-1].group(1).strip() if heads else ""
        if table != "rule":
            continue
        delim = m.group(2)
        body_start = m.end()
        if delim == '"""':
            end = body_start
            while True:
                end = text.find('"""', end)
                if end < 0 or text[end - 1] != "\\":
                    break
                end += 1
        else:
            end = text.find("\n", body_start)
        if end < 0:
            continue
        raw = text[body_start:end]
        hit = next(_escapes(raw, glued_only=True), None)
        if hit is None:
            continue
        offset, escape, char = hit
        line = text.count("\n", 0, body_start) + 1 + raw.count("\n", 0, offset)
        out.append(_finding(path, line, rules[0], "The query", _around(raw, offset), escape, char, False))
    return out


def attach(result: Any, found: list[Finding]) -> Any:
    result.findings.extend(found)
    return result
