"""What a field says about an event, beyond its value: the one place these lists live.

- *Broad* fields classify events (`event.type: start` is every process start): any
  value of theirs covers a large share of all events.
- *Log-routing* fields say which log to read (`sourcetype`, `data_stream.dataset`),
  not what to find in it.
- *Event-naming* fields say which kind of event it is (`EventID 4688`, `event.action`)
  or which log it comes from. Two rules sharing one are not about the same activity,
  and on a mixed log (Windows Security) two rules naming different events are about
  different events whatever else they share: peers are partitioned by them.

Commonness treats broad and log-routing fields as generic; event ids are judged by
reach like any other value there (Okta's `zone.deactivate` names one rare event).
"""

from __future__ import annotations

BROAD_FIELDS = (
    "event.type", "event.category", "event.kind", "event.outcome", "host.os.type",
    "host.os.family", "host.os.platform", "os.type", "agent.type",
)
LOG_ROUTING_FIELDS = (
    "event.module", "event.dataset", "data_stream.dataset", "data_stream.namespace",
    "Channel", "winlog.channel", "sourcetype", "source", "index", "eventtype",
)
EVENT_NAMING_FIELDS = frozenset(f.casefold() for f in (
    "EventID", "EventCode", "EventType", "EventLog", "Channel", "Provider_Name",
    "event.code", "event.action", "event.provider", "winlog.channel", "winlog.provider_name",
    "winlog.event_id", "sourcetype", "source", "index",
))


def names_event(field: str) -> bool:
    """A field naming the event or its log rather than the activity in it."""
    return field.casefold() in EVENT_NAMING_FIELDS
