"""A non-editable install holds one package, nanhai_qa, that finds its bundled article,
profile, wordings and scorer from any folder, and answers a question."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from nanhai_qa.app.settings import Settings
from tests.conftest import ROOT, TEST_CACHE

LEFT_OUT = shutil.ignore_patterns(".venv", ".cache", ".git", "test-output", "build", "*.egg-info", "__pycache__")


@pytest.fixture(scope="module")
def installed(tmp_path_factory, engine) -> Path:
    """A fresh virtual environment with `pip install .` of a copy of the repository. Its
    dependencies come from the test environment's site-packages, added by a .pth line (which,
    unlike a site folder, does not run that folder's own .pth files: the editable install
    stays out). Returns the environment's python."""
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(source)], check=True, cwd=work)
    shutil.rmtree(source)  # nothing may come from the source tree
    return python


def run_in(python: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_only_nanhai_qa_is_installed(installed, tmp_path):
    found = run_in(installed, "import nanhai_qa.app.cli, nanhai_qa.eval.runner; print(nanhai_qa.__file__)", tmp_path)
    assert found.returncode == 0 and str(ROOT) not in found.stdout, found.stderr
    for name in ("app", "index", "ingest", "eval", "prompts"):
        missing = run_in(installed, f"import {name}", tmp_path)
        assert missing.returncode != 0 and "ModuleNotFoundError" in missing.stderr, name


def test_the_installed_package_answers_on_its_bundled_article(installed, tmp_path, settings):
    where = run_in(installed, "from nanhai_qa.app.settings import DEFAULT_CORPUS as c; print(c)", tmp_path)
    corpus = Path(where.stdout.strip())
    assert corpus.is_file() and str(ROOT) not in str(corpus), where.stderr
    # The index of the same text is already in the test cache: lend it under the installed path's key.
    index_dir = Settings(corpus=[corpus], storage={"cache_dir": TEST_CACHE}).index_dir()
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.copytree(settings.index_dir(), index_dir)
    try:
        asked = subprocess.run(
            [installed, "-m", "nanhai_qa", "ask", "高企数量突破了多少家？", "--cache-dir", str(TEST_CACHE)],
            capture_output=True, text=True, cwd=tmp_path, timeout=600,
        )
        assert asked.returncode == 0 and "3600家" in asked.stdout, asked.stdout + asked.stderr
        assert "rebuilding" not in asked.stderr  # the bundled text is the article indexed here
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)
