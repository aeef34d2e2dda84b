"""Scale check of the eql-engine oracle: every EQL rule of the Elastic corpus through
`eql_verdicts` with a few synthetic Windows events, in both array modes.

    .venv/bin/python tests/replay/run_oracle_eql_scale.py [RULES_DIR]

Prints how many rules run (and how many match something) and the reasons of the rest,
grouped with counts. Reads the corpus only.
"""

from __future__ import annotations

import collections
import re
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.replay.oracle_eql import eql_verdicts  # noqa: E402

RULES = Path("/work/shared/corpus/elastic/rules")

HOST = {"host.id": "h-1", "host.name": "WIN-1", "host.os.type": "windows", "user.name": "alice"}
EVENTS = [
    {"@timestamp": "2024-05-01T10:00:00.000Z", "event.category": ["process"], "event.type": ["start"],
     "event.action": "start", "process.name": "whoami.exe",
     "process.executable": "C:\\Windows\\System32\\whoami.exe",
     "process.args": ["whoami.exe", "/all"], "process.command_line": "whoami.exe /all",
     "process.pid": 4242, "process.entity_id": "e-1",
     "process.parent.name": "WmiPrvSE.exe", "process.parent.executable": "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
     **HOST},
    {"@timestamp": "2024-05-01T10:00:05.000Z", "event.category": ["process"], "event.type": ["start"],
     "event.action": "start", "process.name": "powershell.exe", "process.pe.original_file_name": "PowerShell.EXE",
     "process.executable": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "process.args": ["powershell.exe", "-nop", "-enc", "SQBFAFgA"], "process.args_count": 4,
     "process.command_line": "powershell.exe -nop -enc SQBFAFgA", "process.pid": 4343, "process.entity_id": "e-2",
     "process.parent.name": "cmd.exe", "process.parent.entity_id": "e-1", **HOST},
    {"@timestamp": "2024-05-01T10:00:10.000Z", "event.category": "process", "event.type": "start",
     "event.action": "start", "process.name": "rundll32.exe",
     "process.executable": "C:\\Windows\\System32\\rundll32.exe",
     "process.args": ["rundll32.exe", "C:\\Users\\alice\\AppData\\Local\\Temp\\x.dll,Start"],
     "process.command_line": "rundll32.exe C:\\Users\\alice\\AppData\\Local\\Temp\\x.dll,Start",
     "process.pid": 4444, "process.parent.name": "powershell.exe", "process.code_signature.trusted": True,
     **HOST},
    {"@timestamp": "2024-05-01T10:00:12.000Z", "event.category": ["file"], "event.type": ["creation"],
     "event.action": "creation", "file.path": "C:\\Users\\alice\\AppData\\Local\\Temp\\x.dll",
     "file.name": "x.dll", "file.extension": "dll", "process.name": "powershell.exe", "process.pid": 4343,
     **HOST},
    {"@timestamp": "2024-05-01T10:00:15.000Z", "event.category": ["network"], "event.type": ["start"],
     "event.action": "connection_attempted", "destination.ip": "203.0.113.7", "destination.port": 443,
     "source.ip": "10.0.0.5", "network.direction": "egress", "process.name": "rundll32.exe",
     "process.pid": 4444, **HOST},
    {"@timestamp": "2024-05-01T10:00:20.000Z", "event.category": ["registry"], "event.type": ["change"],
     "registry.path": "HKEY_USERS\\S-1-5-21\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x",
     "registry.value": "x", "registry.data.strings": ["rundll32.exe x.dll,Start"],
     "process.name": "powershell.exe", **HOST},
]


def load(root: Path) -> list[tuple[Path, str]]:
    rules = []
    for path in sorted(root.rglob("*.toml")):
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        rule = doc.get("rule", {})
        if rule.get("language") == "eql" and isinstance(rule.get("query"), str):
            rules.append((path, rule["query"]))
    return rules


def coarse(reason: str) -> str:
    """Group reasons: drop positions, field names and quoted values."""
    reason = re.sub(r"line:\d+,column:\d+", "", reason)
    if reason.startswith("unsupported function: "):
        return reason
    return re.sub(r"\[[^\]]*\]|'[^']*'|\"[^\"]*\"", "…", reason)[:140]


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else RULES
    rules = load(root)
    print(f"{len(rules)} EQL rules under {root} "
          f"({sum('_deprecated' in p.parts for p, _ in rules)} in _deprecated); {len(EVENTS)} synthetic events")
    for arrays in ("engine", "any"):
        t0 = time.perf_counter()
        ran = 0
        matched: list[str] = []
        reasons: collections.Counter[str] = collections.Counter()
        example: dict[str, str] = {}
        for path, query in rules:
            verdict = eql_verdicts(query, EVENTS, arrays=arrays)
            if isinstance(verdict, str):
                key = coarse(verdict)
                reasons[key] += 1
                example.setdefault(key, str(path.relative_to(root)))
            else:
                ran += 1
                if verdict:
                    matched.append(f"{path.relative_to(root)} -> events {sorted(verdict)}")
        dt = time.perf_counter() - t0
        print(f"\narrays={arrays}: {ran} run ({len(matched)} match at least one event), "
              f"{len(rules) - ran} return a reason  [{dt:.1f}s]")
        for line in matched[:10]:
            print(f"  match: {line}")
        for key, n in reasons.most_common():
            print(f"  {n:5d}  {key}   e.g. {example[key]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
