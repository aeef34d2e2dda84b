"""Rules of the run's corpus sharing an id or a title (duplicate-id, duplicate-title).

One table per run, built on first use from the corpus index: normalized id -> rule
keys, (vendor, normalized title) -> rule keys. Only rules of the user's own corpus
count: the reference index's summaries (`has_logic` False) are other people's rules,
and the reference already leaves out the rules the corpus has itself.

Where a duplicate is reported, the line of its `id`/`title` key is read from the file
(duplicates are rare: a handful of files per run, not one read per rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model.index import CorpusIndex
from ..model.rule import IndexedRule


def norm_id(rule_id: str) -> str:
    """Ids compare without case or surrounding space (UUIDs are case-insensitive)."""
    return rule_id.strip().lower()


def norm_title(title: str) -> str:
    """Titles compare without case and with any run of whitespace as one space."""
    return " ".join(title.split()).casefold()


@dataclass
class Duplicates:
    by_id: dict[str, list[str]] = field(default_factory=dict)
    by_title: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, index: CorpusIndex) -> "Duplicates":
        ids: dict[str, list[str]] = {}
        titles: dict[tuple[str, str], list[str]] = {}
        for key, r in index.rules.items():
            if not r.has_logic:  # a reference summary, not the user's rule
                continue
            if r.id:
                ids.setdefault(norm_id(r.id), []).append(key)
            t = norm_title(r.title)
            if t:
                titles.setdefault((r.vendor, t), []).append(key)
        return cls({k: v for k, v in ids.items() if len(v) > 1},
                   {k: v for k, v in titles.items() if len(v) > 1})

    def same_id(self, rule: IndexedRule) -> list[str]:
        """Keys of the other rules with the rule's id."""
        return [k for k in self.by_id.get(norm_id(rule.id), ()) if k != rule.key] if rule.id else []

    def same_title(self, rule: IndexedRule) -> list[str]:
        """Keys of the other rules of the rule's vendor with its title."""
        t = norm_title(rule.title)
        return [k for k in self.by_title.get((rule.vendor, t), ()) if k != rule.key] if t else []


# The key holding a rule's id and its title, per vendor (Elastic: in the `[rule]` table).
_ID_KEY = {"sigma": "id", "splunk": "id", "elastic": "rule_id"}
_TITLE_KEY = {"sigma": "title", "splunk": "name", "elastic": "name"}


def key_line(rule: IndexedRule, what: str) -> int | None:
    """The line of the rule's `id` (what="id") or title key (what="title"), read from its
    file: the first top-level key of that name at or after the rule's own first line
    (a Sigma file may hold several documents). The rule's line when it cannot be found."""
    key = (_ID_KEY if what == "id" else _TITLE_KEY).get(rule.vendor)
    start = 1 if rule.vendor == "elastic" else rule.line or 1  # Elastic: one rule a file
    if key is None:
        return rule.line
    if rule.vendor == "elastic" and what == "title":
        return rule.line  # the Elastic loader's rule line is its `name`
    try:
        with open(rule.path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return rule.line
    pattern = re.compile(rf"{re.escape(key)}\s*=" if rule.vendor == "elastic" else rf"{re.escape(key)}\s*:")
    in_rule_table = rule.vendor != "elastic"
    for n, text in enumerate(lines[start - 1:], start):
        if rule.vendor == "elastic" and text.startswith("["):
            in_rule_table = text.strip() == "[rule]"
            continue
        if rule.vendor != "elastic" and n > start and text.strip() == "---":
            break  # the next document
        if in_rule_table and pattern.match(text):
            return n
    return rule.line


def where(rule: IndexedRule, what: str) -> str:
    """`path:line` of the rule's id or title."""
    line = key_line(rule, what)
    return f"{rule.path}:{line}" if line else rule.path


def is_deprecated(rule: IndexedRule) -> bool:
    """A rule its own repository retired: Sigma `status: deprecated`, Elastic maturity
    `deprecated`, Splunk `status: deprecated` (read from the loaded rule)."""
    try:
        return str(getattr(rule, "status", "") or "").lower() == "deprecated"
    except Exception:  # a stored summary whose rule cannot be loaded any more
        return False
