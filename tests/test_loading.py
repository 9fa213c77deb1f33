"""Loading sites: folder and workbook give equal `Site`s; BOM and CRLF change nothing; every
example site in data/ validates; the hardware library loads with a source for every number;
a site's models.csv overrides and extends the library; defaults of the format."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml
from pydantic import ValidationError

from optimizer import library
from optimizer.errors import Issue, SiteError
from optimizer.loaders import load_site, load_site_with_warnings
from optimizer.schema import Site

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
SMALL = DATA / "small"
EXAMPLE_FOLDERS = sorted(p for p in DATA.iterdir() if (p / "site.yaml").exists())
EXAMPLE_WORKBOOKS = sorted(DATA.glob("**/*.xlsx"))
SITE_FILES = ("site.yaml", "rows.csv", "power.csv", "cooling.csv", "pods.csv", "demand.csv")
MODELS_HEADER = "model,gpus,design_kw,typical_kw,liquid_fraction,weight_kg,ports,capex_usd"


def typed(text: str) -> object:
    """A CSV cell as a spreadsheet user would type it: numbers, booleans, text, blank."""
    if text == "":
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def folder_to_workbook(folder: Path, path: Path) -> Path:
    """One sheet per table (sheet name = file stem), a `site` sheet of key,value rows."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    site = book.create_sheet("site")
    site.append(["key", "value"])
    for key, value in (yaml.safe_load((folder / "site.yaml").read_text()) or {}).items():
        site.append([key, value])
    for csv_path in sorted(folder.glob("*.csv")):
        sheet = book.create_sheet(csv_path.stem)
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            for row in csv.reader(fh):
                sheet.append([typed(v) for v in row])
    book.save(path)
    return path


def copy_site(folder: Path, tmp_path: Path, name: str | None = None) -> Path:
    out = tmp_path / (name or folder.name)
    shutil.copytree(folder, out, ignore=shutil.ignore_patterns("*.md"))
    return out


# -- folder and workbook -------------------------------------------------------------------------
@pytest.mark.parametrize("folder", EXAMPLE_FOLDERS, ids=lambda p: p.name)
def test_folder_and_workbook_load_to_equal_sites(tmp_path, folder):
    book = folder_to_workbook(folder, tmp_path / f"{folder.name}.xlsx")
    from_folder = load_site(folder)
    from_book = load_site(book)
    assert isinstance(from_book, Site)
    assert from_book == from_folder
    assert from_book.model_dump() == from_folder.model_dump()


