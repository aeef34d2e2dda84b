"""Inline suppression: `# rulelint: disable=CHECKS` and `# rulelint: disable-file=CHECKS`
comments in YAML and TOML rule files.

- A trailing comment suppresses findings on its own line; a comment alone on its line
  suppresses findings on the next line that is not blank or a comment.
- Either way, when the value on that line goes on over following lines (a YAML block
  or multi-line scalar, a TOML multi-line string or array), those lines are covered
  too: a query's findings sit inside its string, where no comment can be written.
- `disable-file` anywhere covers the whole file. CHECKS are codes, names, code
  prefixes or `all`, as for --select.

Only real comments count: the scan follows each format's quoting, so a `#` inside a
string (a Splunk search, a TOML query) is never a directive. Directives that hide
nothing, name unknown checks or are malformed are reported as unused-suppression.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from typing import Callable, Iterable, Literal

from .checks import Check, matches
from .checks.rl003_unused_suppression import CHECK as UNUSED
from .config import finding_matches, known_checks, token_known
from .findings import Finding

MAX_BYTES = 5 * 1024 * 1024  # the loaders' own limit: larger files are parse errors anyway
Kind = Literal["yaml", "toml"]

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


def kind_of(path: str) -> Kind:
    return "toml" if path.lower().endswith(".toml") else "yaml"


def read_text(path: str) -> str | None:
    """A rule file's text for apply(), or None when it cannot be read as UTF-8."""
    try:
        # Non-blocking open and fstat: a FIFO or device named like a rule must not hang the run.
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                return None
            raw = fh.read(MAX_BYTES + 1)
        return None if len(raw) > MAX_BYTES else raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
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
    ran = list(known_checks() if enabled is None else enabled)
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

@dataclass(slots=True)
class _Line:
    comment: int | None  # column where a real comment starts
    content: bool  # carries anything besides a comment (string content counts)
    opened: bool  # a string, block scalar or bracket is still open at its end
    value: bool = False  # YAML: the line starts a value that may continue below
    ref: int = 0  # YAML: lines indented beyond this column continue its value


def _scan(text: str, kind: Kind) -> _Scan:
    lines = text.splitlines()
    info = _scan_toml(lines) if kind == "toml" else _scan_yaml(lines)
    out = _Scan()
    for n, (line, li) in enumerate(zip(lines, info)):
        if li.comment is None:
            continue
        comment = line[li.comment:]
        if not _PREFIX.match(comment):
            continue
        m = _DIRECTIVE.match(comment)
        if m is None:
            out.malformed.append(n + 1)
            continue
        tokens = tuple(t.strip() for t in m["tokens"].split(","))
        if m["kind"].lower() == "disable-file":
            out.directives.append(Directive(n + 1, "file", tokens, None))
            continue
        target = n if li.content else next((j for j in range(n + 1, len(lines)) if info[j].content), None)
        end = None if target is None else _extent(target, lines, info, kind)
        out.directives.append(Directive(n + 1, "line", tokens, None if target is None else target + 1,
                                        None if end is None else end + 1))
    return out


def _extent(start: int, lines: list[str], info: list[_Line], kind: Kind) -> int:
    """The last line (0-based) of the value that starts on `start`."""
    end = start
    j = start
    while j + 1 < len(lines):
        nxt = lines[j + 1]
        if info[j].opened:
            pass  # inside a string or bracket that began above
        elif kind == "yaml" and info[start].value and (not nxt.strip() or _indent(nxt) > info[start].ref):
            pass  # a continuation or block-scalar line of the start line's value
        else:
            break
        j += 1
        if nxt.strip():
            end = j
    return end


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


_YAML_DASHES = re.compile(r"([ \t]*)((?:-[ \t]+)*)")
# The unquoted forms need no `\s*` before the colon (their lazy part takes the spaces);
# with it, a long run of spaces made `match` quadratic.
_YAML_KEY = re.compile(r"""(?:"[^"]*"\s*|'[^']*'\s*|[^\s'"#\-][^#]*?|-[^\s][^#]*?):(?:\s|$)""")
_YAML_BLOCK = re.compile(r"(?:^[ \t]*|[:\-][ \t]+)[|>][1-9+\-]{0,2}$")


