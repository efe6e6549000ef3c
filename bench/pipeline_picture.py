"""Time to draw the weekly pipeline picture, and its size, over 50 pictures in turn in English, Russian and Chinese.

    python bench/pipeline_picture.py [--pictures 50]

Wall-clock and CPU time are both printed. The first picture also pays for importing Pillow and loading the Chinese font; it is
reported on its own and left out of the mean and p95.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from casebot.rendering.pipeline_chart import ChartRow, pipeline_png

LOCALES: dict[str, tuple[list[str], str, str, str, Callable[[int], str]]] = {
    "en": (
        [
            "gathering records",
            "sent to the hospital",
            "under review",
            "opinion received",
            "home follow-up",
            "closed",
            "withdrawn",
        ],
        "Pipeline, week of 23 November 2026",
        "This week",
        "Last week",
        lambda n: f"{n} overdue",
    ),
    "ru": (
        [
            "сбор документов",
            "отправлен в больницу",
            "на рассмотрении",
            "заключение получено",
            "наблюдение дома",
            "закрыт",
            "отозван",
        ],
        "Дела по этапам, неделя с 23 ноября 2026 г.",
        "Эта неделя",
        "Прошлая неделя",
        lambda n: f"просрочено: {n}",
    ),
    "zh": (
        ["正在收集病历资料", "已发送至医院", "医院审阅中", "已收到诊疗意见", "当地随访", "已结案", "已撤回"],
        "病例进度：2026年11月23日这一周",
        "本周",
        "上周",
        lambda n: f"逾期 {n} 件",
    ),
}


def draw(locale: str, rng: random.Random) -> bytes:
    names, title, this_week, last_week, overdue = LOCALES[locale]
    rows = [
        ChartRow(name, rng.randint(0, 40), rng.randint(0, 40), rng.choice([0, 0, 1, 2, 5])) for name in names
    ]
    return pipeline_png(rows, title=title, this_week=this_week, last_week=last_week, overdue=overdue)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pictures", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(7)
    locales = list(LOCALES)

    started = time.perf_counter()
    first = draw(locales[0], rng)
    print(f"first picture (imports Pillow, loads the font): {(time.perf_counter() - started) * 1000:.0f} ms")

    times: list[float] = []
    cpu_times: list[float] = []
    sizes: list[int] = [len(first)]
    for n in range(1, args.pictures):
        started, cpu_started = time.perf_counter(), time.process_time()
        sizes.append(len(draw(locales[n % len(locales)], rng)))
        times.append((time.perf_counter() - started) * 1000)
        cpu_times.append((time.process_time() - cpu_started) * 1000)

    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    print(f"pictures: {args.pictures} (alternating {', '.join(locales)})")
    print(f"time per picture: mean {statistics.mean(times):.1f} ms, p95 {p95:.1f} ms")
    # CPU time too: on a shared machine the wall clock also counts other processes' turns.
    print(f"CPU time per picture: mean {statistics.mean(cpu_times):.1f} ms")
    print(
        f"PNG size: mean {statistics.mean(sizes) / 1024:.1f} KiB, "
        f"min {min(sizes) / 1024:.1f} KiB, max {max(sizes) / 1024:.1f} KiB"
    )


if __name__ == "__main__":
    main()
