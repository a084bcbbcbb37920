"""Where evidence files live (issue 17): photos and certificates attached to delivery reports.

`Storage` is the one small interface the services use; `DiskStorage` (a folder, by default the instance
folder's `evidence/`) is the embedded default. A file's key is the sha256 of its bytes, so storing the same
bytes twice is one file, and a write that is retried (or whose database transaction failed) leaves nothing
half-written: the bytes go to a temporary name first and are renamed into place.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[0-9a-f]{64}$")


class Storage(Protocol):
    def put(self, data: bytes) -> str:
        """Keep `data`; return its key."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes kept under `key` (FileNotFoundError if none)."""
        ...


class DiskStorage:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise FileNotFoundError(key)
        return self.root / key[:2] / key

    def put(self, data: bytes) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()