def _yaml_ref(line: str) -> int:
    """The column a value's continuation lines must go beyond: the key's, or the last dash's."""
    m = _YAML_DASHES.match(line)
    dashes = m.group(2)
    if dashes and not _YAML_KEY.match(line[m.end():]):
        return m.start(2) + len(dashes.rstrip()) - 1
    return m.end()


def _scan_yaml(lines: list[str]) -> list[_Line]:
    out: list[_Line] = []
    quote: str | None = None  # an open quoted scalar, which may span lines
    block: int | None = None  # inside a block scalar: its lines are indented beyond this column
    for line in lines:
        if block is not None:
            if not line.strip() or _indent(line) > block:
                out.append(_Line(None, bool(line.strip()), False))
                continue
            block = None
        started_inside = quote is not None
        comment, i, n = None, 0, len(line)
        while i < n:
            c = line[i]
            if quote == "'":
                if c == "'":
                    if line.startswith("''", i):
                        i += 2
                        continue
                    quote = None
            elif quote == '"':
                if c == "\\":
                    i += 2
                    continue
                if c == '"':
                    quote = None
            elif c == "#" and (i == 0 or line[i - 1] in " \t"):
                comment = i
                break
            elif c in "'\"" and _yaml_value_start(line, i):
                quote = c
            i += 1
        code = line[:comment] if comment is not None else line
        stripped = code.strip()
        li = _Line(comment, bool(stripped) or started_inside, quote is not None)
        if stripped and not started_inside:
            li.value = not stripped.endswith(":") and stripped.rstrip("- \t") != ""
            li.ref = _yaml_ref(line)
            if quote is None and _YAML_BLOCK.search(code.rstrip()):
                block = li.ref  # its lines continue the value: _extent follows them by indentation
        out.append(li)
    return out


def _yaml_value_start(line: str, i: int) -> bool:
    """A quote opens a quoted scalar only where a value starts, not inside plain text (don't)."""
    before = line[:i].rstrip()
    if not before:
        return True
    last = before[-1]
    if last in "[{,":
        return True
    return last in ":-?" and line[i - 1] in " \t"


def _scan_toml(lines: list[str]) -> list[_Line]:
    out: list[_Line] = []
    ml: str | None = None  # an open multi-line string: ''' or """
    depth = 0  # open arrays and inline tables, which may span lines
    for line in lines:
        started_inside = ml is not None
        comment, i, n = None, 0, len(line)
        while i < n:
            if ml is not None:
                if ml == '"""' and line[i] == "\\":
                    i += 2
                elif line.startswith(ml, i):
                    i += 3
                    while i < n and line[i] == ml[0]:  # extra quotes at the close belong to the content
                        i += 1
                    ml = None
                else:
                    i += 1
                continue
            c = line[i]
            if c == "#":
                comment = i
                break
            if line.startswith("'''", i) or line.startswith('"""', i):
                ml = line[i:i + 3]
                i += 3
            elif c in "'\"":
                i = _toml_string_end(line, i)
            else:
                if c in "[{":
                    depth += 1
                elif c in "]}":
                    depth = max(0, depth - 1)
                i += 1
        code = line[:comment] if comment is not None else line
        out.append(_Line(comment, bool(code.strip()) or started_inside, ml is not None or depth > 0))
    return out


def _toml_string_end(line: str, i: int) -> int:
    """The index after a one-line TOML string starting at i (basic strings have escapes)."""
    q, j = line[i], i + 1
    while j < len(line):
        if q == '"' and line[j] == "\\":
            j += 2
            continue
        if line[j] == q:
            return j + 1
        j += 1
    return len(line)


__all__ = ["Directive", "directives", "apply", "read_text", "kind_of"]
