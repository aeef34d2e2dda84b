"""Load files one by one, each in a forked child under CPU and memory rlimits, and print
one JSON line per file: outcome, reasons, CPU seconds and peak memory of that child.

    python -m tests.hostile.measure FILE...

Forking after rulelint is imported keeps each measurement to the loading itself; the
rlimits turn a regression into a killed child (reported as such) instead of a hung CI.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import time

CPU_LIMIT_S = 60  # RLIMIT_CPU of each child: a runaway guard, some 20 times the slowest file
MEMORY_LIMIT_BYTES = 3 << 30  # RLIMIT_AS of each child (address space, so above the RSS bound)


def _child(path: str, fd: int) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S + 5))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    from rulelint.loaders import load_file

    result = load_file(path)
    out = {
        "rules": len(result.rules),
        "findings": [{"name": f.name, "path": f.path, "reason": f.data.get("reason", "")} for f in result.findings],
    }
    os.write(fd, json.dumps(out).encode())
    os.close(fd)


def measure(path: str) -> dict:
    read_end, write_end = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        code = 0
        try:
            _child(path, write_end)
        except BaseException as e:  # an exception escaping load_file is the failure we look for
            os.write(write_end, json.dumps({"exception": f"{type(e).__name__}: {e}"[:2000]}).encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    _, status, usage = os.wait4(pid, 0)
    report = json.loads(b"".join(chunks) or b"{}")
    if os.WIFSIGNALED(status):
        report["killed"] = signal.Signals(os.WTERMSIG(status)).name
    report.update(path=path, wall_s=round(time.perf_counter() - start, 3),
                  cpu_s=round(usage.ru_utime + usage.ru_stime, 3), max_rss_mb=round(usage.ru_maxrss / 1024, 1))
    return report


def main(paths: list[str]) -> None:
    import rulelint.loaders  # noqa: F401  (imported once, before forking)
    from rulelint.loaders import event_query, kql, spl
    kql._get_parser(), spl._get_parser(), event_query._load()  # parsers built once, shared by the children
    for p in paths:
        print(json.dumps(measure(p)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
