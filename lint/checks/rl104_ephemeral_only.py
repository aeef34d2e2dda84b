"""RL104 ephemeral-only: a rule that rests only on values the adversary controls (Summiting
the Pyramid level 1 in every branch), with what peers of the same behaviour anchor on."""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Iterator

from ..analysis.robustness import Observable, adversary_tool, is_native_name, is_system_path, native_dll, table
from ..analysis.run_state import Analysis
from ..findings import Finding
from ..model.rule import NormalizedRule
from .base import Check, Option

# What each kind of ephemeral value is, for the message.
_KIND = {"hash": "a hash", "address": "an address", "port": "a port", "domain": "a domain or host name",
         "url_out": "a URL", "user_agent": "a user agent", "image": "a file name", "parent_image": "a file name",
         "target_image": "a file name", "file": "a file name or path", "dll": "a module name", "pipe": "a pipe name",
         "service": "a service or task name", "identity": "an account", "process_id": "an id",
         "command_line": "a name or path in the command line", "parent_command_line": "a name or path in the command line",
         "script": "a name in the script", "registry_key": "a key the adversary names",
         "registry_data": "data the adversary writes", "service_binary": "a path the service runs",
         "app_identity": "an identifier", "cloud_parameter": "a name in the request", "rpc": "a name on the share"}
# Where peers give nothing: what to anchor on instead, by what the rule rests on.
_GENERIC = {
    "network": "the process making the connection and the protocol behaviour (a header field the tool must send), "
               "not the address, domain or user agent",
    "file": "what the tool must do rather than its name: its PE-header original file name, the arguments it "
            "needs, the access, key or event the behaviour produces",
}
_NETWORK_KINDS = {"address", "port", "domain", "url_out", "user_agent"}
# A comparison on an aggregate (`count > 50`, `dc(dest) >= 10`): a threshold decides the rule.
# Aggregates are named so in SPL (`count`, `dc(x)`), ES|QL (`Esql.event_action_count_distinct`,
# `Esql.occurrences`) and EQL (`process.args_count`): a token of the field name says it.
_COUNTED = re.compile(r"(?:^|[._(])(count|dc|distinct|distinct_count|sum|avg|max|min|values|total|num|unique|"
                      r"occurrences)(?:$|[._()])", re.I)
# What the adversary picks at will, whatever the value.
_CHOSEN_KINDS = {"hash", "address", "domain", "url_out", "user_agent"}
# Names and paths: the adversary's choice unless the platform fixes them (a native binary or
# DLL, a system folder, a protocol's or runtime's pipe): those stay level 1 in the method,
# but a rule resting on them is not resting on the adversary's choice, so it is not reported.
_NAME_KINDS = {"image", "parent_image", "target_image", "file", "dll", "pipe", "service"}
_SYSTEM_PIPES = ("pshost", "spoolss", "lsarpc", "lsass", "samr", "netlogon", "srvsvc", "wkssvc", "efsrpc",
                 "ntsvcs", "atsvc", "epmapper", "eventlog", "winreg", "svcctl", "netdfs", "browser",
                 "protected_storage", "initshutdown", "scerpc", "tapsrv", "dnsserver", "msfte", "sql\\query",
                 "wmi", "ctx_winstation", "trkwks", "keysvc", "plugplay", "w32time", "mojo.")
_HOST_NAME = re.compile(r"[a-z0-9-]\.[a-z0-9-]*[a-z]")  # a label, a dot, and more: `evil.example`, `aaa.stage.`
_SUFFIX = re.compile(r"\.[a-z][a-z0-9-]*$")  # a top-level domain the adversary registers under: `.country`
_MORE = re.compile(r" \(\+\d+ more\)$")  # how an observable's value says the predicate lists more


@lru_cache(maxsize=1)
def _service_name() -> re.Pattern[str]:
    """A public service's own domain (the table's `service_domains`, with its reason) as a whole
    name inside a host name or URL: `api.telegram.org`, `*.paste.ee/r/`, not `notatelegram.org`."""
    names = "|".join(re.escape(d) for d in table().raw["service_domains"])
    return re.compile(r"(?:^|[./*])(?:" + names + r")(?:$|[/:*?])")


_FIXED_DIRS = ("/var/run/", "/run/", "/etc/", "/proc/", "/sys/", "/usr/", "/bin/", "/sbin/", "/lib/", "/var/lib/",
               "/boot/", "/dev/", "\\windows\\", "%systemroot%", "%windir%", "/system/", "/library/")


