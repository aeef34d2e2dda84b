"""Generate lint/model/cim_fields.json: the datasets and fields of Splunk's CIM data models.

Reads the data model definitions (`pytest_splunk_addon/data_models/*.json`, with the asset and
identity fields of `cim_tests/CommonFields.json`) that Splunk's own `pytest-splunk-addon`
package ships for its CIM compliance tests (PyPI, Apache-2.0), unpacked by hand; nothing is
fetched at run time:

    pip download --no-deps pytest-splunk-addon==7.0.5 && unzip pytest_splunk_addon-7.0.5-py3-none-any.whl -d psa
    .venv/bin/python tools/gen_cim_fields.py psa/

For each data model: every dataset (object) by the name a search writes it with (`All_Email`,
`Malware_Attacks`: the package spells a few with a space), its parent dataset, and its fields
with those it inherits. A dataset holds its own fields and its ancestors'.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "lint" / "model" / "cim_fields.json"


def _name(s: str) -> str:
    return re.sub(r"\s+", "_", s.strip())


def _walk(objects: list[dict], parent: str | None, inherited: set[str], out: dict[str, dict]) -> None:
    for obj in objects:
        name = _name(obj["name"])
        fields = inherited | {f["name"] for f in obj.get("fields", [])}
        out[name] = {"parent": parent, "fields": sorted(fields)}
        _walk(obj.get("child_dataset") or [], name, fields, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package", type=Path, help="the unpacked pytest-splunk-addon wheel (the folder holding pytest_splunk_addon/)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    pkg = args.package / "pytest_splunk_addon"
    dist = sorted(args.package.glob("pytest_splunk_addon-*.dist-info"))
    version = dist[-1].name.removesuffix(".dist-info").split("-")[1] if dist else "unknown"
    models: dict[str, dict] = {}
    for path in sorted((pkg / "data_models").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        model = _name(doc.get("model_name") or path.stem)
        datasets: dict[str, dict] = {}
        _walk(doc["objects"], None, set(), datasets)
        models[model] = datasets
    common = sorted({f["name"] for f in json.loads((pkg / "cim_tests" / "CommonFields.json")
                                                   .read_text(encoding="utf-8"))["fields"]})
    if "process_name" not in models.get("Endpoint", {}).get("Processes", {}).get("fields", []):
        raise SystemExit("unexpected data models: no Endpoint.Processes.process_name")
    doc = {"source": f"pytest-splunk-addon {version} (PyPI, Apache-2.0), pytest_splunk_addon/data_models/*.json "
                     f"and cim_tests/CommonFields.json",
           "version": version, "common": common, "models": models}
    args.out.write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    n = sum(len(d) for d in models.values())
    print(f"{len(models)} data models, {n} datasets of pytest-splunk-addon {version} -> {args.out}")


if __name__ == "__main__":
    main()
