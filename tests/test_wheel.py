"""rackfit installed from its wheel works anywhere: the hardware library travels inside it.

The wheel is built from this checkout, installed in a new virtual environment and run from an
empty temporary folder, where no `models/` folder of a checkout can be found by accident.

The new environment does not download and unpack rackfit's dependencies again (numpy, pandas,
HiGHS...: that took most of the suite's time); it sees this environment's, linked one by one
into a folder of their own, without rackfit's own editable install (its finder, its metadata)
or any `.pth` file. So `optimizer` can only come from the wheel, which the test asserts, and
`pip check` there asserts that the wheel's declared dependencies are what it runs with. A
real install from nothing is what `.ci/run` does on every clean clone."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OWN_TOOLS = ("__editable__", "pip", "setuptools", "pkg_resources", "_distutils_hack")
LIBRARY = sorted(p.name for p in (REPO / "models").glob("*.yaml"))


def test_every_package_is_listed_for_the_build():
    """pyproject.toml lists the packages (the library needs a package-dir mapping, which
    discovery does not combine with): a new subpackage must be added there too."""
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "optimizer").rglob("__init__.py")
    }
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
    assert "optimizer.hardware" in listed


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _dependencies_linked(into: Path) -> Path:
    """This environment's installed packages, each linked into `into`, except rackfit itself
    (its editable finder and metadata), the `.pth` files (which would install the finder) and
    pip's own tools (the new environment has its own)."""
    into.mkdir()
    for packages in map(Path, site.getsitepackages()):
        for entry in packages.iterdir():
            name = entry.name.lower()
            if name.endswith(".pth") or "rackfit" in name or name.startswith(OWN_TOOLS):
                continue
            if not (into / entry.name).exists():
                (into / entry.name).symlink_to(entry)
    return into


@pytest.mark.slow
def test_wheel_installs_and_runs_anywhere(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RACKFIT_MODELS")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        tmp_path,
        env,
    )
    (wheel,) = dist.glob("rackfit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = sorted(
            Path(n).name for n in archive.namelist() if n.startswith("optimizer/hardware/")
        )
    assert [n for n in shipped if n.endswith(".yaml")] == LIBRARY

    home = tmp_path / "venv"
    venv.create(home, with_pip=True, system_site_packages=False)
    python = home / "bin" / "python"
    own = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                    tmp_path, env).strip())  # fmt: skip
    (own / "dependencies.pth").write_text(f"{_dependencies_linked(tmp_path / 'deps')}\n")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
         tmp_path, env)  # fmt: skip
    _run([str(python), "-m", "pip", "check"], tmp_path, env)  # its dependencies are all there
    rackfit = str(home / "bin" / "rackfit")
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([str(python), "-c", "import optimizer; print(optimizer.__file__)"], work, env)
    assert Path(where.strip()).is_relative_to(own), f"optimizer came from {where}"

    listed = json.loads(_run([rackfit, "models", "--format", "json"], work, env))
    assert len(listed) == len(LIBRARY) == 12
    assert "nvidia-gb200-nvl72" in _run([rackfit, "models"], work, env)
    _run([rackfit, "init", "site"], work, env)
    _run([rackfit, "validate", "site"], work, env)
    _run([rackfit, "plan", "site", "--out", "plan", "-q"], work, env)
    summary = json.loads((work / "plan" / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["racks"] > 0
    _run([rackfit, "check", "site", "plan"], work, env)
    # $RACKFIT_MODELS still names another library
    other = tmp_path / "other-models"
    other.mkdir()
    listed = json.loads(
        _run([rackfit, "models", "--format", "json"], work, env | {"RACKFIT_MODELS": str(other)})
    )
    assert listed == []