def adversary_chosen(o: Observable) -> bool:
    """Whether the observable's value is one the adversary picks at will (not a name or path
    the platform, a protocol or a native tool fixes)."""
    v = _MORE.sub("", o.value).casefold()
    if o.kind == "address":
        # An address as written (`10.1.2.3`, `fe80::`, a prefix): a bare number (`16777216`, how a
        # tunnelled loopback logon renders) is an artefact of the mechanism, not one the adversary picked.
        return "." in v or ":" in v
    if o.kind in ("url_out", "domain"):
        # A pattern (an address with a mailbox in it, a kit's naming scheme) describes the technique's
        # URLs or queries; a public service's own name (a paste site's raw path) is the service's.
        if o.op == "regex_match" or _service_name().search(v):
            return False
        if o.kind == "url_out":
            return True
        # A fragment of the query name (`==.` of base64 padding, the `UWhRCA` of a marshalled target)
        # is how the tool encodes its query; a whole single-label name (a workstation name
        # `rdesktop`) or a top-level domain (`.country`) is still one the adversary picks.
        suffix = o.op == "ends_with" and _SUFFIX.match(v) is not None
        return o.op == "eq" or suffix or _HOST_NAME.search(v) is not None
    if o.kind in _CHOSEN_KINDS:
        return True
    if o.kind not in _NAME_KINDS:
        return False
    v = o.value.casefold().strip("*")
    if is_native_name(v) or native_dll(v) or is_system_path(v) or any(d in v for d in _FIXED_DIRS):
        return False
    if o.kind == "pipe" and v.lstrip("\\").startswith(_SYSTEM_PIPES):
        return False
    # A name is the adversary's only where it is a known offensive tool's: an operating
    # system, an application or a protocol fixes most other names and paths a rule tests.
    return adversary_tool(v) is not None


def _peer_keys(rule: NormalizedRule, ctx: Analysis) -> list[str]:
    """Rules reading the same kind of event and tagged with one of the rule's sub-techniques.

    A technique alone is too broad a behaviour to borrow anchors from: T1190 holds every
    exploit of a public service, T1036 every masquerade, so a peer sharing only that tag
    anchors on another tool's traits (a Log4j string for a scanner's user agent)."""
    source = rule.logsource.key()
    wanted = {t.upper() for t in rule.techniques if "." in t}
    if not wanted or source == "(any)":
        return []
    tagged: set[str] = set()
    for t, keys in ctx.index.by_technique.items():
        if t.upper() in wanted:
            tagged |= keys
    return sorted(k for k in tagged - {rule.key}
                  if k in ctx.index.rules and ctx.index.rules[k].logsource.key() == source)


