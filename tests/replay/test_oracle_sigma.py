"""The pySigma SQLite oracle (tests/replay/oracle_sigma.py) on small hand-written cases."""

from __future__ import annotations

import textwrap

from tests.replay.oracle_sigma import flatten_evtx_json, sqlite_verdicts


def rule(detection: str) -> str:
    return (
        "title: t\nid: 5f0c6c4e-0000-4000-8000-000000000001\nstatus: test\n"
        "logsource:\n    category: process_creation\n    product: windows\n"
        "detection:\n" + textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ") + "\n"
    )


EVENTS = [
    {"EventID": 1, "Image": "C:\\Windows\\System32\\CMD.EXE", "CommandLine": "cmd.exe /c whoami /all", "User": "CORP\\alice"},
    {"EventID": 1, "Image": "C:\\x\\notcmd.exe.bak", "CommandLine": "notcmd -x", "User": "CORP\\bob"},
    {"EventID": 1, "Image": "C:\\Tools\\psexec64.exe", "CommandLine": "PsExec64.exe \\\\host -s cmd"},
    {"EventID": 4688, "NewProcessName": "C:\\Windows\\explorer.exe", "CommandLine": None},
]


def verdicts(**rules: str):
    return sqlite_verdicts({k: rule(v) for k, v in rules.items()}, EVENTS)


def test_endswith_is_case_insensitive_and_anchored():
    matches, failed = verdicts(r="""
        sel:
            Image|endswith: '\\cmd.exe'
        condition: sel
    """)
    assert failed == {}
    assert matches["r"] == {0}


def test_regex_is_unanchored_case_sensitive_and_i_flag_folds():
    matches, failed = verdicts(
        plain=r"""
            sel:
                Image|re: 'psexec(64)?\.exe$'
            condition: sel
        """,
        upper=r"""
            sel:
                CommandLine|re: 'PsExec(64)?\.exe'
            condition: sel
        """,
        folded=r"""
            sel:
                CommandLine|re|i: 'WHOAMI\s+/all'
            condition: sel
        """,
    )
    assert failed == {}
    assert matches == {"plain": {2}, "upper": {2}, "folded": {0}}
    matches, _ = verdicts(r=r"""
        sel:
            CommandLine|re: 'psexec'
        condition: sel
    """)
    assert matches["r"] == set()  # no |i: the regex keeps its case


def test_contains_all():
    matches, failed = verdicts(r="""
        sel:
            CommandLine|contains|all:
                - 'cmd'
                - '/c'
                - 'WHOAMI'
        condition: sel
    """)
    assert failed == {}
    assert matches["r"] == {0}


def test_not_one_of_filters_reads_absent_fields_as_false():
    matches, failed = verdicts(r="""
        sel:
            EventID: [1, 4688]
        filter_bob:
            User|endswith: '\\bob'
        filter_tools:
            Image|startswith: 'C:\\Tools\\'
        condition: sel and not 1 of filter*
    """)
    assert failed == {}
    # Event 3 has neither User nor Image: the filters read false there and it stays matched.
    assert matches["r"] == {0, 3}


def test_unsupported_rules_land_in_failed():
    matches, failed = verdicts(
        keywords="""
            keywords:
                - 'whoami'
            condition: keywords
        """,
        placeholder="""
            sel:
                Image|expand: '%admin_tools%'
            condition: sel
        """,
        broken_regex="""
            sel:
                CommandLine|re: '(unclosed'
            condition: sel
        """,
        ok="""
            sel:
                EventID: 4688
            condition: sel
        """,
    )
    assert set(failed) == {"keywords", "placeholder", "broken_regex"}
    assert "Value-only" in failed["keywords"]
    assert "placeholder" in failed["placeholder"].lower()
    assert matches == {"ok": {3}}


def test_field_absent_from_every_event_is_null_not_an_error():
    matches, failed = verdicts(r="""
        sel:
            EventID: 1
        filter:
            NoSuchField: 'x'
        condition: sel and not filter
    """)
    assert failed == {}
    assert matches["r"] == {0, 1, 2}


def test_flatten_evtx_json():
    doc = {"Event": {"#attributes": {"xmlns": "x"}, "System": {
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{g}"}},
        "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
        "Channel": "Security", "Computer": "host1"},
        "EventData": {"#attributes": {"Name": "n"}, "NewProcessName": "C:\\a.exe", "Nested": {"k": 1}}}}
    assert flatten_evtx_json(doc) == {
        "NewProcessName": "C:\\a.exe", "Nested": '{"k": 1}', "EventID": 4688, "Channel": "Security",
        "Computer": "host1", "Provider_Name": "Microsoft-Windows-Security-Auditing"}


def test_correlation_rule_lands_in_failed():
    correlation = textwrap.dedent("""\
        title: many
        correlation:
            type: event_count
            rules: [base]
            group-by: [User]
            timespan: 5m
            condition:
                gte: 3
        """)
    matches, failed = sqlite_verdicts({"corr": correlation}, EVENTS)
    assert matches == {} and "correlation" in failed["corr"].lower()
