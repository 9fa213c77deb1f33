"""The plan's pictures: a floor plan per hall and the utilization chart.

Drawn on `matplotlib.figure.Figure` objects with the Agg canvas, never through pyplot, so
importing this module does not change the backend of a notebook or a GUI."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib import markers, rcParams
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap, to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation
from PIL import Image

from optimizer.export.values import (
    AMBER_UTILIZATION,
    BAR_AMBER,
    BAR_GREEN,
    BAR_RED,
    EMPTY_POSITION,
    RED_UTILIZATION,
    is_number,
)
from optimizer.tables import Plan

DPI = 100
FIGURE_WIDTH_IN = 12.0
MAX_FIGURE_HEIGHT_IN = 20.0
TOP_N = 30  # bars per section of the utilization picture
MAX_ROW_LABELS = 60
MAX_LEGEND_ENTRIES = 30
PNG_COMPRESS_LEVEL = 1  # zlib's fastest: files ~15% bigger than at the default 6, written faster
TICK_LABEL_GID = {"x": "x-tick-label", "y": "y-tick-label"}  # see _draw_ticks


def picture_names(plan: Plan) -> dict[str, str]:
    """Hall -> floor-plan file name, `floor-<hall>.png` with the hall made file-safe."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for hall in plan.site.halls:
        stem = "floor-" + (re.sub(r"[^A-Za-z0-9._-]+", "_", hall).strip("._") or "hall")
        name, n = f"{stem}.png", 1
        while name.lower() in taken:  # two halls that only differ in unsafe characters
            n += 1
            name = f"{stem}-{n}.png"
        taken.add(name.lower())
        names[hall] = name
    return names


