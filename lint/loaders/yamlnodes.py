"""YAML documents with their node marks, parsed once by the C loader.

pySigma keeps no line numbers; the composed node tree does, so we compose,
then construct the Python data from the same nodes.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from collections.abc import Hashable
from typing import Any

import yaml
from sigma.rule.base import SigmaYAMLLoader  # CSafeLoader that rejects duplicate keys

from .words import at, char_name, line_column, show, token_at

# Bounds on what one file may make us build (docs/limits.md). The largest real rule file
# is under 300 KB with under 5,000 YAML nodes; these are far above that and far below
# what would take seconds or hundreds of megabytes.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_YAML_NODES = 200_000  # nodes the YAML composer may build (aliases not expanded)
MAX_EXPANDED_NODES = 200_000  # nodes counted as if every alias were expanded


# Where an alias can stand: `*name` after a line start, a space or a flow indicator.
# Plain text such as ` *.exe` in a description matches too; that only costs the slow path.
_ALIAS = re.compile(r"(?:^|[\s\[{,])\*[^\s\[\]{},]", re.M)


class InputError(Exception):
    """A file that cannot be read as rules; `line` is 1-based where known."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.column = column  # 1-based, where known


@dataclass(slots=True)
class YamlDoc:
    node: yaml.Node
    data: Any


