"""Where data lives: the user's data directory, the download cache, and verified downloads.

Resolution order for a dataset's files: ``$RECBENCH_DATA_DIR/<name>/`` then
``$RECBENCH_CACHE_DIR/<name>/`` then, unless ``RECBENCH_OFFLINE=1``, a verified download into the cache.
Downloads are written to a temporary file and renamed only after their checksum matched, and archives
are extracted into a temporary directory that is renamed into place, so nothing half-written is ever
visible in the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recbench.errors import ConfigError, DataError
from recbench.types import DatasetContext

DATA_DIR_ENV = "RECBENCH_DATA_DIR"
CACHE_DIR_ENV = "RECBENCH_CACHE_DIR"
OFFLINE_ENV = "RECBENCH_OFFLINE"


def dataset_context(params: Mapping[str, object] | None = None, data_dir: str | Path | None = None) -> DatasetContext:
    """The context from the environment (and an explicit data dir, which wins)."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV) or None
    cache = Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "recbench")
    offline = os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes"}
    return DatasetContext(
        data_dir=Path(chosen).expanduser().resolve() if chosen else None,
        cache_dir=cache.expanduser(),
        allow_download=not offline,
        params=dict(params or {}),
    )


@dataclass(frozen=True, slots=True)
class ArchiveSource:
    """A published archive and how to verify it.

    Every pin that is set must match, or the download is discarded: the size first (cheap, catches a
    truncated transfer), then ``digest`` and, when ``algorithm`` is not sha256, the extra ``sha256``
    pin (one pass over the file computes both).

    Attributes:
        url: where to download from.
        digest: the archive's expected hex digest under ``algorithm``.
        algorithm: ``sha256`` or ``md5`` (the one the publisher lists).
        member_prefix: folder inside the archive that holds the files (stripped on extraction).
        member_sha256: pinned sha256 of extracted files, verified after extraction.
        sha256: the archive's sha256 recorded by others, pinned beside a publisher's md5.
        size: the archive's size in bytes, when known.
    """

    url: str
    digest: str
    algorithm: str = "sha256"
    member_prefix: str = ""
    member_sha256: Mapping[str, str] = field(default_factory=dict)
    sha256: str | None = None
    size: int | None = None

    def __post_init__(self) -> None:
        if self.algorithm == "sha256" and self.sha256 is not None and self.sha256.lower() != self.digest.lower():
            raise ValueError(f"{self.url}: two different sha256 pins")  # a catalogue bug: fails on import

    @property
    def pinned_digests(self) -> dict[str, str]:
        """algorithm -> expected hex digest, the publisher's own first."""
        pins = {self.algorithm: self.digest.lower()}
        if self.sha256 is not None:
            pins.setdefault("sha256", self.sha256.lower())
        return pins


@dataclass(frozen=True, slots=True)
class FileSource:
    """Files published one by one under a fixed URL prefix, each pinned by sha256.

    Used for research repositories whose files are stable at a commit, e.g.
    ``https://raw.githubusercontent.com/OWNER/REPO/COMMIT/Data/`` (the commit, not a branch, keeps
    the bytes fixed). Each file is downloaded to ``base_url + name`` and kept only if its sha256
    matches.

    Attributes:
        base_url: the prefix every file name is appended to (ends with ``/``).
        sha256: file name -> expected sha256.
    """

    base_url: str
    sha256: Mapping[str, str]

    @property
    def url(self) -> str:
        """For messages: where the files come from."""
        return self.base_url


def github_files(repo: str, commit: str, folder: str, sha256: Mapping[str, str]) -> FileSource:
    """Files of ``repo`` (``owner/name``) at a full 40-hex ``commit``, under ``folder``, pinned by sha256."""
    if len(commit) != 40:
        raise ValueError(f"github_files needs a full commit id, got {commit!r}")
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    return FileSource(f"https://raw.githubusercontent.com/{repo}/{commit}/{prefix}", dict(sha256))


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    return file_digests(path, (algorithm,))[algorithm]


def file_digests(path: Path, algorithms: Sequence[str]) -> dict[str, str]:
    """Hex digests of ``path`` under each of ``algorithms``, in one pass over the file."""
    hashes = {a: hashlib.new(a) for a in algorithms}
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            for h in hashes.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashes.items()}


def locate(
    name: str, files: Sequence[str], ctx: DatasetContext, source: ArchiveSource | FileSource | None,
    origin: str | None = None,
) -> Path:
    """The folder holding all ``files`` of dataset ``name``, downloading it if allowed.

    ``origin`` says where to get the files by hand when there is no download ``source``.

    Raises:
        DataError: saying which files to put where when they are missing and cannot be downloaded.
    """
    candidates = [d / name for d in (ctx.data_dir, ctx.cache_dir) if d is not None]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder
    if isinstance(source, FileSource) and ctx.allow_download:
        return fetch_files(name, source, ctx.cache_dir)
    if source is not None and ctx.allow_download:
        return fetch_archive(name, source, ctx.cache_dir)
    where = ctx.data_dir / name if ctx.data_dir else Path("$" + DATA_DIR_ENV) / name
    partial = [f"{f} (missing)" for f in files if not any((c / f).is_file() for c in candidates)]
    got = f" from {source.url}" if source else f" from {origin}" if origin else ""
    why = f"set {DATA_DIR_ENV} and " if ctx.data_dir is None else ""
    raise DataError(
        f"dataset {name!r}: files not found: {', '.join(partial) or ', '.join(files)}; looked in "
        f"{', '.join(str(c) for c in candidates) or '(no data directory set)'}",
        hint=f"{why}put {', '.join(files)}{got} into {where}/"
        + ("" if ctx.allow_download or source is None else f", or unset {OFFLINE_ENV} to download"),
    )


