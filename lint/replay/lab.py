"""Lab recordings: which events are the simulated attack's own.

Security-Datasets-style recordings hold hours of ordinary host activity around one attack,
and each has a metadata file (`_metadata/*.yaml`) naming its archive and holding the
attacker's own transcript (`simulation.adversary_view`). An event is taken as the attack's
when one of its command lines, script blocks, paths or addresses holds a distinctive string
of that transcript: a path, a file name other than a bare program name, an address, a long
argument. Bare program names (`powershell.exe`) and words are not distinctive: the
background runs them too. Hits on such events are counted apart, so baseline evidence
measures the background, not the attack.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

import yaml

from .event import Event

# Fields an attack's strings show up in.
_FIELDS = ("process.command_line", "process.parent.command_line", "powershell.file.script_block_text",
           "file.path", "registry.path", "registry.data.strings", "destination.ip", "source.ip",
           "dns.question.name", "process.executable", "CommandLine", "ParentCommandLine", "ScriptBlockText",
           "TargetFilename", "TargetObject", "Details", "DestinationIp", "QueryName", "ServiceFileName",
           "ImagePath", "Payload", "ContextInfo")
_TOKEN = re.compile(r"[^\s\"'`<>|(),;]+")
_BARE_PROGRAM = re.compile(r"^[\w.-]+\.(exe|dll|com|bat|cmd|ps1|sys)$", re.I)
_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}(:\d+)?$")
MIN_TOKEN = 8


@dataclass(frozen=True)
class AttackMarker:
    dataset: str
    title: str
    techniques: tuple[str, ...]
    tokens: tuple[str, ...]

    def is_attack(self, ev: Event) -> bool:
        if not self.tokens:
            return False
        search = _searcher(self.tokens)
        fold = ev.fold
        for f in _FIELDS:
            for v in fold[f] or ():
                if search(v):
                    return True
        return False


@lru_cache(maxsize=256)
def _searcher(tokens: tuple[str, ...]):
    return re.compile("|".join(re.escape(t) for t in tokens)).search


def distinctive_tokens(transcript: str) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for raw in _TOKEN.findall(transcript or ""):
        tok = raw.strip(".:[]{}*+").casefold()
        if _ADDRESS.match(tok):
            if not tok.startswith(("127.", "0.")):
                out[tok.split(":")[0]] = None
            continue
        if len(tok) < MIN_TOKEN or _BARE_PROGRAM.match(tok):
            continue
        if not any(c in tok for c in "\\/.$_-=") or tok.startswith(("http://", "https://")) and "github" in tok:
            continue  # a plain word, or the link to the test's documentation
        if tok.endswith(("\\system32", "\\windows", "\\syswow64")) or tok in _GENERIC:
            continue
        out[tok] = None
    return tuple(out)


_GENERIC = frozenset({"c:\\windows\\system32", "c:\\users\\administrator", "meterpreter", "c:\\windows\\system32\\",
                      "[version", "microsoft", "(c)"})


@lru_cache(maxsize=8)
def _metadata_index(folder: str) -> dict[str, AttackMarker]:
    """Archive name -> marker, from every metadata file of one `_metadata` folder."""
    out: dict[str, AttackMarker] = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".yaml", ".yml")):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                doc = yaml.safe_load(fh)
        except (OSError, yaml.YAMLError):
            continue
        if not isinstance(doc, dict):
            continue
        sim = doc.get("simulation") if isinstance(doc.get("simulation"), dict) else {}
        techniques = []
        for m in doc.get("attack_mappings") or []:
            if isinstance(m, dict) and m.get("technique"):
                sub = m.get("sub-technique")
                techniques.append(f"{m['technique']}.{sub}" if sub else str(m["technique"]))
        marker = AttackMarker(str(doc.get("id") or name), str(doc.get("title") or ""), tuple(techniques),
                              distinctive_tokens(str(sim.get("adversary_view") or "")))
        for f in doc.get("files") or []:
            link = f.get("link") if isinstance(f, dict) else None
            if link:
                out.setdefault(os.path.basename(str(link)), marker)
    return out


def attack_marker(event_file: str) -> AttackMarker | None:
    """The marker of a recording, found through a `_metadata` folder beside it or above it."""
    here = os.path.dirname(os.path.abspath(event_file))
    for _ in range(6):
        folder = os.path.join(here, "_metadata")
        if os.path.isdir(folder):
            return _metadata_index(folder).get(os.path.basename(event_file))
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    return None
