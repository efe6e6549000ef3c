"""The weekly pipeline picture: a phone-sized PNG whose labels draw in English, Russian and Chinese."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from casebot.domain.states import CaseState
from casebot.rendering import Renderer, pipeline_chart
from casebot.rendering.pipeline_chart import ChartRow, pipeline_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
COUNTS = [(12, 9, 3), (4, 6, 0), (7, 5, 2), (3, 2, 0), (10, 11, 1), (2, 1, 0), (0, 1, 0)]

WORDS: dict[str, dict[str, str | Callable[[int], str]]] = {
    "en": {
        "title": "Pipeline, week of 23 November 2026",
        "this_week": "This week",
        "last_week": "Last week",
        "overdue": lambda n: f"{n} overdue",
    },
    "ru": {
        "title": "Дела по этапам, неделя с 23 ноября 2026 г.",
        "this_week": "Эта неделя",
        "last_week": "Прошлая неделя",
        "overdue": lambda n: f"просрочено: {n}",
    },
    "zh": {
        "title": "病例进度：2026年11月23日这一周",
        "this_week": "本周",
        "last_week": "上周",
        "overdue": lambda n: f"逾期 {n} 件",
    },
}


def state_names(locale: str) -> list[str]:
    """The state names the bot itself shows, from the locale's templates."""
    template = Renderer().env.from_string(
        '{% import "' + locale + '/_macros.j2" as m with context %}{{ m.state(s) }}'
    )
    return [template.render(s=state.value, locale=locale) for state in CaseState]


def rows_for(locale: str, counts: list[tuple[int, int, int]] = COUNTS) -> list[ChartRow]:
    return [ChartRow(name, *numbers) for name, numbers in zip(state_names(locale), counts, strict=True)]


def render(locale: str, rows: list[ChartRow] | None = None) -> bytes:
    words = WORDS[locale]
    return pipeline_png(
        rows_for(locale) if rows is None else rows,
        title=str(words["title"]),
        this_week=str(words["this_week"]),
        last_week=str(words["last_week"]),
        overdue=words["overdue"],  # type: ignore[arg-type]
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    assert (length, kind) == (13, b"IHDR")
    return width, height


def missing_glyphs(draw: Callable[[], bytes]) -> list[str]:
    """The missing-glyph warnings matplotlib raises while drawing (it warns; it does not only log)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def red_pixels(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as image:
        raw = image.convert("RGB").tobytes()
    return sum(
        1 for r, g, b in zip(raw[0::3], raw[1::3], raw[2::3], strict=True) if r > 140 and g < 70 and b < 90
    )


def longest_run(data: bytes, colour: str) -> int:
    """The longest horizontal stretch of one exact colour: the length of the longest bar drawn in it."""
    wanted = bytes.fromhex(colour.removeprefix("#"))
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        raw, width = rgb.tobytes(), rgb.width
    best = 0
    for y in range(rgb.height):
        run = 0
        for x in range(width):
            offset = (y * width + x) * 3
            run = run + 1 if raw[offset : offset + 3] == wanted else 0
            best = max(best, run)
    return best


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
def test_the_picture_is_a_png_no_wider_than_a_phone_wants(locale: str) -> None:
    width, height = png_size(render(locale))
    assert width == 800
    assert 400 <= height <= 1000


@pytest.mark.parametrize("locale", ["en", "ru", "zh"])
def test_every_label_draws_without_a_missing_glyph(locale: str) -> None:
    assert missing_glyphs(lambda: render(locale)) == []


def test_the_chinese_labels_need_the_packaged_font(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without Noto Sans SC, matplotlib falls back to DejaVu Sans and warns for every Han character:
    # this is what the test above would catch if the font were not loaded.
    monkeypatch.setattr(pipeline_chart, "FONT_FAMILIES", ("DejaVu Sans",))
    warned = missing_glyphs(lambda: render("zh"))
    assert any("DejaVu Sans" in message for message in warned)


def test_matplotlib_finds_noto_sans_sc_in_its_pip_package() -> None:
    from matplotlib.font_manager import FontProperties, findfont

    pipeline_chart.register_fonts()
    found = findfont(FontProperties(family="Noto Sans SC"), fallback_to_default=False)
    assert Path(found) == Path(pipeline_chart.cjk_font_path())
    assert "site-packages" in Path(found).parts or "pylopdf_fonts_zh_cn" in Path(found).parts


def test_the_picture_follows_the_numbers() -> None:
    first = render("en")
    assert render("en") == first
    more = [(n + 1, last, late) for n, last, late in COUNTS]
    assert render("en", rows_for("en", more)) != first
    assert render("en", rows_for("en", [(n, last, 0) for n, last, _ in COUNTS])) != first


def test_bar_lengths_follow_the_counts() -> None:
    data = render("en", [ChartRow("Under review", 10, 5, 0)])
    this_week = longest_run(data, pipeline_chart.THIS_WEEK_COLOUR)
    last_week = longest_run(data, pipeline_chart.LAST_WEEK_COLOUR)
    assert this_week > 200
    assert this_week / last_week == pytest.approx(2, rel=0.03)


def test_overdue_cases_show_in_red_and_only_when_there_are_some() -> None:
    calm = render("en", rows_for("en", [(n, last, 0) for n, last, _ in COUNTS]))
    assert red_pixels(calm) == 0
    assert red_pixels(render("en")) > 200


def test_a_week_without_cases_still_draws() -> None:
    empty = [(0, 0, 0)] * len(COUNTS)
    for locale in ("en", "ru", "zh"):
        data = render(locale, rows_for(locale, empty))
        assert png_size(data)[0] == 800
        assert red_pixels(data) == 0


def test_long_labels_and_large_counts_stay_inside_800_px() -> None:
    rows = [
        ChartRow("Records gathering, translation and a second pathology review", 340, 290, 41),
        ChartRow("Sent", 4, 311, 120),
    ]
    data = pipeline_png(
        rows,
        title="Pipeline for the whole coordination team, week of 23 November 2026",
        this_week="This week",
        last_week="Last week",
        overdue=lambda n: f"{n} overdue by more than a week",
    )
    assert png_size(data)[0] == 800
    with Image.open(io.BytesIO(data)) as image:
        rgb = image.convert("RGB")
        # The rightmost column stays white: the red overdue text was not cut off at the edge.
        assert {rgb.getpixel((799, y)) for y in range(rgb.height)} == {(255, 255, 255)}


def test_a_state_list_is_required_and_counts_cannot_be_negative() -> None:
    with pytest.raises(ValueError):
        render("en", [])
    with pytest.raises(ValueError):
        ChartRow("Sent", -1, 0, 0)


def test_threads_draw_the_same_picture_as_one_thread() -> None:
    alone = {locale: render(locale) for locale in ("en", "ru", "zh")}
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = dict(zip(alone, pool.map(render, alone), strict=True))
    assert together == alone


def test_importing_the_module_does_not_import_matplotlib() -> None:
    code = "import sys, casebot.rendering.pipeline_chart; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
