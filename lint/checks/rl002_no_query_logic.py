"""RL002 no-query-logic: emitted by the Elastic loader for rules without a query."""

from .base import Check


class NoQueryLogic(Check):
    code = "RL002"
    name = "no-query-logic"
    severity = "info"
    scope = "load"
    summary = "A rule loads but has no query logic to analyze (e.g. a machine_learning rule)."
    what_it_does = (
        "Reports rules that load correctly but carry no query: Elastic `machine_learning` rules, "
        "whose logic lives in an anomaly-detection job, and any other rule type without a `query`. "
        "Such a rule counts in the corpus (techniques, vendors) but has no predicates, so reach, "
        "peers and the noise score cannot say anything about it.")
    why_it_matters = (
        "Silence about a rule is not approval: the finding makes explicit which rules the corpus "
        "analysis could not look inside, so a clean report is not mistaken for a reviewed one.")
    example = (
        "[rule]\n"
        "type = \"machine_learning\"\n"
        "machine_learning_job_id = \"rare_process_by_host_windows\"\n"
        "anomaly_threshold = 50")
    use_instead = (
        "Nothing to change in the rule. Review the anomaly job itself, or select out this "
        "informational finding with `--ignore no-query-logic`.")
