"""Issue 17's numbered findings, one test each (each failed before its fix): the command line
answers bad input and a hostile environment with exit 2 and one clear `error:` line, never an
internal error, a crash or a half-written output; validation stays linear in time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from clirun import EXIT_INPUT, error_lines, listing, rackfit

from optimizer.errors import SiteError
from optimizer.export import atomic, files, workbook

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "data" / "small"
sys.path.insert(0, str(REPO / "benchmarks"))


def only_error(result, fragment: str) -> str:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    (line,) = error_lines(result)
    assert fragment in line, line
    return line


# -- finding 5: linear cycle check --------------------------------------------------------------
def test_a_ten_thousand_level_power_chain_validates_in_seconds(tmp_path):
    """10,000 levels took over 120 s (a list membership test in the cycle check: cubic)."""
    from validate_scale import write_chain_site

    write_chain_site(tmp_path / "chain", 10_000)
    began = time.perf_counter()
    rackfit("validate", tmp_path / "chain")
    assert time.perf_counter() - began < 20


def test_a_cycle_at_the_top_of_a_long_chain_is_found_once(tmp_path):
    from validate_scale import write_chain_site

    site = tmp_path / "chain"
    write_chain_site(site, 3000)
    power = (site / "power.csv").read_text().replace("D0,,1e6,1", "D0,D2999,1e6,1")
    (site / "power.csv").write_text(power)
    with pytest.raises(SiteError) as info:
        from optimizer.loaders import load_site

        load_site(site)
    (issue,) = [i for i in info.value.issues if "cycle" in i.message]
    assert issue.row == 2 and issue.message.startswith("the power chain has a cycle: D0 -> D2999")


# -- finding 7: input or environment at fault -> exit 2 -------------------------------------------
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["plan", SMALL, "--grid-mw", "1e6"], "--grid-mw"),
        (["plan", SMALL, "--time-limit", "nan"], "not a finite number"),
        (["plan", SMALL, "--mip-gap", "nan"], "not a finite number"),
        (["plan", SMALL, "--grid-mw", "inf"], "--grid-mw"),
        (["sweep", SMALL, "--grid-mw", "1:1e9:1"], "at most 1,000"),
        (["sweep", SMALL, "--grid-mw", "1:40:1", "--onsite-mw", "0:40:1"], "points together"),
        (["sweep", SMALL, "--grid-mw", "1:2:1", "--onsite-mw", "1e6"], "onsite_firm_kw"),
    ],
    ids=["grid-1e6", "time-nan", "gap-nan", "grid-inf", "sweep-1e9", "sweep-product", "sweep-big"],
)
def test_out_of_range_options_are_usage_errors(tmp_path, args, fragment):
    began = time.perf_counter()
    result = rackfit(*args, "--out", tmp_path / "out", code=EXIT_INPUT)
    only_error(result, fragment)
    assert time.perf_counter() - began < 30
    assert listing(tmp_path) == []


def test_check_with_an_absurd_position_is_a_located_input_error(tmp_path):
    placements = tmp_path / "placements.csv"
    placements.write_text("hall,row,position,cluster,model\nL,L1,1e308,train,nvidia-gb200-nvl72\n")
    result = rackfit("check", SMALL, placements, code=EXIT_INPUT)
    only_error(result, "row 2, column position: '1e308' is not a position")


def test_out_in_a_folder_that_cannot_be_written_is_exit_2(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro" / ".plan.tmp-x"))

    monkeypatch.setattr(atomic, "_make_temp_dir", refuse)
    result = rackfit("plan", SMALL, "--out", tmp_path / "ro" / "plan", "-q", code=EXIT_INPUT)
    only_error(result, "Permission denied")


def test_a_very_long_out_name_is_written(tmp_path):
    """A 245-character name is allowed by the file system; the temporary name beside it must
    not be longer than 255 (it was: exit 1)."""
    out = tmp_path / ("p" * 245)
    rackfit("plan", SMALL, "--out", out, "-q")
    assert (out / "summary.json").exists()
    assert listing(tmp_path) == [out.name]


@pytest.mark.parametrize("command", ["init", "convert"])
def test_init_and_convert_into_the_current_empty_folder(tmp_path, monkeypatch, command):
    """`init .` and `convert SITE .` in an empty folder, which the docs allow, failed."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    args = ["init", "."] if command == "init" else ["convert", REPO / "data" / "small.xlsx", "."]
    rackfit(*args)
    assert (here / "site.yaml").exists() and (here / "rows.csv").exists()
    assert not [p for p in here.iterdir() if p.name.startswith(".")]
    rackfit("validate", here)


