"""The picture sent with a coordinator's weekly digest: cases per state, this week against last, as a PNG."""

from __future__ import annotations

import io
import textwrap
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.text import Annotation

# Noto Sans SC (SIL OFL 1.1) from the pinned pylopdf-fonts-zh-cn wheel: 17 MB, where mplfonts is 85 MB and
# also carries SimHei, whose licence does not allow us to redistribute it. It has the simplified Han forms
# and Latin and Cyrillic glyphs too, so one face draws all three locales; DejaVu Sans, which matplotlib
# ships, stands behind it for any symbol Noto lacks.
CJK_FONT_PACKAGE = "pylopdf_fonts_zh_cn"
CJK_FONT_FILE = "NotoSansSC-Regular.otf"
CJK_FONT_FAMILY = "Noto Sans SC"
FONT_FAMILIES = (CJK_FONT_FAMILY, "DejaVu Sans")

WIDTH_PX = 800
DPI = 100
ROW_PX = 76
# The title, the legend and the margins.
FRAME_PX = 190
MIN_HEIGHT_PX = 400
MAX_HEIGHT_PX = 1000
# Telegram shows a photo at most a phone's width, about 400 points; at half size these stay legible.
TITLE_PX = 26
TEXT_PX = 19
LABEL_WRAP = 20
MARGIN_PX = 14

THIS_WEEK_COLOUR = "#0B3C6E"
LAST_WEEK_COLOUR = "#7393B3"
OVERDUE_COLOUR = "#B00020"
INK = "#111111"

_font_lock = threading.Lock()
_registered_fonts: set[str] = set()


@dataclass(frozen=True, slots=True)
class ChartRow:
    """One case state in the picture: its localized name and its case counts."""

    label: str
    this_week: int
    last_week: int
    overdue: int

    def __post_init__(self) -> None:
        if min(self.this_week, self.last_week, self.overdue) < 0:
            raise ValueError("case counts cannot be negative")


def cjk_font_path() -> str:
    """The Simplified Chinese font file inside its installed package."""
    return str(resources.files(CJK_FONT_PACKAGE).joinpath(CJK_FONT_FILE))


def register_fonts() -> None:
    """Make Noto Sans SC known to matplotlib, once per process, without writing anything to disk."""
    path = cjk_font_path()
    with _font_lock:
        if path in _registered_fonts:
            return
        from matplotlib import font_manager

        font_manager.fontManager.addfont(path)
        _registered_fonts.add(path)


def _pt(px: float) -> float:
    return px * 72 / DPI


def _height_px(rows: int) -> int:
    return max(MIN_HEIGHT_PX, min(MAX_HEIGHT_PX, FRAME_PX + ROW_PX * rows))


