"""The client-side limiter on a clock the test moves: what may be sent, to whom, and when."""

from __future__ import annotations

import pytest

from casebot.config import Settings
from casebot.delivery.limiter import Permit, SendLimiter, SendLimits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, **limits: float) -> SendLimiter:
    return SendLimiter(SendLimits(**limits), monotonic=clock)


def test_a_second_message_to_a_chat_waits_for_the_first_answer_and_then_the_interval() -> None:
    clock = Clock()
    limits = limiter(clock)
    first = limits.acquire(42)

    assert limits.delay(42) is None  # in flight: never two to one chat at once
    clock.now += 0.05
    limits.release(first)
    assert limits.delay(42) == pytest.approx(1.0)  # one second after the answer
    clock.now += 1.0
    assert limits.delay(42) == 0.0


def test_other_chats_are_not_held_up_by_a_busy_one() -> None:
    clock = Clock()
    limits = limiter(clock, rate=30)
    limits.acquire(42)
    clock.now += 1 / 30
    assert limits.delay(43) == 0.0


def test_no_more_than_the_rate_go_out_in_any_second_counting_until_a_second_after_each_answer() -> None:
    clock = Clock()
    limits = limiter(clock, rate=30)
    sent = 0
    while sent < 30:
        wait = limits.delay(1000 + sent)
        assert wait is not None
        clock.now += wait
        limits.release(limits.acquire(1000 + sent))
        sent += 1
    # Thirty answered within the last second: the next waits for the oldest to be a second old.
    first_answer = 100.0
    assert limits.delay(2000) == pytest.approx(first_answer + 1.0 - clock.now)


def test_a_group_gets_twenty_messages_a_minute() -> None:
    clock = Clock()
    limits = limiter(clock, rate=30, per_chat_interval=1.0, group_per_minute=20)
    for _ in range(20):
        wait = limits.delay(-500)
        assert wait is not None
        clock.now += wait
        limits.release(limits.acquire(-500))
    assert limits.delay(-500) == pytest.approx(100.0 + 60.0 - clock.now)
    assert limits.delay(-501) == 0.0  # another group is not affected


def test_a_429_pauses_every_chat_for_the_time_telegram_gave() -> None:
    clock = Clock()
    limits = limiter(clock)
    limits.pause(5)
    assert limits.delay(1) == pytest.approx(5.0)
    assert limits.delay(-2) == pytest.approx(5.0)
    clock.now += 5
    assert limits.delay(1) == 0.0


def test_a_request_that_never_left_does_not_count() -> None:
    clock = Clock()
    limits = limiter(clock)
    permit = limits.try_acquire(7)
    assert isinstance(permit, Permit)
    limits.release(permit, reached_telegram=False)
    clock.now += 1
    assert limits.delay(7) == 0.0


def test_the_limits_come_from_the_settings() -> None:
    settings = Settings(
        send_rate=25, send_per_chat_interval="2s", send_group_per_minute=10, send_concurrency=4
    )
    assert SendLimits.from_settings(settings) == SendLimits(
        rate=25, per_chat_interval=2.0, group_per_minute=10, concurrency=4
    )
