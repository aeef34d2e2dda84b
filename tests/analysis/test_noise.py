"""Commonness judgments and noise_score, on corpora of small inline Sigma rules."""

from __future__ import annotations

import math

import pytest

from rulelint.analysis.commonness import Commonness, CommonnessOptions
from rulelint.analysis.noise import NO_LOGIC_SCORE, noise_score
from rulelint.loaders.sigma import load_sigma_text
from rulelint.model.index import CorpusIndex
from rulelint.model.predicate import IndicatorKey, Predicate
from rulelint.model.rule import NormalizedRule

CMD = IndicatorKey("Image", "ends_with", "\\cmd.exe")
WHOAMI = IndicatorKey("CommandLine", "contains", "whoami")


def rid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def rule_text(n: int | None, detection: str, condition: str = "selection", *,
              meta: str = "", logsource: str = "product: windows\n  category: process_creation") -> str:
    """A Sigma rule; `detection` is the indented body of `detection:` without the condition."""
    ident = f"id: {rid(n)}\n" if n is not None else ""
    return (
        f"title: Rule {n}\n{ident}{meta}"
        f"logsource:\n  {logsource}\n"
        f"detection:\n{detection}"
        f"  condition: {condition}\n"
    )


def load(path: str, text: str) -> NormalizedRule:
    res = load_sigma_text(path, text)
    assert res.findings == [], res.findings
    assert len(res.rules) == 1
    return res.rules[0]


# Six peer rules: each `Image|endswith: \cmd.exe` AND its own token; rules 0-2 also use whoami.
def _peer(n: int) -> NormalizedRule:
    det = (
        "  selection:\n"
        "    Image|endswith: '\\cmd.exe'\n"
        f"    CommandLine|contains: 'token-{n}'\n"
    )
    cond = "selection"
    if n < 3:
        det += "  recon:\n    CommandLine|contains: 'whoami'\n"
        cond = "selection and recon"
    return load(f"corpus/windows/peer_{n}.yml", rule_text(100 + n, det, cond))


@pytest.fixture(scope="module")
def peers() -> list[NormalizedRule]:
    return [_peer(n) for n in range(6)]


def score_in(rule: NormalizedRule, others: list[NormalizedRule], options: CommonnessOptions | None = None) -> float:
    """noise_score of `rule` in a corpus of `others` plus the rule itself."""
    idx = CorpusIndex([*others, rule])
    return noise_score(rule, Commonness(idx, options))


def cmd_rule(condition: str = "selection", more: str = "", n: int = 1, path: str = "t/x.yml") -> NormalizedRule:
    det = "  selection:\n    Image|endswith: '\\cmd.exe'\n" + more
    return load(path, rule_text(n, det, condition))


# -- Commonness ----------------------------------------------------------------------

