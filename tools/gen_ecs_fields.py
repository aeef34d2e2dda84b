"""Generate lint/model/ecs_fields.json: every field name of the Elastic Common Schema.

Reads the flat field table (`generated/ecs_flat.ts`) of Elastic's `@elastic/ecs` package
from the npm registry (Apache-2.0), unpacked by hand; nothing is fetched at run time:

    npm pack @elastic/ecs@9.4.0 && tar xzf elastic-ecs-9.4.0.tgz
    .venv/bin/python tools/gen_ecs_fields.py package/

Each entry's `flat_name` is kept (multi-fields such as `process.command_line.text` too),
with the ECS field sets (the first part of each name) and the package version.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "lint" / "model" / "ecs_fields.json"
NAME = re.compile(r"^\s*flat_name:\s*'([^']+)'", re.M)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("package", type=Path, help="the unpacked @elastic/ecs package folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    version = json.loads((args.package / "package.json").read_text(encoding="utf-8"))["version"]
    names = sorted(set(NAME.findall((args.package / "generated" / "ecs_flat.ts").read_text(encoding="utf-8"))))
    if len(names) < 1000 or "process.parent.name" not in names:
        raise SystemExit(f"unexpected ECS table: {len(names)} names")
    doc = {"source": f"@elastic/ecs {version} (npm, Apache-2.0), generated/ecs_flat.ts",
           "version": version, "fields": names}
    args.out.write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(names)} ECS fields of @elastic/ecs {version} -> {args.out}")


if __name__ == "__main__":
    main()
