"""YAML documents with their node marks, parsed once by the C loader.

pySigma keeps no line numbers; the composed node tree does, so we compose,
then construct the Python data from the same nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from sigma.rule.base import SigmaYAMLLoader  # CSafeLoader that rejects duplicate keys

# Bounds on what one file may make us build (see docs/limits in README).
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_EXPANDED_NODES = 200_000


class InputError(Exception):
    """A file that cannot be read as rules; `line` is 1-based where known."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


@dataclass(slots=True)
class YamlDoc:
    node: yaml.Node
    data: Any


def decode(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(f"file is {len(raw):,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("file is UTF-16 encoded; rules must be UTF-8", 1)
    if b"\x00" in raw[:8192]:
        raise InputError("file is binary (contains NUL bytes), not a YAML rule", 1)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputError(f"file is not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start})", line)


def load_documents(text: str) -> list[YamlDoc]:
    """Every document of a YAML stream with its node tree."""
    loader = SigmaYAMLLoader(text)
    docs: list[YamlDoc] = []
    may_alias = "&" in text  # no anchor, no alias: skip the expansion count
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if may_alias:
                _check_expansion(node)
            try:
                data = loader.construct_document(node)
            except yaml.YAMLError as e:
                if isinstance(e, yaml.MarkedYAMLError):
                    raise
                # pySigma's loader rejects duplicate keys without a position; find it.
                raise InputError(f"invalid YAML: {e}", _duplicate_key_line(node)) from None
            docs.append(YamlDoc(node, data))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        context = e.context or ""
        if e.context and e.context_mark and e.problem_mark and e.context_mark.line != e.problem_mark.line:
            context = f"{e.context} (started on line {e.context_mark.line + 1})"
        reason = " ".join(x for x in (context, e.problem) if x) or str(e)
        raise InputError(f"invalid YAML: {reason}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise InputError(f"invalid YAML: {e}") from None
    except RecursionError:
        raise InputError("YAML nests too deeply") from None
    finally:
        loader.dispose()
    return docs


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
