"""The persistent cache: loaded rules per file, and whole-run results, keyed by content.

A file's entry is valid while its size and mtime are unchanged; when only the
mtime moved, the content hash confirms it. Splunk detections also depend on the
`macros/` folder beside them, so their entries carry that folder's fingerprint.
Everything is keyed by the rulelint version and a hash of its own code, so a new
version or an edited checkout never reads stale results.

Writes go to a temporary file renamed over the old one: two runs at once each
write a complete cache and the last rename wins; a reader never sees half a file.
A cache that cannot be read is discarded with a warning and rebuilt.
"""

from __future__ import annotations

import hashlib
import hmac
from importlib import metadata
import os
import pickle
import stat
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from . import __version__

CACHE_FORMAT = 1
DEFAULT_DIR = ".rulelint_cache"


@dataclass(slots=True)
class Stamp:
    """What identifies one file's content: cheap checks first, the hash to confirm."""

    size: int
    mtime_ns: int
    digest: str
    deps: str = ""  # fingerprint of what the result also depends on (a Splunk macros folder)
    mentions: bool = True  # the text names rulelint (may hold suppression comments)


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """The version plus a hash of rulelint's own code and data files."""
    h = hashlib.sha1(f"{__version__}/{CACHE_FORMAT}".encode())
    for dist in ("pysigma", "eql", "lark", "luqum", "PyYAML"):  # parsers decide what a file yields
        try:
            h.update(f"{dist}={metadata.version(dist)}".encode())
        except metadata.PackageNotFoundError:
            pass
    root = Path(__file__).resolve().parent
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".json", ".lark") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def digest_of(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def no_dependencies(path: str) -> str:
    """A cache told nothing of dependencies: every stamp that names one reads as stale
    (the result is parsed again, never reused wrongly)."""
    return ""


# -- authentication ---------------------------------------------------------------
# Cache files are pickles, and unpickling runs code. The cache folder may sit inside a
# rules repository (./.rulelint_cache, or a `cache-dir` its configuration names), where
# anyone who can commit could plant a file. So every file carries an HMAC under a key
# that lives outside any repository, in the user's own cache folder; a file that does
# not verify is never unpickled, only rebuilt.

SEAL_MAGIC = b"rulelint-sealed-1\n"
KEY_BYTES = 32


def key_path() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "rulelint", "cache-key")


@lru_cache(maxsize=1)
def _secret() -> bytes:
    """This user's key, made on first use (mode 0600). If it cannot be stored, a key for
    this process alone: caches then never verify across runs, which is safe, only slower."""
    path = key_path()
    try:
        with open(path, "rb") as fh:
            key = fh.read(KEY_BYTES + 1)
        if len(key) == KEY_BYTES:
            return key
    except OSError:
        pass
    key = os.urandom(KEY_BYTES)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".key-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        try:
            os.link(tmp, path)  # atomic and never overwrites: racing runs agree on one key
        except FileExistsError:
            with open(path, "rb") as fh:
                stored = fh.read(KEY_BYTES + 1)
            key = stored if len(stored) == KEY_BYTES else key
        finally:
            os.unlink(tmp)
    except OSError:
        pass
    return key


def seal(data: bytes) -> bytes:
    return SEAL_MAGIC + hmac.new(_secret(), data, "sha256").digest() + data


def unseal(blob: bytes) -> bytes:
    """The payload of a sealed file; ValueError if it was not sealed with this user's key."""
    head = len(SEAL_MAGIC) + 32
    if not blob.startswith(SEAL_MAGIC) or len(blob) < head:
        raise ValueError("not a sealed rulelint cache file")
    data = blob[head:]
    if not hmac.compare_digest(blob[len(SEAL_MAGIC):head], hmac.new(_secret(), data, "sha256").digest()):
        raise ValueError("cache file not written by this user's rulelint (bad signature)")
    return data


