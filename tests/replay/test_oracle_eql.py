"""The eql-engine oracle on small hand-written cases (see oracle_eql's docstring)."""

from __future__ import annotations

import pytest

from tests.replay.oracle_eql import _parse, eql_verdicts


def ev(cat="process", ts="2024-01-01T00:00:00Z", dotted=None, **fields):
    """A dotted ECS event; `process_name="x"` stands for "process.name"."""
    out = {"@timestamp": ts, "event": {"category": cat}}
    out.update({k.replace("_", "."): v for k, v in fields.items()})
    out.update(dotted or {})
    return out


def test_colon_is_case_insensitive_and_checks_the_category():
    q = 'process where process.name : "CMD.exe"'
    events = [ev(process_name="cmd.exe"), ev("file", process_name="cmd.exe"), ev(process_name="powershell.exe")]
    assert eql_verdicts(q, events) == {0}


def test_nested_and_dotted_events_agree():
    q = 'process where process.name : "cmd.exe" and process.parent.name : "explorer.exe"'
    nested = {"@timestamp": "2024-01-01T00:00:00Z", "event": {"category": "process"},
              "process": {"name": "cmd.exe", "parent": {"name": "explorer.exe"}}}
    dotted = ev(process_name="cmd.exe", process_parent_name="explorer.exe")
    mixed = {"@timestamp": "2024-01-01T00:00:00Z", "event.category": "process",
             "process": {"name": "cmd.exe"}, "process.parent.name": "explorer.exe"}
    assert eql_verdicts(q, [nested, dotted, mixed]) == {0, 1, 2}


@pytest.mark.parametrize("cats", [["process"], ["network", "process"]])
def test_category_list(cats):
    assert eql_verdicts('process where process.name : "cmd.exe"', [ev(cats, process_name="cmd.exe")]) == {0}
    assert eql_verdicts('file where true', [ev(cats)]) == set()


def test_any_where_matches_events_without_category():
    no_cat = {"@timestamp": "2024-01-01T00:00:00Z", "process": {"name": "x"}}
    assert eql_verdicts('any where process.name : "x"', [no_cat, ev("file", process_name="x")]) == {0, 1}
    assert eql_verdicts('process where true', [no_cat]) == set()


def test_args_list_engine_vs_any():
    events = [ev(process_name="powershell.exe", process_args=["powershell.exe", "-ENC", "abc"]),
              ev(process_name="powershell.exe", process_args=["powershell.exe", "-nop"])]
    q = 'process where process.args : "-enc"'
    # eql's engine: a list value makes the leaf null, so it never matches ...
    assert eql_verdicts(q, events) == set()
    assert eql_verdicts('process where process.args == "-enc"', events) == set()
    # ... and `in` on a list is a TypeError inside the engine.
    assert "unhashable" in eql_verdicts('process where process.args in ("-enc", "-e")', events)
    # Elasticsearch's reading: any element.
    assert eql_verdicts(q, events, arrays="any") == {0}
    assert eql_verdicts('process where process.args in ("-enc", "-e")', events, arrays="any") == {0}
    assert eql_verdicts('process where not process.args : "-enc"', events, arrays="any") == {1}
    assert eql_verdicts('process where process.args != "-enc"', events, arrays="any") == {1}
    assert eql_verdicts('process where startsWith~(process.args, "-EN")', events, arrays="any") == {0}
    assert eql_verdicts('process where process.args : ("*abc", "zzz")', events, arrays="any") == {0}


def test_like_insensitive():
    events = [ev(process_name="PowerShell.exe"), ev(process_name="pwsh.exe")]
    assert eql_verdicts('process where process.name like~ "power*"', events) == {0}


def test_optional_field_and_in_tilde():
    events = [ev(process_name="x", dotted={"process.pe.original_file_name": "Cmd.Exe"}), ev(process_name="y")]
    assert eql_verdicts('process where ?process.pe.original_file_name in~ ("cmd.exe")', events) == {0}
    assert eql_verdicts('process where ?process.pe.original_file_name == null', events) == {1}


