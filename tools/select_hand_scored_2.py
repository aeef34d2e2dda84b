#!/usr/bin/env python3
"""Selection for hand-scored set 2. Rerun: python3 tools/select_hand_scored_2.py (the draw of tests/analysis/robustness_hand_scored_2.yml)."""
import os, re, random, tomllib, yaml, json
from pathlib import Path
HERE = Path(__file__).resolve().parent
ROOT = str(HERE.parent.parent / "shared" / "corpus")
FIRST = [l.split("path:",1)[1].strip() for l in open(HERE.parent / "tests" / "analysis" / "robustness_hand_scored.yml")
         if l.strip().startswith("- path:")]
assert len(FIRST) == 30, len(FIRST)
FIRST = set(FIRST)

def files(sub, ext):
    out = []
    for d, _, fs in os.walk(os.path.join(ROOT, sub)):
        for f in fs:
            if f.endswith(ext):
                out.append(os.path.relpath(os.path.join(d, f), ROOT))
    return sorted(out)

def ok(p):
    # revision 1 (made before any rule body was read): also drop any path containing "promotion"
    # (vendor-alert promotions living outside elastic/rules/promotions, e.g. okta_*_promotion.toml)
    return p not in FIRST and "deprecated" not in p.lower() and "promotion" not in p.lower()

strata = {}
# ---- Sigma: paths only
sig = [p for p in files("sigma", ".yml") if ok(p)]
def S(name, n, pred):
    strata["sigma/" + name] = (n, sorted(p for p in sig if pred(p)))
S("process_creation", 6, lambda p: p.startswith("sigma/rules/windows/process_creation/"))
S("registry", 2, lambda p: p.startswith("sigma/rules/windows/registry/"))
S("file", 1, lambda p: p.startswith("sigma/rules/windows/file/"))
S("imageload_procaccess_crt", 1, lambda p: any(p.startswith("sigma/rules/windows/%s/" % d) for d in ("image_load", "process_access", "create_remote_thread")))
S("builtin_security", 1, lambda p: p.startswith("sigma/rules/windows/builtin/security/"))
S("powershell", 1, lambda p: p.startswith("sigma/rules/windows/powershell/"))
S("linux", 1, lambda p: p.startswith("sigma/rules/linux/"))
S("macos_cloud", 1, lambda p: p.startswith("sigma/rules/macos/") or p.startswith("sigma/rules/cloud/"))
S("threat_hunting", 1, lambda p: p.startswith("sigma/rules-threat-hunting/"))
S("emerging_threats", 1, lambda p: p.startswith("sigma/rules-emerging-threats/"))

# ---- Elastic: path + cheap query-text filter; one stratum per rule, by priority
ELTYPES = {"query", "eql", "esql", "new_terms", "threshold"}
el = {"windows_process": [], "windows_registry_file": [], "linux_macos": [], "cloud_integrations": [],
      "network_or_security_eventcode": [], "other": []}
for p in files("elastic/rules", ".toml"):
    if not ok(p):
        continue
    parts = p.split("/")
    if parts[2] in ("ml", "promotions", "threat_intel", "_deprecated"):
        continue
    d = tomllib.load(open(os.path.join(ROOT, p), "rb"))
    r = d.get("rule", {})
    if r.get("type") not in ELTYPES or r.get("building_block_type"):
        continue
    q = r.get("query", "") or ""
    if parts[2] in ("linux", "macos"):
        s = "linux_macos"
    elif parts[2] == "integrations":
        s = "cloud_integrations"
    elif parts[2] == "network":
        s = "network_or_security_eventcode"
    elif parts[2] == "windows":
        if re.search(r'event\.code\s*(:|==|in|:\s*\()\s*\(?\s*"?[45]\d{3}\b', q):
            s = "network_or_security_eventcode"
        elif re.search(r'\bprocess\s+where\b|event\.category\s*(:|==)\s*\(?\s*"?process', q):
            s = "windows_process"
        elif re.search(r'\b(registry|file)\s+where\b|event\.category\s*(:|==)\s*\(?\s*"?(registry|file)', q):
            s = "windows_registry_file"
        else:
            s = "other"
    else:
        s = "other"
    el[s].append(p)
for k, n in [("windows_process", 2), ("windows_registry_file", 1), ("linux_macos", 1), ("cloud_integrations", 1),
             ("network_or_security_eventcode", 1), ("other", 1)]:
    strata["elastic/" + k] = (n, sorted(el[k]))

# ---- Splunk: path + search-text filter; one stratum per rule, by priority
sp = {"endpoint_processes": [], "endpoint_registry_filesystem": [], "wineventlog_security_or_sysmon": [],
      "cloud": [], "network_web_application": []}
for p in files("splunk/detections", ".yml"):
    if not ok(p):
        continue
    parts = p.split("/")
    s = None
    if parts[2] == "cloud":
        s = "cloud"
    elif parts[2] in ("network", "web", "application"):
        s = "network_web_application"
    elif parts[2] == "endpoint":
        q = (yaml.safe_load(open(os.path.join(ROOT, p))) or {}).get("search", "") or ""
        if "Endpoint.Processes" in q:
            s = "endpoint_processes"
        elif "Endpoint.Registry" in q or "Endpoint.Filesystem" in q:
            s = "endpoint_registry_filesystem"
        elif "`wineventlog_security`" in q or "`sysmon`" in q:
            s = "wineventlog_security_or_sysmon"
    if s:
        sp[s].append(p)
for k, n in [("endpoint_processes", 3), ("endpoint_registry_filesystem", 1), ("wineventlog_security_or_sysmon", 1),
             ("cloud", 1), ("network_web_application", 1)]:
    strata["splunk/" + k] = (n, sorted(sp[k]))

picked = []
for name, (n, cands) in strata.items():
    rng = random.Random("hand2:" + name)
    got = rng.sample(cands, n)
    print(f"{name}: {len(cands)} candidates -> {got}")
    picked += [(name, g) for g in got]
scored = {l.split("path:", 1)[1].strip() for l in open(HERE.parent / "tests" / "analysis" / "robustness_hand_scored_2.yml")
          if l.strip().startswith("- path:")}
drawn = {p for _, p in picked}
print("the draw is the scored set" if scored == drawn else f"the draw differs: {sorted(scored ^ drawn)}")
print(len(picked))
