"""Canonical fields: the generated table is reproducible and the lookups agree across vendors."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from rulelint.model.fields import aliases, canonical_field, name_field

REPO = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_fields", REPO / "tools" / "gen_fields.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generator_reproduces_checked_in_table(request):
    checked_in = (REPO / "lint" / "model" / "fields_data.json").read_text(encoding="utf-8")
    data_sources = None
    if json.loads(checked_in)["provenance"]["splunk_data_sources"]:
        data_sources = request.getfixturevalue("shared_corpus") / "splunk" / "data_sources"
    gen = _generator()
    assert gen.render(gen.build(data_sources)) == checked_in, "regenerate: .venv/bin/python tools/gen_fields.py"


def test_generator_runs_without_data_sources():
    data = _generator().build(None)
    assert data["provenance"]["splunk_data_sources"] == []
    assert data["splunk"]["Processes.process_path"] == "process.executable"


@pytest.mark.parametrize("field, category, ecs", [
    ("Image", "process_creation", "process.executable"),
    ("ParentImage", "process_creation", "process.parent.executable"),
    ("CommandLine", "process_creation", "process.command_line"),
    ("ParentCommandLine", "process_creation", "process.parent.command_line"),
    ("OriginalFileName", "process_creation", "process.pe.original_file_name"),
    ("TargetFilename", "file_event", "file.path"),
    ("QueryName", "dns_query", "dns.question.name"),
    ("TargetObject", "registry_set", "registry.path"),
    ("DestinationIp", "network_connection", "destination.ip"),
    ("User", "process_creation", "user.name"),
    ("EventID", "", "event.code"),
    # image_load: the process is still process.*, the loaded module is dll.*
    ("Image", "image_load", "process.executable"),
    ("ImageLoaded", "image_load", "dll.path"),
    ("OriginalFileName", "image_load", "dll.pe.original_file_name"),
    # context-dependent pipeline mappings
    ("CommandLine", "powershell-classic", "powershell.command.value"),
    ("User", "endpointsecurity", "process.user.name"),
    ("ProcessName", "", "process.executable"),
    ("ImageLoaded", "driver_load", "file.path"),
])
def test_sigma(field, category, ecs):
    assert canonical_field("sigma", field, category) == ecs


@pytest.mark.parametrize("field, category, ecs", [
    ("Processes.process_name", "", "process.name"),
    ("process_name", "", "process.name"),
    ("parent_process_name", "process_creation", "process.parent.name"),
    ("Processes.process", "", "process.command_line"),
    ("Processes.process_path", "", "process.executable"),
    ("Filesystem.file_path", "", "file.path"),
    ("Registry.registry_path", "", "registry.path"),
    ("DNS.query", "", "dns.question.name"),
    ("query", "dns_query", "dns.question.name"),
    ("Network_Resolution.DNS.query", "", "dns.question.name"),
    ("All_Traffic.dest_port", "", "destination.port"),   # bare name every dataset agrees on
    ("Registry.user", "registry_set", "user.name"),
    ("EventCode", "", "event.code"),                     # splunk_windows: EventID -> EventCode
    ("ScriptBlockText", "", "powershell.file.script_block_text"),  # raw Windows event field
])
def test_splunk(field, category, ecs):
    assert canonical_field("splunk", field, category) == ecs


def test_splunk_dest_depends_on_dataset():
    assert canonical_field("splunk", "Processes.dest") == "host.name"
    assert canonical_field("splunk", "DNS.dest") == "destination.ip"
    assert canonical_field("splunk", "dest", "process_creation") == "host.name"
    assert canonical_field("splunk", "dest") == "dest"  # datasets disagree: left as is


@pytest.mark.parametrize("field, category, ecs", [
    ("process.executable", "", "process.executable"),
    ("event.type", "", "event.type"),
    ("process.name.caseless", "", "process.name"),        # keyword multi-field
    ("process.command_line.text", "", "process.command_line"),
    ("file.name", "image_load", "dll.name"),
    ("file.name", "file_event", "file.name"),
])
def test_elastic(field, category, ecs):
    assert canonical_field("elastic", field, category) == ecs


def test_unknown_fields_unchanged():
    assert canonical_field("sigma", "GrantedAccess", "process_access") == "GrantedAccess"
    assert canonical_field("splunk", "All_Risk.annotations") == "All_Risk.annotations"
    assert canonical_field("splunk", "isOutlier") == "isOutlier"
    with pytest.raises(ValueError):
        canonical_field("qradar", "x")


# --- each hand derivation in tools/gen_fields.py -----------------------------------------

@pytest.mark.parametrize("field, category, ecs", [
    ("Details", "registry_set", "registry.data.strings"),
    ("Computer", "", "host.name"),
    ("eventName", "cloudtrail", "event.action"),
    ("eventSource", "cloudtrail", "event.provider"),
    ("cs-uri-query", "webserver", "url.query"),
    ("type", "auditd", "auditd.message_type"),
])
def test_hand_sigma(field, category, ecs):
    assert canonical_field("sigma", field, category) == ecs


@pytest.mark.parametrize("field, ecs", [
    # CIM <x>_name is the basename of <x>_path
    ("Processes.process_name", "process.name"),
    ("Processes.parent_process_name", "process.parent.name"),
    ("Filesystem.file_name", "file.name"),
    ("registry_value_name", "registry.value"),
    ("Registry.action", "event.action"),
    ("Registry.registry_value_data", "registry.data.strings"),  # joined through hand Details
])
def test_hand_cim(field, ecs):
    assert canonical_field("splunk", field) == ecs


def test_cim_command_lines_come_from_the_tables():
    assert canonical_field("splunk", "process") == "process.command_line"
    assert canonical_field("splunk", "parent_process") == "process.parent.command_line"


def test_name_field():
    assert name_field("process.executable") == "process.name"
    assert name_field("process.parent.executable") == "process.parent.name"
    assert name_field("file.path") == "file.name"
    assert name_field("dll.path") == "dll.name"
    assert name_field("process.name") is None
    assert name_field("registry.path") is None


def test_aliases():
    assert {"Image", "Processes.process_path", "process_path"} <= set(aliases("process.executable"))
    assert {"ImageLoaded", "file.path"} <= set(aliases("dll.path"))
    assert aliases("no.such.field") == []
