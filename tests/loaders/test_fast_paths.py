"""The loaders' fast paths read exactly what the plain ones read: EQL parsed without
position tracking, TOML through tomli's compiled build. Errors come from the plain
path, word for word."""

from __future__ import annotations

import tomllib

import pytest

from rulelint.loaders import event_query
from rulelint.loaders.elastic import read_toml
from rulelint.loaders.event_query import parse_eql
from rulelint.loaders.query import PredicateSink, QueryError

EQL_VALID = [
    'process where process.name : ("cmd.exe", "powershell.exe") and not process.args : "-enc*"',
    'process where process.name == "x" | head 5',
    "sequence by host.id with maxspan=1m\n  [process where event.type == \"start\"]\n  ![file where true]",
    'file where startswith~(file.path, "C:\\\\Windows") and wildcard(file.name, "*.dll", "*.exe")',
    'network where cidrmatch(destination.ip, "10.0.0.0/8") and destination.port >= 1024',
    'process where process.name like~ "A*" and process.pid != 4 and 1 == process.ppid',
    'any where true',
]
EQL_INVALID = [
    "process where",
    'process where process.name == ',
    "process where wildcard(1)",
    "process where length(x) = 1",
    "process where x == 'single'",
    "sequence with maxspan=1x [process where true] [process where true]",
    'sequence by host.id [process where true] [file where',
]


def outcome(query: str) -> tuple:
    sink = PredicateSink(query, 10)
    try:
        tree, event_type = parse_eql(query, sink)
    except QueryError as e:
        return ("error", e.reason, e.offset, e.construct)
    return ("ok", tree, event_type, sink.predicates)


def test_eql_fast_path_reads_what_the_positioned_parser_reads(monkeypatch):
    fast = [outcome(q) for q in EQL_VALID + EQL_INVALID]
    event_query._load()
    # Without the fast parser, every query takes the positioned path (the only one before).
    monkeypatch.setattr(event_query, "_fast_parser", None)
    plain = [outcome(q) for q in EQL_VALID + EQL_INVALID]
    assert fast == plain
    assert [o[0] for o in fast] == ["ok"] * len(EQL_VALID) + ["error"] * len(EQL_INVALID)
    assert all(o[3] for o in fast[:len(EQL_VALID) - 1])  # predicates, not empty trees, were compared


def test_valid_eql_never_needs_the_positioned_parser(monkeypatch):
    event_query._load()
    calls: list[str] = []
    positioned = event_query._eql.parser.lark_parser
    real = positioned.parse

    def spy(text: str, start: str | None = None, **kw):
        if start == "piped_query":  # eql also parses field names with it (field_parts)
            calls.append(text)
        return real(text, start, **kw)

    monkeypatch.setattr(positioned, "parse", spy)
    for q in EQL_VALID:
        outcome(q)
    assert calls == []  # the speed-up is real: no query was parsed twice
    outcome(EQL_INVALID[0])
    assert calls == [EQL_INVALID[0]]  # errors are worded by the positioned parser


TOML_DOCS = [
    '[rule]\nname = "x"\nquery = \'\'\'\nprocess where true\n\'\'\'\ntags = ["a", "b"]\n',
    '[rule]\nthreshold = {field = ["host.name"], value = 5}\n[[rule.threat]]\nframework = "MITRE ATT&CK"\n',
    "a = 1979-05-27T07:32:00-08:00\nb = 0xDEAD_beef\nc = nan\nd = -0.0\ne = 99999999999999999999\n",
    'a = """a""""\n',
    # Invalid TOML 1.0, each refused with tomllib's own message:
    "a = 1\na = 2\n",
    "[a]\n[a]\n",
    'a = "\\q"\n',
    "a = 01\n",
    "a = 1e\n",
    "a = 2020-13-01\n",
    "a.b = 1\na.b.c = 2\n",
    '[rule\nname = "x"\n',
    # TOML 1.1 only (tomli 2.4 and later would accept them): refused, as tomllib does.
    'a = "\\e"\n',
    'a = "\\x41"\n',
    "a = {b = 1,\n c = 2}\n",
    "a = {b = 1,}\n",
    "a = 07:32\n",
]


def toml_outcome(read, text: str) -> tuple:
    try:
        return ("ok", repr(read(text)))
    except tomllib.TOMLDecodeError as e:
        return ("error", str(e))


@pytest.mark.parametrize("text", TOML_DOCS)
def test_read_toml_is_tomllib(text):
    assert toml_outcome(read_toml, text) == toml_outcome(tomllib.loads, text)


def test_read_toml_nesting_fails_as_tomllib_does():
    deep = "a = " + "[" * 5000 + "]" * 5000
    with pytest.raises(RecursionError):
        tomllib.loads(deep)
    with pytest.raises(RecursionError):
        read_toml(deep)
    shallow = "a = " + "[" * 150 + "]" * 150  # past rtoml's limit, within tomllib's
    assert read_toml(shallow) == tomllib.loads(shallow)
