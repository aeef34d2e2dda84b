"""Hand-written cases of each operator, per vendor: the evaluator against what the vendor's engine does."""

from __future__ import annotations

import textwrap

import pytest

from rulelint.loaders import load_file
from rulelint.replay.evaluate import CannotJudge, compile_rule
from rulelint.replay.normalize import normalize, split_command_line
from rulelint.replay.scope import rule_scope
from rulelint.replay.sequences import matches_of


def _rule(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    res = load_file(str(path))
    assert res.rules, [f.message for f in res.findings]
    return res.rules[0]


def sigma(tmp_path, detection: str, logsource: str = "category: process_creation\n    product: windows"):
    body = textwrap.indent(textwrap.dedent(detection).strip(), "    ")
    return _rule(tmp_path, "r.yml", f"title: t\nid: 7d1a0f1e-1111-4a4a-9b9b-000000000001\nlogsource:\n    {logsource}\n"
                                    f"detection:\n{body}\nlevel: low\n")


def elastic(tmp_path, query: str, language: str = "eql", index: str = '["winlogbeat-*"]'):
    return _rule(tmp_path, "r.toml", f'''
        [metadata]
        creation_date = "2026/01/01"
        [rule]
        author = ["t"]
        description = "t"
        index = {index}
        language = "{language}"
        name = "t"
        risk_score = 1
        rule_id = "7d1a0f1e-1111-4a4a-9b9b-000000000002"
        severity = "low"
        type = "{language if language == 'eql' else 'query'}"
        query = \'\'\'
        {query}
        \'\'\'
        ''')


def win(eid: int = 1, channel: str = "Microsoft-Windows-Sysmon/Operational", **data) -> dict:
    return {"Event": {"System": {"EventID": eid, "Channel": channel, "Computer": "host1",
                                 "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                                 "TimeCreated": {"#attributes": {"SystemTime": "2024-01-01T00:00:00.0000000Z"}}},
                      "EventData": data}}


def fires(rule, doc: dict) -> bool:
    ev = normalize(doc)
    return rule_scope(rule)(ev) and compile_rule(rule).test(ev)


def test_sigma_case_folding_and_path_suffix(tmp_path):
    r = sigma(tmp_path, """
        selection:
            Image|endswith: '\\cmd.exe'
        condition: selection""")
    assert fires(r, win(Image="C:\\Windows\\System32\\CMD.EXE"))
    assert not fires(r, win(Image="C:\\x\\notcmd.exe.bak"))
    assert not fires(r, win(Image="C:\\x\\xcmd.exe"))


def test_sigma_wildcards_all_and_not(tmp_path):
    r = sigma(tmp_path, """
        selection:
            CommandLine|contains|all: ['-nop', 'hidden']
            ParentImage|endswith: '\\w?nword.exe'
        filter:
            CommandLine|contains: 'legit'
        condition: selection and not filter""")
    assert fires(r, win(CommandLine="powershell -NoP -w HIDDEN", ParentImage="C:\\o\\winword.exe"))
    assert not fires(r, win(CommandLine="powershell -nop", ParentImage="C:\\o\\winword.exe"))
    assert not fires(r, win(CommandLine="-nop hidden legit", ParentImage="C:\\o\\winword.exe"))
    assert not fires(r, win(CommandLine="-nop hidden", ParentImage="C:\\o\\wiinword.exe"))


def test_sigma_windash_regex_cidr_numbers_null(tmp_path):
    r = sigma(tmp_path, """
        selection:
            CommandLine|windash|contains: ' -enc '
        condition: selection""")
    for dash in ("-", "/", "\u2013", "\u2014", "\u2015"):
        assert fires(r, win(CommandLine=f"powershell {dash}enc AAAA"))
    assert not fires(r, win(CommandLine="powershell enc AAAA"))
    r = sigma(tmp_path, """
        selection:
            CommandLine|re|i: 'FOO[0-9]+bar'
        condition: selection""")
    assert fires(r, win(CommandLine="x foo12BAR y"))
    assert not fires(r, win(CommandLine="foobar"))
    r = sigma(tmp_path, """
        selection:
            DestinationIp|cidr: '10.0.0.0/8'
            DestinationPort|gte: 1024
        condition: selection""", "category: network_connection\n    product: windows")
    assert fires(r, win(3, DestinationIp="10.1.2.3", DestinationPort=4444))
    assert not fires(r, win(3, DestinationIp="100.1.2.3", DestinationPort=4444))
    assert not fires(r, win(3, DestinationIp="10.1.2.3", DestinationPort=80))
    r = sigma(tmp_path, """
        selection:
            Image|endswith: '\\a.exe'
            OriginalFileName: null
        condition: selection""")
    assert fires(r, win(Image="C:\\a.exe"))
    assert fires(r, win(Image="C:\\a.exe", OriginalFileName=None))
    assert not fires(r, win(Image="C:\\a.exe", OriginalFileName="a.exe"))


def test_sigma_base64offset_matches_every_alignment(tmp_path):
    import base64

    r = sigma(tmp_path, """
        selection:
            CommandLine|base64offset|contains: 'http://'
        condition: selection""")
    for pad in ("", "a", "ab"):
        encoded = base64.b64encode((pad + "http://evil").encode()).decode()
        assert fires(r, win(CommandLine=f"powershell -e {encoded}")), pad
    assert not fires(r, win(CommandLine="powershell -e " + base64.b64encode(b"https//x").decode()))


def test_sigma_keywords_search_every_field(tmp_path):
    r = sigma(tmp_path, """
        keywords:
            - 'sekurlsa::'
        condition: keywords""", "product: windows")
    assert fires(r, win(CommandLine="mimikatz SEKURLSA::logonpasswords"))
    assert not fires(r, win(CommandLine="mimikatz"))


def test_sigma_log_source_scope(tmp_path):
    r = sigma(tmp_path, """
        selection:
            Image|endswith: '\\cmd.exe'
        condition: selection""")
    assert fires(r, win(1, Image="C:\\cmd.exe"))
    assert fires(r, win(4688, "Security", NewProcessName="C:\\cmd.exe"))  # Security 4688 is process_creation too
    assert not fires(r, win(11, Image="C:\\cmd.exe", TargetFilename="C:\\x"))  # a file event of the same process


def test_elastic_eql_case_rules_and_args(tmp_path):
    r = elastic(tmp_path, 'process where process.name : "CMD.exe" and process.args == "/c" and '
                          'not process.parent.name in ("explorer.exe")')
    assert fires(r, win(Image="C:\\Windows\\cmd.exe", CommandLine='cmd.exe /c "echo hi"', ParentImage="C:\\p.exe"))
    assert not fires(r, win(Image="C:\\Windows\\cmd.exe", CommandLine="cmd.exe /C echo", ParentImage="C:\\p.exe"))
    assert not fires(r, win(Image="C:\\Windows\\cmd.exe", CommandLine="cmd.exe /c x", ParentImage="C:\\explorer.exe"))
    assert not fires(r, win(11, Image="C:\\Windows\\cmd.exe", CommandLine="cmd.exe /c x"))  # not a process event
    # Index patterns: an endpoint-only rule does not read Sysmon's index.
    r = elastic(tmp_path, 'process where process.name : "cmd.exe"', index='["logs-endpoint.events.process-*"]')
    assert not fires(r, win(Image="C:\\Windows\\cmd.exe"))


def test_elastic_kql_wildcards_and_event_data(tmp_path):
    r = elastic(tmp_path, 'event.code:10 and winlog.event_data.GrantedAccess:0x1010 and process.name:*rundll*',
                language="kuery")
    assert fires(r, win(10, SourceImage="C:\\w\\rundll32.exe", GrantedAccess="0x1010"))
    assert not fires(r, win(10, SourceImage="C:\\w\\rundll32.exe", GrantedAccess="0x1410"))


def test_eql_sequence_by_and_maxspan(tmp_path):
    r = elastic(tmp_path, 'sequence by host.name with maxspan=1m '
                          '[process where process.name == "a.exe"] [process where process.name == "b.exe"]')
    assert r.steps and r.maxspan == 60.0

    def at(second: int, image: str, host: str = "h1") -> dict:
        doc = win(Image=f"C:\\{image}")
        doc["Event"]["System"]["Computer"] = host
        doc["Event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"] = f"2024-01-01T00:{second // 60:02d}:{second % 60:02d}Z"
        return doc

    compiled = compile_rule(r)
    scope = rule_scope(r)
    events = [normalize(d) for d in (at(0, "a.exe"), at(30, "b.exe"))]
    assert matches_of(compiled, scope, events) == {0, 1}
    events = [normalize(d) for d in (at(0, "a.exe"), at(120, "b.exe"))]  # too far apart
    assert matches_of(compiled, scope, events) == set()
    events = [normalize(d) for d in (at(0, "a.exe", "h1"), at(10, "b.exe", "h2"))]  # other host
    assert matches_of(compiled, scope, events) == set()
    events = [normalize(d) for d in (at(10, "b.exe"), at(20, "a.exe"))]  # wrong order
    assert matches_of(compiled, scope, events) == set()


def test_splunk_tstats_and_raw_search(tmp_path):
    r = _rule(tmp_path, "d.yml", """
        name: t
        id: 7d1a0f1e-1111-4a4a-9b9b-000000000003
        type: TTP
        search: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe
          Processes.process="*whoami*" by Processes.dest | `drop_dm_object_name(Processes)`'
        """)
    assert fires(r, win(Image="C:\\Windows\\CMD.exe", CommandLine="cmd /c WHOAMI /all"))
    assert not fires(r, win(Image="C:\\Windows\\cmd.exe", CommandLine="cmd /c dir"))
    assert not fires(r, win(11, Image="C:\\Windows\\cmd.exe", CommandLine="whoami", TargetFilename="x"))


def test_not_judged_on_single_events(tmp_path):
    r = _rule(tmp_path, "c.yml", """
        name: t
        id: 7d1a0f1e-1111-4a4a-9b9b-000000000004
        type: Anomaly
        search: '| tstats count from datamodel=Endpoint.Processes where Processes.process_name=cmd.exe by Processes.dest
          | where count > 50'
        """)
    with pytest.raises(CannotJudge, match="computes"):
        compile_rule(r)


def test_command_line_split_like_windows():
    assert split_command_line('a.exe "b c" d\\"e f\\\\"g h"') == ["a.exe", "b c", 'd"e', 'f\\g h']
    assert split_command_line("  x   y ") == ["x", "y"]
