"""Robustness (Summiting the Pyramid): the combination rules, table lookups per vendor,
levels without a value and the JSON contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from rulelint.analysis.robustness import Robustness, robustness_of, score_value
from rulelint.loaders import load_file
from rulelint.model.predicate import Predicate
from rulelint.model.rule import LogSource, NormalizedRule
from rulelint.model.tree import And, Leaf, Not, Or

from ..conftest import sigma_rule


def _rule(preds: list[tuple[str, str, tuple[str, ...]]], tree, category: str = "process_creation",
          product: str = "windows") -> NormalizedRule:
    return NormalizedRule(key="k", id="k", title="t", vendor="sigma", path="p",
                          logsource=LogSource(product=product, category=category),
                          predicates=[Predicate(f, op, vals) for f, op, vals in preds], tree=tree)


HASH = ("process.hash.sha256", "eq", ("ab" * 32,))  # 1
CMD_NATIVE = ("process.command_line", "contains", ("vssadmin delete shadows",))  # 3
ORIG = ("process.pe.original_file_name", "eq", ("vssadmin.exe",))  # 3
TOOL_ORIG = ("process.pe.original_file_name", "eq", ("evil.exe",))  # 2
ACCESS = ("GrantedAccess", "eq", ("0x1010",))  # 4


def _load(tmp_path: Path, name: str, text: str) -> NormalizedRule:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    res = load_file(str(p))
    assert res.rules, res.findings
    return res.rules[0]


def test_single_observable_is_its_own_level():
    assert robustness_of(_rule([HASH], Leaf(0))).level == 1
    assert robustness_of(_rule([ORIG], Leaf(0))).level == 3


def test_and_takes_the_lowest():
    r = robustness_of(_rule([HASH, ORIG], And([Leaf(0), Leaf(1)])))
    assert r.level == 1
    assert r.decider is not None and r.decider.field == "process.hash.sha256"


def test_or_takes_the_highest():
    r = robustness_of(_rule([HASH, ORIG], Or([Leaf(0), Leaf(1)])))
    assert r.level == 3


def test_values_of_one_predicate_are_an_or():
    r = robustness_of(_rule([("process.pe.original_file_name", "eq", ("evil.exe", "vssadmin.exe"))], Leaf(0)))
    assert r.level == 3


def test_not_scores_as_its_child_and_a_filter_is_anded():
    # the method's walkthrough: (1 AND 1) AND NOT(3) = 1; and 3 AND NOT(1) = 1
    assert robustness_of(_rule([ORIG, HASH], And([Leaf(0), Not(Leaf(1))]))).level == 1
    r = robustness_of(_rule([ORIG, CMD_NATIVE], And([Leaf(0), Not(Leaf(1))])))
    assert r.level == 3


def test_not_flips_and_into_or_inside_a_filter():
    # A AND NOT(C AND D) = A AND (NOT C OR NOT D): min(A, max(C, D))
    preds = [ACCESS, HASH, ORIG]
    assert robustness_of(_rule(preds, And([Leaf(0), Not(And([Leaf(1), Leaf(2)]))]), "process_access")).level == 3
    # A AND NOT(C OR D) = A AND NOT C AND NOT D: min(A, C, D)
    assert robustness_of(_rule(preds, And([Leaf(0), Not(Or([Leaf(1), Leaf(2)]))]), "process_access")).level == 1


def test_routing_predicates_are_given():
    # R((A AND B) | A) = R(B): the event source does not lower the level
    r = robustness_of(_rule([("event.category", "eq", ("process",)), ORIG], And([Leaf(0), Leaf(1)])))
    assert r.level == 3
    assert [o.kind for o in r.observables] == ["routing", "original_name"]


def test_value_matters_not_just_field():
    assert score_value("process.name", "eq", "mimikatz.exe")[0] == 1
    assert score_value("process.pe.original_file_name", "eq", "certutil.exe")[0] == 3
    assert score_value("process.pe.original_file_name", "eq", "mimikatz.exe")[0] == 2
    assert score_value("EventID", "eq", "4698")[0] == 4
    assert score_value("EventID", "eq", "4688")[0] is None
    assert score_value("registry.path", "contains", r"\Schedule\TaskCache\Tree")[0] == 5
    assert score_value("file.name", "eq", r"\atsvc")[0] == 1  # outside pipe_created, a file name


def test_native_tool_arguments_are_level_3_and_tool_arguments_2(tmp_path):
    native = sigma_rule("n", r"""
        selection:
            - Image|endswith: '\vssadmin.exe'
            - OriginalFileName: 'VSSADMIN.EXE'
        args:
            CommandLine|contains|all: ['delete', 'shadows']
        condition: selection and args
    """)
    r = robustness_of(_load(tmp_path, "n.yml", native))
    assert (r.level, r.column) == (3, "K")
    brought = sigma_rule("b", r"""
        selection:
            CommandLine|contains: 'sekurlsa::logonpasswords'
        condition: selection
    """)
    assert robustness_of(_load(tmp_path, "b.yml", brought)).level == 2


def test_same_behaviour_same_level_across_vendors(tmp_path):
    sigma = sigma_rule("s", r"""
        selection:
            - Image|endswith: '\vssadmin.exe'
            - OriginalFileName: 'VSSADMIN.EXE'
        args:
            CommandLine|contains|all: ['delete', 'shadows']
        condition: selection and args
    """)
    elastic = '''[metadata]
creation_date = "2020/01/01"
[rule]
author = ["x"]
description = "x"
name = "Shadow copy deletion"
risk_score = 47
rule_id = "11111111-2222-3333-4444-555555555555"
severity = "medium"
type = "eql"
language = "eql"
index = ["logs-endpoint.events.process-*"]
query = """
process where host.os.type == "windows" and event.type == "start" and
  (process.name : "vssadmin.exe" or process.pe.original_file_name == "VSSADMIN.EXE") and
  process.args : "delete" and process.args : "shadows"
