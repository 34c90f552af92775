"""A session's take-home files: the last run's report and config, and the model predictions use, as a zip."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .records import needed

if TYPE_CHECKING:
    from .session import Session


class Downloads:
    """Files written into the session's folder (removed with it)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _new_folder(self, prefix: str) -> Path:
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.session.folder))

    def report_files(self) -> list[Path]:
        """The last run's report: one HTML page with its figures inside, and its numbers as JSON."""
        from ..outputs import report

        runs = self.session.runs
        run = needed(runs.latest, "downloads")
        folder = self._new_folder("report-")
        inside = self.session.views.inside_or_none() if run is runs.current else None  # zero-shot changed no model
        page = report.report_html(run, folder / "report.html", inside)
        (folder / "run.json").write_text(json.dumps(report.report_json(run, inside), indent=2), encoding="utf-8")
        return [page, folder / "run.json"]

    def model_zip(self) -> Path:
        """The model predictions use, as a zip of a folder `from_pretrained` loads (ValueError: none trained)."""
        from ..outputs import report

        run = needed(self.session.runs.current, "downloads")
        return report.model_zip(run, self._new_folder("model-") / "model.zip")

    def config_file(self) -> Path:
        """The last run's config as JSON, for `python -m ktdemo train --config`."""
        run = needed(self.session.runs.latest, "config")
        path = self._new_folder("config-") / "run.json"
        path.write_text(json.dumps(json.loads(run.config.to_json()), indent=2), encoding="utf-8")
        return path
