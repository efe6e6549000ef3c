"""The weekly pipeline picture: a phone-sized PNG whose labels draw in English, Russian and Chinese."""

from __future__ import annotations

import io
import logging
import struct
import subprocess
import sys
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


def chart_texts(locale: str) -> list[str]:
    """Every text the bot puts in the picture, from the locale's templates, and the test's own words."""
    renderer = Renderer()
    late = [renderer.label(locale, "chart_overdue", count=n) for n in (1, 2, 17)]
    own = WORDS[locale]
    return [
        *state_names(locale),
        *(renderer.label(locale, key) for key in ("chart_title", "chart_this_week", "chart_last_week")),
        *late,
        str(own["title"]),
        str(own["this_week"]),
        str(own["last_week"]),
        own["overdue"](3),  # type: ignore[operator]
    ]


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
def test_every_label_draws_without_a_missing_glyph(locale: str, caplog: pytest.LogCaptureFixture) -> None:
    texts = chart_texts(locale)
    assert {text: pipeline_chart.missing_glyphs(text) for text in texts} == {text: [] for text in texts}
    with caplog.at_level(logging.WARNING, logger="casebot.picture"):
        render(locale)
    assert not [r for r in caplog.records if r.name == "casebot.picture"]


def test_a_character_the_font_lacks_is_reported_and_logged_without_the_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # What the test above would catch: an emoji, a private-use character, a zero-width space.
    assert pipeline_chart.missing_glyphs("Sent \U0001f600 \U0010fffd \ue000x\u200b") == [
        "\U0001f600",
        "\U0010fffd",
        "\ue000",
        "\u200b",
    ]
    # Letters of all three scripts and the Chinese punctuation are there; whitespace is never counted.
    assert pipeline_chart.missing_glyphs("Aя中：\n\t 逾期") == []
    rows = [ChartRow("Under review \U0001f600 secret-name", 3, 2, 1)]
    with caplog.at_level(logging.WARNING, logger="casebot.picture"):
        data = pipeline_png(rows, title="Cases", this_week="This", last_week="Last", overdue=str)
    assert png_size(data)[0] == 800
    (record,) = [r for r in caplog.records if r.name == "casebot.picture"]
    assert record.levelno == logging.WARNING
    assert "U+1F600" in record.getMessage()
    assert "secret-name" not in record.getMessage() and "Under review" not in record.getMessage()


def test_the_font_is_noto_sans_sc_from_its_pip_package() -> None:
    path = Path(pipeline_chart.cjk_font_path())
    assert path.is_file()
    assert path.name == pipeline_chart.CJK_FONT_FILE
    assert path.parent.name == pipeline_chart.CJK_FONT_PACKAGE == "pylopdf_fonts_zh_cn"
    assert "site-packages" in path.parts
    font = pipeline_chart._font(pipeline_chart.TEXT_PX)
    assert Path(str(font.path)) == path
    assert font.getname() == ("Noto Sans SC", "Regular")
    # Loaded once per process and size.
    assert pipeline_chart._font(pipeline_chart.TEXT_PX) is font


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


def test_importing_the_module_imports_neither_matplotlib_nor_pillow() -> None:
    code = (
        "import sys, casebot.rendering.pipeline_chart; "
        "print(sorted(m for m in ('matplotlib', 'numpy', 'PIL') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
