"""What every check declares: identity, documentation in fixed sections, options.

A check is a subclass of `Check` in its own module `rlNNN_name.py`; defining the
subclass registers it (the package imports every such module), so adding a check
is one module, one case file and one corpus example. What the engine does with a
check follows its `scope`:

- "load": emitted by the loaders (no `run`), documented and selectable like any other;
- "rule": `run` is a pure function of one rule;
- "corpus": `run` consults the corpus through the run's `Analysis`. A check that
  overrides `prepare` gets it called once with every judged rule before any rule is
  run (in the parent process, before or beside the forked workers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Iterable

from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule

DOC_SECTIONS = ("what it does", "why it matters", "example", "use instead", "options")
SCOPES = ("load", "rule", "corpus")

# Registered checks in definition order; the package sorts them by code.
REGISTRY: list["Check"] = []

@dataclass(frozen=True, slots=True)
class Option:
    name: str
    default: Any
    help: str


class Check:
    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]
    what_it_does: ClassVar[str]
    why_it_matters: ClassVar[str]
    example: ClassVar[str]
    use_instead: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    scope: ClassVar[str] = "corpus"

    def __init_subclass__(cls, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if register:
            if cls.scope not in SCOPES:
                raise TypeError(f"{cls.__name__}: scope {cls.scope!r} is not one of {SCOPES}")
            REGISTRY.append(cls())

    @property
    def runs(self) -> bool:
        """Whether the engine runs it on rules (load checks are emitted by the loaders)."""
        return self.scope != "load"

    @property
    def prepares(self) -> bool:
        """Whether it does run-wide work in `prepare` before rules are run."""
        return type(self).prepare is not Check.prepare

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterable[Finding]:
        return ()

    def prepare(self, judged: list[NormalizedRule], ctx: Analysis) -> None:
        """Run-wide work shared by every rule's `run` (an overlap index of the corpus)."""

    @classmethod
    def default(cls, name: str) -> Any:
        for o in cls.options:
            if o.name == name:
                return o.default
        raise KeyError(f"{cls.name} has no option {name!r}")

    def finding(self, rule: NormalizedRule, message: str, line: int | None = None, *,
                severity: str | None = None, **data: Any) -> Finding:
        """A finding of this check on `rule`; `severity` lowers or raises this one finding
        (hunting content gets `info`), else the check's own."""
        return Finding(
            code=self.code, name=self.name, severity=severity or self.severity, message=message,
            path=rule.path, line=line if line is not None else rule.line,
            rule_id=rule.id, rule_key=rule.key, data=data,
        )

    def doc(self) -> dict[str, str]:
        opts = "\n".join(f"- `{o.name}` (default `{o.default!r}`): {o.help}" for o in self.options) or "None."
        return dict(zip(DOC_SECTIONS, (self.what_it_does, self.why_it_matters, self.example, self.use_instead, opts)))

    def __repr__(self) -> str:
        return f"<check {self.code} {self.name}>"


def unregistered(code: str, name: str, severity: str) -> Check:
    """A descriptor for a finding whose check is not in the registry (a renderer's fallback)."""
    attrs = dict(code=code, name=name, severity=severity, summary=name, what_it_does="",
                 why_it_matters="", example="", use_instead="")
    return type("UnregisteredCheck", (Check,), attrs, register=False)()
