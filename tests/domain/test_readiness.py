"""Red flags and the override needed to send a case that is not ready."""

from __future__ import annotations

import pytest

from casebot.domain.questions import STANDARD_HOSPITAL_QUESTIONS, Topic
from casebot.domain.readiness import HospitalFacts, RedFlag, check_move, red_flags
from casebot.domain.states import CaseState, transition_for
from casebot.errors import OverrideRequired, ReasonRequired

ALL_TOPICS = frozenset(q.topic for q in STANDARD_HOSPITAL_QUESTIONS)
SEND = transition_for(CaseState.RECORDS_GATHERING, CaseState.SENT)


def test_a_new_case_has_every_red_flag_open() -> None:
    facts = HospitalFacts(None, None, None, frozenset())
    assert set(red_flags(facts)) == set(RedFlag)


def test_a_fully_answered_case_has_no_red_flags() -> None:
    facts = HospitalFacts("Hospital", "Thoracic oncology", "Dr Li", ALL_TOPICS)
    assert red_flags(facts) == ()


@pytest.mark.parametrize(
    ("topic", "flag"),
    [
        (Topic.PRE_TRAVEL_REVIEW, RedFlag.PRE_TRAVEL_REVIEW_UNCONFIRMED),
        (Topic.TRANSLATION, RedFlag.TRANSLATION_NEEDS_UNKNOWN),
        (Topic.REPEAT_TESTS, RedFlag.PATHOLOGY_HANDLING_UNKNOWN),
    ],
)
def test_an_unanswered_standard_question_keeps_its_red_flag_open(topic: Topic, flag: RedFlag) -> None:
    facts = HospitalFacts("Hospital", "Dept", "Dr Li", ALL_TOPICS - {topic})
    assert red_flags(facts) == (flag,)


def test_a_department_without_a_hospital_is_still_a_red_flag() -> None:
    facts = HospitalFacts(None, "Dept", "Dr Li", ALL_TOPICS)
    assert red_flags(facts) == (RedFlag.NO_HOSPITAL_OR_DEPARTMENT,)


def test_sending_with_red_flags_needs_a_reason() -> None:
    with pytest.raises(OverrideRequired) as raised:
        check_move(SEND, open_flags=[RedFlag.NO_NAMED_REVIEWER], missing_items=[], reason=None)
    assert "no named oncology reviewer" in raised.value.message


def test_sending_with_missing_records_names_them() -> None:
    with pytest.raises(OverrideRequired) as raised:
        check_move(SEND, open_flags=[], missing_items=["Pathology reports"], reason="  ")
    assert "Pathology reports" in raised.value.message


def test_a_reason_turns_the_send_into_an_override() -> None:
    assert check_move(SEND, open_flags=[RedFlag.NO_NAMED_REVIEWER], missing_items=[], reason="urgent")


def test_a_ready_case_is_sent_without_override() -> None:
    assert not check_move(SEND, open_flags=[], missing_items=[], reason=None)


def test_going_back_to_records_gathering_needs_a_reason() -> None:
    back = transition_for(CaseState.UNDER_REVIEW, CaseState.RECORDS_GATHERING)
    with pytest.raises(ReasonRequired):
        check_move(back, open_flags=[], missing_items=[], reason=None)
