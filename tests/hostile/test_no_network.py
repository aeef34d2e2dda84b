"""rulelint never touches the network: a full run with every socket call refused and
recorded, in the main process and in the loading workers alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .support import corpus_root

REPO = Path(__file__).resolve().parents[2]

# Imported by every Python process started with this folder on PYTHONPATH (the CLI and
# each worker it forks or spawns): any attempt to open a socket or resolve a name is
# written down, then refused.
SITECUSTOMIZE = '''
import os, socket

_LOG = os.environ["RULELINT_NET_LOG"]

def _refuse(what):
    def refused(*args, **kwargs):
        with open(_LOG, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {what} {args[:2]!r}\\n")
        raise OSError(f"network disabled by the test: {what}")
    return refused

class _NoSocket(socket.socket):
    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        if family == getattr(socket, "AF_UNIX", None) or fileno is not None:
            super().__init__(family, type, proto, fileno)  # local IPC stays allowed
            return
        _refuse("socket")(family, type)

socket.socket = _NoSocket
socket.create_connection = _refuse("create_connection")
socket.getaddrinfo = _refuse("getaddrinfo")
socket.gethostbyname = _refuse("gethostbyname")
socket.socketpair = socket.socketpair  # unchanged: local only
'''


def run_offline(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net.log"
    log.write_text("", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
           "RULELINT_NET_LOG": str(log), "RULELINT_CACHE_DIR": str(tmp_path / "cache"),
           "http_proxy": "http://192.0.2.1:9", "https_proxy": "http://192.0.2.1:9"}
    script = "import sys\nfrom rulelint.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    return proc, [line for line in log.read_text(encoding="utf-8").splitlines() if line]


def test_the_guard_itself_refuses_a_connection(tmp_path):
    """The control: with the same sitecustomize, opening a socket is recorded and fails."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": str(site), "RULELINT_NET_LOG": str(log)}
    code = "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\nexcept OSError as e:\n    print(e)\n"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "network disabled" in out.stdout
    assert "create_connection" in log.read_text(encoding="utf-8")


def test_full_run_opens_no_socket(tmp_path):
    root = corpus_root()
    if root is None:
        pytest.skip("shared corpus not found (set RULELINT_SHARED_CORPUS)")
    slice_ = [root / "sigma" / "rules" / "windows" / "registry", root / "elastic" / "rules" / "linux",
              root / "splunk" / "detections" / "network"]
    proc, attempts = run_offline(tmp_path, str(REPO / "corpus"), *map(str, slice_),
                                 "--format", "json", "--no-progress", "--jobs", "2")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert {r["vendor"] for r in doc["rules"]} == {"sigma", "elastic", "splunk"}
    assert len(doc["rules"]) > 500  # the workers loaded the slice (more than the parallel threshold)
    assert attempts == []
    # Warm, from the cache just written (another code path: stored index, stored run).
    proc, attempts = run_offline(tmp_path, str(REPO / "corpus"), *map(str, slice_), "--format", "json", "--no-progress")
    assert proc.returncode in (0, 1) and attempts == []


@pytest.mark.parametrize("command", [
    ["indicators", "{corpus}", "--format", "json", "--no-progress"],
    ["report", "technique", "T1059.001", "{corpus}", "--format", "json"],
    ["rules"],
])
def test_subcommands_open_no_socket(tmp_path, command):
    args = [a.replace("{corpus}", str(REPO / "corpus")) for a in command]
    proc, attempts = run_offline(tmp_path, *args)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert proc.stdout
    assert attempts == []
