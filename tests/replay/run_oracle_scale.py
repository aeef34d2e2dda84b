"""Run the pySigma SQLite oracle over the shared corpus's Windows rules and regression events.

    .venv/bin/python tests/replay/run_oracle_scale.py [--corpus DIR] [--out FILE]

Rules: every rules*/**/*.yml under the corpus's sigma folder whose logsource.product is windows.
Events: every regression_data/**/*.json (evtx crate JSON; a file holding several concatenated documents
gives one event per document). Prints the figures and writes {rule file: [event files matched]} as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.replay.oracle_sigma import flatten_evtx_json, sqlite_verdicts  # noqa: E402

DEFAULT_CORPUS = Path(os.environ.get("RULELINT_SHARED_CORPUS", REPO.parent / "shared" / "corpus")) / "sigma"


def windows_rules(corpus: Path) -> dict[str, str]:
    rules: dict[str, str] = {}
    for folder in sorted(corpus.glob("rules*")):
        for path in sorted(folder.rglob("*.yml")):
            text = path.read_text(encoding="utf-8")
            try:
                doc = next(iter(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))), None)
            except yaml.YAMLError:
                doc = None
            logsource = doc.get("logsource") if isinstance(doc, dict) else None
            if isinstance(logsource, dict) and str(logsource.get("product", "")).lower() == "windows":
                rules[str(path.relative_to(corpus))] = text
    return rules


def read_documents(text: str) -> list:
    """Every JSON document of a file that may hold several, one after the other."""
    decoder = json.JSONDecoder()
    docs, index = [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index >= len(text):
            return docs
        doc, index = decoder.raw_decode(text, index)
        docs.append(doc)


def regression_events(corpus: Path) -> tuple[list[dict], list[str], list[str]]:
    events, sources, unreadable = [], [], []
    for path in sorted((corpus / "regression_data").rglob("*.json")):
        name = str(path.relative_to(corpus))
        try:
            flat = [flatten_evtx_json(doc) for doc in read_documents(path.read_text(encoding="utf-8"))]
        except (ValueError, KeyError, TypeError):
            unreadable.append(name)
            continue
        events.extend(flat)
        sources.extend([name] * len(flat))
    return events, sources, unreadable


def reason_group(reason: str) -> str:
    """A reason without its rule-specific details (quoted values, numbers)."""
    reason = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    return re.sub(r"\d+", "N", reason)[:140]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, default=Path("/tmp/oracle_sigma_matches.json"))
    args = parser.parse_args()

    start = time.perf_counter()
    rules = windows_rules(args.corpus)
    events, sources, unreadable = regression_events(args.corpus)
    loaded = time.perf_counter()
    matches, failed = sqlite_verdicts(rules, events)
    done = time.perf_counter()

    pairs = sum(len(hits) for hits in matches.values())
    print(f"rules (product windows): {len(rules)}  converted: {len(matches)}  failed: {len(failed)}")
    for group, count in Counter(reason_group(r) for r in failed.values()).most_common():
        print(f"  {count:5d}  {group}")
    print(f"events: {len(events)} from {len(set(sources))} files; unreadable files: {len(unreadable)}")
    for name in unreadable:
        print(f"  unreadable: {name}")
    print(f"verdicts: {len(matches) * len(events)}  (rule, event) matches: {pairs}"
          f"  rules matching >=1 event: {sum(1 for h in matches.values() if h)}")
    print(f"wall time: load {loaded - start:.1f}s, oracle {done - loaded:.1f}s, total {done - start:.1f}s")

    # Sanity check: a rule that names its own regression data should match an event from that folder.
    own = {key: str(Path(m.group(1)).parent) for key, text in rules.items()
           if (m := re.search(r"^regression_tests_path:\s*(\S+)", text, re.M))}
    hit = [key for key, folder in own.items() if any(sources[i].startswith(folder + "/") for i in matches.get(key, ()))]
    print(f"rules matching their own regression events: {len(hit)}/{len(own)}")
    for key in sorted(set(own) - set(hit)):
        print(f"  no self-match: {key}")

    dump = {key: sorted({sources[i] for i in hits}) for key, hits in sorted(matches.items()) if hits}
    args.out.write_text(json.dumps(dump, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"matches written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