def test_a_scenarios_folder_is_an_input_error(tmp_path):
    result = rackfit("batch", SMALL, tmp_path, "--out", tmp_path / "out", code=EXIT_INPUT)
    only_error(result, "cannot read file")


def test_scenario_names_that_repeat_after_trimming_are_refused(tmp_path):
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text("scenario,grid_mw\nbase,1\n base ,2\n")
    result = rackfit("batch", SMALL, scenarios, "--out", tmp_path / "out", code=EXIT_INPUT)
    only_error(result, "row 3, column scenario: duplicate scenario 'base'")


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path):
    pytest.importorskip("distributed")
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text("scenario,grid_mw\nbase,1\n")
    for address in ("not a scheduler address", "tcp://127.0.0.1:9"):
        result = rackfit(
            "batch", SMALL, scenarios, "--out", tmp_path / "out", "--scheduler", address,
            code=EXIT_INPUT,
        )  # fmt: skip
        only_error(result, "--scheduler")


def test_a_time_limit_without_any_bound_is_worded_so(monkeypatch):
    from optimizer.cli import _stopped_text

    assert "None" not in _stopped_text(None, None)
    assert "before it proved any bound" in _stopped_text(0.0, None)
    assert "within 1.000% of the optimum (bound 1,234.50)" in _stopped_text(0.01, 1234.5)


