"""Generated Sigma rules: random detections, modifiers known and unknown, conditions that
name undefined selections, wrong types everywhere. Each loads or is a parse-error."""

from __future__ import annotations

import string

from hypothesis import given, strategies as st

from .support import HOSTILE, assert_contained, scratch, yaml_text

MODIFIERS = [
    "contains", "startswith", "endswith", "all", "re", "i", "m", "s", "cidr", "base64", "base64offset",
    "wide", "utf16", "utf16le", "utf16be", "windash", "exists", "gt", "gte", "lt", "lte", "fieldref",
    "cased", "expand", "neq", "minute", "hour", "day", "week", "month", "year",
]
text = st.text(max_size=30)
ident = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=12)
unknown_modifier = st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(lambda m: m not in MODIFIERS)
modifier = st.one_of(st.sampled_from(MODIFIERS), unknown_modifier)
field = st.builds(lambda f, mods: "|".join([f, *mods]), st.one_of(ident, text), st.lists(modifier, max_size=3))
scalar = st.one_of(
    text,
    st.text(alphabet="*?\\ab.:/", max_size=12),  # wildcards and escapes
    st.integers(-2**70, 2**70), st.floats(allow_nan=True), st.booleans(), st.none(),
)
value = st.one_of(scalar, st.lists(scalar, max_size=6), st.dictionaries(text, scalar, max_size=3))
selection = st.one_of(
    st.dictionaries(field, value, max_size=5),               # field: value(s)
    st.lists(st.dictionaries(field, value, max_size=3), max_size=4),  # list of maps: OR
    st.lists(scalar, max_size=5),                             # keywords
    scalar,                                                   # a wrong shape
)


def condition(names: list[str]) -> st.SearchStrategy[str]:
    """Conditions over the defined selection names plus undefined ones and raw text."""
    atom = st.one_of(
        st.sampled_from(names) if names else ident,
        ident,  # most likely undefined
        st.builds(lambda q, p: f"{q} of {p}", st.sampled_from(["1", "all", "any", "2"]),
                  st.one_of(st.just("them"), st.builds(lambda n: n[:3] + "*", ident))),
    )
    expr = st.recursive(
        atom,
        lambda inner: st.one_of(
            st.builds(lambda a, b, op: f"{a} {op} {b}", inner, inner, st.sampled_from(["and", "or", "AND", "Or"])),
            st.builds(lambda a: f"not {a}", inner),
            st.builds(lambda a: f"({a}", inner),  # unbalanced on purpose now and then
            st.builds(lambda a: f"({a})", inner),
        ),
        max_leaves=12,
    )
    return st.one_of(expr, st.builds(lambda a, t: f"{a} {t}", expr, text),
                     st.builds(lambda a: f"{a} | count() > 5", expr), text)


@st.composite
def sigma_rules(draw) -> object:
    names = draw(st.lists(ident, max_size=5, unique=True))
    detection: dict = {n: draw(selection) for n in names}
    if draw(st.booleans()):
        cond = draw(condition(names))
        detection["condition"] = draw(st.one_of(st.just(cond), st.lists(st.just(cond), max_size=2),
                                                st.just(cond), scalar))
    rule: dict = {
        "title": draw(st.one_of(text, st.lists(text, max_size=2), st.integers(), st.just("t"))),
        "id": draw(st.one_of(st.uuids().map(str), text, st.integers())),
        "logsource": draw(st.one_of(
            st.fixed_dictionaries({"product": st.sampled_from(["windows", "linux"]),
                                   "category": st.one_of(text, st.just("process_creation"))}),
            text, st.lists(text, max_size=2))),
        "detection": draw(st.one_of(st.just(detection), st.just(detection), text, st.lists(text, max_size=2))),
    }
    for key, strategy in (
        ("tags", st.one_of(st.lists(st.one_of(text, st.just("attack.t1059.001"), st.integers()), max_size=4),
                           st.integers(), text, st.dictionaries(text, text, max_size=2))),
        ("level", st.one_of(st.sampled_from(["low", "high", "critical"]), text, st.integers())),
        ("status", st.one_of(st.sampled_from(["test", "stable"]), text)),
        ("date", st.one_of(st.just("2024-01-01"), text, st.integers())),
        ("related", st.one_of(st.lists(st.dictionaries(st.sampled_from(["id", "type"]), text), max_size=2), text)),
        ("falsepositives", st.one_of(st.lists(text, max_size=2), text, st.integers())),
        ("action", st.sampled_from(["global", "repeat", "reset", "bogus"])),
        ("correlation", st.dictionaries(st.sampled_from(["type", "rules", "timespan", "group-by"]), value, max_size=3)),
        ("filter", st.dictionaries(st.sampled_from(["rules", "selection", "condition"]), value, max_size=3)),
    ):
        if draw(st.integers(0, 5)) == 0:
            rule[key] = draw(strategy)
    if draw(st.integers(0, 4)) == 0:
        return [rule, draw(st.one_of(st.just(rule), st.dictionaries(text, scalar, max_size=2)))]  # multi-document
    return rule


@HOSTILE
@given(sigma_rules())
def test_generated_sigma_rules_load_or_fail_cleanly(rule):
    with scratch() as folder:
        if isinstance(rule, list):
            data = "---\n".join(yaml_text(d) for d in rule)
        else:
            data = yaml_text(rule)
        assert_contained(folder, "rule.yml", data)


@HOSTILE
@given(st.text(max_size=400))
def test_random_text_as_a_sigma_file(data):
    with scratch() as folder:
        assert_contained(folder, "random.yml", data, engine=False)


@HOSTILE
@given(st.binary(max_size=400))
def test_random_bytes_as_a_rule_file(data):
    with scratch() as folder:
        assert_contained(folder, "random.yml", data, engine=False)
        assert_contained(folder, "random.toml", data, engine=False)