"""
'''
    splunk = '''name: Shadow copy deletion
id: 11111111-2222-3333-4444-666666666666
version: 1
date: '2024-01-01'
author: x
status: production
type: TTP
description: x
data_source: []
search: '| tstats `security_content_summariesonly` count from datamodel=Endpoint.Processes
  where (Processes.process_name=vssadmin.exe OR Processes.original_file_name=VSSADMIN.EXE)
  Processes.process="*delete*" Processes.process="*shadows*" by Processes.dest | `drop_dm_object_name(Processes)`'
how_to_implement: x
known_false_positives: x
references: []
tags:
  analytic_story: []
  asset_type: Endpoint
  mitre_attack_id: [T1490]
  product: [Splunk Enterprise]
  security_domain: endpoint
'''
    levels = {
        "sigma": robustness_of(_load(tmp_path, "s.yml", sigma)),
        "elastic": robustness_of(_load(tmp_path, "e.toml", elastic)),
        "splunk": robustness_of(_load(tmp_path, "sp.yml", splunk)),
    }
    assert {v: (r.level, r.column) for v, r in levels.items()} == {v: (3, "K") for v in levels}


def test_null_with_a_reason():
    r = robustness_of(_rule([], None))
    assert r.level is None and r.reason
    r = robustness_of(_rule([("some.unknown_field", "eq", ("x",))], Leaf(0)))
    assert r.level is None and "not in the observable table" in r.reason


def test_to_dict_contract():
    r = robustness_of(_rule([HASH, ORIG], And([Leaf(0), Leaf(1)])))
    d = r.to_dict()
    assert set(d) == {"level", "column", "observables", "reason", "evade"}
    assert d["level"] == 1 and d["column"] == "K"
    assert {"field", "op", "value", "level", "reason"} <= set(d["observables"][0])
    assert isinstance(r, Robustness) and r.evade
    with pytest.raises(Exception):
        r.level = 2  # type: ignore[misc]


# -- how the method reads filters, hosts, settings and identities ------------------------------------

def test_a_filter_takes_its_weakest_exclusion():
    # NOT (C OR D) is NOT C AND NOT D: the exclusion the adversary meets most easily decides.
    sel = ("process.pe.original_file_name", "eq", ("presentationhost.exe",))
    filt = ("process.command_line", "contains", (" c:\\program files", " c:\\windows\\"))
    r = robustness_of(_rule([sel, filt], And([Leaf(0), Not(Leaf(1))])))
    assert r.level == 1 and r.decider is not None and not r.decider.positive
    assert "user can write" in r.reason
    # the same exclusion without the folder above C:\Windows\Temp cannot be met by the adversary
    safe = ("process.command_line", "contains", (" c:\\program files",))
    assert robustness_of(_rule([sel, safe], And([Leaf(0), Not(Leaf(1))]))).level == 3


def test_a_selection_keeps_its_strongest_value():
    r = robustness_of(_rule([("process.command_line", "contains", (" c:\\windows\\", "vssadmin delete shadows"))],
                            Leaf(0)))
    assert r.level == 3


def test_an_exclusion_of_empty_command_lines_cannot_be_met():
    sel = ("process.pe.original_file_name", "eq", ("cmd.exe",))
    name = ("process.name", "eq", ("cmd.exe",))
    empty = ("process.command_line", "is_null", ("",))
    r = robustness_of(_rule([sel, name, empty], And([Leaf(0), Not(And([Leaf(1), Leaf(2)]))])))
    assert r.level == 3  # the filter never applies to a command that does something
    # an exclusion the adversary can meet (their own binary with their own script) does lower it
    own = ("process.name", "eq", ("updater.exe",))
    named = ("process.command_line", "contains", ("evil.bat",))
    assert robustness_of(_rule([sel, own, named], And([Leaf(0), Not(And([Leaf(1), Leaf(2)]))]))).level == 1


def test_a_pre_existing_host_parent_is_level_3_a_launched_one_level_1():
    child = ("process.pe.original_file_name", "eq", ("powershell.exe",))
    host = ("process.parent.name", "eq", ("vmtoolsd.exe",))
    lolbin = ("process.parent.name", "eq", ("mshta.exe",))
    assert robustness_of(_rule([child, host], And([Leaf(0), Leaf(1)]))).level == 3
    assert robustness_of(_rule([child, lolbin], And([Leaf(0), Leaf(1)]))).level == 1


def test_a_host_process_acting_is_level_3_but_not_as_a_spawned_child():
    host = ("process.name", "eq", ("w3wp.exe",))
    assert score_value("process.name", "eq", "w3wp.exe",
                       _ctx(source="file_event"))[0] == 3
    assert score_value("process.name", "eq", "w3wp.exe", _ctx(source="process_creation"))[0] == 1
    assert robustness_of(_rule([host], Leaf(0), category="file_event")).level == 3


def test_a_native_program_in_an_exclusion_is_level_3_in_a_selection_level_1():
    assert score_value("process.name", "eq", "cmd.exe", _ctx(negated=True))[0] == 3
    assert score_value("process.name", "eq", "cmd.exe", _ctx())[0] == 1
    assert score_value("process.name", "eq", "evil.exe", _ctx(negated=True))[0] == 1


def test_powershell_cmdlets_are_a_native_tools_arguments_but_script_functions_are_not():
    assert score_value("process.command_line", "contains", "Add-PSSnapin")[0] == 3
    assert score_value("process.command_line", "contains", "[System.Convert]::FromBase64String")[0] == 3
    assert score_value("process.command_line", "contains", "Invoke-CVE")[0] == 2
    assert score_value("process.command_line", "contains", "sekurlsa::logonpasswords")[0] == 2
    assert score_value("process.command_line", "contains", "import-module \"$env:temp\\")[0] == 1


def test_os_setting_keys_are_level_4_and_sub_technique_keys_level_5():
    crash = r"HKLM\System\CurrentControlSet\Control\CrashControl\CrashDumpEnabled"
    assert score_value("registry.path", "contains", crash)[0] == 4
    r = score_value("registry.path", "contains", r"\Control\Session Manager\AppCertDlls")
    assert r[0] == 5 and "T1546.009" in r[1]
    assert score_value("registry.path", "contains", r"\Software\SomeVendor\Settings")[0] == 3


def test_well_known_identities_are_level_3_others_level_1():
    for v in ("S-1-5-18", "ESX Admins", "Domain Admins", "root", "S-1-5-21-1-2-3-512"):
        assert score_value("user.name", "eq", v)[0] == 3, v
    assert score_value("user.name", "eq", "bob")[0] == 1
    assert score_value("ObjectName", "ends_with", "-500")[0] == 3  # a SAM object by its RID (4661)


def test_inside_boundary_addresses_are_level_3_public_ones_level_1():
    for v in ("127.0.0.1", "::", "10.0.0.0/8", "192.168.1.5", "169.254.169.254"):
        assert score_value("source.ip", "eq", v)[0] == 3, v
    assert score_value("source.ip", "eq", "8.8.8.8")[0] == 1


def test_fixed_folders_and_file_names_are_the_environment_not_the_adversarys_choice():
    assert score_value("file.path", "starts_with", "\\logging\\cmdletinfra\\localpowershell\\cmdlet\\")[0] == 3
    assert score_value("file.name", "eq", "StartupParameters.plist")[0] == 3
    assert score_value("file.path", "wildcard", "/Library/StartupItems/*/StartupParameters.plist")[0] == 5
    assert score_value("file.path", "contains", "\\AppData\\Roaming\\Evil\\")[0] == 1
    assert score_value("file.name", "eq", "payload.dll")[0] == 1


def test_security_account_events_are_kernel_mode_task_events_application():
    acct = robustness_of(_rule([("EventID", "eq", ("4720",)), ("SamAccountName", "contains", ("anonymous",))],
                               And([Leaf(0), Leaf(1)]), category="", product="windows"))
    assert (acct.level, acct.column) == (1, "K")
    task = robustness_of(_rule([("EventID", "eq", ("4698",))], Leaf(0), category="", product="windows"))
    assert (task.level, task.column) == (4, "A")


def _ctx(**kw):
    from rulelint.analysis.robustness import _Context

    return _Context(**kw)


def test_okta_event_types_are_operations_splunk_eventtypes_routing():
    from rulelint.analysis.robustness import _Context

    assert score_value("eventType", "eq", "user.mfa.factor.deactivate", _Context(cloud=True))[0] == 4
    assert score_value("eventType", "eq", "AwsApiCall", _Context(cloud=True))[0] is None
    assert score_value("eventtype", "eq", "wineventlog_application", _Context())[0] is None


def test_application_channel_events_of_one_behaviour_are_level_4():
    wmi = robustness_of(_rule([("EventID", "eq", ("19", "20", "21"))], Leaf(0), category="wmi_event"))
    assert wmi.level == 4
    logoff = robustness_of(_rule([("EventID", "eq", ("4634",))], Leaf(0), category="", product="windows"))
    assert logoff.level is None and "only selects" in logoff.reason


def test_a_rule_reading_two_sensors_sits_in_the_weaker_column():
    proc = ("process.name", "eq", ("java.exe",))
    jsp = ("file.name", "ends_with", (".jsp",))
    both = robustness_of(_rule([proc, jsp], And([Leaf(0), Leaf(1)])))  # a Splunk join of Processes and Filesystem
    assert both.column == "U" and "weaker sensor" in both.column_reason
    assert robustness_of(_rule([proc], Leaf(0))).column == "K"
    pipe = robustness_of(_rule([("file.name", "eq", ("\\atsvc",))], Leaf(0), category="pipe_created"))
    assert pipe.column == "K"  # a pipe event names its pipe with file.name: one sensor


def test_lsass_as_the_target_is_the_techniques_object():
    target = ("TargetImage", "ends_with", ("\\lsass.exe",))
    r = robustness_of(_rule([target, ACCESS], And([Leaf(0), Leaf(1)]), category="process_access"))
    assert r.level == 4  # the method's level-4 example: TargetImage lsass.exe with GrantedAccess
    other = ("TargetImage", "ends_with", ("\\notepad.exe",))
    assert robustness_of(_rule([other, ACCESS], And([Leaf(0), Leaf(1)]), category="process_access")).level == 3


def test_wmi_classes_and_security_value_names_are_the_platforms():
    assert score_value("ScriptBlockText", "contains", "MSAcpi_ThermalZoneTemperature")[0] == 3
    assert score_value("ScriptBlockText", "contains", "ThermalZone")[0] == 2
    assert score_value("registry.value", "eq", "AmsiEnable")[0] == 4
    assert score_value("registry.value", "eq", "MyToolSetting")[0] == 3


def test_a_protocol_command_in_the_payload_is_level_3_in_the_payload_column():
    r = robustness_of(_rule([("network_traffic.redis.query", "contains", ("config set dir",))], Leaf(0),
                            category="", product=""))
    assert (r.level, r.column) == (3, "P")


def test_arguments_beside_a_native_tools_name_are_that_tools():
    name = ("process.command_line", "contains", ("schtasks",))
    arg = ("process.command_line", "contains", ("/create",))
    assert robustness_of(_rule([name, arg], And([Leaf(0), Leaf(1)]))).level == 3
    assert robustness_of(_rule([arg], Leaf(0))).level == 2  # whose argument is unknown: a brought tool's at worst


def test_a_malware_name_under_system32_is_still_the_adversarys():
    assert score_value("file.path", "eq", r"c:\windows\system32\drivers\moriyastreamwatchmen.sys")[0] == 1
    assert score_value("file.path", "eq", r"c:\windows\system32\wpbbin.exe")[0] == 3


def test_version_metadata_is_native_only_for_the_platforms_vendor():
    assert score_value("process.pe.description", "eq", "Windows Command Processor")[0] == 3
    assert score_value("process.pe.product", "eq", "Microsoft Windows Operating System")[0] == 3
    assert score_value("process.pe.description", "eq", "Epoolsoft Windows Information View Tools")[0] == 2


def test_a_cloud_logs_service_name_is_its_source_and_platform_identities_are_fixed():
    from rulelint.analysis.robustness import _Context

    assert score_value("service.name", "eq", "k8s.io", _Context(cloud=True))[0] is None
    assert score_value("service.name", "eq", "evilsvc", _Context())[0] == 1
    assert score_value("client.user.email", "starts_with", "system:serviceaccount:")[0] == 3


def test_a_native_clients_fixed_user_agent_is_the_pre_existing_tools():
    assert score_value("c-useragent", "starts_with", "Microsoft BITS/")[0] == 3
    assert score_value("c-useragent", "starts_with", "rclone/v")[0] == 1


def test_a_service_record_name_is_the_protocols_not_the_adversarys():
    assert score_value("dns.question.name", "starts_with", "_ldap._tcp.dc._msdcs.")[0] == 3
    assert score_value("dns.question.name", "ends_with", ".evil-c2.com")[0] == 1


def test_a_path_in_a_host_field_is_a_url_path():
    """Splunk's IIS mapping puts the URL stem in Web.dest: `/pswa/` is a path, not a host."""
    server = score_value("destination.domain", "starts_with", "/pswa/", _ctx(webserver=True))
    assert server[0] == 3 and server[3] == "url_out"  # the path of a pre-existing application
    assert score_value("destination.domain", "starts_with", "/pswa/")[0] == 1  # a path on the adversary's server
    assert score_value("destination.domain", "eq", "evil.example")[3] == "domain"


