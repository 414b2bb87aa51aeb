"""Every command in docs/ runs from a fresh clone after the README's commands, which make
the checkout's own ``.venv``: no command names an environment outside the checkout."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"```(?:sh|bash|console)?\n(.*?)```", re.DOTALL)
BENCH = re.compile(r"^\.venv/bin/python (bench/\S+\.py)", re.MULTILINE)


def commands(doc: Path) -> list[str]:
    return [block for block in FENCE.findall(doc.read_text())]


@pytest.mark.parametrize("doc", DOCS, ids=lambda doc: doc.name)
def test_commands_use_the_readme_venv(doc: Path) -> None:
    for block in commands(doc):
        for line in block.splitlines():
            assert not re.search(r"(^|\s)/\S*venv\S*/bin/", line), f"{doc.name}: {line}"


def test_bench_scripts_named_in_docs_exist_and_start() -> None:
    scripts = {script for doc in DOCS for block in commands(doc) for script in BENCH.findall(block)}
    assert scripts, "docs/performance.md names its bench commands"
    for script in sorted(scripts):
        help_run = subprocess.run(
            [sys.executable, script, "--help"], cwd=ROOT, capture_output=True, timeout=60
        )
        assert help_run.returncode == 0, (script, help_run.stderr[-500:])