def read_rule_bytes(path: str) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file of at most MAX_FILE_BYTES, and its stat.

    Opened without blocking and judged by fstat of that very descriptor, so a FIFO,
    device or directory named like a rule is refused instead of hanging the run (or
    reading /dev/zero forever), and an oversized file is refused before it is read.
    Raises OSError (unreadable, symlink loop) or InputError (not a regular file, too big).
    """
    fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"not a regular file ({_kind_of(st.st_mode)}); rules are read from regular files only")
        if st.st_size > MAX_FILE_BYTES:
            raise InputError(f"file is {st.st_size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
        # Raw reads, no buffered file object (thousands of files); a file grown meanwhile
        # is refused by decode().
        chunks = []
        want = MAX_FILE_BYTES + 1
        while want > 0:
            chunk = os.read(fd, min(want, max(st.st_size + 1, 65536)))
            if not chunk:
                break
            chunks.append(chunk)
            want -= len(chunk)
        return b"".join(chunks), st
    finally:
        os.close(fd)


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


def decode(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"file is {len(raw):,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("file is UTF-16 encoded; rules must be UTF-8", 1)
    if b"\x00" in raw[:8192]:
        raise InputError("file is binary (contains NUL bytes), not a rule", 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"file is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})", line)


class _BoundedLoader(SigmaYAMLLoader):
    """Stops composing past MAX_YAML_NODES. The C composer asks `resolve` for the tag of
    every untagged node: the one Python-level hook it calls per node, so counting there
    refuses a huge flow list before it has eaten gigabytes. A node with an explicit tag
    skips `resolve` but needs a `!` in the text, so the budget starts lower by their count."""

    _resolve = SigmaYAMLLoader.resolve

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.budget = MAX_YAML_NODES - (text.count("!") if "!" in text else 0)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        self.budget -= 1
        if self.budget < 0:
            raise _TooManyNodes()
        if kind is yaml.ScalarNode and len(value) <= 64:
            # Tags of short scalars depend on the text alone, and keys and values such as
            # `detection`, `condition`, `selection` repeat in every file: skip the regexes.
            memo = _TAGS.get((value, implicit))
            if memo is None:
                memo = self._resolve(kind, value, implicit)
                if len(_TAGS) < 100_000:
                    _TAGS[(value, implicit)] = memo
            return memo
        return self._resolve(kind, value, implicit)


_TAGS: dict[tuple[str, Any], str] = {}


class _TooManyNodes(Exception):
    pass


def load_documents(text: str) -> list[YamlDoc]:
    """Every document of a YAML stream with its node tree."""
    loader = _BoundedLoader(text)
    if loader.budget < 0:
        loader.dispose()
        raise InputError(f"YAML has over {MAX_YAML_NODES:,} nodes (explicit tags)")
    docs: list[YamlDoc] = []
    # No alias, no shared node: skip the expansion count and build the data directly.
    may_alias = "*" in text and _ALIAS.search(text) is not None
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if may_alias:
                _check_expansion(node)
            try:
                data = _construct(loader, node) if not may_alias else loader.construct_document(node)
            except yaml.YAMLError as e:
                if isinstance(e, yaml.MarkedYAMLError):
                    raise
                # pySigma's loader rejects duplicate keys without a position; find it.
                raise InputError(f"invalid YAML: {e}", _duplicate_key_line(node)) from None
            docs.append(YamlDoc(node, data))
    except yaml.MarkedYAMLError as e:
        reason, line, column = yaml_error_words(e, text)
        raise InputError(f"invalid YAML: {reason}", line, column) from None
    except yaml.reader.ReaderError as e:
        line, column = line_column(text, e.position) if isinstance(e.position, int) else (None, None)
        what = f"U+{e.character:04X}" if isinstance(e.character, int) else "a character"
        raise InputError(f"invalid YAML: {what} is not allowed in YAML ({e.reason}) {at(line, column)}".rstrip(),
                         line, column) from None
    except yaml.YAMLError as e:
        raise InputError(f"invalid YAML: {e}") from None
    except RecursionError:
        raise InputError("YAML nests too deeply") from None
    except _TooManyNodes:
        raise InputError(f"YAML has over {MAX_YAML_NODES:,} nodes") from None
    finally:
        loader.dispose()
    return docs


# PyYAML's (C loader's) wording of where it was, and of what went wrong, in a rule author's words.
_CONTEXTS = {
    "while parsing a block mapping": "in the mapping started on line {l}",
    "while parsing a block collection": "in the list started on line {l}",
    "while parsing a flow sequence": "in the `[...]` list started on line {l}",
    "while parsing a flow mapping": "in the `{{...}}` mapping started on line {l}",
    "while parsing a quoted scalar": "in the quoted string started on line {l}",
    "while scanning a quoted scalar": "in the quoted string started on line {l}",
    "while scanning a double-quoted scalar": "in the quoted string started on line {l}",
    "while scanning a simple key": "in the key started on line {l}",
    "while scanning a block scalar": "in the block text started on line {l}",
    "while parsing a block node": "in the value started on line {l}",
    "while parsing a flow node": "in the value started on line {l}",
}
_PROBLEMS = {
    "did not find expected key": "expected a key (check the indentation)",
    "did not find expected '-' indicator": "expected a `- ` list item (check the indentation)",
    "did not find expected ',' or ']'": "expected `,` or `]`",
    "did not find expected ',' or '}'": "expected `,` or `}`",
    "could not find expected ':'": "expected `:` after the key",
    "found unexpected end of stream": "the file ends before the string is closed",
    "did not find expected node content": "expected a value",
    "found undefined alias": "the alias names no anchor",
}


def yaml_error_words(e: yaml.MarkedYAMLError, text: str) -> tuple[str, int | None, int | None]:
    """(reason, line, column) of a YAML error: what PyYAML says, with the character its
    C loader leaves out (the tab, the escape) read back from the text."""
    mark = e.problem_mark or e.context_mark
    line = mark.line + 1 if mark else None
    column = mark.column + 1 if mark else None
    where = at(line, column)
    src = _source_line(text, mark.line) if mark else ""
    ch = src[mark.column] if mark and mark.column < len(src) else ""
    problem = (e.problem or "").strip()
    if "cannot start any token" in problem:
        if ch == "\t":
            if not src[:mark.column].strip():
                return f"a tab character is not allowed for indentation {where}; indent with spaces", line, column
            return f"a tab character cannot start a value {where}; use spaces, or quote the value", line, column
        return (f"{char_name(ch)} cannot start an unquoted value {where}; quote the value", line, column)
    if "unknown escape character" in problem or "hexdecimal number" in problem or "escape sequence" in problem:
        # The C loader points at the backslash, the Python one at the character after it.
        i = mark.column if ch == "\\" else mark.column - 1
        if i >= 0 and src[i:i + 1] == "\\":
            column = i + 1
            where = at(line, column)
        escape = src[i:i + 2] if i >= 0 and src[i:i + 1] == "\\" else "\\" + ch
        kind = "an unknown escape" if "unknown" in problem else "an incomplete escape"
        return (f"{kind} {show(escape)} in a double-quoted string {where}; write the value in single quotes, "
                f"where a backslash is an ordinary character, or double the backslash", line, column)
    if problem.startswith("mapping values are not allowed"):
        return (f"unexpected `:` {where}; quote a value that holds `: `, or check the indentation",
                line, column)
    words = _PROBLEMS.get(problem, problem)
    if problem == "found unexpected end of stream" and "quoted" not in (e.context or ""):
        words = "the file ends too early"
    context = ""
    if e.context and e.context_mark and e.problem_mark and e.context_mark.line != e.problem_mark.line:
        template = _CONTEXTS.get(e.context.strip())
        context = (template.format(l=e.context_mark.line + 1) if template
                   else f"{e.context} (started on line {e.context_mark.line + 1})")
    elif e.context and e.context.strip() not in _CONTEXTS:
        context = e.context
    what = token_at(src, mark.column) if mark else ""
    found_it = f", found {show(what)}" if what and "end of stream" not in problem else ""
    reason = f"{context}, {words}" if context else words
    return f"{reason or str(e)} {where}{found_it}".strip(), line, column


_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def _source_line(text: str, index: int) -> str:
    """Line `index` (0-based) of the text, counting line breaks as YAML does."""
    lines = _LINE_BREAK.split(text, maxsplit=index + 1)
    return lines[index] if index < len(lines) else ""


_STR, _SEQ, _MAP = "tag:yaml.org,2002:str", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
# Scalar constructors that return their value at once (the others are generators).
_PLAIN_SCALARS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "bool", "null", "float", "timestamp"))


def _construct(loader: _BoundedLoader, root: yaml.Node) -> Any:
    """The document's Python data, as `construct_document` builds it, for a document with
    no anchors: plain maps, lists and scalars are built here directly (rules are nothing
    else, and PyYAML's generic constructor costs more than composing); any other tag and
    any merge key go through PyYAML's own constructor. Duplicate keys are refused as
    pySigma's loader refuses them."""
    constructors = loader.yaml_constructors
    stack: list[tuple[yaml.Node, Any]] = []

    def build(node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR and node.__class__ is yaml.ScalarNode:
            return node.value
        if tag in _PLAIN_SCALARS and node.__class__ is yaml.ScalarNode:
            return constructors[tag](loader, node)
        if tag == _SEQ and node.__class__ is yaml.SequenceNode:
            out: Any = []
            stack.append((node, out))
            return out
        if tag == _MAP and node.__class__ is yaml.MappingNode and \
                not any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value):
            out = {}
            stack.append((node, out))
            return out
        return loader.construct_object(node, deep=True)

    data = build(root)
    while stack:  # children after their parent: depth does not touch the C stack
        node, out = stack.pop()
        if isinstance(out, list):
            out.extend(build(c) for c in node.value)
            continue
        for k, v in node.value:
            key = build(k)
            if not isinstance(key, Hashable) or k.__class__ is not yaml.ScalarNode:
                raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                        "found unhashable key", k.start_mark)
            if key in out:
                raise yaml.YAMLError(f"Duplicate key '{key}'")
            out[key] = build(v)
    loader.constructed_objects.clear()
    return data


