"""Editor tests run against the same isolated daemon environment as the integration tests.

Each editor's test takes a screenshot of its chat view; ``CHATD_UPDATE_SCREENSHOTS=1`` copies
them into ``docs/screenshots`` (a normal run must not change the checkout: the pictures hold
fresh session ids every time).
"""

import os
import shutil
from pathlib import Path

from tests.integration.conftest import daemon_env  # noqa: F401 - a fixture, found by name

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE_SCREENSHOTS = os.environ.get("CHATD_UPDATE_SCREENSHOTS") == "1"
"""Read at collection: every test runs with the ``CHATD_*`` variables removed."""


def publish(png: Path) -> None:
    """Keep the test's screenshot as the docs' own, when asked to."""
    assert png.read_bytes().startswith(b"\x89PNG"), png
    if UPDATE_SCREENSHOTS:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, DOCS_SCREENSHOTS / png.name)