def test_not_in_and_nulls():
    events = [ev(process_name="a.exe"), ev(process_name="c.exe"), ev(process_name="B.EXE"), ev()]
    q = 'process where not process.name in ("a.exe", "b.exe")'
    # `in` folds case in eql's engine; a missing field is null and `not null` is null.
    assert eql_verdicts(q, events) == {1}
    assert eql_verdicts('process where process.name != "a.exe"', events) == {1, 2}
    assert eql_verdicts('process where process.name == null', events) == {3}


def test_engine_folds_case_everywhere():
    # Case-sensitive in Elasticsearch, not in eql's engine: the parser drops `~`.
    events = [ev(process_name="CMD.EXE")]
    for q in ('process where process.name == "cmd.exe"', 'process where process.name like "cmd*"',
              'process where process.name in ("cmd.exe")', 'process where process.name regex "cmd.*"',
              'process where startsWith(process.name, "cmd")'):
        assert eql_verdicts(q, events) == {0}, q


def test_pattern_quirks():
    events = [ev(process_name="cmd.exe")]
    assert eql_verdicts('process where process.name : "cm?.exe"', events) == set()  # `?` is literal
    assert eql_verdicts('process where process.name regex "cmd"', events) == {0}  # re.match: start anchor only


SEQ = ('sequence by host.id with maxspan=1m '
       '[process where process.name : "cmd.exe"] [network where destination.port == 443]')


def test_sequence_same_host_within_a_minute():
    events = [ev(process_name="cmd.exe", host_id="h1", ts="2024-01-01T00:00:00Z"),
              ev("network", destination_port=443, host_id="h2", ts="2024-01-01T00:00:10Z"),
              ev("network", destination_port=443, host_id="h1", ts="2024-01-01T00:00:30Z"),
              ev(process_name="notepad.exe", host_id="h1", ts="2024-01-01T00:00:40Z")]
    assert eql_verdicts(SEQ, events) == {0, 2}


def test_sequence_other_host_or_too_late():
    other_host = [ev(process_name="cmd.exe", host_id="h1", ts="2024-01-01T00:00:00Z"),
                  ev("network", destination_port=443, host_id="h2", ts="2024-01-01T00:00:10Z")]
    assert eql_verdicts(SEQ, other_host) == set()
    too_late = [ev(process_name="cmd.exe", host_id="h1", ts="2024-01-01T00:00:00Z"),
                ev("network", destination_port=443, host_id="h1", ts="2024-01-01T00:02:00Z")]
    assert eql_verdicts(SEQ, too_late) == set()


def test_sequence_maxspan_boundary_and_order():
    first = ev(process_name="cmd.exe", host_id="h1", ts="2024-01-01T00:00:00Z")
    at = ev("network", destination_port=443, host_id="h1", ts="2024-01-01T00:01:00Z")
    past = ev("network", destination_port=443, host_id="h1", ts="2024-01-01T00:01:00.000001Z")
    assert eql_verdicts(SEQ, [first, at]) == {0, 1}  # exactly maxspan still matches
    assert eql_verdicts(SEQ, [first, past]) == set()
    assert eql_verdicts(SEQ, [at, first]) == {0, 1}  # streamed in @timestamp order
    # by-keys are case-folded in the engine
    upper = ev("network", destination_port=443, host_id="H1", ts="2024-01-01T00:00:05Z")
    assert eql_verdicts(SEQ, [first, upper]) == {0, 1}


def test_maxspan_is_whole_seconds():
    q = 'sequence with maxspan={} [process where process.name : "a"] [process where process.name : "b"]'
    a = ev(process_name="a", ts="2024-01-01T00:00:00Z")
    b = ev(process_name="b", ts="2024-01-01T00:00:00.1Z")
    late_b = ev(process_name="b", ts="2024-01-01T00:00:01.2Z")
    assert eql_verdicts(q.format("500ms"), [a, b]) == set()  # 500ms // 1000 -> 0s
    assert eql_verdicts(q.format("1500ms"), [a, late_b]) == set()  # -> 1s
    assert eql_verdicts(q.format("2s"), [a, late_b]) == {0, 1}


