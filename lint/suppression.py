"""Inline suppression: `# rulelint: disable=CHECKS` and `# rulelint: disable-file=CHECKS`
comments in YAML and TOML rule files.

- A trailing comment suppresses findings on its own line; a comment alone on its line
  suppresses findings on the next line that is not blank or a comment.
- Either way, when the value on that line goes on over following lines (a YAML block
  or multi-line scalar, a TOML multi-line string or array), those lines are covered
  too: a query's findings sit inside its string, where no comment can be written.
- `disable-file` anywhere covers the whole file. CHECKS are codes, names, code
  prefixes or `all`, as for --select.

Only real comments count (rulelint.comments finds them and the lines they cover), so a
`#` inside a string (a Splunk search, a TOML query) is never a directive. Directives
that hide nothing, name unknown checks or are malformed are reported as unused-suppression.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal

from .checks import BY_CODE, CHECKS, Check, finding_matches, matches, token_known
from .comments import CommentScan, Kind, kind_of
from .findings import Finding
from .loaders.yamlnodes import InputError, decode, read_rule_bytes

UNUSED = BY_CODE["RL003"]
_PREFIX = re.compile(r"#+\s*rulelint\s*:", re.IGNORECASE)
_DIRECTIVE = re.compile(
    r"#+\s*rulelint\s*:\s*(?P<kind>disable-file|disable)\s*=\s*"
    r"(?P<tokens>[A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)\s*,?(?P<rest>\s.*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Directive:
    line: int  # 1-based line of the comment
    scope: Literal["line", "file"]
    tokens: tuple[str, ...]
    target_line: int | None  # first line covered (None: file scope, or nothing follows the comment)
    target_end: int | None = None  # last line covered: the end of the value starting on target_line

    def covers(self, line: int | None) -> bool:
        if self.scope == "file":
            return True
        if line is None:
            return False
        # Its own line too, so a directive can silence reports about itself (disable=RL003).
        return line == self.line or (self.target_line is not None
                                     and self.target_line <= line <= (self.target_end or self.target_line))


@dataclass(slots=True)
class _Scan:
    directives: list[Directive] = field(default_factory=list)
    malformed: list[int] = field(default_factory=list)  # lines of `# rulelint:` comments that are no directive


def directives(text: str, kind: Kind = "yaml") -> list[Directive]:
    """Every suppression directive in a YAML or TOML file's text, in line order."""
    return _scan(text, kind).directives


def read_text(path: str) -> str | None:
    """A rule file's text for apply(), read as the loaders read it; None when they cannot."""
    try:
        return decode(read_rule_bytes(path)[0])
    except (OSError, InputError):
        return None


