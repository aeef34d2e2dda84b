"""The `macros/` or `lookups/` folder a Splunk detection is judged with: beside it, or
beside one of its ancestors (security_content keeps them next to `detections/`)."""

from __future__ import annotations

import os


def folder_above(folder: str, name: str, memo: dict[str, str | None]) -> str | None:
    """The first `name` folder in `folder` or one of its ancestors, None if none. `memo`
    remembers each folder's answer on the way up: sibling folders share their ancestors'."""
    walked: list[str] = []
    found: str | None = None
    while True:
        known = memo.get(folder, False)
        if known is not False:
            found = known  # type: ignore[assignment]
            break
        walked.append(folder)
        here = os.path.join(folder, name)
        if os.path.isdir(here):
            found = here
            break
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    for f in walked:
        memo[f] = found
    return found