def pipeline_png(
    rows: Sequence[ChartRow],
    *,
    title: str,
    this_week: str,
    last_week: str,
    overdue: Callable[[int], str],
) -> bytes:
    """Draw the states down the side, two bars each (this week above last week), the count at each
    bar's end and, where cases are overdue, ``overdue(count)`` in red after this week's count.

    Every text comes in already localized. Pure and safe to call from several threads (it uses the
    object API, never pyplot), but it takes tens of milliseconds: from async code, run it in a thread.
    """
    if not rows:
        raise ValueError("the pipeline picture needs at least one state")
    register_fonts()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import Patch

    families = list(FONT_FAMILIES)
    text_pt = _pt(TEXT_PX)
    height_px = _height_px(len(rows))
    figure = Figure(
        figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, facecolor="white", layout="constrained"
    )
    FigureCanvasAgg(figure)
    figure.get_layout_engine().set(w_pad=MARGIN_PX / DPI, h_pad=MARGIN_PX / DPI)  # type: ignore[union-attr, call-arg]
    try:
        axes = figure.add_subplot()
        bar_height = 0.38
        centres = list(range(len(rows)))
        these = [row.this_week for row in rows]
        lasts = [row.last_week for row in rows]
        this_y = [c - bar_height / 2 for c in centres]
        last_y = [c + bar_height / 2 for c in centres]
        axes.barh(this_y, these, height=bar_height, color=THIS_WEEK_COLOUR)
        axes.barh(last_y, lasts, height=bar_height, color=LAST_WEEK_COLOUR)

        # Each row's texts end with the one furthest right; the x range is widened below so it fits.
        row_ends: list[tuple[int, Annotation]] = []
        for row, y_this, y_last in zip(rows, this_y, last_y, strict=True):
            count = _count_label(axes, row.this_week, y_this, families, text_pt)
            row_ends.append((row.this_week, count))
            if row.overdue > 0:
                late = axes.annotate(
                    overdue(row.overdue),
                    xy=(1, 0.5),
                    xycoords=count,
                    xytext=(12, 0),
                    textcoords="offset points",
                    va="center",
                    ha="left",
                    color=OVERDUE_COLOUR,
                    fontsize=text_pt,
                    fontfamily=families,
                    annotation_clip=False,
                )
                late.set_in_layout(False)
                row_ends.append((row.this_week, late))
            row_ends.append((row.last_week, _count_label(axes, row.last_week, y_last, families, text_pt)))

        axes.set_yticks(
            centres,
            labels=[textwrap.fill(row.label, LABEL_WRAP, break_long_words=False) for row in rows],
            fontsize=text_pt,
            fontfamily=families,
            color=INK,
        )
        axes.tick_params(axis="y", length=0, pad=8)
        axes.set_ylim(len(rows) - 0.5, -0.5)
        axes.xaxis.set_visible(False)
        for side in ("top", "right", "bottom"):
            axes.spines[side].set_visible(False)
        axes.spines["left"].set_color(INK)

        figure.suptitle(
            textwrap.fill(title, 48, break_long_words=False),
            x=MARGIN_PX / WIDTH_PX,
            ha="left",
            fontsize=_pt(TITLE_PX),
            fontfamily=families,
            color=INK,
        )
        figure.legend(
            handles=[
                Patch(color=THIS_WEEK_COLOUR, label=this_week),
                Patch(color=LAST_WEEK_COLOUR, label=last_week),
            ],
            loc="outside lower left",
            ncols=2,
            frameon=False,
            prop=FontProperties(family=families, size=text_pt),
            labelcolor=INK,
        )

        peak = max(1, *these, *lasts)
        axes.set_xlim(0, peak)
        figure.draw_without_rendering()
        axes.set_xlim(0, _fitting_limit(axes, peak, row_ends))
        # The layout is settled (the texts after the bars stay out of it); freezing it saves savefig a draw.
        figure.set_layout_engine("none")

        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
        return out.getvalue()
    finally:
        figure.clear()


def _count_label(axes: Axes, value: int, y: float, families: list[str], size: float) -> Annotation:
    label = axes.annotate(
        str(value),
        xy=(value, y),
        xytext=(6, 0),
        textcoords="offset points",
        va="center",
        ha="left",
        color=INK,
        fontsize=size,
        fontfamily=families,
        annotation_clip=False,
    )
    # The texts after the bars must not squeeze the axes; the x range makes room for them instead.
    label.set_in_layout(False)
    return label


def _fitting_limit(axes: Axes, peak: int, row_ends: Sequence[tuple[int, Annotation]]) -> float:
    """The smallest x limit at which every bar's trailing texts end inside the axes.

    A text starting at bar value v and w pixels long ends inside an axes W pixels wide when
    v * W / limit + w <= W, that is when limit >= v * W / (W - w).
    """
    width = axes.bbox.width
    renderer = axes.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    limit = float(peak)
    for value, text in row_ends:
        bar_end = axes.transData.transform((value, 0))[0]
        trailing = text.get_window_extent(renderer).x1 - bar_end + 4
        room = max(width - trailing, width * 0.25)
        limit = max(limit, value * width / room)
    return limit
