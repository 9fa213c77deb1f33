"""Hostile and broken files: every one gets exit 2 and one `error:` line per problem, each
naming the file (and sheet, row, column where there is one), never a traceback, and nothing is
written. The corpus is tests/bad_inputs (see make_corpus.py there: `exit` per case); the
cases that need a file system trick (symbolic links, a file too large) are built here."""

from __future__ import annotations

import csv
import os
import shutil
import time
from pathlib import Path

import pytest
from clirun import EXIT_INPUT, error_lines, rackfit

from optimizer.errors import SiteError
from optimizer.loaders import MAX_SITE_FILE_BYTES, load_site

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "data" / "small"
CORPUS = REPO / "tests" / "bad_inputs"


def _cases() -> list:
    with (CORPUS / "expected.csv").open(newline="", encoding="utf-8") as fh:
        return [pytest.param(c, id=c["case"]) for c in csv.DictReader(fh) if not c["known_bug"]]


def assert_clean_errors(result, *fragments: str) -> list[str]:
    """stderr: only `error:`/`warning:` lines, no traceback, no internal error; each fragment
    in some error line."""
    lines = result.stderr.splitlines()
    assert lines, "no message"
    assert all(line.startswith(("error: ", "warning: ")) for line in lines), lines
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    errors = error_lines(result)
    for fragment in fragments:
        assert any(fragment in line for line in errors), (fragment, errors)
    return errors


@pytest.mark.parametrize("case", _cases())
def test_every_corpus_case_exits_as_expected_with_a_located_message(case, tmp_path):
    began = time.perf_counter()
    result = rackfit("validate", CORPUS / case["case"], code=int(case["exit"]))
    assert time.perf_counter() - began < 30  # no case may make rackfit read a sheet's
    # declared size (a million rows of 16,384 columns) instead of its cells
    errors = assert_clean_errors(result, case["message"])
    named = case["file"].split(":")[0]
    assert all(named in line or case["case"] in line for line in errors if case["message"] in line)
    assert not result.stdout


def test_a_forged_error_line_in_a_cell_stays_inside_one_line():
    result = rackfit("validate", CORPUS / "hostile_line_break_id", code=EXIT_INPUT)
    lines = result.stderr.splitlines()
    assert not any(line.startswith("error: everything") for line in lines)
    (line,) = [line for line in lines if "U+000A" in line]
    assert "demand.csv, row 2, column cluster" in line


def _small(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(SMALL, site)
    return site


def test_a_dangling_symlinked_table_is_an_error_not_an_absent_table(tmp_path):
    site = _small(tmp_path)
    (site / "models.csv").symlink_to(tmp_path / "gone.csv")  # an optional table
    result = rackfit("validate", site, code=EXIT_INPUT)
    assert_clean_errors(result, "models.csv: a symbolic link to nothing")


def test_a_table_linked_from_outside_the_site_is_refused_without_echoing_it(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:SECRET-HASH:0:0\nkey,SECRET-TOKEN\n")
    site = _small(tmp_path)
    (site / "pods.csv").unlink()
    (site / "pods.csv").symlink_to(secret)
    result = rackfit("validate", site, code=EXIT_INPUT)
    assert_clean_errors(result, "pods.csv: a symbolic link to a file outside the site folder")
    assert "SECRET" not in result.stderr + result.stdout


def test_a_table_linked_inside_the_site_folder_is_read(tmp_path):
    site = _small(tmp_path)
    (site / "shared").mkdir()
    (site / "pods.csv").rename(site / "shared" / "pods.csv")
    (site / "pods.csv").symlink_to(Path("shared") / "pods.csv")
    assert load_site(site) == load_site(SMALL)


def test_a_file_too_large_to_be_a_site_is_refused_unread(tmp_path):
    site = _small(tmp_path)
    with (site / "weather.csv").open("wb") as fh:  # sparse: nothing is really written
        fh.truncate(MAX_SITE_FILE_BYTES + 1)
    result = rackfit("validate", site, code=EXIT_INPUT)
    assert_clean_errors(result, "weather.csv: too large to be a site file")


def test_a_workbook_too_large_to_be_a_site_is_refused_unread(tmp_path):
    book = tmp_path / "big.xlsx"
    with book.open("wb") as fh:
        fh.truncate(MAX_SITE_FILE_BYTES + 1)
    result = rackfit("validate", book, code=EXIT_INPUT)
    assert_clean_errors(result, "big.xlsx: too large to be a site file")


def test_a_fifo_is_not_read(tmp_path):
    site = _small(tmp_path)
    os.mkfifo(site / "weather.csv")  # reading it would block for ever
    result = rackfit("validate", site, code=EXIT_INPUT)
    assert_clean_errors(result, "weather.csv: not a regular file")


def test_a_huge_dimension_workbook_reads_only_its_cells(tmp_path):
    """hostile_huge_dimension.xlsx declares A1:XFD1048576: reading it must cost its cells,
    not 1,048,576 x 16,384 (that took 29 s and 7.8 GB before)."""
    began = time.perf_counter()
    with pytest.raises(SiteError) as info:
        load_site(CORPUS / "hostile_huge_dimension.xlsx")
    assert time.perf_counter() - began < 10
    (issue,) = info.value.issues
    assert issue.row == 1_048_576
