"""The weekly digest's rules: when each reader's digest is due and under which week, and what it says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from casebot.domain.checklist import ItemStatus
from casebot.domain.digest import (
    LIST_LIMIT,
    CaseDigestFacts,
    DigestSchedule,
    Holder,
    ItemFact,
    Move,
    NextStep,
    OpinionFile,
    QuestionFact,
    StaffDigestBuilder,
    chart_data,
    digest_turn,
    family_digest,
    next_digest_moment,
    next_step,
    staff_digest,
    state_at,
    summarise,
    week_key,
)
from casebot.domain.questions import Direction, Topic
from casebot.domain.reminders import Policy
from casebot.domain.states import CaseState
from casebot.rendering import Renderer
from casebot.rendering.renderer import TELEGRAM_TEXT_LIMIT

# Monday 2026-11-23, 01:00 UTC: 09:00 in Shanghai, 04:00 in Moscow, Sunday 20:00 in New York.
MONDAY = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)
NINE = time(9, 0)
SCHEDULE = DigestSchedule(1, NINE)
POLICY = Policy()


def local(moment: datetime, zone: str) -> datetime:
    return moment.astimezone(ZoneInfo(zone))


@pytest.mark.parametrize(
    ("zone", "expected_utc"),
    [
        ("Asia/Shanghai", datetime(2026, 11, 23, 1, 0, tzinfo=UTC)),  # it is 09:00 there now: now
        ("Europe/Moscow", datetime(2026, 11, 23, 6, 0, tzinfo=UTC)),  # later the same day
        ("America/New_York", datetime(2026, 11, 23, 14, 0, tzinfo=UTC)),  # still Sunday there
        ("Pacific/Auckland", datetime(2026, 11, 29, 20, 0, tzinfo=UTC)),  # Monday 14:00 there: next week
        ("Asia/Kolkata", datetime(2026, 11, 23, 3, 30, tzinfo=UTC)),  # a half-hour zone
    ],
)
def test_the_next_digest_is_the_readers_own_next_monday_nine_oclock(
    zone: str, expected_utc: datetime
) -> None:
    moment = next_digest_moment(MONDAY, zone, 1, NINE)
    assert moment == expected_utc
    assert local(moment, zone).isoweekday() == 1 and local(moment, zone).time() == NINE


def test_the_digest_day_and_hour_are_settings() -> None:
    schedule = DigestSchedule.of(5, "17:30")
    moment = next_digest_moment(MONDAY, "Europe/Berlin", schedule.weekday, schedule.time_of_day)
    assert local(moment, "Europe/Berlin").strftime("%A %H:%M %Y-%m-%d") == "Friday 17:30 2026-11-27"


def test_across_the_spring_change_the_digest_stays_at_nine_local_and_moves_in_utc() -> None:
    # Berlin moves its clocks forward on Sunday 2026-03-29.
    before = next_digest_moment(datetime(2026, 3, 16, 12, tzinfo=UTC), "Europe/Berlin", 1, NINE)
    after = next_digest_moment(before + timedelta(seconds=1), "Europe/Berlin", 1, NINE)
    assert (before.hour, after.hour) == (8, 7)  # 09:00 CET, then 09:00 CEST
    assert local(after, "Europe/Berlin").time() == NINE
    assert after - before == timedelta(days=7, hours=-1)


def test_an_hour_the_clocks_skip_or_repeat_still_gives_one_digest_moment() -> None:
    # Sunday 2026-03-29 02:30 does not exist in Berlin (02:00 -> 03:00); 2026-10-25 02:30 comes twice.
    skipped = next_digest_moment(datetime(2026, 3, 28, tzinfo=UTC), "Europe/Berlin", 7, time(2, 30))
    assert local(skipped, "Europe/Berlin").strftime("%Y-%m-%d %H:%M") == "2026-03-29 03:30"
    twice = next_digest_moment(datetime(2026, 10, 24, tzinfo=UTC), "Europe/Berlin", 7, time(2, 30))
    assert twice == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (still summer time)


def test_the_week_key_is_the_iso_week_of_the_readers_local_date() -> None:
    assert week_key(MONDAY, "Asia/Shanghai") == "2026-W48"
    # Sunday 16:30 UTC is already Monday in Shanghai: a new week there, not in London.
    late_sunday = datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
    assert week_key(late_sunday, "Asia/Shanghai") == "2026-W49"
    assert week_key(late_sunday, "Europe/London") == "2026-W48"
    # 2026 has 53 ISO weeks; the first days of 2027 may belong to it.
    assert week_key(datetime(2026, 12, 28, 12, tzinfo=UTC), "UTC") == "2026-W53"
    assert week_key(datetime(2027, 1, 3, 12, tzinfo=UTC), "UTC") == "2026-W53"
    assert week_key(datetime(2027, 1, 4, 12, tzinfo=UTC), "UTC") == "2027-W01"


def test_a_digest_missed_while_the_bot_was_down_goes_out_later_the_same_week() -> None:
    due = next_digest_moment(MONDAY, "Europe/Moscow", 1, NINE)
    for later in (due, due + timedelta(hours=3), due + 2 * DAY, due + 6 * DAY + timedelta(hours=14)):
        turn = digest_turn(due, later, "Europe/Moscow", SCHEDULE)
        assert turn.send and turn.week == "2026-W48", later
        assert turn.next_at == due + 7 * DAY


def test_a_digest_missed_for_a_whole_week_is_skipped_never_sent_late() -> None:
    due = next_digest_moment(MONDAY, "Europe/Moscow", 1, NINE)
    # Next Monday 08:00 in Moscow: a new local week, before its own digest hour.
    back = due + 7 * DAY - timedelta(hours=1)
    turn = digest_turn(due, back, "Europe/Moscow", SCHEDULE)
    assert not turn.send
    assert turn.next_at == due + 7 * DAY  # this week's comes at its hour, an hour from now
    assert digest_turn(turn.next_at, turn.next_at, "Europe/Moscow", SCHEDULE).week == "2026-W49"


def test_the_next_due_moment_is_always_after_now_so_a_pass_cannot_loop() -> None:
    due = next_digest_moment(MONDAY, "Asia/Shanghai", 1, NINE)
    assert due == MONDAY
    assert digest_turn(due, MONDAY, "Asia/Shanghai", SCHEDULE).next_at == MONDAY + 7 * DAY


# --- content -------------------------------------------------------------------------------------


def case(state: CaseState = CaseState.RECORDS_GATHERING, **kw: object) -> CaseDigestFacts:
    defaults: dict[str, object] = {
        "case_id": 42,
        "state": state,
        "created_at": MONDAY - 30 * DAY,
        "state_changed_at": MONDAY - 20 * DAY,
        "last_activity_at": MONDAY - DAY,
        "members": 1,
    }
    defaults.update(kw)
    return CaseDigestFacts(**defaults)  # type: ignore[arg-type]


def item(
    position: int, status: ItemStatus = ItemStatus.MISSING, title: str = "", arriving: datetime | None = None
) -> ItemFact:
    return ItemFact(position, None, title or f"Item {position}", status, MONDAY - 20 * DAY, arriving)


def to_family(number: int, answered: datetime | None = None) -> QuestionFact:
    return QuestionFact(number, Direction.TO_FAMILY, f"Question {number}?", MONDAY - 5 * DAY, answered)


@pytest.mark.parametrize(
    ("facts", "step", "holder"),
    [
        (case(items=(item(1),)), "send_records", Holder.FAMILY),
        (case(items=(item(1, arriving=MONDAY + 3 * DAY),)), "records_on_their_way", Holder.FAMILY),
        (case(items=()), "send_to_hospital", Holder.COORDINATOR),
        (case(CaseState.SENT), "hospital_accepts", Holder.HOSPITAL),
        (
            case(CaseState.SENT, route_outcome="declined", route_position=1),
            "find_another_hospital",
            Holder.COORDINATOR,
        ),
        (
            case(
                CaseState.UNDER_REVIEW,
                route_outcome="accepted",
                route_position=1,
                route_created_at=MONDAY - 40 * DAY,
            ),
            "hospital_reviews",
            Holder.HOSPITAL,
        ),
        (case(CaseState.UNDER_REVIEW, questions=(to_family(11),)), "answer_questions", Holder.FAMILY),
        (
            case(CaseState.OPINION_RECEIVED, opinions=(OpinionFile("opinion", MONDAY - DAY),)),
            "confirm_opinion",
            Holder.FAMILY,
        ),
        (
            case(
                CaseState.OPINION_RECEIVED,
                opinions=(OpinionFile("opinion", MONDAY - DAY, MONDAY),),
                translation_status="pending",
            ),
            "translate_summary",
            Holder.COORDINATOR,
        ),
        (
            case(CaseState.OPINION_RECEIVED, translation_status="sent"),
            "go_through_opinion",
            Holder.COORDINATOR,
        ),
        (case(CaseState.HOME_FOLLOW_UP), "name_home_doctor", Holder.FAMILY),
        (case(CaseState.HOME_FOLLOW_UP, home_doctor_known=True), "see_home_doctor", Holder.FAMILY),
    ],
)
def test_the_next_step_and_who_holds_it_follow_from_the_state_and_the_facts(
    facts: CaseDigestFacts, step: str, holder: Holder
) -> None:
    assert next_step(facts, MONDAY) == NextStep(step, holder)


def test_closed_and_withdrawn_cases_give_a_family_no_digest() -> None:
    assert (
        family_digest([case(CaseState.CLOSED), case(CaseState.WITHDRAWN, case_id=43)], POLICY, MONDAY, "w")
        is None
    )
    both = family_digest([case(CaseState.CLOSED), case(case_id=43)], POLICY, MONDAY, "w")
    assert both is not None and [c["case_id"] for c in both["cases"]] == [43]


def test_two_cases_make_one_family_digest_covering_both() -> None:
    digest = family_digest([case(case_id=7), case(CaseState.SENT, case_id=3)], POLICY, MONDAY, "2026-W48")
    assert digest is not None
    assert [(c["case_id"], c["state"]) for c in digest["cases"]] == [(3, "sent"), (7, "records_gathering")]


def test_what_changed_this_week_comes_from_this_weeks_facts_only() -> None:
    facts = case(
        items=(
            ItemFact(1, "pathology", "", ItemStatus.RECEIVED, MONDAY - DAY),
            ItemFact(2, None, "Old scan", ItemStatus.WAIVED, MONDAY - 9 * DAY),
            item(3),
        ),
        questions=(
            to_family(11, answered=MONDAY - DAY),
            to_family(12, answered=MONDAY - 8 * DAY),
            to_family(13),
        ),
        moves=(Move(MONDAY - 2 * DAY, CaseState.SENT, CaseState.RECORDS_GATHERING),),
        files_sent=("send", "send", "opinion"),
    )
    one = family_digest([facts], POLICY, MONDAY, "w")
    assert one is not None
    shown = one["cases"][0]
    assert [i["position"] for i in shown["marked"]["shown"]] == [1]  # item 2 was waived last week
    assert [q["number"] for q in shown["answered"]["shown"]] == [11]
    assert shown["moves"]["shown"] == [{"from": "sent", "to": "records_gathering"}]
    assert shown["files"] == [{"purpose": "opinion", "count": 1}, {"purpose": "send", "count": 2}]
    assert [q["number"] for q in shown["to_family"]["shown"]] == [13]


def test_a_case_with_300_items_and_200_questions_is_summarised_with_counts_and_split() -> None:
    facts = case(
        items=tuple(item(n, title=f"A custom record number {n} " + "x" * 150) for n in range(1, 301)),
        questions=tuple(
            QuestionFact(n, Direction.TO_FAMILY, "A long question? " + "y" * 300, MONDAY - DAY)
            for n in range(1, 201)
        ),
    )
    assert summarise(list(range(300))) == (list(range(10)), 290)
    digest = family_digest([facts], POLICY, MONDAY, "2026-W48")
    assert digest is not None
    shown = digest["cases"][0]
    assert (len(shown["missing"]["shown"]), shown["missing"]["more"]) == (10, 290)
    assert (len(shown["to_family"]["shown"]), shown["to_family"]["more"]) == (10, 190)
    assert all(len(q["text"]) <= 200 for q in shown["to_family"]["shown"])
    renderer = Renderer()
    text = renderer.render("en", "notices/digest_family", zone="UTC", **digest)
    assert "… and 290 more" in text and "… and 190 more" in text
    assert "number 11 " not in text  # only the first ten items are listed
    parts = renderer.render_parts("ru", "notices/digest_family", zone="UTC", **digest)
    assert all(len(part) <= TELEGRAM_TEXT_LIMIT for part in parts)
    assert "… и ещё 290" in "\n".join(parts)


def test_last_weeks_state_is_rebuilt_from_this_weeks_moves() -> None:
    week_ago = MONDAY - 7 * DAY
    bounced = case(
        CaseState.SENT,
        moves=(
            Move(MONDAY - 5 * DAY, CaseState.SENT, CaseState.RECORDS_GATHERING),
            Move(MONDAY - 2 * DAY, CaseState.RECORDS_GATHERING, CaseState.SENT),
        ),
    )
    assert state_at(week_ago, bounced) == CaseState.SENT
    assert state_at(week_ago, case(CaseState.UNDER_REVIEW)) == CaseState.UNDER_REVIEW  # no move since
    assert state_at(week_ago, case(created_at=MONDAY - DAY)) is None  # opened this week
    closed = case(
        CaseState.CLOSED, case_id=9, moves=(Move(MONDAY - DAY, CaseState.HOME_FOLLOW_UP, CaseState.CLOSED),)
    )
    digest = staff_digest(
        [bounced, closed, case(case_id=5, created_at=MONDAY - DAY, state_changed_at=MONDAY - DAY)],
        POLICY,
        MONDAY,
        "w",
    )
    assert digest is not None
    assert digest["counts"]["sent"] == 1 and digest["counts"]["records_gathering"] == 1
    assert digest["last_week"] == {
        "records_gathering": 0, "sent": 1, "under_review": 0, "opinion_received": 0, "home_follow_up": 1,
    }  # fmt: skip
    assert {(e["case_id"], e["from"], e["to"]) for e in digest["moved"]["shown"]} == {
        (42, "sent", "sent"),
        (9, "home_follow_up", "closed"),
        (5, None, "records_gathering"),  # opened this week
    }
    data = chart_data(digest)
    assert data.states[0] == "records_gathering" and data.this_week[1] == 1 and data.last_week[4] == 1


def test_the_coordinators_digest_lists_what_the_reminder_policy_calls_overdue() -> None:
    escalated = POLICY.missing_items_every * (POLICY.escalate_after + 1)
    late = case(
        case_id=1,
        records_activity_at=MONDAY - escalated - DAY,
        last_activity_at=MONDAY - POLICY.stale_after - DAY,
        items=(item(1), item(2, arriving=MONDAY + DAY)),  # item 2 is on its way
        questions=(QuestionFact(3, Direction.TO_FAMILY, "", MONDAY - 20 * DAY),),
        blocked_members=1,
    )
    early = case(case_id=2, records_activity_at=MONDAY - escalated + DAY, items=(item(1),))
    digest = staff_digest([late, early], POLICY, MONDAY, "w")
    assert digest is not None
    assert digest["overdue_items"]["shown"] == [{"case_id": 1, "count": 1}]
    assert digest["overdue_questions"]["shown"] == [{"case_id": 1, "numbers": [3], "more": 0}]
    assert [e["case_id"] for e in digest["stale"]["shown"]] == [1]
    assert digest["blocked"]["shown"] == [{"case_id": 1, "members": 1}]
    assert digest["overdue"]["records_gathering"] == 1


def test_sla_breaches_concerns_and_opinions_reach_the_coordinators_digest() -> None:
    reviewing = case(
        CaseState.UNDER_REVIEW,
        case_id=4,
        state_changed_at=MONDAY - 30 * DAY,
        route_outcome="accepted",
        route_position=1,
        route_created_at=MONDAY - 40 * DAY,
        hospital_set_at=MONDAY - 40 * DAY,
        questions=(
            QuestionFact(2, Direction.TO_HOSPITAL, "", MONDAY - 20 * DAY),
            QuestionFact(
                1,
                Direction.TO_HOSPITAL,
                "",
                MONDAY - 40 * DAY,
                MONDAY - 35 * DAY,
                topic=Topic.CANDIDACY_BEFORE_DEPOSIT,
                verdict="concern",
            ),
        ),
    )
    opinion = case(
        CaseState.OPINION_RECEIVED,
        case_id=6,
        opinions=(OpinionFile("opinion", MONDAY - DAY),),
        translation_status="pending",
    )
    digest = staff_digest([reviewing, opinion], POLICY, MONDAY, "w")
    assert digest is not None
    assert [e["case_id"] for e in digest["review_overdue"]["shown"]] == [4]
    assert digest["hospital_late"]["shown"] == [{"case_id": 4, "numbers": [2], "more": 0}]
    assert digest["concerns"]["shown"] == [{"case_id": 4, "flags": ["eligibility_unclear"]}]
    assert digest["unconfirmed"]["shown"] == [{"case_id": 6}] == digest["untranslated"]["shown"]


def test_long_lists_in_the_coordinators_digest_show_ten_and_count_the_rest() -> None:
    stale = [case(case_id=n, last_activity_at=MONDAY - 30 * DAY) for n in range(1, 26)]
    digest = staff_digest(stale, POLICY, MONDAY, "w")
    assert digest is not None
    assert [e["case_id"] for e in digest["stale"]["shown"]] == list(range(1, 11))
    assert digest["stale"]["more"] == 15
    text = Renderer().render("zh", "notices/digest_staff", zone="UTC", **digest)
    assert "/case_C0010" in text and "/case_C0011" not in text and "另有 15 个病例" in text


def test_a_coordinator_with_thousands_of_cases_still_sees_the_first_ten_and_the_right_count() -> None:
    # Taken in out of order (a whole service's cases come in chunks; a caller may not sort them).
    ids = [(n * 7919) % 1000 + 1 for n in range(1000)]
    assert sorted(ids) == list(range(1, 1001))
    builder = StaffDigestBuilder(POLICY, MONDAY)
    for n in ids:
        builder.add(case(case_id=n, last_activity_at=MONDAY - 30 * DAY))
    digest = builder.payload("w")
    assert digest is not None
    assert [e["case_id"] for e in digest["stale"]["shown"]] == list(range(1, 11))
    assert digest["stale"]["more"] == 990
    assert digest["total"] == 1000 == builder.open_cases
    # It holds a few lists' worth of entries, not one per case.
    assert max(len(entries) for entries in builder.lists.values()) < 4 * LIST_LIMIT


def test_a_coordinators_digest_carries_no_titles_or_question_texts() -> None:
    facts = case(
        items=(item(1, title="SECRET-TITLE"),),
        questions=(QuestionFact(1, Direction.TO_FAMILY, "SECRET-QUESTION", MONDAY - 20 * DAY),),
        last_activity_at=MONDAY - 30 * DAY,
    )
    staff = json.dumps(staff_digest([facts], POLICY, MONDAY, "w"))
    assert "SECRET" not in staff
    family = json.dumps(family_digest([facts], POLICY, MONDAY, "w"))
    assert "SECRET-TITLE" in family and "SECRET-QUESTION" in family