def apply(
    findings: list[Finding],
    paths: Iterable[str],
    read_text: Callable[[str], str | None] = read_text,
    enabled: Iterable[Check] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """Drop the findings inline directives suppress. Returns (kept findings, unused-
    suppression findings). `paths` are every judged file, so directives in files without
    findings are reported as unused too; `enabled` are the checks that ran (default: all),
    since a directive for a check that did not run cannot be judged unused."""
    ran = list(CHECKS if enabled is None else enabled)
    report = any(c.code == UNUSED.code for c in ran)
    by_file: dict[str, tuple[str, list[int]]] = {}  # normalized path -> (path as given, finding indexes)
    for i, f in enumerate(findings):
        by_file.setdefault(os.path.normpath(f.path), (f.path, []))[1].append(i)
    for p in paths:
        by_file.setdefault(os.path.normpath(p), (p, []))
    suppressed: set[int] = set()
    reports: list[Finding] = []
    for shown, indexes in by_file.values():
        text = read_text(shown)
        if not text or "rulelint" not in text.lower():
            continue  # the common case: no directive, nothing to parse
        scan = _scan(text, kind_of(shown))
        file_reports = _apply_file(shown, scan, findings, indexes, suppressed, ran)
        if report:
            reports.extend(file_reports)
    kept = [f for i, f in enumerate(findings) if i not in suppressed]
    return kept, sorted(reports, key=Finding.sort_key)


def _apply_file(path: str, scan: _Scan, findings: list[Finding], indexes: list[int],
                suppressed: set[int], ran: list[Check]) -> list[Finding]:
    owners = {(findings[i].rule_id, findings[i].rule_key) for i in indexes}
    rule_id, rule_key = owners.pop() if len(owners) == 1 else ("", "")

    def report(line: int, message: str, **data: object) -> Finding:
        return Finding(code=UNUSED.code, name=UNUSED.name, severity=UNUSED.severity, message=message,
                       path=path, line=line, rule_id=rule_id, rule_key=rule_key, data=dict(data))

    # Tokens naming unused-suppression itself (not through `all`) act on the reports below.
    known = [[token_known(t) for t in d.tokens] for d in scan.directives]
    meta = [[k and t.strip().upper() != "ALL" and finding_matches(_UNUSED_PROBE, t) for t, k in zip(d.tokens, ks)]
            for d, ks in zip(scan.directives, known)]
    used: set[tuple[int, int]] = set()

    def suppress(f: Finding, only_meta: bool) -> bool:
        hit = False
        for d_i, d in enumerate(scan.directives):
            if d.covers(f.line):
                for t_i, tok in enumerate(d.tokens):
                    if known[d_i][t_i] and (meta[d_i][t_i] or not only_meta) and finding_matches(f, tok):
                        used.add((d_i, t_i))
                        hit = True
        return hit

    for i in indexes:
        if suppress(findings[i], only_meta=False):
            suppressed.add(i)

    candidates = [report(line, f"{path}:{line} is not a rulelint directive, so it suppresses nothing; write "
                               "`# rulelint: disable=CHECKS` or `# rulelint: disable-file=CHECKS`.", reason="malformed")
                  for line in scan.malformed]
    for d_i, d in enumerate(scan.directives):
        unknown = [t for t, k in zip(d.tokens, known[d_i]) if not k]
        if unknown:
            candidates.append(report(d.line, f"{path}:{d.line} names {_plural(unknown, 'an unknown check', 'unknown checks')} "
                                             f"{_listing(unknown)}, which suppress{'es' if len(unknown) == 1 else ''} nothing; "
                                             "fix the name or remove it (`rulelint rules` lists the checks).",
                                     reason="unknown", tokens=unknown))
        idle = [t_i for t_i, t in enumerate(d.tokens)
                if known[d_i][t_i] and not meta[d_i][t_i] and (d_i, t_i) not in used and _ran(t, ran)]
        if idle:
            candidates.append(_unused(report, path, d, [d.tokens[t] for t in idle], len(idle) + len(unknown) == len(d.tokens)))
    final = [c for c in candidates if not suppress(c, only_meta=True)]
    for d_i, d in enumerate(scan.directives):
        idle = [t for t_i, t in enumerate(d.tokens) if meta[d_i][t_i] and (d_i, t_i) not in used]
        if idle:
            final.append(_unused(report, path, d, idle, len(idle) == len(d.tokens)))
    return final


_UNUSED_PROBE = Finding(code=UNUSED.code, name=UNUSED.name, severity=UNUSED.severity, message="", path="")


def _ran(token: str, ran: list[Check]) -> bool:
    """Whether a check the token names ran: only then can the token be judged unused."""
    return any(matches(c, token) for c in ran if c.code != UNUSED.code) or (
        any(c.code == UNUSED.code for c in ran) and finding_matches(_UNUSED_PROBE, token) and token.strip().upper() != "ALL")


def _unused(report: Callable[..., Finding], path: str, d: Directive, tokens: list[str], whole: bool) -> Finding:
    verb = "reports" if len(tokens) == 1 else "report"
    fix = "remove the comment" if whole else f"remove {'it' if len(tokens) == 1 else 'them'} from the comment"
    if d.scope == "file":
        what = f" in the whole file, which {verb} nothing in it"
    elif d.target_line is None:
        what = " but no line follows the comment"
    elif d.target_line == d.line:
        what = f", which {verb} nothing here"
    else:
        what = f" on line {d.target_line}, which {verb} nothing there"
    return report(d.line, f"{path}:{d.line} suppresses {_listing(tokens)}{what}; {fix}.",
                  reason="unused", tokens=tokens, scope=d.scope)


def _listing(tokens: list[str]) -> str:
    return tokens[0] if len(tokens) == 1 else ", ".join(tokens[:-1]) + " and " + tokens[-1]


def _plural(items: list[str], one: str, many: str) -> str:
    return one if len(items) == 1 else many


# --- scanning ------------------------------------------------------------------------------

def _scan(text: str, kind: Kind) -> _Scan:
    comments = CommentScan(text, kind)
    out = _Scan()
    for c in comments.comments():
        if not _PREFIX.match(c.text):
            continue
        m = _DIRECTIVE.match(c.text)
        if m is None:
            out.malformed.append(c.line + 1)
            continue
        tokens = tuple(t.strip() for t in m["tokens"].split(","))
        if m["kind"].lower() == "disable-file":
            out.directives.append(Directive(c.line + 1, "file", tokens, None))
            continue
        span = comments.annotated(c.line)
        out.directives.append(Directive(c.line + 1, "line", tokens, None if span is None else span[0] + 1,
                                        None if span is None else span[1] + 1))
    return out


__all__ = ["Directive", "directives", "apply", "read_text", "kind_of"]