def _filler(count: int) -> list[NormalizedRule]:
    return [
        load(f"f/{i}.yml", rule_text(500 + i, f"  selection:\n    Image|endswith: '\\\\tool{i}.exe'\n"))
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def ten_rules() -> list[NormalizedRule]:
    return _filler(10)


@pytest.mark.parametrize(
    "min_reach, share, expected",
    [
        (3, 0.005, 3),  # share * 10 rounds up to 1, min_reach wins
        (2, 0.25, 3),  # ceil(2.5) = 3 beats min_reach 2
        (5, 0.25, 5),  # min_reach beats ceil(2.5)
        (1, 0.3, 3),  # 0.3 * 10 == 3.0 exactly: no rounding up past 3
        (1, 0.31, 4),  # ceil(3.1)
        (0, 0.0, 0),
        (1, 1.0, 10),
    ],
)
def test_threshold(ten_rules, min_reach, share, expected):
    idx = CorpusIndex(ten_rules)
    c = Commonness(idx, CommonnessOptions(min_reach=min_reach, common_share=share))
    assert c.threshold == max(min_reach, math.ceil(share * 10)) == expected


def test_threshold_defaults_and_empty_corpus():
    assert Commonness(CorpusIndex([])).threshold == CommonnessOptions().min_reach == 3
    assert Commonness(CorpusIndex([]), CommonnessOptions(min_reach=7)).threshold == 7


@pytest.mark.parametrize(
    "key",
    [
        IndicatorKey("event.type", "eq", "start"),
        IndicatorKey("event.category", "eq", "process"),
        IndicatorKey("EVENT.TYPE", "eq", "start"),  # field names compare case-folded
        IndicatorKey("host.os.type", "eq", "windows"),
        IndicatorKey("Image", "exists", ""),
        IndicatorKey("CommandLine", "is_null", ""),
    ],
)
def test_broad_indicators_are_always_common(key):
    c = Commonness(CorpusIndex([]))  # nobody uses them
    assert c.is_generic(key) and c.is_broad(key)
    assert c.is_common(key, "any-rule")
    assert c.value_score(key, "any-rule") == 1.0


@pytest.mark.parametrize(
    "key",
    [
        IndicatorKey("Channel", "eq", "security"),
        IndicatorKey("sourcetype", "eq", "pwsh:driverinventory"),
        IndicatorKey("data_stream.dataset", "eq", "crowdstrike.alert"),
    ],
)
def test_routing_fields_are_generic_but_judged_by_reach(key):
    """They never make peers nor missing exclusions, but a rare feed is not common."""
    c = Commonness(CorpusIndex([]))
    assert c.is_generic(key) and not c.is_broad(key)
    assert not c.is_common(key, "any-rule")
    assert c.value_score(key, "any-rule") == 0.0


@pytest.mark.parametrize(
    "key",
    [
        IndicatorKey("EventID", "eq", "4688"),
        IndicatorKey("event.action", "eq", "zone.deactivate"),
        IndicatorKey("event.code", "eq", "5012"),
        IndicatorKey("Image", "ends_with", "\\cmd.exe"),
    ],
)
def test_event_names_are_not_generic(key):
    c = Commonness(CorpusIndex([]))
    assert not c.is_generic(key)
    assert not c.is_common(key, "any-rule")
    assert c.value_score(key, "any-rule") == 0.0


def test_generic_fields_come_from_options():
    opts = CommonnessOptions(broad_fields=("Image",), routing_fields=("CommandLine",))
    c = Commonness(CorpusIndex([]), opts)
    assert c.is_broad(CMD) and c.is_generic(CMD)
    assert c.is_generic(IndicatorKey("CommandLine", "eq", "x")) and not c.is_broad(IndicatorKey("CommandLine", "eq", "x"))
    assert not c.is_generic(IndicatorKey("event.type", "eq", "start"))


def test_others_excludes_the_rule_itself(peers):
    c = Commonness(CorpusIndex(peers))
    assert c.index.reach(CMD) == 6
    assert c.others(CMD, peers[0].key) == 5
    assert c.others(CMD, "outsider") == 6
    assert c.others(WHOAMI, peers[0].key) == 2
    assert c.others(WHOAMI, peers[5].key) == 3
    own = IndicatorKey("CommandLine", "contains", "token-4")
    assert c.others(own, peers[4].key) == 0
    assert c.others(own, peers[3].key) == 1


def test_is_common_at_threshold(peers):
    c = Commonness(CorpusIndex(peers))
    assert c.threshold == 3
    assert c.is_common(CMD, peers[0].key)
    # whoami: 3 rules use it; for one of them only 2 others do.
    assert c.is_common(WHOAMI, "outsider")
    assert c.is_common(WHOAMI, peers[5].key)
    assert not c.is_common(WHOAMI, peers[0].key)


def test_value_score(peers):
    c = Commonness(CorpusIndex(peers))
    assert c.value_score(CMD, peers[0].key) == pytest.approx(5 / (5 + 3))
    assert c.value_score(WHOAMI, peers[0].key) == pytest.approx(2 / (2 + 3))
    assert c.value_score(IndicatorKey("CommandLine", "contains", "token-1"), peers[1].key) == 0.0
    # A short substring is loose whoever uses it.
    assert c.value_score(IndicatorKey("CommandLine", "contains", "-e"), "x") == 0.5
    assert c.value_score(IndicatorKey("CommandLine", "contains", "-enc"), "x") == 0.0
    assert c.value_score(IndicatorKey("CommandLine", "eq", "-e"), "x") == 0.0


def test_predicate_score_and_commonness_take_the_loosest_value(peers):
    c = Commonness(CorpusIndex(peers))
    p = Predicate("CommandLine", "contains", ("token-1", "whoami"))
    assert c.predicate_score(p, "x") == pytest.approx(3 / 6)
    assert c.predicate_is_common(p, "x")
    assert c.loosest_key(p, "x") == WHOAMI
    q = Predicate("CommandLine", "contains", ("token-1", "token-2"))
    assert not c.predicate_is_common(q, "x")
    assert c.predicate_score(Predicate("f", "eq", ()), "x") == 1.0


def test_together(peers):
    c = Commonness(CorpusIndex(peers))
    assert c.together([CMD, WHOAMI], "outsider") == 3
    assert c.together([CMD, WHOAMI], peers[0].key) == 2  # never its own evidence
    assert c.together([WHOAMI, CMD], peers[4].key) == 3
    assert c.together([CMD], peers[0].key) == 5
    assert c.together([CMD, IndicatorKey("CommandLine", "contains", "token-4")], "outsider") == 1
    assert c.together([CMD, IndicatorKey("x", "eq", "unused")], "outsider") == 0
    assert c.together([], "outsider") == 0


# -- noise_score ------------------------------------------------------------------------

def test_scores_stay_within_0_and_1(peers):
    variants = [
        cmd_rule(),
        cmd_rule("selection and not filter", "  filter:\n    User: system\n"),
        cmd_rule("not filter", "  filter:\n    User: system\n"),
        cmd_rule("selection or generic", "  generic:\n    event.type: start\n"),
        cmd_rule("1 of g*", "".join(f"  g{i}:\n    event.type: s{i}\n" for i in range(6))),
        cmd_rule("selection and rare", "  rare:\n    CommandLine|contains: 'nobody-else-uses-this'\n"),
    ]
    for r in [*variants, *peers]:
        s = score_in(r, peers)
        assert 0.0 <= s <= 1.0, (r.title, s)
    # No floor and no ceiling short of "everything": a rare rule is low but above 0.
    assert score_in(variants[4], peers) > 0.9
    assert 0.0 < score_in(variants[5], peers) < score_in(variants[0], peers)


def test_common_indicator_alone_is_noisier_than_with_a_specific_one(peers):
    alone = score_in(cmd_rule(), peers)
    specific = score_in(
        cmd_rule("selection and rare", "  rare:\n    CommandLine|contains: 'nobody-else-uses-this'\n"), peers)
    assert specific < alone
    # A moderately shared second indicator still lowers the score.
    with_whoami = score_in(cmd_rule("selection and recon", "  recon:\n    CommandLine|contains: 'whoami'\n"), peers)
    assert specific < with_whoami < alone


def test_generic_only_rule_scores_highest(peers):
    r = load("t/g.yml", rule_text(1, "  selection:\n    event.type: start\n"))
    assert score_in(r, peers) > 0.95
    assert all(score_in(r, peers) > score_in(p, peers) for p in peers)


def test_adding_an_exclusion_lowers_the_score(peers):
    base = score_in(cmd_rule(), peers)
    one = score_in(cmd_rule("selection and not filter", "  filter:\n    User: system\n"), peers)
    two = score_in(
        cmd_rule("selection and not f1 and not f2", "  f1:\n    User: system\n  f2:\n    ParentImage|endswith: '\\\\explorer.exe'\n"),
        peers)
    assert 0 < one < base
    assert two < one


def test_exclusion_in_one_branch_lowers_the_score(peers):
    more = "  recon:\n    CommandLine|contains: 'whoami'\n  filter:\n    User: system\n"
    without = score_in(cmd_rule("selection or recon", more), peers)
    with_ = score_in(cmd_rule("selection or (recon and not filter)", more), peers)
    assert with_ < without


@pytest.mark.parametrize(
    "condition",
    [
        "selection or unique",  # a branch nobody else uses
        "selection or recon",  # a moderately common branch
        "selection or generic",  # a generic branch
        "selection or unique or recon or generic",
        "selection or (recon and unique)",
        "selection or not filter",
    ],
)
def test_more_or_branches_never_lower_the_score(peers, condition):
    more = (
        "  unique:\n    CommandLine|contains: 'nobody-else-uses-this'\n"
        "  recon:\n    CommandLine|contains: 'whoami'\n"
        "  generic:\n    event.type: start\n"
        "  filter:\n    User: system\n"
    )
    base = score_in(cmd_rule("selection", more), peers)
    wider = score_in(cmd_rule(condition, more), peers)
    assert wider >= base


def test_more_or_branches_inside_an_and(peers):
    more = (
        "  a:\n    CommandLine|contains: 'whoami'\n"
        "  b:\n    CommandLine|contains: 'token-3'\n"
        "  c:\n    CommandLine|contains: 'token-4'\n"
    )
    scores = [
        score_in(cmd_rule(cond, more), peers)
        for cond in ("selection and b", "selection and (b or c)", "selection and (a or b or c)")
    ]
    assert scores[0] <= scores[1] <= scores[2]
    assert scores[0] < scores[2]


def test_a_common_extra_branch_raises_the_score(peers):
    more = "  generic:\n    event.type: start\n"
    assert score_in(cmd_rule("selection or generic", more), peers) > score_in(cmd_rule("selection", more), peers)


def test_repeating_a_branch_does_not_change_the_score(peers):
    # `selection or selection` fires exactly when `selection` does.
    assert score_in(cmd_rule("selection or selection"), peers) == score_in(cmd_rule("selection"), peers)


def test_rule_is_not_its_own_evidence(peers):
    # Adding the scored rule to the corpus, or not, changes nothing.
    r = cmd_rule()
    assert noise_score(r, Commonness(CorpusIndex(peers))) == score_in(r, peers)


def test_filter_rule_scores_neutral(peers):
    text = (
        "title: Ignore admin shells\n"
        "logsource:\n  product: windows\n  category: process_creation\n"
        "filter:\n  rules:\n    - " + rid(1) + "\n"
        "  selection:\n    User: admin\n  condition: not selection\n"
    )
    res = load_sigma_text("t/filter.yml", text)
    assert res.findings == []
    (flt,) = res.rules
    assert flt.kind == "filter"
    assert score_in(flt, peers) is None
    assert "filter" in explain(flt, Commonness(CorpusIndex([*peers, flt]))).note


# -- correlations ---------------------------------------------------------------------

def _correlation(n: int, refs: list[str], path: str = "t/corr.yml") -> NormalizedRule:
    refs_yaml = "".join(f"    - {r}\n" for r in refs)
    text = (
        f"title: Correlation {n}\nid: {rid(n)}\n"
        "correlation:\n  type: event_count\n  rules:\n" + refs_yaml +
        "  group-by:\n    - User\n  timespan: 5m\n  condition:\n    gte: 3\n"
    )
    return load(path, text)


def test_correlation_score_comes_from_referenced_rules(peers):
    noisy = load("t/noisy.yml", rule_text(
        11, "  selection:\n    Image|endswith: '\\cmd.exe'\n", meta="name: noisy_cmd\n"))
    quieter = load("t/quieter.yml", rule_text(
        12, "  selection:\n    Image|endswith: '\\cmd.exe'\n  filter:\n    User: system\n",
        "selection and not filter"))
    corr = _correlation(20, ["noisy_cmd", rid(12)])
    idx = CorpusIndex([*peers, noisy, quieter, corr])
    c = Commonness(idx)
    n_noisy, n_quiet = noise_score(noisy, c), noise_score(quieter, c)
    assert 0 < n_quiet < n_noisy
    low = min(explain(noisy, c).estimate, explain(quieter, c).estimate)
    assert explain(corr, c).estimate == pytest.approx(low * 0.1)
    assert noise_score(corr, c) < n_quiet

    # Only the noisy rule referenced: the correlation follows it.
    corr2 = _correlation(21, ["noisy_cmd"])
    idx2 = CorpusIndex([*peers, noisy, quieter, corr2])
    assert explain(corr2, Commonness(idx2)).estimate == pytest.approx(explain(noisy, Commonness(idx2)).estimate * 0.1)
    assert noise_score(corr2, Commonness(idx2)) > noise_score(corr, c)


def test_correlation_without_resolvable_rules(peers):
    corr = _correlation(22, ["does_not_exist"])
    assert score_in(corr, peers) is None


def test_correlation_cycles_terminate(peers):
    a = _correlation(23, [rid(24)], "t/ca.yml")
    b = _correlation(24, [rid(23)], "t/cb.yml")
    c = Commonness(CorpusIndex([*peers, a, b]))
    s = noise_score(a, c)
    assert s is None or 0.0 <= s <= 1.0


# -- metadata must not matter ---------------------------------------------------------

_DETECTION = (
    "  selection:\n    Image|endswith: '\\cmd.exe'\n"
    "  recon:\n    CommandLine|contains: 'whoami'\n"
    "  filter:\n    User: system\n"
)
_CONDITION = "selection or (recon and not filter)"

META_QUIET = (
    "status: stable\nlevel: low\n"
    "falsepositives:\n  - Unlikely\n"
)
META_NOISY = (
    "status: experimental\nlevel: critical\n"
    "falsepositives:\n  - Administrators\n  - Legitimate software updates\n  - Everything\n"
    "building_block: true\n"
)


@pytest.mark.parametrize("with_id", [True, False])
def test_noise_score_ignores_metadata_path_and_building_block(peers, with_id):
    n = 42 if with_id else None
    quiet = load("rules/windows/process_creation/proc_cmd.yml", rule_text(n, _DETECTION, _CONDITION, meta=META_QUIET))
    noisy = load(
        "rules-deprecated/building_blocks/hunting/proc_cmd_copy.yml",
        rule_text(n, _DETECTION, _CONDITION, meta=META_NOISY),
    )
    # Any building-block marker a loader might record.
    noisy.extra.update({"building_block": True, "building_block_type": "default"})
    # The loaded rules really differ in what must be ignored.
    assert (quiet.level, quiet.status) == ("low", "stable")
    assert (noisy.level, noisy.status) == ("critical", "experimental")
    assert quiet.path != noisy.path

    # Against one corpus (the peers, plus the quiet rule when it has an id).
    corpus = [*peers, quiet] if with_id else list(peers)
    common = Commonness(CorpusIndex(corpus))
    s_quiet, s_noisy = noise_score(quiet, common), noise_score(noisy, common)
    assert 0.0 < s_quiet < 1.0
    assert s_noisy == s_quiet

    # Each in its own copy of the corpus.
    assert score_in(noisy, peers) == score_in(quiet, peers) == s_quiet


_ELASTIC = """\
[metadata]
maturity = "{maturity}"

[rule]
name = "cmd with whoami"
rule_id = "7e3f0c2a-0000-4000-8000-0000000000e1"
severity = "{severity}"
false_positives = [{fps}]
{bb}
type = "query"
language = "kuery"
query = '''
process.name:cmd.exe and process.command_line:*whoami*
'''
"""


def test_elastic_noise_ignores_severity_maturity_false_positives_and_building_block(peers, tmp_path):
    from rulelint.loaders import load_file

    quiet_dir, noisy_dir = tmp_path / "rules", tmp_path / "rules_building_block"
    quiet_dir.mkdir()
    noisy_dir.mkdir()
    (quiet_dir / "a.toml").write_text(_ELASTIC.format(maturity="production", severity="low", fps="", bb=""))
    (noisy_dir / "a.toml").write_text(_ELASTIC.format(
        maturity="development", severity="critical", fps='"admins", "updates"', bb='building_block_type = "default"'))
    [quiet] = load_file(str(quiet_dir / "a.toml")).rules
    [noisy] = load_file(str(noisy_dir / "a.toml")).rules
    assert (quiet.level, quiet.status) != (noisy.level, noisy.status)
    assert noisy.extra.get("building_block") == "default"
    import copy

    from rulelint.model.canonical import canonicalize

    canonical_peers = copy.deepcopy(list(peers))
    for p in canonical_peers:
        canonicalize(p)  # the peers test `\cmd.exe` as Sigma writes it: make them comparable
    assert score_in(quiet, canonical_peers) == score_in(noisy, canonical_peers) > 0.0


def test_rules_deciding_beyond_their_query_score_half(peers):
    rule = load("rules/x/cmd_alone.yml", rule_text(77, "  selection:\n    Image|endswith: '\\cmd.exe'\n", "selection"))
    base = score_in(rule, peers)
    before = explain(rule, Commonness(CorpusIndex([*peers, rule]))).estimate
    rule.beyond_query = "new terms of user.name"
    assert explain(rule, Commonness(CorpusIndex([*peers, rule]))).estimate == pytest.approx(before * 0.1)
    assert score_in(rule, peers) < base


# -- the documented model (docs/noise-score.md) ---------------------------------------

from rulelint.analysis.noise import SOURCE_SHARE, explain, source_threshold  # noqa: E402


def test_a_small_log_source_lowers_the_threshold(peers):
    big = _filler(60)  # process_creation rules: the corpus threshold rules them
    small = [load(f"s/{i}.yml", rule_text(700 + i, f"  selection:\n    EventID: {i}\n", logsource="product: windows\n  service: system"))
             for i in range(12)]
    corpus = [*big, *small]
    opts = CommonnessOptions(min_reach=3, common_share=0.1)  # T = ceil(0.1 * 72) = 8
    c = Commonness(CorpusIndex(corpus), opts)
    assert c.threshold == 8
    assert source_threshold(big[0], c) == (60, 6)  # 10 % of 60 process_creation rules
    size, t = source_threshold(small[0], c)
    assert size == 12 and t == max(3, math.ceil(SOURCE_SHARE * 12)) == 3


def test_routing_fields_narrow_nothing_but_event_names_do(peers):
    feed = load("t/feed.yml", rule_text(1, "  selection:\n    sourcetype: 'pwsh:driverinventory'\n"))
    okta = load("t/okta.yml", rule_text(2, "  selection:\n    eventtype: 'policy.lifecycle.delete'\n"))
    assert score_in(feed, peers) > 0.98  # fires on every event of the feed it reads
    assert 0.0 < score_in(okta, peers) < score_in(feed, peers)  # one kind of Okta event, of unknown volume
    b = explain(feed, Commonness(CorpusIndex([*peers, feed])))
    assert b.predicates[0].basis == "routing"
    assert explain(okta, Commonness(CorpusIndex([*peers, okta]))).predicates[0].basis == "event-name"


def test_an_exclusion_many_rules_apply_trims_more(peers):
    common_filter = [load(f"x/{i}.yml", rule_text(800 + i, f"  selection:\n    CommandLine|contains: 'tok{i}'\n"
                                                   "  filter:\n    ParentImage|endswith: '\\\\ccmexec.exe'\n",
                                                   "selection and not filter")) for i in range(6)]
    corpus = [*peers, *common_filter]
    known = cmd_rule("selection and not filter", "  filter:\n    ParentImage|endswith: '\\\\ccmexec.exe'\n", n=90)
    unknown = cmd_rule("selection and not filter", "  filter:\n    ParentImage|endswith: '\\\\nobody.exe'\n", n=91)
    trivial = cmd_rule("selection and not filter", "  filter:\n    ParentImage: ''\n", n=92)
    base = score_in(cmd_rule(n=93), corpus)
    s_known, s_unknown, s_trivial = (score_in(r, corpus) for r in (known, unknown, trivial))
    assert s_known < s_unknown < s_trivial < base
    b = explain(known, Commonness(CorpusIndex([*corpus, known])))
    assert b.exclusions[0].benign and not b.exclusions[0].trivial


def test_branches_resting_on_one_predicate_count_at_most_as_much_as_it(peers):
    many = "".join(f"  c{i}:\n    CommandLine|contains: 'whoami'\n    User: 'u{i}'\n" for i in range(30))
    rule = cmd_rule("selection and 1 of c*", many)
    b = explain(rule, Commonness(CorpusIndex([*peers, rule])))
    # Thirty alternatives AND-ed with `\cmd.exe` never exceed what `\cmd.exe` alone matches.
    cmd = max(t.share for t in b.predicates if "cmd.exe" in t.written)
    assert b.estimate <= cmd
    assert b.score == score_in(rule, peers)


def test_breakdown_terms_multiply_to_the_score(peers):
    rule = cmd_rule("(selection and recon and not filter) or generic",
                    "  recon:\n    CommandLine|contains: 'whoami'\n  filter:\n    User: system\n"
                    "  generic:\n    event.type: start\n")
    b = explain(rule, Commonness(CorpusIndex([*peers, rule])))
    assert b.estimate == pytest.approx(b.logic * b.beyond_factor)
    assert b.score == noise_score(rule, Commonness(CorpusIndex([*peers, rule]))) == round(b.estimate ** 0.25, 4)
    assert set(b.to_dict()) >= {"score", "estimate", "predicates", "exclusions", "source", "threshold", "intent"}