# -- finding 8: signals ------------------------------------------------------------------------
def test_sigterm_while_writing_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []
    write_csv = files._write_csv

    def slow(table, path):
        calls.append(path)
        if len(calls) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        write_csv(table, path)

    monkeypatch.setattr(files, "_write_csv", slow)
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan", "-q", code=143)
    only_error(result, "terminated; nothing was written")
    assert listing(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # given back


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_during_a_solve_stops_cleanly(tmp_path, signame):
    """Ctrl-C during a solve printed its message, then `terminate called without an active
    exception` and died by SIGABRT: the HiGHS thread was still running at exit."""
    from generate import main as generate

    site = tmp_path / "site"
    generate(["--scale", "1", "--out", str(site)])
    out = tmp_path / "plan"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from optimizer.cli import main; main()", "plan", str(site),
         "--out", str(out), "--strategy", "plain", "--time-limit", "120", "--mip-gap", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    seen = ""
    while "solving" not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stderr.readline()
    assert proc.poll() is None, seen
    proc.send_signal(getattr(signal, signame))
    _, rest = proc.communicate(timeout=120)
    stderr = seen + rest
    assert "terminate called" not in stderr and proc.returncode > 0, (proc.returncode, stderr)
    assert proc.returncode == (143 if signame == "SIGTERM" else 130)
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


# -- fast start and a readable library ----------------------------------------------------------
HEAVY = ("pandas", "numpy", "matplotlib", "pyomo", "highspy", "scipy", "openpyxl")


def modules_after(*args: str) -> set[str]:
    """The modules a fresh `rackfit ARGS` has imported when it ends."""
    code = (
        "import sys\nfrom optimizer.cli import main\ntry:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\nprint('\\n'.join(sys.modules), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return set(done.stderr.split())


def test_help_imports_nothing_heavy():
    loaded = modules_after("--help")
    assert not [m for m in (*HEAVY, "pydantic") if m in loaded]


def test_validate_imports_no_solver_nor_table_library():
    loaded = modules_after("validate", str(SMALL))
    assert "optimizer.loaders" in loaded
    assert not [m for m in HEAVY if m in loaded]


def test_models_prints_a_formatted_table():
    result = rackfit("models")
    assert "Hardware library: 12 rack models" in result.stdout
    assert "│ nvidia-gb200-nvl72 " in result.stdout and "3,050,000" in result.stdout


def test_models_of_an_empty_library_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("RACKFIT_MODELS", str(tmp_path))
    result = rackfit("models")
    assert result.stdout.strip() == f"no rack models in the hardware library ({tmp_path})"
    assert json.loads(rackfit("models", "--format", "json").stdout) == []


def test_a_missing_library_folder_is_an_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("RACKFIT_MODELS", str(tmp_path / "nowhere"))
    only_error(rackfit("models", code=EXIT_INPUT), "no hardware library here")


def test_a_plan_too_large_for_an_excel_sheet(tmp_path, monkeypatch):
    """A plan longer than a sheet: the workbook is refused (exit 2, nothing written); a plan
    folder is written without plan.xlsx, with a warning."""
    monkeypatch.setattr(workbook, "SHEET_ROWS", 5)  # data/small's plan has 11 racks
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan.xlsx", "-q", code=EXIT_INPUT)
    only_error(result, "more than an Excel sheet holds")
    assert listing(tmp_path) == []
    result = rackfit("plan", SMALL, "--out", tmp_path / "plan", "-q")
    assert "no plan.xlsx" in result.stderr
    assert (tmp_path / "plan" / "placements.csv").exists()
    assert not (tmp_path / "plan" / "plan.xlsx").exists()


def test_a_scenario_name_with_a_line_break_is_refused_and_a_formula_written_as_text(tmp_path):
    scenarios = tmp_path / "scenarios.csv"
    scenarios.write_text('scenario,grid_mw\n"a\nerror: forged",1\n')
    result = rackfit("batch", SMALL, scenarios, "--out", tmp_path / "out", code=EXIT_INPUT)
    only_error(result, "row 2, column scenario: holds a control character (U+000A)")
    scenarios.write_text("scenario,grid_mw\n'=1+2,1\n")
    rackfit("batch", SMALL, scenarios, "--out", tmp_path / "out", "--jobs", "1")
    assert "\n'=1+2," in (tmp_path / "out" / "results.csv").read_text()
    import zipfile

    with zipfile.ZipFile(tmp_path / "out" / "results.xlsx") as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/sheet")]
        assert not any(b"<f>" in book.read(n) for n in sheets)


@pytest.mark.parametrize("name", ["plan", "plan.xlsx"])
def test_out_as_a_dangling_symlink_is_a_usage_error(tmp_path, name):
    out = tmp_path / name
    out.symlink_to(tmp_path / "nowhere" / name)
    result = rackfit("plan", SMALL, "--out", out, "-q", code=EXIT_INPUT)
    only_error(result, "is a symbolic link to nothing")
    assert listing(tmp_path) == [name]


def test_quiet_plan_prints_nothing_for_names_the_font_lacks(tmp_path):
    """matplotlib's per-glyph warnings reached stderr under -q (a hall named in CJK)."""
    import shutil

    site = tmp_path / "site"
    shutil.copytree(SMALL, site)
    for name in ("rows.csv", "cooling.csv"):
        lines = (site / name).read_text().splitlines()
        lines = [lines[0]] + [
            ("大厅" + line[1:]) if line.startswith("A,") else line for line in lines[1:]
        ]
        (site / name).write_text("\n".join(lines) + "\n")
    result = rackfit("plan", site, "--out", tmp_path / "plan", "-q")
    assert result.stderr == "" and result.stdout == ""
    assert (tmp_path / "plan" / "floor-hall.png").exists() or list(
        (tmp_path / "plan").glob("floor-*.png")
    )