def test_sysmon_event_ids_mean_other_events_in_other_windows_logs(tmp_path):
    """TerminalServices' event 21 is a session logon, not Sysmon's WMI binding (level 4)."""
    def rule(service: str) -> NormalizedRule:
        return _load(tmp_path, f"{service}.yml", sigma_rule(
            "t", "sel:\n    EventID: 21\n    Address|contains: '127.0.0.1'\ncondition: sel\n",
            category="", product="windows").replace("    category: \n", f"    service: {service}\n"))
    ts = robustness_of(rule("terminalservices-localsessionmanager"))
    event = next(o for o in ts.observables if o.field == "event.code" or o.written.startswith("EventID"))
    assert event.level is None and event.kind == "routing" and "terminalservices" in event.reason
    assert ts.column == "A"
    wmi = robustness_of(_rule([("EventID", "eq", ("21",))], Leaf(0), category="wmi_event"))
    assert wmi.level == 4  # in Sysmon's own log it is the binding


def test_an_iis_configuration_change_is_a_server_setting_not_registry_data(tmp_path):
    def rule(name: str, detection: str) -> Robustness:
        return robustness_of(_load(tmp_path, f"{name}.yml", sigma_rule(f"IIS {name}", detection, category="",
                                                                        product="windows")
                                   .replace("    category: \n", "    service: iis-configuration\n")))
    added = rule("added", "sel:\n    EventID: 29\n    Configuration|contains: '/system.webServer/modules/add'\n"
                          "filter:\n    NewValue: ['StaticFileModule', 'HttpLoggingModule']\n"
                          "condition: sel and not filter\n")
    assert (added.level, added.column) == (3, "A")  # the built-in modules' names in the exclusion
    off = rule("off", "sel:\n    EventID: 29\n    Configuration: '/system.webServer/httpLogging/@dontLog'\n"
                      "    NewValue: 'true'\ncondition: sel\n")
    assert off.level == 4
    named = rule("named", "sel:\n    EventID: 29\n    NewValue: 'EvilModule'\ncondition: sel\n")
    assert named.level == 1  # the name the adversary gives its module


def test_a_system_folder_inside_programdata_is_the_systems():
    defender = "c:\\programdata\\microsoft\\windows defender\\platform\\"
    assert score_value("dll.path", "starts_with", defender, _ctx(negated=True, source="image_load"))[0] == 3
    assert score_value("dll.path", "starts_with", "c:\\programdata\\vendor\\", _ctx(source="image_load"))[0] == 1


def test_an_exploit_of_a_public_facing_application_tests_that_applications_endpoint():
    path = ("c-uri", "contains", ("/json/setup-restore-local.action",))
    outbound = _rule([path], Leaf(0), category="proxy", product="")
    assert robustness_of(outbound).level == 1  # a path on a server the adversary runs
    exploit = _rule([path], Leaf(0), category="proxy", product="")
    exploit.techniques = ("T1190",)
    assert robustness_of(exploit).level == 3  # Confluence's own endpoint (T1190)
