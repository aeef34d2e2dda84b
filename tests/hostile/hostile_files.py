"""A folder of hostile rule files, each with what loading it must give.

Shared by the limit tests (each file loaded alone, time and memory measured) and the
end-to-end test (the whole folder linted beside the real corpus).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from rulelint.loaders.sigma import MAX_CONDITION_CHARS, MAX_DETECTION_ITEMS
from rulelint.loaders.yamlnodes import MAX_FILE_BYTES, MAX_YAML_NODES

from .support import elastic_doc, toml_doc

HEAD = (
    "title: Hostile\n"
    "logsource:\n    product: windows\n    category: process_creation\n"
    "detection:\n"
)
SEL = "    sel:\n        Image|endswith: '\\a.exe'\n    sel2:\n        User: b\n"


@dataclass(frozen=True)
class Case:
    name: str  # path under the hostile folder
    expect: str  # "error" (a parse-error naming it), "load" (rules, no parse-error), "either", "silent"
    hint: str  # a word the parse-error reason must hold ("" for any)
    make: Callable[[Path], None]


def _text(data: str) -> Callable[[Path], None]:
    return lambda p: p.write_text(data, encoding="utf-8")


def _bytes(data: bytes) -> Callable[[Path], None]:
    return lambda p: p.write_bytes(data)


def sigma(condition: str, selections: str = SEL, extra: str = "") -> str:
    return HEAD + selections + f"    condition: {condition}\n" + extra


def billion_laughs(key: str = "Image") -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return HEAD.replace("detection:\n", "\n".join(lines) + "\ndetection:\n") + f"    sel:\n        {key}: *l9\n    condition: sel\n"


def elastic(query: str, language: str = "kuery") -> str:
    rtype = {"eql": "eql", "esql": "esql"}.get(language, "query")
    return toml_doc(elastic_doc(query, language, rtype))


def splunk(search: str) -> str:
    return ("name: Hostile\nid: 00000000-0000-4000-8000-00000005b1c0\ntype: TTP\n"
            f"search: {json.dumps(search)}\n")


def _symlink_loop(p: Path) -> None:
    p.symlink_to(p.name)


def _fifo(p: Path) -> None:
    os.mkfifo(p)


def _unreadable(p: Path) -> None:
    p.write_text(sigma("sel"), encoding="utf-8")
    p.chmod(0)


def _directory(p: Path) -> None:
    p.mkdir(exist_ok=True)
    (p / "inside.yml").write_bytes(b"\x00\x01binary inside a folder named like a rule")


def _macro_loop(p: Path) -> None:
    (p.parent / "macros").mkdir(exist_ok=True)
    (p.parent / "macros" / "loop.yml").write_text("name: loop\ndefinition: '`loop` a=b'\n", encoding="utf-8")
    p.write_text(splunk("`loop` | stats count by dest"), encoding="utf-8")


def unreadable_expect() -> str:
    """As root, chmod 000 does not stop a read: the file then loads, and that is the
    honest outcome to assert. Anyone else gets 'Permission denied' as a parse-error."""
    return "load" if os.geteuid() == 0 else "error"


N = 10_000  # nesting and repetition of the query cases
CASES: list[Case] = [
    # YAML resource bombs
    Case("alias_bomb.yml", "error", "alias", _text(billion_laughs())),
    Case("recursive_alias.yml", "error", "alias", _text("title: t\ndetection: &a [*a]\n")),
    Case("yaml_node_flood.yml", "error", "nodes", _text(sigma("sel", SEL.replace("User: b", "User: [" + ",".join(["b"] * (MAX_YAML_NODES + 10)) + "]")))),
    Case("yaml_tag_flood.yml", "error", "nodes", _text(sigma("sel") + "tags: [" + ",".join(["!!str a"] * 400_000) + "]\n")),
    Case("yaml_deep_flow.yml", "error", "nest", _text("title: t\ndetection: " + "[" * 100_000 + "]" * 100_000 + "\n")),
    Case("macros/alias_bomb_macro.yml", "error", "alias", _text(billion_laughs("definition"))),
    # deep conditions and queries
    Case("sigma_parens_10k.yml", "error", "characters", _text(sigma("(" * N + "sel" + ")" * N))),
    Case("sigma_parens_4k.yml", "error", "nests deeper", _text(sigma("(" * 4_000 + "sel" + ")" * 4_000))),
    Case("sigma_not_chain.yml", "either", "", _text(sigma("not " * 2_400 + "sel"))),
    Case("sigma_long_condition.yml", "error", "characters", _text(sigma(" or ".join(["sel"] * (MAX_CONDITION_CHARS // 6))))),
    Case("sigma_wide_dnf.yml", "load", "", _text(sigma(
        " and ".join(f"(a{i} or b{i})" for i in range(24)),
        "".join(f"    a{i}:\n        CommandLine|contains: 'x{i}'\n    b{i}:\n        ParentImage|endswith: 'y{i}'\n" for i in range(24))))),
    Case("sigma_many_items.yml", "error", "field conditions", _text(sigma(
        "sel", "    sel:\n" + "".join(f"        F{i}: v\n" for i in range(MAX_DETECTION_ITEMS + 1))))),
    Case("sigma_100k_values.yml", "load", "", _text(sigma(
        "sel", "    sel:\n        CommandLine|contains:\n" + "".join(f"            - 'v{i}'\n" for i in range(100_000))))),
    # One value just inside the file size limit: alone it loads quickly; beside the 100,000-value
    # rule it once made the overlap analysis scan 5 MB per value (hours). RL004 now names both.
    Case("sigma_5mb_value.yml", "load", "", _text(sigma(
        "sel", "    sel:\n        CommandLine|contains: '" + "v" * (MAX_FILE_BYTES - 400) + "'\n"))),
    Case("sigma_unknown_modifier.yml", "error", "containz", _text(sigma("sel", "    sel:\n        Image|containz: a\n"))),
    Case("sigma_undefined_identifier.yml", "error", "nowhere", _text(sigma("sel and not nowhere"))),
    Case("kql_parens_10k.toml", "error", "nests", _text(elastic("(" * N + "a:b" + ")" * N))),
    Case("kql_not_10k.toml", "error", "nests", _text(elastic("not " * N + "a:b"))),
    Case("kql_nested_field_10k.toml", "error", "nests", _text(elastic("a:{" * N + "b:c" + "}" * N))),
    Case("eql_alternating_1k.toml", "error", "nests", _text(elastic(
        "process where " + "".join(f"(a{i} == 1 {'and' if i % 2 else 'or'} " for i in range(1_000)) + "b == 2" + ")" * 1_000, "eql"))),
    Case("eql_parens_10k.toml", "either", "", _text(elastic("process where " + "(" * N + "a == 1" + ")" * N, "eql"))),
    Case("esql_not_10k.toml", "error", "nests", _text(elastic("FROM x | WHERE " + "NOT " * N + "a == 1", "esql"))),
    Case("lucene_parens_10k.toml", "error", "nests", _text(elastic("(" * N + "a:b" + ")" * N, "lucene"))),
    Case("spl_not_10k.yml", "error", "nests", _text(splunk("index=x " + "NOT " * N + "a=b"))),
    Case("spl_where_alternating.yml", "error", "nests", _text(splunk(
        "index=x | where " + "".join(f"(a{i}=1 {'AND' if i % 2 else 'OR'} " for i in range(2_000)) + "b=2" + ")" * 2_000))),
    Case("spl_subsearch_10k.yml", "either", "", _text(splunk("index=x " + "[search " * N + "a=b" + "]" * N))),
    Case("detections/spl_macro_loop.yml", "error", "macro", _macro_loop),
    Case("spl_rename_backtracking.yml", "load", "", _text(splunk(
        "index=x a=b | stats count by " + "a" * 50_000 + " | rename " + "a*" * 40 + "b AS x | where count > 1"))),
    Case("spl_macro_call_spaces.yml", "either", "", _text(splunk("index=x `a" + " " * 900_000 + "x` a=b"))),
    Case("spl_unclosed_escaped_quotes.yml", "either", "", _text(splunk("index=x a=" + '\\"' * 400_000 + " | stats count"))),
    Case("suppression_dash_spaces.yml", "load", "", _text(
        sigma("sel") + "# rulelint: disable=RL101\nreferences:\n    - a" + " " * 600_000 + "x\n")),
    Case("toml_deep.toml", "error", "nests", _text("[rule]\nname = 'x'\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")),
    Case("toml_deep_tables.toml", "error", "nests", _text("[rule]\nname = 'x'\nx = " + "{a=" * 50_000 + "1" + "}" * 50_000 + "\n")),
    # sizes
    Case("kql_20k_terms_one_line.toml", "load", "", _text(elastic(" or ".join(f"process.name:p{i}.exe" for i in range(20_000))))),
    Case("huge_title.yml", "error", "title", _text(sigma("sel").replace("title: Hostile", "title: '" + "x" * 4_000_000 + "'"))),
    Case("huge_description.yml", "load", "", _text(sigma("sel", extra="description: '" + "x" * 4_000_000 + "'\n"))),
    Case("oversized.yml", "error", "limit", _text(sigma("sel") + "# " + "x" * (MAX_FILE_BYTES + 10) + "\n")),
    # bytes and encodings
    Case("binary.yml", "error", "binary", _bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8)),
    Case("binary.toml", "error", "binary", _bytes(bytes(range(256)) * 8)),
    Case("utf16_bom.yml", "error", "UTF-16", _bytes(sigma("sel").encode("utf-16"))),
    Case("utf16le_no_bom.yml", "error", "binary", _bytes(sigma("sel").encode("utf-16-le"))),
    Case("utf16be_no_bom.toml", "error", "binary", _bytes(elastic("a:b").encode("utf-16-be"))),
    Case("latin1.yml", "error", "UTF-8", _bytes(sigma("sel").replace("Hostile", "Hostilé").encode("latin-1"))),
    Case("truncated_utf8.yml", "error", "UTF-8", _bytes(sigma("sel").encode() + "é".encode()[:1])),
    Case("empty.yml", "silent", "", _bytes(b"")),
    Case("empty.toml", "silent", "", _bytes(b"")),
    Case("only_bom.yml", "silent", "", _bytes(b"\xef\xbb\xbf")),
    # things that are not regular files
    Case("symlink_loop.yml", "error", "symbolic links", _symlink_loop),
    Case("fifo.yml", "error", "named pipe", _fifo),
    Case("unreadable.yml", unreadable_expect(), "Permission denied", _unreadable),
    Case("directory_named_like_a_rule.yml/inside.yml", "error", "binary", lambda p: _directory(p.parent)),
]


def write_hostile_folder(root: Path) -> list[tuple[Case, Path]]:
    """Write every case under `root`; returns each case with its path."""
    out = []
    for case in CASES:
        path = root / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() and not path.is_symlink():
            case.make(path)
        out.append((case, path))
    return out