def _new_figure(height_in: float) -> Figure:
    figure = Figure(figsize=(FIGURE_WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: Path) -> None:
    """Draw `figure` (one of `_new_figure`'s, at `DPI`) and write it as a PNG of exactly
    figsize * DPI pixels (no bbox_inches="tight")."""
    canvas = figure.canvas
    if not isinstance(canvas, FigureCanvasAgg):
        canvas = FigureCanvasAgg(figure)
    canvas.draw()
    _write_png(canvas, path)


def _write_png(canvas: FigureCanvasAgg, path: Path) -> None:
    """What `canvas` drew, as `savefig` would write it, but encoded here by Pillow: RGB when
    the picture is opaque (it always is: figures are white), zlib level `PNG_COMPRESS_LEVEL`,
    and no text chunks (no "Software" with matplotlib's version), so the file depends on the
    plan only."""
    pixels = np.asarray(canvas.buffer_rgba())
    image = Image.fromarray(pixels)
    if bool((pixels[..., 3] == 255).all()):
        image = image.convert("RGB")
    image.save(path, format="png", dpi=(DPI, DPI), compress_level=PNG_COMPRESS_LEVEL)


def cluster_colours(plan: Plan) -> dict[str, str]:
    """Cluster -> colour, in demand.csv order (then any other cluster the placements name),
    the same in every floor plan of the plan. With racks already standing or phases (v1.1)
    the keys are `rack_categories`: existing racks grey, and each cluster's racks a shade
    of its colour per phase, lighter for later phases."""
    clusters = list(dict.fromkeys([c.cluster for c in plan.site.demand]))
    for cluster in plan.placements["cluster"].astype(str):
        if cluster not in clusters:
            clusters.append(cluster)
    palette = [to_hex(c) for c in _palette(len(clusters))]
    colours = dict(zip(clusters, palette, strict=True))
    if not plan.site.existing and not plan.site.phases:
        return colours
    phases = [p.phase for p in plan.site.phases] or [""]
    out = {EXISTING_LABEL: EXISTING_COLOUR} if plan.site.existing else {}
    present = set(rack_categories(plan))
    for cluster in clusters:
        for k, phase in enumerate(phases):
            label = _category(cluster, phase if plan.site.phases else "")
            if label in present:
                share = 0.6 * k / max(len(phases) - 1, 1)  # towards white
                r, g, b = ((1 - share) * v + share for v in to_rgb(colours[cluster]))
                out[label] = to_hex((r, g, b))
    return out


EXISTING_LABEL = "already standing"
EXISTING_COLOUR = "#7f7f7f"


def _category(cluster: str, phase: str) -> str:
    return f"{cluster}, phase {phase}" if phase else cluster


def rack_categories(plan: Plan) -> list[str]:
    """What a floor plan colours each placement line by: its cluster; v1.1: racks already
    standing as one category, and new racks by cluster and phase installed."""
    p = plan.placements
    clusters = p["cluster"].astype(str).tolist()
    phases = p["phase"].astype(str).tolist() if "phase" in p.columns else [""] * len(p)
    existing = (
        (p["existing"].astype(str).str.lower() == "true").tolist()
        if "existing" in p.columns
        else [False] * len(p)
    )
    return [
        EXISTING_LABEL if e else _category(c, ph)
        for c, ph, e in zip(clusters, phases, existing, strict=True)
    ]


def _palette(n: int) -> list[Any]:
    from matplotlib import colormaps

    base = list(colormaps["tab20"].colors)  # type: ignore[attr-defined]
    base = base[0::2] + base[1::2]  # the ten strong colours first, then their light twins
    if n <= len(base):
        return base[:n]
    return [colormaps["turbo"](i / max(n - 1, 1)) for i in range(n)]


@dataclass(frozen=True)
class _HallView:
    """What a floor plan shows of one hall."""

    layout: tuple[Any, ...]  # rows, width, row labels: all but the racks, title and legend
    n_rows: int
    width: int  # positions in the longest row
    row_labels: dict[int, str]  # row index -> its label, every `step`th row
    grid: np.ma.MaskedArray  # rows x positions: 0 empty, i + 1 the i-th cluster; masked: none
    title: str
    legend: list[tuple[str, str]]  # (colour, text)

    @property
    def height_in(self) -> float:
        return min(max(1.6 + 0.28 * self.n_rows, 3.0), MAX_FIGURE_HEIGHT_IN)


def _hall_view(plan: Plan, hall: str, colours: Mapping[str, str]) -> _HallView:
    rows = [r for r in plan.site.rows if r.hall == hall]
    if not rows:
        raise ValueError(f"hall {hall!r} has no rows in site {plan.site.name!r}")
    code = {c: i + 1 for i, c in enumerate(colours)}  # 0 = empty position
    in_hall = plan.placements["hall"].astype(str) == hall
    here = plan.placements[in_hall]
    categories = [c for c, keep in zip(rack_categories(plan), in_hall, strict=True) if keep]
    row_index = {r.row: i for i, r in enumerate(rows)}
    positions = here["position"].astype("int64").tolist()
    width = max([r.positions for r in rows] + [max(positions, default=0), 1])

    grid = np.full((len(rows), width), -1, dtype=np.int64)  # -1 = no such position
    for i, row in enumerate(rows):
        grid[i, : row.positions] = 0
    racks_by_cluster: dict[str, int] = {}
    gpus = 0
    design_kw = 0.0
    models = plan.site.model_by_id
    for row_id, position, cluster, model in zip(
        here["row"].astype(str).tolist(),
        positions,
        categories,
        here["model"].astype(str).tolist(),
        strict=True,
    ):
        at = row_index.get(row_id)
        if at is not None and 1 <= position <= width:
            grid[at, position - 1] = code[cluster]
        racks_by_cluster[cluster] = racks_by_cluster.get(cluster, 0) + 1
        if model in models:
            gpus += models[model].gpus
            design_kw += models[model].design_kw

    step = max(1, math.ceil(len(rows) / MAX_ROW_LABELS))
    row_labels = {i: _short(rows[i].row, 16) for i in range(0, len(rows), step)}
    legend = [
        (colours[c], f"{_short(c, 24)} ({_racks(racks_by_cluster[c])})")
        for c in colours
        if c in racks_by_cluster
    ]
    if len(legend) > MAX_LEGEND_ENTRIES:
        more = len(legend) - MAX_LEGEND_ENTRIES + 1
        legend = [*legend[: MAX_LEGEND_ENTRIES - 1], ("white", f"... {more} more clusters")]
    legend.append((EMPTY_POSITION, "empty position"))
    return _HallView(
        layout=(len(rows), width, tuple(row_labels.items())),
        n_rows=len(rows),
        width=width,
        row_labels=row_labels,
        grid=np.ma.masked_less(grid, 0),
        title=(
            f"{_short(plan.site.name, 40)} — hall {_short(hall, 40)}: "
            f"{gpus:,} GPUs, {design_kw:,.0f} kW design placed"
        ),
        legend=legend,
    )


def floor_plan_figure(plan: Plan, hall: str) -> Figure:
    """The hall seen from above: each row a strip of positions, coloured by cluster."""
    colours = cluster_colours(plan)
    view = _hall_view(plan, hall, colours)
    figure = _new_figure(view.height_in)
    axes = figure.add_axes(
        _axes_box(view.height_in, left_in=1.3, right_in=2.8, top_in=0.6, bottom_in=0.7)
    )
    cmap = ListedColormap([EMPTY_POSITION, *colours.values()])
    norm = BoundaryNorm(np.arange(len(colours) + 2) - 0.5, cmap.N)
    axes.pcolormesh(
        np.arange(view.width + 1) + 0.5,
        np.arange(view.n_rows + 1) - 0.5,
        view.grid,
        cmap=cmap,
        norm=norm,
        edgecolors="white",
        linewidth=0.6 if view.width * view.n_rows <= 5000 else 0.0,
    )
    axes.set_xlim(0.5, view.width + 0.5)
    axes.set_ylim(view.n_rows - 0.5, -0.5)  # first row at the top
    row_labels = _draw_ticks(axes, "y", list(view.row_labels), list(view.row_labels.values()))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    position_labels = _draw_ticks(axes, "x")
    axes.set_xlabel("position")
    axes.set_ylabel("row")
    _place_axis_label(axes, "x", position_labels)
    _place_axis_label(axes, "y", row_labels)
    # y=1.0 is where matplotlib puts the title; saying so spares it measuring every label.
    axes.set_title(view.title, y=1.0)
    _floor_plan_legend(axes, view.legend)
    return figure


def _floor_plan_legend(axes: Axes, entries: list[tuple[str, str]]) -> None:
    axes.legend(
        handles=[Patch(color=colour, label=text) for colour, text in entries],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        fontsize="small",
        frameon=False,
    )


class FloorPlans:
    """write_plan's floor plans, one hall after another: the pictures `floor_plan_figure`
    draws, pixel for pixel, drawn faster when halls are alike.

    Halls with the same layout (as many rows, as wide, the same row labels) share one
    figure. What they have in common (axes, tick marks and labels, axis labels) is drawn
    once and kept; for each hall that background is restored and only the hall's own part
    is drawn on it, in the order a full drawing draws it: the racks, the frame (which lies
    on them), the title and the legend. The shared texts took most of the drawing time."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.colours = cluster_colours(plan)
        self.layout: tuple[Any, ...] | None = None
        self.figure: Figure | None = None
        self.background: Any = None  # what the canvas drew of the layout, see save

    def save(self, hall: str, path: Path) -> None:
        view = _hall_view(self.plan, hall, self.colours)
        if self.figure is None or view.layout != self.layout:
            self.figure = floor_plan_figure(self.plan, hall)
            self.layout = view.layout
            self.background = None
        else:
            axes = self.figure.axes[0]
            axes.collections[0].set_array(view.grid)
            axes.title.set_text(view.title)
            cast(Legend, axes.get_legend()).remove()
            _floor_plan_legend(axes, view.legend)
        axes = self.figure.axes[0]
        legend = cast(Legend, axes.get_legend())
        own: list[Artist] = [axes.collections[0], *axes.spines.values(), axes.title, legend]
        canvas = cast(FigureCanvasAgg, self.figure.canvas)
        if self.background is None:
            for artist in own:
                artist.set_visible(False)
            canvas.draw()
            self.background = canvas.copy_from_bbox(self.figure.bbox)
            for artist in own:
                artist.set_visible(True)
        canvas.restore_region(self.background)
        for artist in own:
            self.figure.draw_artist(artist)
        _write_png(canvas, path)


def utilization_figure(plan: Plan) -> Figure:
    """Worst-case load / limit as bars: power devices, cooling, pods (each the `TOP_N` most
    utilised) and the grid, with a line at 100%."""
    sections = [
        _top_section("Power devices: worst case (normal or N-1) / limit", plan.power, "device"),
        _top_section("Cooling: heat / capacity", plan.cooling, "hall", "medium"),
        _top_section("Pods: ports used / ports", plan.pods, "pod"),
        _grid_section(plan),
    ]
    bar_in = 0.2
    fixed_in = 0.55 + 0.7  # top margin + bottom axis label
    gap_in = 0.4  # between sections, room for a title
    n_bars = [max(len(labels), 1) for _, labels, _ in sections]
    wanted = fixed_in + sum(gap_in + 0.25 + bar_in * n for n in n_bars)
    if wanted > MAX_FIGURE_HEIGHT_IN:
        bar_in *= (MAX_FIGURE_HEIGHT_IN - fixed_in - len(sections) * (gap_in + 0.25)) / (
            bar_in * sum(n_bars)
        )
    height = min(max(wanted, 4.0), MAX_FIGURE_HEIGHT_IN)
    figure = _new_figure(height)

    all_values = [v for _, _, values in sections for v in values]
    x_max = max([1.1, *(v * 1.08 for v in all_values)]) * 100
    top_in = 0.55
    left, width = 2.6 / FIGURE_WIDTH_IN, 1 - 3.0 / FIGURE_WIDTH_IN
    for k, ((title, labels, values), n) in enumerate(zip(sections, n_bars, strict=True)):
        axes_in = 0.25 + bar_in * n
        top_in += gap_in
        axes = figure.add_axes((left, 1 - (top_in + axes_in) / height, width, axes_in / height))
        top_in += axes_in
        _draw_bars(axes, title, labels, values, x_max)
        # One x axis, at the bottom: the sections share it, the others only show tick marks.
        x_labels = _draw_ticks(axes, "x", with_labels=k == len(sections) - 1)
    axes.set_xlabel("utilization (%)")
    _place_axis_label(axes, "x", x_labels)
    figure.suptitle(f"{_short(plan.site.name, 60)}: utilization of every limit", y=1 - 0.1 / height)
    return figure


def _top_section(
    title: str, table: pd.DataFrame, *label_columns: str
) -> tuple[str, list[str], list[float]]:
    if "utilization" not in table.columns or not set(label_columns) <= set(table.columns):
        return title, [], []
    frame = table[[*label_columns, "utilization"]].copy()
    frame["utilization"] = pd.to_numeric(frame["utilization"], errors="coerce")
    frame = frame[np.isfinite(frame["utilization"])]
    labels = frame[label_columns[0]].astype(str)
    for column in label_columns[1:]:
        labels = labels + " " + frame[column].astype(str)
    frame["label"] = labels
    frame = frame.sort_values(["utilization", "label"], ascending=[False, True], kind="mergesort")
    if len(frame) > TOP_N:
        title = f"{title} — top {TOP_N} of {len(frame):,}"
    frame = frame.head(TOP_N)
    return title, [str(v) for v in frame["label"]], [float(v) for v in frame["utilization"]]


def _grid_section(plan: Plan) -> tuple[str, list[str], list[float]]:
    title = "Grid: total draw at the design temperature / grid limit + firm on-site"
    grid = plan.grid
    if not {"total_kw", "limit_kw", "utilization"} <= set(grid.columns):
        return title, [], []
    labels: list[str] = []
    values: list[float] = []
    for total, limit, utilization in zip(
        grid["total_kw"], grid["limit_kw"], grid["utilization"], strict=True
    ):
        if is_number(utilization) and math.isfinite(utilization):
            labels.append(f"grid ({total:,.0f} of {limit:,.0f} kW)")
            values.append(float(utilization))
    return title, labels, values


def _draw_bars(
    axes: Axes, title: str, labels: list[str], values: list[float], x_max: float
) -> None:
    axes.set_title(title, loc="left", fontsize="medium", y=1.0)  # y: see floor_plan_figure
    axes.set_xlim(0, x_max)
    axes.axvline(100, color="black", linestyle="--", linewidth=1)
    if not labels:
        axes.set_ylim(-0.5, 0.5)
        axes.set_yticks([])
        axes.text(x_max / 2, 0, "nothing to show", ha="center", va="center", color="grey")
        return
    y = list(range(len(labels)))
    percent = [v * 100 for v in values]
    for yi, p, v in zip(y, percent, values, strict=True):
        # What barh(y, percent, height=0.7) draws. The limits are set, so the bars need not
        # update them (add_patch), which took most of the time of barh.
        axes.add_artist(Rectangle((0, yi - 0.35), p, 0.7, facecolor=_bar_colour(v)))
    _draw_ticks(axes, "y", y, [_short(label, 30) for label in labels], fontsize="small")
    axes.set_ylim(len(labels) - 0.5, -0.5)  # most utilised at the top
    for yi, p in enumerate(percent):
        axes.text(p + x_max * 0.005, yi, f"{p:.1f}%", va="center", fontsize="x-small")


_TICK_MARKERS: dict[str, dict[str, Any]] = {
    "x": {"out": markers.TICKDOWN, "in": markers.TICKUP, "inout": "|"},
    "y": {"out": markers.TICKLEFT, "in": markers.TICKRIGHT, "inout": "_"},
}


def _draw_ticks(
    axes: Axes,
    which: str,
    values: Sequence[float] | None = None,
    labels: Sequence[str] | None = None,
    *,
    with_labels: bool = True,
    fontsize: str | None = None,
) -> list[Text]:
    """Tick marks at `values` on the bottom (`which` "x") or left ("y") side of `axes`, and
    `labels` next to them. Without `values`: where the axis's locator puts them, labelled by
    its formatter, as the axis would show them. Returns the label texts."""
    axis = axes.xaxis if which == "x" else axes.yaxis
    if values is None:
        located = [float(v) for v in axis.get_major_locator()()]
        shown = axis.get_major_formatter().format_ticks(located)
        low, high = sorted(axis.get_view_interval())
        tolerance = (high - low) * 1e-10
        inside = [i for i, v in enumerate(located) if low - tolerance <= v <= high + tolerance]
        ticks = [located[i] for i in inside]
        labels = [shown[i] for i in inside] if labels is None else labels
    else:
        ticks = [float(v) for v in values]
    axis.set_ticks([])
    rc = f"{which}tick."
    side = "bottom" if which == "x" else "left"
    size = float(_rc(rc + "major.size"))
    direction = str(_rc(rc + "direction"))
    if ticks and _rc(rc + side) and _rc(f"{rc}major.{side}"):
        zeros = [0.0] * len(ticks)
        marks = Line2D(
            *((ticks, zeros) if which == "x" else (zeros, ticks)),
            transform=_tick_transform(axes, which),
            linestyle="none",
            marker=_TICK_MARKERS[which][direction],
            markersize=size,
            markeredgewidth=_rc(rc + "major.width"),
            color=_rc(rc + "color"),
            clip_on=False,
        )
        axes.add_line(marks)
    if not with_labels or not labels or not _rc(f"{rc}label{side}"):
        return []
    text_transform, va, ha = (
        axes.get_xaxis_text1_transform(_tick_label_pad(which))
        if which == "x"
        else axes.get_yaxis_text1_transform(_tick_label_pad(which))
    )
    colour = _rc(rc + "labelcolor")
    if colour == "inherit":
        colour = _rc(rc + "color")
    return [
        axes.text(
            value if which == "x" else 0,
            0 if which == "x" else value,
            label,
            transform=text_transform,
            va=va,
            ha=ha,
            color=colour,
            fontsize=fontsize or _rc(rc + "labelsize"),
            gid=TICK_LABEL_GID[which],
        )
        for value, label in zip(ticks, labels, strict=True)
    ]


def _rc(name: str) -> Any:
    """rcParams[name] for a name put together here (rcParams is typed by literal names)."""
    return cast(Mapping[str, Any], rcParams)[name]


def _tick_transform(axes: Axes, which: str) -> Any:
    if which == "x":
        return axes.get_xaxis_transform(which="tick1")
    return axes.get_yaxis_transform(which="tick1")


def _tick_label_pad(which: str) -> float:
    """Points between the axes and its tick labels: the pad plus the tick's outer part."""
    size = float(_rc(f"{which}tick.major.size"))
    outside = {"out": 1.0, "inout": 0.5}.get(str(_rc(f"{which}tick.direction")), 0.0)
    return float(_rc(f"{which}tick.major.pad")) + size * outside


def _place_axis_label(axes: Axes, which: str, labels: list[Text]) -> None:
    """Put the axis label `labelpad` below (x) or left of (y) the tick `labels`, where the
    axis puts it next to its own tick labels. The labels are measured by the renderer that
    will draw them, which keeps the sizes for the drawing."""
    figure = axes.get_figure(root=True)
    assert isinstance(figure, Figure)
    renderer = cast(FigureCanvasAgg, figure.canvas).get_renderer()
    extents = [t.get_window_extent(renderer) for t in labels]
    size_px = max((e.height if which == "x" else e.width for e in extents), default=0.0)
    axis = axes.xaxis if which == "x" else axes.yaxis
    offset = (_tick_label_pad(which) + size_px * 72 / figure.dpi + float(axis.labelpad)) / 72
    if which == "x":
        shift = ScaledTranslation(0, -offset, figure.dpi_scale_trans)
        axis.set_label_coords(0.5, 0, transform=axes.transAxes + shift)
    else:
        shift = ScaledTranslation(-offset, 0, figure.dpi_scale_trans)
        axis.set_label_coords(0, 0.5, transform=axes.transAxes + shift)


def _bar_colour(utilization: float) -> str:
    if utilization >= RED_UTILIZATION:
        return BAR_RED
    return BAR_AMBER if utilization >= AMBER_UTILIZATION else BAR_GREEN


def _axes_box(
    height_in: float, left_in: float, right_in: float, top_in: float, bottom_in: float
) -> tuple[float, float, float, float]:
    """An axes rectangle in figure fractions from margins in inches."""
    left = left_in / FIGURE_WIDTH_IN
    bottom = bottom_in / height_in
    return (
        left,
        bottom,
        1 - left - right_in / FIGURE_WIDTH_IN,
        max(1 - bottom - top_in / height_in, 0.05),
    )


def _racks(n: int) -> str:
    return "1 rack" if n == 1 else f"{n:,} racks"


def _short(text: str, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"
