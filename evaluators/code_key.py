"""The per-user secret that authenticates compiled code on disk (code_store.py).

It lives outside every project, in the user's cache directory: `$XDG_CACHE_HOME/modrun/code.key`,
or `~/.cache/modrun/code.key`. It is made once, 32 bytes from `secrets`, created with O_EXCL and
mode 0600 in a directory of mode 0700. A key that is not a regular file owned by this user with
mode 0600 (or a directory that others can write) is refused: compiled code then stays in memory,
and `load_key` says why.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

KEY_BYTES = 32


class KeyRefused(Exception):
    """The key cannot be trusted or made; the message says why."""


def key_path() -> Path:
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:
        raise KeyRefused("there is no home directory to keep the key in (set XDG_CACHE_HOME)") from None
    return Path(base) / "modrun" / "code.key"


def load_key(path: Path | None = None) -> bytes:
    """The key, made on first use; raises KeyRefused with the reason when it cannot be trusted."""
    path = path or key_path()
    try:
        _check_directory(path.parent)
        try:
            return _read(path)
        except FileNotFoundError:
            pass
        import secrets  # once per user: not an import every run pays (it brings random and base64)

        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another run made it first
            return _read(path)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
        finally:
            os.close(fd)
        return _read(path)
    except OSError as error:
        raise KeyRefused(f"the key {path} cannot be read or made: {error.strerror or error}") from None


def _check_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.stat(directory)
    if info.st_uid != os.geteuid():
        raise KeyRefused(f"the key's directory {directory} belongs to another user (uid {info.st_uid})")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KeyRefused(f"the key's directory {directory} is writable by others "
                         f"(mode {stat.S_IMODE(info.st_mode):o}, want 700)")


def _read(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyRefused(f"the key {path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise KeyRefused(f"the key {path} belongs to another user (uid {info.st_uid})")
        if stat.S_IMODE(info.st_mode) != 0o600:
            raise KeyRefused(f"the key {path} has mode {stat.S_IMODE(info.st_mode):o}, not 600")
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise KeyRefused(f"the key {path} holds {len(key)} bytes, not {KEY_BYTES}")
    return key
