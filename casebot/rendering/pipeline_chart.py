"""The picture sent with a coordinator's weekly digest: cases per state, this week against last, as a PNG.

Drawn with Pillow alone: its import, two font sizes and 50 pictures add about 26 MB to the process,
where matplotlib and numpy added about 100 MB. Pillow is imported on the first picture, not with this module.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.ImageDraw import ImageDraw
    from PIL.ImageFont import FreeTypeFont

log = logging.getLogger("casebot.picture")

# Noto Sans SC (SIL OFL 1.1) from the pinned pylopdf-fonts-zh-cn wheel: 17 MB, where mplfonts is 85 MB and
# also carries SimHei, whose licence does not allow us to redistribute it. It has the simplified Han forms
# and Latin and Cyrillic glyphs too, so one face draws all three locales.
CJK_FONT_PACKAGE = "pylopdf_fonts_zh_cn"
CJK_FONT_FILE = "NotoSansSC-Regular.otf"

WIDTH_PX = 800
ROW_PX = 76
# The title, the legend and the margins.
FRAME_PX = 190
MIN_HEIGHT_PX = 400
MAX_HEIGHT_PX = 1000
# Telegram shows a photo at most a phone's width, about 400 points; at half size these stay legible.
TITLE_PX = 26
TEXT_PX = 19
MARGIN_PX = 14
# A state's name wraps to lines no wider than this, right-aligned against the axis.
LABEL_MAX_PX = 240
LABEL_PAD_PX = 10
# Each bar is this share of its state's row, and no thicker than BAR_MAX_PX.
BAR_SHARE = 0.38
BAR_MAX_PX = 36
COUNT_GAP_PX = 6
OVERDUE_GAP_PX = 16
TITLE_GAP_PX = 22
LEGEND_GAP_PX = 30
SWATCH_PX = (38, 14)
SWATCH_GAP_PX = 10
LEGEND_ENTRY_GAP_PX = 40
# Line steps of wrapped text, as a share of the type size.
LINE_SPACING = 1.25

THIS_WEEK_COLOUR = "#0B3C6E"
LAST_WEEK_COLOUR = "#7393B3"
OVERDUE_COLOUR = "#B00020"
INK = "#111111"
BACKGROUND = "#FFFFFF"

# A codepoint no font maps (the last private-use one of plane 16): it draws the font's .notdef glyph.
_SURELY_MISSING = "\U0010fffd"

_font_lock = threading.Lock()
_fonts: dict[int, FreeTypeFont] = {}
_notdef: list[tuple[object, ...]] = []
_glyph_known: dict[str, bool] = {}


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


def _font(size: int) -> FreeTypeFont:
    """Noto Sans SC at ``size`` pixels, loaded once per process and size; FreeType reads the file as
    it needs glyphs, and nothing is written to disk. Font objects are safe to share between threads
    (Pillow renders glyphs under the GIL, or a per-font critical section when free-threaded)."""
    font = _fonts.get(size)
    if font is not None:
        return font
    with _font_lock:
        font = _fonts.get(size)
        if font is None:
            from PIL import ImageFont

            # The basic layout: the same bytes wherever the bot runs, with or without libraqm.
            font = ImageFont.truetype(cjk_font_path(), size, layout_engine=ImageFont.Layout.BASIC)
            _fonts[size] = font
        return font


def _glyph_signature(font: FreeTypeFont, char: str) -> tuple[object, ...]:
    """What ``char`` draws as: its box, its advance and its pixels."""
    from PIL import Image, ImageDraw

    box = font.getbbox(char)
    image = Image.new("L", (max(1, math.ceil(box[2])), max(1, math.ceil(box[3]))))
    ImageDraw.Draw(image).text((0, 0), char, fill=255, font=font)
    return (box, font.getlength(char), image.tobytes())


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text`` the font has no glyph for (each once, in order): FreeType would
    draw them as the font's .notdef box. Whitespace is never counted."""
    font = _font(TEXT_PX)
    if not _notdef:
        with _font_lock:
            if not _notdef:
                _notdef.append(_glyph_signature(font, _SURELY_MISSING))
    missing: list[str] = []
    for char in dict.fromkeys(text):
        if char.isspace():
            continue
        known = _glyph_known.get(char)
        if known is None:
            known = _glyph_signature(font, char) != _notdef[0]
            _glyph_known[char] = known
        if not known:
            missing.append(char)
    return missing


def _height_px(rows: int) -> int:
    return max(MIN_HEIGHT_PX, min(MAX_HEIGHT_PX, FRAME_PX + ROW_PX * rows))


def _width(font: FreeTypeFont, text: str) -> int:
    """How far ``text`` reaches to the right of where it starts: its advance or its ink, whichever is further."""
    if not text:
        return 0
    return math.ceil(max(font.getlength(text), font.getbbox(text)[2]))


def _wrap(text: str, font: FreeTypeFont, max_px: int) -> list[str]:
    """Break ``text`` into lines no wider than ``max_px``: at spaces, and inside a word (a Chinese
    phrase has no spaces) only when the word alone is too wide."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            joined = f"{line} {word}" if line else word
            if font.getlength(joined) <= max_px:
                line = joined
                continue
            if line:
                lines.append(line)
            rest = word
            while len(rest) > 1 and font.getlength(rest) > max_px:
                cut = 1
                while cut < len(rest) - 1 and font.getlength(rest[: cut + 1]) <= max_px:
                    cut += 1
                lines.append(rest[:cut])
                rest = rest[cut:]
            line = rest
        lines.append(line)
    return lines


def _warn_missing_glyphs(texts: Sequence[str]) -> None:
    lacking = missing_glyphs("".join(texts))
    if lacking:
        # Never the texts themselves (they may name a patient's state): only which characters.
        log.warning(
            "the pipeline picture lacks glyphs for %d characters: %s",
            len(lacking),
            ", ".join(f"U+{ord(char):04X}" for char in lacking),
        )


def _title(draw: ImageDraw, title: str) -> int:
    """Draw the title, wrapped to the width, at the top; the y where the bars' area may start."""
    font = _font(TITLE_PX)
    lines = _wrap(title, font, WIDTH_PX - 2 * MARGIN_PX)
    step = round(TITLE_PX * LINE_SPACING)
    for i, line in enumerate(lines):
        draw.text((MARGIN_PX, MARGIN_PX + i * step), line, fill=INK, font=font, anchor="la")
    ascent, descent = font.getmetrics()
    return MARGIN_PX + (len(lines) - 1) * step + ascent + descent + TITLE_GAP_PX