class EphemeralOnly(Check):
    code = "RL104"
    name = "ephemeral-only"
    severity = "info"
    scope = "corpus"
    summary = ("The rule rests only on values the adversary controls (file names, hashes, pipe names, addresses, "
               "domains, user agents): Summiting the Pyramid level 1 in every branch.")
    what_it_does = (
        "Scores the rule with the Summiting the Pyramid method (`rulelint explain` shows it; "
        "docs/robustness.md gives the table) and reports it when every observable of its selection, in "
        "every branch, is level 1 and is a value the adversary picks at will: a hash, an address, a "
        "domain, a URL, a user agent, or the name of a known offensive tool (its binary, pipe, service "
        "or output file). A domain is a name (`evil.example`, a whole host name): a fragment or pattern "
        "of the query name (`==.` of base64 padding) is how the tool encodes its query, and a public "
        "service's own domain or URL (`api.telegram.org`, a file host, a tunnel, an IP lookup) is the "
        "service's, not the adversary's: neither is reported. Names and paths the platform, an "
        "application or a protocol fixes (native binaries and DLLs, system folders, `spoolss` and other "
        "protocol pipes, `ntuser.man`) are level 1 in the method too, but a rule resting on them is not resting on the adversary's choice, so it "
        "is not reported; nor is a rule a threshold, new terms, a sequence or a count decides. "
        "Exclusions do not count: a rule whose selection reaches a higher level but whose filter is "
        "ephemeral is bypassable-exclusion's matter. It then names what to anchor on instead: the "
        "observables that set the level of its peers, rules on the same log source about the same activity "
        "(sharing an activity field and values, as missing-common-exclusion finds them) and tagged with the same "
        "sub-technique, that reach level 3 or more, with the level and the peers that use them; without "
        "such peers, the kind of observable to look for. A bare technique tag (T1190, T1036) is too broad "
        "a behaviour to borrow from: its peers test other tools. Rules whose logic the method cannot "
        "score (machine-learning jobs, alert promotions) are not reported.")
    why_it_matters = (
        "A rule on ephemeral values catches the known sample and nothing else: renaming the binary, "
        "rebuilding it, changing a pipe name or moving to another domain evades it for free. That is "
        "fine for an indicator sweep, but as the only rule for a behaviour it gives no resistance to "
        "the adversary changing anything. Anchoring it on the tool's fixed traits (its PE header, its "
        "arguments) or on what the behaviour must produce (the access rights, the key, the event) "
        "makes the adversary pay for evading it.")
    example = (
        "tags:\n"
        "  - attack.credential-access\n"
        "  - attack.t1003.001\n"
        "logsource:\n"
        "  category: process_creation\n"
        "  product: windows\n"
        "detection:\n"
        "  selection:\n"
        "    Image|endswith: '\\\\mimikatz.exe'\n"
        "  condition: selection")
    use_instead = (
        "tags:\n"
        "  - attack.credential-access\n"
        "  - attack.t1003.001\n"
        "logsource:\n"
        "  category: process_access\n"
        "  product: windows\n"
        "detection:\n"
        "  selection:\n"
        "    TargetImage|endswith: '\\\\lsass.exe'\n"
        "    GrantedAccess: ['0x1010', '0x1410']\n"
        "  condition: selection")
    options = (
        Option("min_peer_level", 3, "the level a peer must reach for its observables to be named as anchors"),
        Option("max_anchors", 2, "how many anchors the message names"),
    )

    def run(self, rule: NormalizedRule, ctx: Analysis) -> Iterator[Finding]:
        if rule.kind != "rule" or rule.tree is None:
            return
        # A count, a threshold or new terms decide such a rule, not the values it filters on.
        if rule.beyond_query or rule.steps or any(
                p.op in ("gt", "ge", "lt", "le") and _COUNTED.search(p.field) for p in rule.predicates):
            return
        rb = ctx.robustness(rule)
        if rb.level != 1:
            return
        positive = list({o.text(): o for o in rb.observables if o.positive and o.level is not None}.values())
        if not positive or any(o.level > 1 for o in positive):
            return
        if not all(adversary_chosen(o) for o in positive):
            return
        shown = []
        for o in positive[:3]:
            shown.append(f"{o.text()} ({_KIND.get(o.kind, 'an ephemeral value')})")
        more = f" and {len(positive) - 3} more" if len(positive) > 3 else ""
        anchors = self._anchors(rule, ctx)
        limit = ctx.option(self, "max_anchors")
        if anchors:
            advice = "; ".join(f"{text} (level {lv}, {n} peer{'s' if n != 1 else ''}, e.g. {title!r})"
                               for text, lv, n, title in anchors[:limit])
            tail = f"peers of the same behaviour anchor on {advice}"
        else:
            kinds = {o.kind for o in positive}
            tail = "anchor on " + _GENERIC["network" if kinds <= _NETWORK_KINDS else "file"]
        line = min((rule.predicates[i].line for i, p in enumerate(rule.predicates)
                    if rule.polarity.get(i, False) and p.line), default=rule.logic_line or rule.line)
        yield self.finding(
            rule, f"The rule rests only on values the adversary controls (robustness level 1): "
                  f"{'; '.join(shown)}{more}; {tail}.", line,
            robustness=rb.level, anchors=[{"observable": t, "level": lv, "peers": n} for t, lv, n, _ in anchors[:limit]])

    def _anchors(self, rule: NormalizedRule, ctx: Analysis) -> list[tuple[str, int, int, str]]:
        """(observable as peers write it, its level, how many peers use it, one peer's title), strongest first."""
        need = ctx.option(self, "min_peer_level")
        found: dict[str, list] = defaultdict(lambda: [0, set(), ""])
        for key in sorted(set(_peer_keys(rule, ctx)) & ctx.peer_keys(rule)):
            peer = ctx.index.rules.get(key)
            if peer is None or not getattr(peer, "has_logic", False) or peer.tree is None or peer.kind != "rule":
                continue
            prb = ctx.robustness(peer)  # type: ignore[arg-type]
            if prb.level is None or prb.level < need:
                continue
            anchor = prb.decider if prb.decider is not None and prb.decider.positive else None
            if anchor is None:
                continue
            entry = found[anchor.text()]
            entry[0] = anchor.level
            entry[1].add(key)
            entry[2] = entry[2] or peer.title
        out = [(text, lv, len(keys), title) for text, (lv, keys, title) in found.items()]
        out.sort(key=lambda a: (-a[1], -a[2], a[0]))
        return out
