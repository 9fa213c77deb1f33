"""The notebooks and the README's examples run, so they never rot (docs/architecture.md,
"Notebooks are run by the tests"; "Keep the README's examples runnable; a test runs them").

- Every notebook in notebooks/ runs top to bottom in a fresh python3 kernel, from notebooks/
  as its working directory (as nbmake and Jupyter run it); any cell error fails the test.
- Notebooks are stored without outputs (issue 8: "outputs are stripped in git").
- Every `rackfit ...` command in the README's bash/sh/console code blocks runs on data/small,
  in order, in a fresh folder, and exits 0. A fenced block whose info string names a file
  (```` ```csv scenarios.csv ````) is written to that file first, so the README can show the
  input a command needs.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

from optimizer.cli import main

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
README = REPO / "README.md"
EXPECTED_NOTEBOOKS = {
    "01-quickstart.ipynb",
    "02-grid-limits.ipynb",
    "03-redundancy.ipynb",
    "04-your-site.ipynb",
    "05-brownfield-phases.ipynb",
}
NOTEBOOK_TIMEOUT_S = 120
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
FILE_NAME = re.compile(r"^[\w.-]+\.\w+$")


# -- README parsing ------------------------------------------------------------------------------
def fenced_blocks(markdown: str) -> list[tuple[list[str], str]]:
    """(info string words, body) of every fenced code block, in order."""
    return [(info.split(), body) for info, body in FENCE.findall(markdown)]


def readme_commands(markdown: str) -> list[list[str]]:
    """The arguments of every `rackfit` command in the shell blocks, in order. A console
    prompt (`$ `) is dropped, and a line `A && B` counts each part that starts with rackfit
    (so `pip install -e . && rackfit plan ...` contributes the plan)."""
    commands = []
    for info, body in fenced_blocks(markdown):
        if not info or info[0].lower() not in SHELL_LANGUAGES:
            continue
        for line in body.splitlines():
            line = line.strip().removeprefix("$ ").strip()
            for part in line.split("&&"):
                words = shlex.split(part, comments=True)
                if words and words[0] == "rackfit":
                    commands.append(words[1:])
    return commands


def readme_input_files(markdown: str) -> dict[str, str]:
    """File name -> content of every block whose info string names a file."""
    return {
        info[1]: body
        for info, body in fenced_blocks(markdown)
        if len(info) >= 2 and FILE_NAME.match(info[1])
    }


def test_readme_parsing_finds_commands_and_files() -> None:
    text = (
        "```bash\npip install -e . && rackfit plan data/small --out plan/\n```\n"
        "```console\n$ rackfit validate data/small  # check it\n```\n"
        "```python\nrackfit = 1\n```\n"
        "```csv scenarios.csv\nscenario\na\n```\n"
    )
    assert readme_commands(text) == [
        ["plan", "data/small", "--out", "plan/"],
        ["validate", "data/small"],
    ]
    assert readme_input_files(text) == {"scenarios.csv": "scenario\na\n"}


# -- README ---------------------------------------------------------------------------------------
def test_readme_rackfit_examples_run_on_the_small_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command of the README, in order, in one fresh folder holding data/small (so a
    command can use what an earlier one wrote, e.g. `check data/small plan/`)."""
    markdown = README.read_text(encoding="utf-8")
    commands = readme_commands(markdown)
    assert ["plan", "data/small", "--out", "plan/"] in commands, (
        "the README's first command must plan the small site"
    )
    for args in commands:
        other_sites = [a for a in args if a.startswith("data/") and not a.startswith("data/small")]
        assert not other_sites, f"README example `rackfit {shlex.join(args)}` must use data/small"

    shutil.copytree(REPO / "data" / "small", tmp_path / "data" / "small")
    for name, content in readme_input_files(markdown).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    runner = CliRunner()
    for args in commands:
        result = runner.invoke(main, args, prog_name="rackfit")
        assert result.exit_code == 0, (
            f"README example `rackfit {shlex.join(args)}` exited {result.exit_code}:\n"
            f"{result.output}\n{result.exc_info!r}"
        )
    assert (tmp_path / "plan" / "placements.csv").exists()


def test_readme_batch_example_is_optimal_after_a_plan_in_the_same_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an API user or a notebook does: plan, then run the README's batch. Batch solves
    each scenario on one thread; HiGHS keeps one thread pool per process, and a pool made for
    another thread count once made every scenario fail into a heuristic `time_limit` plan."""
    markdown = README.read_text(encoding="utf-8")
    batch = [args for args in readme_commands(markdown) if args[0] == "batch"]
    assert batch, "the README shows a batch example"
    shutil.copytree(REPO / "data" / "small", tmp_path / "data" / "small")
    for name, content in readme_input_files(markdown).items():
        (tmp_path / name).write_text(content, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["plan", "data/small", "--out", "plan/", "-q"]).exit_code == 0
    result = runner.invoke(main, batch[0])
    assert result.exit_code == 0, result.output
    out = batch[0][batch[0].index("--out") + 1] if "--out" in batch[0] else "batch"
    results = pd.read_csv(tmp_path / out / "results.csv", dtype=str, keep_default_na=False)
    assert set(results["status"]) <= {"optimal", "infeasible"}, results.to_string()
    assert results.set_index("scenario").loc["today", "gpus"] == "440"


# -- notebooks ------------------------------------------------------------------------------------
def test_every_notebook_of_issue_8_is_there() -> None:
    assert {p.name for p in NOTEBOOKS} >= EXPECTED_NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        i
        for i, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    """A failing cell raises nbclient's CellExecutionError, naming the cell and the error."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=NOTEBOOK_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors
