"""The hospital's answer and the review's clock, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from casebot.domain.calendar import HOSPITAL_ZONE, BusinessCalendar
from casebot.domain.outcomes import (
    Outcome,
    OutcomeNotFitting,
    check_outcome,
    fitting_outcomes,
    is_repeat,
    parse_outcome,
    parse_turnaround,
    parse_turnaround_part,
    review_due_at,
    review_running,
    review_started_at,
    target_state,
)
from casebot.domain.reminders import CaseFacts, OpenQuestion, Policy, due_reminders, upcoming
from casebot.domain.states import CaseState

S = CaseState
Oc = Outcome
# Monday 2026-11-23, 10:00 in Shanghai.
MONDAY = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
CHINA = BusinessCalendar(HOSPITAL_ZONE, official=True)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("7 business days", 7),
        ("Usually 5-7 days once complete", 7),
        ("5–7 working days", 7),
        ("обычно 7 рабочих дней", 7),
        ("5-7 рабочих дней", 7),
        ("一般7个工作日", 7),
        ("5到7个工作日", 7),
        ("about 2 weeks", 10),
        ("7bd", 7),
        ("ok 10 business days after the file is complete", 10),
    ],
)
def test_a_stated_turnaround_is_read_in_each_language(text: str, days: int) -> None:
    assert parse_turnaround(text) == days


@pytest.mark.parametrize("text", ["soon", "ok", "within 500 days", "0 days", "", "Dr 7"])
def test_an_answer_without_a_usable_number_of_days_states_no_turnaround(text: str) -> None:
    assert parse_turnaround(text) is None


def test_a_hospital_part_is_a_turnaround_only_when_it_is_nothing_else() -> None:
    assert parse_turnaround_part("7bd") == 7
    assert parse_turnaround_part(" 10 business days ") == 10
    assert parse_turnaround_part("Dr Li") is None
    assert parse_turnaround_part("Dr 7bd") is None
    assert parse_turnaround_part("0bd") is None


def test_outcomes_are_read_as_typed() -> None:
    assert parse_outcome("Accepted") == Oc.ACCEPTED
    assert parse_outcome("needs-more") == Oc.NEEDS_MORE
    assert parse_outcome("reroute") == Oc.REROUTED
    assert parse_outcome("declined") == Oc.DECLINED
    assert parse_outcome("maybe") is None


def test_declined_before_sending_is_refused_and_names_what_fits() -> None:
    with pytest.raises(OutcomeNotFitting) as refused:
        check_outcome("C-0001", Oc.DECLINED, S.RECORDS_GATHERING, None, routed=True)
    assert "not been sent the records yet" in refused.value.message
    assert "Outcomes that fit now: none" in refused.value.message
    with pytest.raises(OutcomeNotFitting) as after_answer:
        check_outcome("C-0001", Oc.DECLINED, S.RECORDS_GATHERING, Oc.NEEDS_MORE, routed=True)
    assert after_answer.value.fitting == ("rerouted",)
    assert "fit now: reroute" in after_answer.value.message


@pytest.mark.parametrize("state", [S.OPINION_RECEIVED, S.HOME_FOLLOW_UP, S.CLOSED, S.WITHDRAWN])
def test_no_outcome_fits_once_the_review_is_over(state: CaseState) -> None:
    assert fitting_outcomes(state, Oc.ACCEPTED, routed=True) == ()


def test_a_case_with_no_hospital_takes_no_outcome() -> None:
    assert fitting_outcomes(S.SENT, None, routed=False) == ()


def test_every_answer_fits_while_the_hospital_holds_the_packet() -> None:
    for state in (S.SENT, S.UNDER_REVIEW):
        assert set(fitting_outcomes(state, None, routed=True)) == set(Outcome)


def test_the_same_answer_twice_is_a_repeat_and_a_new_one_is_not() -> None:
    assert is_repeat(Oc.ACCEPTED, S.UNDER_REVIEW, Oc.ACCEPTED)
    assert is_repeat(Oc.NEEDS_MORE, S.RECORDS_GATHERING, Oc.NEEDS_MORE)
    assert is_repeat(Oc.DECLINED, S.SENT, Oc.DECLINED)
    assert not is_repeat(Oc.NEEDS_MORE, S.SENT, Oc.NEEDS_MORE), "asked again after re-sending"
    assert not is_repeat(Oc.REROUTED, S.SENT, Oc.REROUTED)
    assert not is_repeat(Oc.ACCEPTED, S.UNDER_REVIEW, Oc.DECLINED)


def test_what_each_answer_does_to_the_state() -> None:
    assert target_state(Oc.ACCEPTED, S.SENT) == S.UNDER_REVIEW
    assert target_state(Oc.ACCEPTED, S.UNDER_REVIEW) is None
    assert target_state(Oc.NEEDS_MORE, S.UNDER_REVIEW) == S.RECORDS_GATHERING
    assert target_state(Oc.DECLINED, S.SENT) is None


def test_the_expected_date_counts_chinas_business_days() -> None:
    # 2026-09-30 (Wednesday) + 3 business days: China's National Day week is off, so it lands
    # after the holiday, not on Monday 5 October.
    start = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    due = review_due_at(start, 3, CHINA, now=start)
    plain = review_due_at(start, 3, BusinessCalendar(HOSPITAL_ZONE), now=start)
    assert plain.date().isoformat() == "2026-10-05"
    assert due > plain


def test_waiting_on_the_family_moves_the_expected_date() -> None:
    due = review_due_at(MONDAY, 5, CHINA, now=MONDAY)
    assert due == MONDAY + timedelta(days=7)  # the next Monday
    asked, answered = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3)  # Tue → Thu
    later = review_due_at(MONDAY, 5, CHINA, family_waits=[(asked, answered)], now=answered)
    assert later == MONDAY + timedelta(days=9), "two business days waiting on the family"
    still_open = review_due_at(MONDAY, 5, CHINA, open_since=[asked], now=answered)
    assert still_open == later


def test_two_questions_open_at_once_are_one_wait_not_two() -> None:
    asked, answered = MONDAY + timedelta(days=1), MONDAY + timedelta(days=3)  # Tue → Thu
    one = review_due_at(MONDAY, 5, CHINA, family_waits=[(asked, answered)], now=answered)
    # A second question asked on Wednesday and answered with the first: the same two days.
    both = review_due_at(
        MONDAY,
        5,
        CHINA,
        family_waits=[(asked, answered), (asked + timedelta(days=1), answered)],
        now=answered,
    )
    assert both == one == MONDAY + timedelta(days=9)
    # One answered, one asked meanwhile and still open: Tue → Fri is three days, not four.
    open_too = review_due_at(
        MONDAY,
        5,
        CHINA,
        family_waits=[(asked, answered)],
        open_since=[MONDAY + timedelta(days=2)],
        now=MONDAY + timedelta(days=4),
    )
    assert open_too == MONDAY + timedelta(days=10)


def test_no_review_runs_for_a_hospital_that_declined_or_has_not_accepted_a_reroute() -> None:
    began = MONDAY
    assert review_running(
        S.UNDER_REVIEW, Oc.ACCEPTED, position=1, route_created_at=began, state_changed_at=began
    )
    assert review_running(S.UNDER_REVIEW, None, position=1, route_created_at=began, state_changed_at=began)
    assert not review_running(
        S.UNDER_REVIEW, Oc.DECLINED, position=1, route_created_at=began, state_changed_at=began
    )
    rerouted = began + timedelta(days=2)
    assert not review_running(
        S.UNDER_REVIEW, None, position=2, route_created_at=rerouted, state_changed_at=began
    )
    before = began - timedelta(days=1)  # re-routed while sent, then accepted
    assert review_running(S.UNDER_REVIEW, None, position=2, route_created_at=before, state_changed_at=began)
    assert not review_running(S.SENT, None, position=1, route_created_at=began, state_changed_at=began)


def test_a_reroute_restarts_the_review_clock() -> None:
    assert review_started_at(MONDAY, MONDAY - timedelta(days=9)) == MONDAY
    assert review_started_at(MONDAY, MONDAY + timedelta(days=2)) == MONDAY + timedelta(days=2)


def test_the_overdue_warning_falls_on_the_date_the_family_was_told() -> None:
    facts = CaseFacts(
        case_id=1,
        state=S.UNDER_REVIEW,
        state_changed_at=MONDAY,
        last_activity_at=MONDAY,
        review_sla_days=7,
        family_waits=((MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)),),
    )
    policy = Policy(review_sla=10, calendar=CHINA)
    told = review_due_at(MONDAY, 7, CHINA, family_waits=facts.family_waits, now=MONDAY + timedelta(days=3))
    warning = next(
        r for r in upcoming(facts, policy, MONDAY + timedelta(days=3)) if r.kind == "review_overdue"
    )
    assert warning.due_at == told
    assert warning.payload["days"] == 7, "the hospital's own turnaround, not the service's 10"
    assert not [
        r for r in due_reminders(facts, policy, told - timedelta(minutes=1)) if r.kind == "review_overdue"
    ]
    assert [r for r in due_reminders(facts, policy, told) if r.kind == "review_overdue"]


def test_without_a_stated_turnaround_the_service_sla_applies() -> None:
    facts = CaseFacts(case_id=1, state=S.UNDER_REVIEW, state_changed_at=MONDAY, last_activity_at=MONDAY)
    policy = Policy(review_sla=10, calendar=CHINA)
    warning = next(r for r in upcoming(facts, policy, MONDAY) if r.kind == "review_overdue")
    assert warning.due_at == review_due_at(MONDAY, 10, CHINA, now=MONDAY)
    assert warning.payload["days"] == 10


def test_an_open_question_to_the_family_pauses_the_warning() -> None:
    facts = CaseFacts(
        case_id=1,
        state=S.UNDER_REVIEW,
        state_changed_at=MONDAY,
        last_activity_at=MONDAY,
        family_questions=(OpenQuestion(11, MONDAY + timedelta(hours=1)),),
        review_sla_days=2,
    )
    policy = Policy(calendar=CHINA)
    assert not [r for r in upcoming(facts, policy, MONDAY + timedelta(days=1)) if r.kind == "review_overdue"]
    assert not [
        r for r in due_reminders(facts, policy, MONDAY + timedelta(days=10)) if r.kind == "review_overdue"
    ]