def test_sequence_until_and_missing_step():
    q = ('sequence by host.id with maxspan=1m [process where process.name : "a"] '
         '[process where process.name : "b"] until [process where process.name : "stop"]')
    a = ev(process_name="a", host_id="h", ts="2024-01-01T00:00:00Z")
    stop = ev(process_name="stop", host_id="h", ts="2024-01-01T00:00:01Z")
    b = ev(process_name="b", host_id="h", ts="2024-01-01T00:00:02Z")
    assert eql_verdicts(q, [a, b]) == {0, 1}
    assert eql_verdicts(q, [a, stop, b]) == set()
    # eql's `![...]` step is passed by the next same-type, same-key event that does
    # NOT match it (that event is consumed, not reported); a matching one kills the
    # pending sequence. So `a, b` alone does not match, `a, x, stop, b` does.
    neg = ('sequence by host.id with maxspan=1m [process where process.name : "a"] '
           '![process where process.name : "stop"] [process where process.name : "b"]')
    x = ev(process_name="x", host_id="h", ts="2024-01-01T00:00:00.5Z")
    late_b = ev(process_name="b", host_id="h", ts="2024-01-01T00:00:03Z")
    assert eql_verdicts(neg, [a, b]) == set()
    assert eql_verdicts(neg, [a, x, b]) == {0, 2}
    assert eql_verdicts(neg, [a, stop, b]) == set()
    assert eql_verdicts(neg, [a, x, stop, late_b]) == {0, 3}


def test_function_names_fold_case():
    events = [ev(process_name="cmd.exe", source_ip="10.1.2.3"), ev(process_name="x", source_ip="8.8.8.8")]
    assert eql_verdicts('process where startswith(process.name, "CMD")', events) == {0}
    assert eql_verdicts('process where cidrmatch(source.ip, "10.0.0.0/8")', events) == {0}
    assert eql_verdicts('process where STRINGCONTAINS(process.name, "md.")', events) == {0}


def test_reasons():
    events = [ev(process_name="a")]
    assert eql_verdicts('process where foo(process.name)', events) == "unsupported function: foo"
    assert eql_verdicts('process where', events).startswith("parse error")
    assert eql_verdicts('process where true | count', events).startswith("pipe output")
    assert eql_verdicts('process where true', [{"event": {"category": "process"}}]).startswith("bad event 0")
    assert eql_verdicts('process where true | head 1', events + events) == {0}


def test_adapter_equals_stock_engine_for_single_categories():
    """The category-set adapter only widens the event type; with one category per event
    the stock eql.PythonEngine gives the same verdicts."""
    import eql
    from eql.events import Event

    from tests.replay.oracle_eql import _ticks

    events = [ev(process_name="cmd.exe", host_id="h", ts="2024-01-01T00:00:00Z"),
              ev("file", file_name="x.txt", host_id="h", ts="2024-01-01T00:00:01Z"),
              ev(process_name="cmd.exe", host_id="g", ts="2024-01-01T00:00:02Z"),
              ev("network", destination_port=443, host_id="h", ts="2024-01-01T00:00:03Z")]
    queries = ['process where process.name : "cmd.exe"', 'any where host.id == "h"',
               'sequence by host.id [process where true] [file where true] [any where true]',
               'sequence with maxspan=2s [process where true] [network where true]',
               'sample by host.id [process where true] [network where true]']
    for q in queries:
        stock = eql.PythonEngine()
        out: list = []
        stock.add_output_hook(out.append)
        stock.add_query(_parse(q))
        nested = [_nested(e) for e in events]
        stream = [Event(e["event"]["category"], _ticks(e["@timestamp"]), e) for e in nested]
        stock.stream_events(stream)
        expected = {stream.index(x) for r in out for x in r.events}
        assert eql_verdicts(q, events) == expected, q


def _nested(e: dict) -> dict:
    out: dict = {}
    for k, v in e.items():
        parts = [k] if k == "@timestamp" else k.split(".")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = v
    return out