class Cache:
    """One cache folder: loaded files and whole-run results for one settings key."""

    def __init__(self, folder: str, settings_key: str = "",
                 dependency_print: Callable[[str], str] = no_dependencies) -> None:
        # What a file's load result also depends on, as its Stamp keeps it (the loaders
        # know: a Splunk detection's macros folder); the cache itself imports no loader.
        self.dependency_print = dependency_print
        self.folder = folder
        self.key = key = hashlib.sha1(f"{code_fingerprint()}/{settings_key}".encode()).hexdigest()[:16]
        self.files_path = os.path.join(folder, f"files-{key}.pkl")
        self.runs_path = os.path.join(folder, f"runs-{key}.pkl")
        self.warnings: list[str] = []
        self.overlay_path = self.files_path.replace(".pkl", "-recent.pkl")
        self._files: dict[str, tuple[Stamp, bytes]] | None = None
        self._recent: dict[str, tuple[Stamp, bytes]] = {}  # entries newer than the main file
        self._fresh: dict[str, Stamp | None] = {}
        self._main_ok = False
        self._dirty = False

    # -- loaded files -------------------------------------------------------------

    @property
    def files(self) -> dict[str, tuple[Stamp, bytes]]:
        if self._files is None:
            main = self._read(self.files_path)
            self._main_ok = main is not None  # a missing or damaged main file is rewritten whole
            self._files = main or {}
            self._recent = self._read(self.overlay_path) or {}
            self._files.update(self._recent)
        return self._files

    def known(self, path: str) -> Stamp | None:
        """The stamp the cache holds for `path`, fresh or not (what the stored index was built from)."""
        entry = self.files.get(os.path.abspath(path))
        return entry[0] if entry else None

    def fresh(self, path: str) -> Stamp | None:
        """The stamp of the cached entry of `path` if it is still valid, without loading it."""
        if path not in self._fresh:
            entry = self._valid(path)
            self._fresh[path] = entry[0] if entry else None
        return self._fresh[path]

    def lookup(self, path: str) -> tuple[Any, Stamp] | None:
        """The cached load result of `path` (and its stamp), or None when stale or absent."""
        entry = self._valid(path)
        if entry is None:
            return None
        try:
            return pickle.loads(entry[1]), entry[0]
        except Exception:
            return None

    def stored(self, path: str) -> Any:
        """The load result stored for `path`, whether or not the file changed since: what
        a stored index built from that version holds. KeyError when there is none."""
        return pickle.loads(self.files[os.path.abspath(path)][1])

    def _valid(self, path: str) -> tuple[Stamp, bytes] | None:
        entry = self.files.get(os.path.abspath(path))
        if entry is None:
            return None
        stamp, blob = entry
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):  # now a FIFO or device: reading it could block
            return None
        if st.st_size != stamp.size or self.dependency_print(path) != stamp.deps:
            return None
        if st.st_mtime_ns != stamp.mtime_ns:
            try:
                with open(path, "rb") as fh:
                    if digest_of(fh.read()) != stamp.digest:
                        return None
            except OSError:
                return None
            stamp.mtime_ns = st.st_mtime_ns  # touched, not changed
            self._recent[os.path.abspath(path)] = entry
            self._dirty = True
        return entry

    def store(self, path: str, stamp: Stamp, result: Any, blob: bytes | None = None) -> None:
        """Remember a loaded file; `blob` is the result already pickled, if at hand."""
        entry = (stamp, blob if blob is not None else pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        self.files[os.path.abspath(path)] = entry
        self._recent[os.path.abspath(path)] = entry
        self._fresh[path] = stamp
        self._dirty = True

    # -- whole runs ---------------------------------------------------------------

    def _run_path(self, key: str) -> str:
        return os.path.join(self.folder, "runs", f"{self.key}-{key[:32]}.pkl")

    def run_result(self, key: str) -> Any | None:
        data = self._read(self._run_path(key))
        return data.get("result") if data and data.get("key") == key else None

    def store_run(self, key: str, value: Any, keep: int = 16) -> None:
        """Remember a run's results, one small file per run; the most recent few are kept."""
        self._write(self._run_path(key), {"key": key, "result": value})
        folder = os.path.dirname(self._run_path(key))
        try:
            runs = sorted((e.stat().st_mtime_ns, e.path) for e in os.scandir(folder) if e.name.endswith(".pkl"))
            for _, old in runs[:-keep]:
                os.unlink(old)
        except OSError:
            pass

    # -- the corpus index ---------------------------------------------------------

    @property
    def snapshot_path(self) -> str:
        return self.runs_path.replace("runs-", "index-").replace(".pkl", ".bin")

    def snapshot(self, corpus_print: str) -> bytes | None:
        """The stored index of the corpus with this fingerprint, if it is the one stored."""
        try:
            with open(self.snapshot_path, "rb") as fh:
                head, _, data = unseal(fh.read()).partition(b"\n")
            return data if head.strip().decode("ascii", "replace") == corpus_print else None
        except OSError:
            return None
        except ValueError as e:
            self.warnings.append(f"cache file {self.snapshot_path} was damaged ({e}) and is rebuilt")
            return None

    def store_snapshot(self, corpus_print: str, data: bytes) -> None:
        self._write_bytes(self.snapshot_path, corpus_print.encode("ascii") + b"\n" + data)

    # -- disk ---------------------------------------------------------------------

    def save(self, overlay_limit: int = 64) -> None:
        """Write what changed. A few new entries (the pre-commit case) go to a small
        side file instead of rewriting the whole cache; past `overlay_limit` they are
        merged into the main file."""
        if not self._dirty or self._files is None:
            return
        if 0 < len(self._recent) <= overlay_limit and self._main_ok:
            self._write(self.overlay_path, self._recent)
        else:
            # Forget files that are gone; entries of other corpora sharing the cache stay.
            self._files = {p: e for p, e in self._files.items() if os.path.exists(p)}
            self._write(self.files_path, self._files)
            self._main_ok = True
            self._recent = {}
            try:
                os.unlink(self.overlay_path)
            except OSError:
                pass
        self._dirty = False

    def _read(self, path: str, quiet: bool = False) -> Any:
        try:
            with open(path, "rb") as fh:
                data = pickle.loads(unseal(fh.read()))
            if not isinstance(data, dict):
                raise ValueError("not a cache")
            return data
        except FileNotFoundError:
            return None
        except Exception as e:
            if not quiet:
                self.warnings.append(f"cache file {path} was damaged ({type(e).__name__}) and is rebuilt")
            return None

    def _write(self, path: str, data: Any) -> None:
        self._write_bytes(path, pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))

    def _write_bytes(self, path: str, data: bytes) -> None:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            ignore = os.path.join(self.folder, ".gitignore")
            if not os.path.exists(ignore):
                with open(ignore, "w", encoding="utf-8") as fh:
                    fh.write("# written by rulelint\n*\n")
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(seal(data))
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError as e:
            self.warnings.append(f"cannot write the cache in {self.folder}: {e.strerror or e}")
