"""Sigma parse errors in a rule author's words: a condition's first unexpected word and
what could stand there (not pyparsing's `Expected {{{'1' | 'any' ...`), and the
modifier a typo meant (`endwith`: did you mean `endswith`?)."""

from __future__ import annotations

import difflib
import re
from typing import Any

import yaml
from sigma.modifiers import modifier_mapping

from .words import at, join_or, show
from .yamlnodes import InputError

_TOKEN = re.compile(r"\s*(?:([()|])|([^\s()|]+))")
_WORD = re.compile(r"[A-Za-z0-9_-]+")  # pySigma's identifier
_PATTERN = re.compile(r"[A-Za-z0-9_*]+")  # pySigma's identifier pattern (after `1 of`)
_OPERATORS = ("and", "or", "not")
_QUANTIFIERS = ("1", "any", "all")
OPERAND = "a detection name, `1 of`, `all of`, `not` or `(`"


def _tokens(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        start = m.start(1) if m.group(1) else m.start(2)
        out.append((start, m.group(1) or m.group(2)))
        pos = m.end()
    return out


def condition_problem(text: str) -> tuple[int, str, str] | None:
    """(0-based offset, what is wrong, what was expected) of the first word of a Sigma
    condition that its grammar cannot take there; None when the grammar finds nothing
    (pySigma failed for another reason)."""
    toks = _tokens(text)
    opened: list[int] = []
    want_operand = True
    i = 0
    while i < len(toks):
        pos, tok = toks[i]
        if want_operand:
            if tok == "not":
                i += 1
                continue
            if tok == "(":
                opened.append(pos)
                i += 1
                continue
            if tok in _QUANTIFIERS and i + 1 < len(toks) and toks[i + 1][1] == "of":
                if i + 2 >= len(toks):
                    return len(text.rstrip()), f"ends after `{tok} of`", "a detection name or pattern (`selection_*`) or `them`"
                ppos, pattern = toks[i + 2]
                if not _PATTERN.fullmatch(pattern) or pattern in _OPERATORS:
                    return ppos, f"has an unexpected {show(pattern)}", \
                        "a detection name or pattern (`selection_*`) or `them`"
                i += 3
                want_operand = False
                continue
            if _WORD.fullmatch(tok) and tok not in _OPERATORS and tok != "of":
                i += 1
                want_operand = False
                continue
            return pos, f"has an unexpected {show(tok)}", OPERAND
        if tok in ("and", "or"):
            want_operand = True
            i += 1
            continue
        if tok == ")" and opened:
            opened.pop()
            i += 1
            continue
        expected = join_or(["`and`", "`or`"] + (["`)`"] if opened else []) + ["the end of the condition"])
        if tok.lower() in _OPERATORS:
            expected += " (Sigma's `and`, `or` and `not` are lower case)"
        elif i and toks[i - 1][1] in _QUANTIFIERS and difflib.get_close_matches(tok, ["of"], cutoff=0.5):
            expected += f" (did you mean `{toks[i - 1][1]} of`?)"
        return pos, f"has an unexpected {show(tok)}", expected
    if want_operand:
        last = toks[-1][1] if toks else ""
        what = f"ends after {show(last)}" if last else "is empty"
        return len(text.rstrip()), what, OPERAND
    if opened:
        return opened[-1], "never closes the `(`", "`)` before the end of the condition"
    return None


def condition_error(text: str, error: Exception, value: yaml.Node | None, line: int | None,
                    fallback: str) -> InputError:
    """The InputError of a condition pySigma could not parse: the first unexpected word
    at its column in the condition (and the file column where the condition's text maps
    one to one onto the file), and what could stand there."""
    node = _condition_node(value, text)
    if "|" in text:  # the aggregation syntax: pySigma says why it is refused
        return InputError(f"condition {text!r}: {fallback}", node.start_mark.line + 1 if node else line)
    problem = condition_problem(text)
    if node is not None:
        line = node.start_mark.line + 1
    if problem is None:
        m = re.search(r"\(at char (\d+)\)", str(error))
        if not m:
            return InputError(f"condition {text!r}: {fallback}", line)
        offset = int(m.group(1))
        token = text[offset:].split()[0] if text[offset:].split() else ""
        problem = (offset, f"cannot be read from {show(token)}" if token else "ends too early", "")
    offset, what, expected = problem
    column = _file_column(node, text, offset)
    where = at(line, column) if column else f"at column {offset + 1} of the condition"
    reason = f"the condition {show(text, 120)} {what} {where}"
    return InputError(f"{reason}; expected {expected}" if expected else reason, line, column)


def _condition_node(value: yaml.Node | None, text: str) -> yaml.ScalarNode | None:
    """The scalar node holding this condition (the value, or an item of a list of them)."""
    if isinstance(value, yaml.ScalarNode):
        return value
    if isinstance(value, yaml.SequenceNode):
        for item in value.value:
            if isinstance(item, yaml.ScalarNode) and item.value == text:
                return item
    return None


def _file_column(node: yaml.ScalarNode | None, text: str, offset: int) -> int | None:
    """1-based file column of `offset` in a one-line plain or quoted scalar."""
    if node is None or node.start_mark.line != node.end_mark.line or node.style not in (None, "", "'", '"'):
        return None
    if node.value != text:
        return None
    return node.start_mark.column + 1 + (1 if node.style else 0) + offset


# -- modifiers ----------------------------------------------------------------------

_UNKNOWN_MODIFIER = re.compile(r"Unknown modifier '([^']*)'")


def modifier_error(error: Exception, root: yaml.Node) -> tuple[int | None, int | None, str] | None:
    """(line, column, reason) of pySigma's `Unknown modifier 'x'`: the key that holds it,
    the modifier's column, and the known modifier it is closest to; None for other errors."""
    m = _UNKNOWN_MODIFIER.search(str(error))
    if not m:
        return None
    name = m.group(1)
    key = _find_key(root, lambda k: name in k.split("|")[1:])
    guess = difflib.get_close_matches(name.lower(), sorted(modifier_mapping), n=1, cutoff=0.6)
    hint = f"; did you mean `{guess[0]}`?" if guess else \
        f"; known modifiers are {join_or(f'`{x}`' for x in ('contains', 'startswith', 'endswith', 'all', 're', 'cidr'))} and others"
    if key is None:
        return None, None, f"unknown modifier {show(name)}{hint}"
    line = key.start_mark.line + 1
    column = None
    if key.start_mark.line == key.end_mark.line and not key.style:
        parts = key.value.split("|")
        column = key.start_mark.column + 1 + len("|".join(parts[:parts.index(name)])) + 1
    where = at(line, column)
    return line, column, f"unknown modifier {show(name)} in {show(key.value)} {where}{hint}"


def _find_key(node: yaml.Node, pred: Any) -> yaml.ScalarNode | None:
    stack: list[yaml.Node] = [node]
    seen: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            for k, _ in n.value:
                if isinstance(k, yaml.ScalarNode) and isinstance(k.value, str) and "|" in k.value and pred(k.value):
                    return k
            stack.extend(v for _, v in reversed(n.value))
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(reversed(n.value))
    return None


def undefined_hint(name: str, defined: Any) -> str:
    """`; did you mean `selection_main`?` when a defined detection is close to `name`."""
    names = [str(d) for d in defined if d != "condition"]
    guess = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"; did you mean `{guess[0]}`?" if guess else ""