def _download(url: str, dest_dir: Path) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise DataError(f"download of {url} failed: {exc}", hint=f"check the network or set {OFFLINE_ENV}=1") from exc
    return Path(tmp)


def fetch_archive(name: str, source: ArchiveSource, cache_dir: Path) -> Path:
    """Download, verify and extract ``source`` into ``cache_dir/name``; return that folder."""
    target = cache_dir / name
    pins = source.pinned_digests
    archive = _download(source.url, cache_dir)
    try:
        hint = "retry later; if it persists the published file changed and recbench must be updated"
        size = archive.stat().st_size
        if source.size is not None and size != source.size:
            raise DataError(
                f"dataset {name!r}: {source.url} has {size} bytes, expected {source.size}; the download was discarded",
                hint=hint,
            )
        digests = file_digests(archive, tuple(pins))
        for algorithm, expected in pins.items():
            if digests[algorithm] != expected:
                raise DataError(
                    f"dataset {name!r}: {source.url} has {algorithm} {digests[algorithm]}, expected {expected}; "
                    "the download was discarded",
                    hint=hint,
                )
        extract_zip(archive, target, source.member_prefix, source.member_sha256)
    finally:
        archive.unlink(missing_ok=True)
    return target


def fetch_files(name: str, source: FileSource, cache_dir: Path) -> Path:
    """Download every file of ``source`` into ``cache_dir/name``, verified; return that folder.

    All files are downloaded into a staging directory first; a file whose sha256 differs is
    discarded with the rest, and only when every file matched are they moved into place (each by an
    atomic rename), so the cache never holds a partial or unverified file.
    """
    target = cache_dir / name
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    try:
        for rel, expected in source.sha256.items():
            url = source.base_url + rel
            tmp = _download(url, staging)
            got = file_digest(tmp)
            if got != expected:
                raise DataError(
                    f"dataset {name!r}: {url} has sha256 {got}, expected {expected}; the download was discarded",
                    hint="retry later; if it persists the published file changed or moved: place the files by hand",
                )
            dest = staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, dest)
        if not target.exists():
            os.replace(staging, target)
        else:  # some files were already there: add the verified ones beside them
            for rel in source.sha256:
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / rel, target / rel)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def extract_zip(archive: Path, target: Path, member_prefix: str = "", member_sha256: Mapping[str, str] = {}) -> None:
    """Extract safely: refuse members escaping the target, verify pinned files, publish atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        try:
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    rel = info.filename
                    if member_prefix and not rel.startswith(member_prefix):
                        continue
                    rel = rel[len(member_prefix):]
                    if not rel or info.is_dir():
                        continue
                    dest = (staging / rel).resolve()
                    if not dest.is_relative_to(staging.resolve()):
                        raise DataError(f"{archive}: member {info.filename!r} escapes the target directory; refused")
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
        except (zipfile.BadZipFile, EOFError) as exc:
            raise DataError(f"{archive}: not a complete zip archive ({exc})", hint="delete it and download again") from exc
        for rel, expected in member_sha256.items():
            path = staging / rel
            if not path.is_file():
                raise DataError(f"{archive}: expected member {member_prefix}{rel} is missing")
            got = file_digest(path)
            if got != expected:
                raise DataError(f"{archive}: {rel} has sha256 {got}, expected {expected}; discarded")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


#: The parameter of every loader that checks its files: ``verify = false`` accepts a modified copy.
VERIFY = "verify"


def check_dataset_params(dataset: str, params: Mapping[str, object], accepted: Collection[str],
                         booleans: Collection[str] = (VERIFY,)) -> None:
    """Refuse parameters the loader of ``dataset`` does not read, and booleans that are not true/false.

    Raises:
        ConfigError: naming the dataset, the unknown parameters and the accepted ones; or a parameter
            of ``booleans`` that is not a bool (``verify = "false"`` is a string, and would be true).
    """
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ConfigError(f"dataset {dataset!r}: unknown parameters {unknown}; it accepts "
                          f"{sorted(accepted) if accepted else 'none'}", hint="fix or remove them in the dataset's params")
    for name in sorted(set(booleans) & set(params)):
        boolean_param(dataset, params, name)


def require_bool(where: str, name: str, value: object) -> bool:
    """``value`` if it is a real bool (numpy's too), not a string or number; else ConfigError
    ``"{where} {name}=value must be true or false"``."""
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(f"{where} {name}={value!r} must be true or false",
                          hint=f"write {name} = false (a boolean, without quotes)")
    return bool(value)


def boolean_param(dataset: str, params: Mapping[str, object], name: str, default: bool = True) -> bool:
    """``params[name]`` (``default`` when absent) as :func:`require_bool` checks it, naming the dataset."""
    return require_bool(f"dataset {dataset!r}: parameter", name, params.get(name, default))


def verify_pinned(folder: Path, pins: Mapping[str, str], ctx: DatasetContext, fix: str) -> None:
    """Refuse files whose sha256 differs from the pinned one, unless the dataset param ``verify`` is false."""
    if not boolean_param(folder.name, ctx.params, VERIFY):
        return
    for name, expected in pins.items():
        got = file_digest(folder / name)
        if got != expected:
            raise DataError(
                f"{folder / name}: sha256 {got} differs from the pinned {expected}",
                hint=f"{fix}, or set verify=false in the dataset parameters to use a modified copy",
            )