def test_workbook_with_text_cells_loads_like_typed_cells(tmp_path):
    """A workbook whose numbers are stored as text (a common export) loads the same."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    site = book.create_sheet("site")
    site.append(["key", "value"])
    for key, value in yaml.safe_load((SMALL / "site.yaml").read_text()).items():
        site.append([key, str(value)])
    for name in SITE_FILES[1:]:
        sheet = book.create_sheet(Path(name).stem)
        for row in csv.reader(io.StringIO((SMALL / name).read_text())):
            sheet.append(row)
    book.save(tmp_path / "small.xlsx")
    assert load_site(tmp_path / "small.xlsx") == load_site(SMALL)


def test_workbook_sheet_order_and_extra_blank_rows_do_not_matter(tmp_path):
    path = folder_to_workbook(SMALL, tmp_path / "small.xlsx")
    book = openpyxl.load_workbook(path)
    book.move_sheet("site", offset=3)
    book["rows"].append([])
    book["rows"].append([None, None])
    book["power"].insert_rows(1, amount=2)  # table starts on row 3
    book.save(path)
    assert load_site(path) == load_site(SMALL)


def test_workbook_name_defaults_to_its_file_name(tmp_path):
    folder = copy_site(SMALL, tmp_path)
    text = (folder / "site.yaml").read_text().replace("name: small", "")
    (folder / "site.yaml").write_text(text)
    path = folder_to_workbook(folder, tmp_path / "Memphis North.xlsx")
    assert load_site(path).name == "Memphis North"


# -- encodings and line endings ------------------------------------------------------------------
@pytest.mark.parametrize(
    "bom,newline", [(True, "\n"), (False, "\r\n"), (True, "\r\n")], ids=["bom", "crlf", "bom+crlf"]
)
def test_bom_and_crlf_load_the_same(tmp_path, bom, newline):
    out = copy_site(SMALL, tmp_path)
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8").replace("\n", newline)
        path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    assert (out / "rows.csv").read_bytes().startswith(b"\xef\xbb\xbf" if bom else b"hall")
    assert load_site(out) == load_site(SMALL)


def test_non_ascii_ids_survive(tmp_path):
    out = copy_site(SMALL, tmp_path)
    for name in ("rows.csv", "cooling.csv"):
        path = out / name
        text = path.read_text().replace("\nA,", "\nHalle-\u00c4,")
        path.write_text(text, encoding="utf-8")
    site = load_site(out)
    assert "Halle-\u00c4" in site.halls


# -- example sites -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLE_FOLDERS + EXAMPLE_WORKBOOKS, ids=lambda p: p.name)
def test_example_site_validates(path):
    site = load_site(path)
    assert site.rows and site.devices and site.cooling and site.demand
    site2, warnings = load_site_with_warnings(path)
    assert site2 == site
    assert all(isinstance(w, Issue) for w in warnings)
    for w in warnings:  # shown with -rA / on failure: what a user would read
        print(f"warning: {w}")


def test_example_sites_exist():
    names = {p.name for p in EXAMPLE_FOLDERS}
    assert {"small", "block-redundant"} <= names


@pytest.mark.parametrize("name", ["small", "block-redundant"])
def test_hand_checked_examples_have_no_warnings(name):
    assert load_site_with_warnings(DATA / name)[1] == []


def test_site_is_immutable():
    site = load_site(SMALL)
    with pytest.raises(ValidationError):
        site.grid_limit_kw = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        site.rows[0].positions = 99  # type: ignore[misc]
    assert isinstance(site.rows, tuple)


def test_small_site_contents():
    site = load_site(SMALL)
    assert site.name == "small"
    assert site.grid_limit_kw == 1010
    assert site.fixed_overhead_kw == 50
    assert site.energy_usd_per_kwh == pytest.approx(0.0623)
    assert [r.label for r in site.rows] == ["L/L1", "L/L2", "A/A1", "A/A2", "A/A3"]
    assert site.halls == ("L", "A")
    assert site.rows[4].feed_b is None and site.rows[4].feeds == ("PDU-AA",)
    assert site.rows[0].max_rack_kg is None and site.rows[0].liquid is True
    assert site.device_by_id["PDU-LA"].usable_kw == pytest.approx(560)
    assert site.path("PDU-AB") == ("PDU-AB", "UPS-B", "TX-B")
    assert site.cooling_capacity_kw("L", "liquid") == 500
    assert site.cooling_capacity_kw("A", "air") == 360
    assert {c.cluster: c.max_racks for c in site.demand} == {
        "train": None, "infer": None, "storage": 1,
    }  # fmt: skip


# -- the hardware library ------------------------------------------------------------------------
REQUIRED_MODELS = {
    "nvidia-dgx-h100", "nvidia-dgx-h200", "supermicro-hgx-h100-liquid", "nvidia-dgx-b200",
    "nvidia-gb200-nvl72", "nvidia-gb300-nvl72", "amd-mi300x", "amd-mi355x-liquid",
}  # fmt: skip


def test_library_loads():
    models = library.load_library()
    ids = [m.model for m in models]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids)) >= 10
    assert set(ids) >= REQUIRED_MODELS
    assert any(i.startswith("network-") for i in ids)
    assert any(i.startswith("storage-") for i in ids)
    colossus = {m.model: m for m in models}["supermicro-hgx-h100-liquid"]
    assert colossus.gpus == 64 and colossus.liquid_fraction > 0


def test_library_table():
    table = library.library_table()
    models = library.load_library()
    assert list(table["model"]) == [m.model for m in models]
    assert list(table.columns) == ["model", "name", *library.NUMBER_FIELDS, "sources"]
    assert table["sources"].str.len().min() > 0
    assert table["name"].str.len().min() > 0
    row = table.set_index("model").loc["nvidia-gb200-nvl72"]
    assert row["gpus"] == 72


def test_every_library_number_has_a_source():
    sources = library.library_sources()
    assert set(sources) == {m.model for m in library.load_library()}
    for model, fields in sources.items():
        assert set(fields) == set(library.NUMBER_FIELDS), model
        for field, source in fields.items():
            assert source.strip(), f"{model}.{field} has no source"


def test_every_library_file_gives_value_and_source_for_every_number():
    """Read the YAML files directly, independently of optimizer.library."""
    files = sorted(library.library_dir().glob("*.yaml"))
    assert len(files) == len(library.load_library())
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["model"] == path.stem
        for field in library.NUMBER_FIELDS:
            item = data[field]
            assert isinstance(item["value"], int | float), f"{path.name}: {field}"
            assert str(item.get("source") or "").strip(), f"{path.name}: {field} has no source"


def test_library_number_without_source_is_rejected(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    src = (library.library_dir() / "nvidia-dgx-h100.yaml").read_text()
    lines = src.splitlines()
    lines = [s.split(", source:")[0] + "}" if s.startswith("ports:") else s for s in lines]
    (models / "nvidia-dgx-h100.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(SiteError) as info:
        library.load_library(models)
    (issue,) = info.value.issues
    assert Path(issue.where).name == "nvidia-dgx-h100.yaml"
    assert issue.column == "ports"
    assert "needs a source" in issue.message


# -- models.csv ----------------------------------------------------------------------------------
def test_models_csv_overrides_a_library_model_and_adds_one(tmp_path):
    out = copy_site(SMALL, tmp_path)
    (out / "models.csv").write_text(
        f"{MODELS_HEADER}\n"
        "nvidia-dgx-h100,32,36,28,0,640,32,1000000\n"
        "my-rack,16,20,15,0.5,800,16,300000\n"
    )
    demand = (out / "demand.csv").read_text() + "mine,my-rack,0,2,none,1\n"
    (out / "demand.csv").write_text(demand)
    site = load_site(out)
    library_h100 = {m.model: m for m in library.load_library()}["nvidia-dgx-h100"]
    h100 = site.model_by_id["nvidia-dgx-h100"]
    assert h100.design_kw == 36 and library_h100.design_kw == 40.8
    assert h100.capex_usd == 1_000_000
    assert site.model_by_id["my-rack"].liquid_fraction == 0.5
    assert site.model_of(site.demand[-1]).model == "my-rack"
    # the rest of the library is still there, once each
    assert len(site.models) == len(library.load_library()) + 1
    assert [m.model for m in site.models] == sorted(m.model for m in site.models)


def test_models_csv_in_a_workbook(tmp_path):
    out = copy_site(SMALL, tmp_path)
    (out / "models.csv").write_text(f"{MODELS_HEADER}\nmy-rack,16,20,15,0.5,800,16,300000\n")
    assert load_site(folder_to_workbook(out, tmp_path / "s.xlsx")) == load_site(out)


# -- defaults ------------------------------------------------------------------------------------
def minimal_site(tmp_path: Path, name: str = "plain") -> Path:
    """data/small with site.yaml reduced to grid_limit_kw and demand to cluster,model."""
    out = copy_site(SMALL, tmp_path, name)
    (out / "site.yaml").write_text("grid_limit_kw: 1010\n")
    (out / "demand.csv").write_text("cluster,model\ntrain,nvidia-gb200-nvl72\n")
    power = csv.reader(io.StringIO((SMALL / "power.csv").read_text()))
    (out / "power.csv").write_text("".join(",".join(r[:3]) + "\n" for r in power))  # no derate
    (out / "cooling.csv").write_text(
        "hall,medium,units,unit_kw\nL,liquid,2,250\nL,air,1,100\nA,air,3,120\n"
    )
    return out


def test_defaults(tmp_path):
    site = load_site(minimal_site(tmp_path))
    assert site.name == "plain"  # the folder's name
    assert site.grid_limit_kw == 1010
    assert site.onsite_firm_kw == 0
    assert site.fixed_overhead_kw == 0
    assert site.design_temp_c == 35  # no weather.csv
    assert site.pue == 1.3
    assert site.energy_usd_per_kwh == 0.07
    assert site.objective == "gpus"
    assert site.overhead == () and site.weather == ()
    assert site.overhead_at(35) == pytest.approx((0.3, 0.3))  # pue - 1, both media
    (cluster,) = site.demand
    assert (cluster.min_racks, cluster.max_racks, cluster.colocate, cluster.value) == (
        0, None, "none", 1.0,
    )  # fmt: skip
    assert all(d.derate == 1.0 for d in site.devices)
    assert all(c.spares == 0 for c in site.cooling)


def test_empty_optional_cells_take_defaults(tmp_path):
    out = copy_site(SMALL, tmp_path)
    (out / "demand.csv").write_text(
        "cluster,model,min_racks,max_racks,colocate,value\ntrain,nvidia-gb200-nvl72,,,,\n"
    )
    (out / "rows.csv").write_text(
        (out / "rows.csv")
        .read_text()
        .replace("A,A3,2,PDU-AA,,20,1000,false,POD-A", "A,A3,2,PDU-AA,,,,,")
    )
    site = load_site(out)
    (cluster,) = site.demand
    assert (cluster.min_racks, cluster.max_racks, cluster.colocate, cluster.value) == (
        0, None, "none", 1.0,
    )  # fmt: skip
    a3 = site.rows[-1]
    assert (a3.feed_b, a3.max_rack_kw, a3.max_rack_kg, a3.liquid, a3.pod) == (
        None, None, None, False, None,
    )  # fmt: skip


def test_design_temp_defaults_to_the_hottest_weather_hour(tmp_path):
    out = minimal_site(tmp_path)
    (out / "weather.csv").write_text("hour,temp_c\n0,21.5\n1,33.25\n2,28\n")
    site = load_site(out)
    assert site.design_temp_c == 33.25
    assert len(site.weather) == 3


def test_given_design_temp_wins_over_weather(tmp_path):
    out = minimal_site(tmp_path)
    (out / "site.yaml").write_text("grid_limit_kw: 1010\ndesign_temp_c: 30\n")
    (out / "weather.csv").write_text("hour,temp_c\n0,21.5\n1,33.25\n")
    assert load_site(out).design_temp_c == 30


def test_empty_site_values_take_defaults(tmp_path):
    out = minimal_site(tmp_path)
    (out / "site.yaml").write_text("grid_limit_kw: 1010\nname:\npue:\n")
    site = load_site(out)
    assert (site.name, site.pue) == ("plain", 1.3)


def test_overhead_csv_replaces_pue(tmp_path):
    out = minimal_site(tmp_path)
    (out / "overhead.csv").write_text(
        "temp_c,air_overhead,liquid_overhead\n10,0.1,0.05\n30,0.3,0.1\n"
    )
    site = load_site(out)
    assert site.overhead_at(20) == pytest.approx((0.2, 0.075))
    assert site.overhead_at(35) == pytest.approx((0.3, 0.1))  # flat beyond the table