def _legend(draw: ImageDraw, height: int, this_week: str, last_week: str) -> int:
    """Draw the legend along the bottom (a swatch and its words, this week then last week); the y
    where the bars' area must end."""
    font = _font(TEXT_PX)
    half = max(SWATCH_PX[1], TEXT_PX) // 2
    centre = height - MARGIN_PX - half - 4
    x = MARGIN_PX
    for colour, words in ((THIS_WEEK_COLOUR, this_week), (LAST_WEEK_COLOUR, last_week)):
        top = centre - SWATCH_PX[1] // 2
        draw.rectangle((x, top, x + SWATCH_PX[0] - 1, top + SWATCH_PX[1] - 1), fill=colour)
        x += SWATCH_PX[0] + SWATCH_GAP_PX
        draw.text((x, centre), words, fill=INK, font=font, anchor="lm")
        x += _width(font, words) + LEGEND_ENTRY_GAP_PX
    return centre - half - LEGEND_GAP_PX


def _scale(rows: Sequence[ChartRow], late_texts: Sequence[str], room: int) -> float:
    """Pixels per case: the most at which every bar's trailing texts still end inside ``room``.

    A text w pixels long after a bar of v cases ends inside when v * scale + w <= room.
    """
    font = _font(TEXT_PX)
    scale = room / max(1, *(row.this_week for row in rows), *(row.last_week for row in rows))
    for row, late in zip(rows, late_texts, strict=True):
        trailing_this = COUNT_GAP_PX + _width(font, str(row.this_week))
        if late:
            trailing_this += OVERDUE_GAP_PX + _width(font, late)
        trailing_last = COUNT_GAP_PX + _width(font, str(row.last_week))
        for value, trailing in ((row.this_week, trailing_this), (row.last_week, trailing_last)):
            if value > 0:
                # One pixel for rounding; and the bars keep at least a quarter of the room.
                scale = min(scale, max(room - trailing - 1, room / 4) / value)
    return scale


def _bar(draw: ImageDraw, value: int, colour: str, *, x: int, top: int, thickness: int, scale: float) -> int:
    """Draw one bar from ``x`` and its count after it; where the count ends."""
    font = _font(TEXT_PX)
    length = max(1, round(value * scale)) if value > 0 else 0
    if length:
        draw.rectangle((x, top, x + length - 1, top + thickness - 1), fill=colour)
    count_x = x + length + COUNT_GAP_PX
    draw.text((count_x, top + thickness / 2), str(value), fill=INK, font=font, anchor="lm")
    return count_x + _width(font, str(value))


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

    Every text comes in already localized. Pure and safe to call from several threads, but it takes
    a few milliseconds (the first call also imports Pillow and loads the font): from async code, run
    it in a thread.
    """
    if not rows:
        raise ValueError("the pipeline picture needs at least one state")
    from PIL import Image, ImageDraw

    font = _font(TEXT_PX)
    late_texts = [overdue(row.overdue) if row.overdue > 0 else "" for row in rows]
    _warn_missing_glyphs([title, this_week, last_week, *(row.label for row in rows), *late_texts])

    height = _height_px(len(rows))
    image = Image.new("RGB", (WIDTH_PX, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    plot_top = _title(draw, title)
    plot_bottom = _legend(draw, height, this_week, last_week)

    # The state names on the left, right-aligned against the axis; the bars start right of it.
    labels = [_wrap(row.label, font, LABEL_MAX_PX) for row in rows]
    axis_x = MARGIN_PX + max(_width(font, line) for lines in labels for line in lines) + LABEL_PAD_PX
    bars_x = axis_x + 1
    scale = _scale(rows, late_texts, WIDTH_PX - MARGIN_PX - bars_x)

    slot = (plot_bottom - plot_top) / len(rows)
    thickness = max(1, min(BAR_MAX_PX, round(slot * BAR_SHARE)))
    step = round(TEXT_PX * LINE_SPACING)
    for i, (row, lines, late) in enumerate(zip(rows, labels, late_texts, strict=True)):
        centre = round(plot_top + slot * (i + 0.5))
        first = centre - step * (len(lines) - 1) / 2
        for j, line in enumerate(lines):
            draw.text(
                (axis_x - LABEL_PAD_PX, round(first + j * step)), line, fill=INK, font=font, anchor="rm"
            )
        count_end = _bar(
            draw,
            row.this_week,
            THIS_WEEK_COLOUR,
            x=bars_x,
            top=centre - thickness,
            thickness=thickness,
            scale=scale,
        )
        if late:
            draw.text(
                (count_end + OVERDUE_GAP_PX, centre - thickness / 2),
                late,
                fill=OVERDUE_COLOUR,
                font=font,
                anchor="lm",
            )
        _bar(draw, row.last_week, LAST_WEEK_COLOUR, x=bars_x, top=centre, thickness=thickness, scale=scale)
    draw.line((axis_x, plot_top, axis_x, plot_bottom), fill=INK, width=1)

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
