"""Replay: rules judged on real events.

Every rule is already a predicate tree over canonical fields (`rulelint.model`). This
package reads events (Windows event JSON, NDJSON from a SIEM, EVTX), states each in the
same field space, and evaluates the trees on them with each vendor's matching rules:
`rulelint test` (a rule's sample events) and `rulelint replay` (every rule over a log
sample) are built on it. See docs/replay.md.
"""
