"""Uploaded files spooled to disk in chunks (constant memory), with their SHA-256: what the import and
reconciliation endpoints hand to their use cases, which read files by path."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import UploadFile

_CHUNK = 1 << 20


def save_upload(file: UploadFile, path: Path) -> str:
    """Write the upload's body to ``path``; returns its SHA-256 (hex)."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for chunk in iter(lambda: file.file.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()
