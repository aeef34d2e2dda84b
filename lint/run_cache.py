"""A run's identity in the cache: which stored index and which stored results it may reuse.

The corpus print names the corpus files' contents (and the reference index joined to
them): an unchanged print means the stored index is the corpus's index. The run key
adds the targets and the settings: an unchanged key means the stored findings are
this run's findings.
"""

from __future__ import annotations

import hashlib
import os

from . import reference
from .cache import Cache
from .loaders import dependency_print
from .settings import Settings


def files_print(cache: Cache, files: list[str], old_ok: frozenset[str] = frozenset()) -> str | None:
    """Fingerprint of the files' contents; None when one is not in the cache yet.

    Files in `old_ok` (absolute paths) count as the version the cache last saw, or
    not at all if it never saw them."""
    h = hashlib.sha1()
    for p in files:
        old = old_ok and os.path.abspath(p) in old_ok
        stamp = cache.known(p) if old else cache.fresh(p)
        if stamp is None:
            if old:
                continue
            return None
        h.update(f"{p}\0{stamp.digest}\0{stamp.deps}\n".encode())  # as spelled: reports show it
    return h.hexdigest()


def corpus_print(settings: Settings, cache: Cache, corpus_files: list[str],
                 target_files: list[str] = ()) -> str | None:  # type: ignore[assignment]
    """The corpus's identity: its files, and the reference index joined to it.

    Targets inside the corpus (the pre-commit case) count as the version the cache
    last saw, or not at all if it never saw them: the stored index of that corpus is
    still the right base, since targets replace their old version anyway."""
    files = files_print(cache, corpus_files, frozenset(os.path.abspath(p) for p in target_files))
    if files is None or not settings.reference:
        return files
    return hashlib.sha1(f"{files}|{reference.fingerprint(settings.reference)}".encode()).hexdigest()


def run_key(settings: Settings, cache: Cache, corpus: str | None, target_files: list[str],
            has_targets: bool) -> str | None:
    """The identity of a run: settings and every file's content (None until all are cached)."""
    targets = files_print(cache, target_files) if corpus else None
    if not (corpus and targets):
        return None
    return hashlib.sha1(f"{settings.key()}|{corpus}|{targets}|{has_targets}".encode()).hexdigest()


def open_cache(settings: Settings) -> Cache | None:
    return Cache(settings.cache_dir, dependency_print=dependency_print) if settings.cache_dir else None
