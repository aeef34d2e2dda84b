"""Reading a git repository: its root, a commit, the files changed since it, a commit's
files copied out. Git is only read: base files are copied out through a temporary index
file, so the user's working tree, index and refs are never touched."""

from __future__ import annotations

import os
import subprocess

STATUSES = {"A": "added", "C": "added", "M": "modified", "T": "modified", "U": "modified",
            "D": "deleted", "R": "renamed"}


class GitError(Exception):
    """Git could not answer: not a repository, an unknown ref, git missing."""


def _git(cwd: str, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, env=env, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if done.returncode != 0:
        msg = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {msg[-1] if msg else 'exit ' + str(done.returncode)}")
    return done.stdout


def repo_root(path: str) -> str:
    folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path)) or "."
    try:
        return os.path.realpath(_git(folder, "rev-parse", "--show-toplevel").decode().strip())
    except GitError:
        raise GitError(f"{path} is not inside a git repository") from None


def resolve(root: str, ref: str) -> str:
    try:
        return _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError:
        raise GitError(f"unknown base {ref!r}: no such commit, branch or tag") from None


def pathspecs(root: str, paths: list[str]) -> list[str]:
    """PATHs (relative to the current folder) as paths relative to the repository root."""
    out = []
    for p in paths:
        rel = os.path.relpath(os.path.realpath(p), root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            raise GitError(f"{p} is outside the repository at {root}")
        out.append(rel.replace(os.sep, "/"))
    return out


def _split_z(data: bytes) -> list[str]:
    return [s for s in data.decode("utf-8", "surrogateescape").split("\0") if s]


def changed_files(root: str, commit: str, specs: list[str]) -> list[tuple[str, str, str]]:
    """Files changed between the base commit and the working tree (staged, unstaged and
    untracked alike), under the pathspecs, renames paired: (status, path, old path) sorted
    by path; status is added, modified, deleted or renamed, old path only for a rename."""
    fields = _split_z(_git(root, "diff", "--name-status", "-z", "-M", "--no-color", "--no-ext-diff",
                           commit, "--", *specs))
    out: list[tuple[str, str, str]] = []
    i = 0
    while i < len(fields):
        letter = fields[i][0]
        if letter in "RC":
            old, new = fields[i + 1], fields[i + 2]
            out.append(("renamed", new, old) if letter == "R" else ("added", new, ""))
            i += 3
        else:
            out.append((STATUSES.get(letter, "modified"), fields[i + 1], ""))
            i += 2
    for path in _split_z(_git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", *specs)):
        out.append(("added", path, ""))
    return sorted(out, key=lambda c: c[1])


def tree_files(root: str, commit: str) -> list[str]:
    """Every file of the commit's tree, relative to the repository root."""
    return _split_z(_git(root, "ls-tree", "-r", "-z", "--name-only", "--full-tree", commit))


def materialize(root: str, commit: str, names: list[str], dest: str) -> None:
    """Copy these files of the commit into `dest` (same relative paths), through a
    temporary index file: checkout filters and line endings apply as in a checkout, and
    the repository's own index is never written."""
    if not names:
        return
    env = {**os.environ, "GIT_INDEX_FILE": os.path.join(dest, ".rulelint-base-index")}
    os.makedirs(dest, exist_ok=True)
    _git(root, "read-tree", commit, env=env)
    _git(root, "checkout-index", "--force", "-z", "--stdin", f"--prefix={os.path.join(dest, 'tree')}{os.sep}",
         env=env, stdin="".join(f"{n}\0" for n in names).encode("utf-8", "surrogateescape"))


__all__ = ["GitError", "STATUSES", "repo_root", "resolve", "pathspecs", "changed_files", "tree_files", "materialize"]
