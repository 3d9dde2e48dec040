"""The package as users install it: a wheel (not the source tree, not an
editable install) carries the shipped scenarios, so `cfx run baseline`
works from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the sources (the pure-Python build: the
    compiled core is not what this checks)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cfx", src / "cfx", ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.cpp"))
    out = tmp_path_factory.mktemp("wheel")
    env = {**os.environ, "CFX_NO_EXTENSION": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(src),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (whl,) = out.glob("cfx-*.whl")
    wheel_stderr[str(whl)] = done.stderr
    return whl


wheel_stderr: dict[str, str] = {}
"""What building each wheel printed (the build's warnings)."""


def test_the_build_uses_no_setuptools_feature_that_is_going_away(wheel):
    # setuptools warns of metadata it will stop accepting (a `license` table, license
    # classifiers, ...) with a deadline, after which a fresh install would fail to build
    printed = wheel_stderr[str(wheel)]
    assert "Deprecat" not in printed and "BuildBackendWarning" not in printed, printed


def test_the_wheel_carries_the_license(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names


def test_the_wheel_ships_every_scenario(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"cfx/scenarios/{p.name}" for p in (ROOT / "cfx" / "scenarios").glob("*.toml")}
    assert "cfx/scenarios/baseline.toml" in shipped and shipped <= names


def test_an_installed_wheel_finds_the_shipped_scenarios_by_name(wheel, tmp_path):
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    code = (
        "import cfx, cfx.api as a; sc = cfx.load('baseline', **{'calendar.days': 2}); "
        "print(a.resolve('baseline')); print(sc.name, sc.calendar.days)"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    got = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert got.returncode == 0, got.stderr
    path, loaded = got.stdout.splitlines()
    assert Path(path).is_relative_to(target)  # the installed copy, not the source tree
    assert loaded == "baseline 2"
