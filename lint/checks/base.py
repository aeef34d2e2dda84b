"""What every check declares: identity, documentation in fixed sections, options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ..analysis.commonness import Commonness
from ..findings import Finding
from ..model.index import CorpusIndex
from ..model.rule import NormalizedRule

DOC_SECTIONS = ("what it does", "why it matters", "example", "use instead", "options")


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    default: Any
    help: str


@dataclass(slots=True)
class Context:
    """What corpus checks may consult besides the rule itself."""

    index: CorpusIndex
    common: Commonness
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Per-run memo for derived per-rule views checks share: tag -> rule key -> value.
    memo: dict[str, dict[str, Any]] = field(default_factory=dict)

    def table(self, tag: str) -> dict[str, Any]:
        """The memo of one derived view; hot loops look values up here directly."""
        return self.memo.setdefault(tag, {})

    def remember(self, tag: str, key: str, compute: Callable[[], Any]) -> Any:
        memo = self.table(tag)
        try:
            return memo[key]
        except KeyError:
            value = memo[key] = compute()
            return value

    def option(self, check: "Check", name: str) -> Any:
        return self.options.get(check.name, {}).get(name, check.default(name))


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    severity: str
    summary: str
    what_it_does: str
    why_it_matters: str
    example: str
    use_instead: str
    options: tuple[Option, ...] = ()
    scope: str = "corpus"  # "rule": pure function of one rule; "corpus": consults the index; "load": emitted by loaders
    run: Callable[["Check", NormalizedRule, Context], Iterable[Finding]] | None = None
    # Work shared by the whole run (an overlap index of the corpus): called once with
    # every judged rule before the checks run, and before any worker forks.
    prepare: Callable[["Check", list[NormalizedRule], Context], None] | None = None

    def default(self, name: str) -> Any:
        for o in self.options:
            if o.name == name:
                return o.default
        raise KeyError(f"{self.name} has no option {name!r}")

    def finding(self, rule: NormalizedRule, message: str, line: int | None = None, **data: Any) -> Finding:
        return Finding(
            code=self.code, name=self.name, severity=self.severity, message=message,
            path=rule.path, line=line if line is not None else rule.line,
            rule_id=rule.id, rule_key=rule.key, data=data,
        )

    def doc(self) -> dict[str, str]:
        opts = "\n".join(f"- `{o.name}` (default `{o.default!r}`): {o.help}" for o in self.options) or "None."
        return dict(zip(DOC_SECTIONS, (self.what_it_does, self.why_it_matters, self.example, self.use_instead, opts)))