def _check_expansion(root: yaml.Node) -> None:
    """Refuse alias bombs: count nodes as if every alias were expanded."""
    sizes: dict[int, int] = {}
    # Iterative post-order so deep nesting cannot overflow the stack.
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            total = 1
            for child in _children(node):
                total += sizes.get(id(child), 1)
            sizes[nid] = total
            if total > MAX_EXPANDED_NODES:
                raise InputError(
                    f"YAML expands to over {MAX_EXPANDED_NODES:,} nodes (alias bomb?)",
                    node.start_mark.line + 1,
                )
            continue
        if nid in sizes:
            continue
        if nid in on_path:
            raise InputError("YAML contains a recursive alias", node.start_mark.line + 1)
        on_path.add(nid)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _duplicate_key_line(root: yaml.Node) -> int | None:
    stack = [root]
    seen_nodes: set[int] = set()
    while stack:
        n = stack.pop()
        if id(n) in seen_nodes:
            continue
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            keys: set = set()
            for k, _ in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in keys:
                        return k.start_mark.line + 1
                    keys.add(k.value)
        stack.extend(_children(n))
    return None


def line_of(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def mapping_get(node: yaml.Node | None, key: str) -> tuple[yaml.Node | None, yaml.Node | None]:
    """(key node, value node) of `key` in a mapping node."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return k, v
    return None, None
