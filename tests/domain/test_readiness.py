"""Red flags, the coordinator's ok/concern verdicts, and the reasons a move needs."""

from __future__ import annotations

import pytest

from casebot.domain.questions import STANDARD_HOSPITAL_QUESTIONS, Topic
from casebot.domain.readiness import (
    FLAG_BY_TOPIC,
    HospitalFacts,
    RedFlag,
    Verdict,
    check_move,
    concerns,
    is_placeholder_name,
    judge_answer,
    red_flags,
)
from casebot.domain.states import OPEN_STATES, CaseState, transition_for
from casebot.errors import ItemRef, OverrideRequired, ReasonRequired

ALL_OK = {topic: Verdict.OK for topic in FLAG_BY_TOPIC}
SEND = transition_for(CaseState.RECORDS_GATHERING, CaseState.SENT)
OPINION = transition_for(CaseState.UNDER_REVIEW, CaseState.OPINION_RECEIVED)
PATHOLOGY = ItemRef(2, "pathology", "")


def test_a_new_case_has_every_red_flag_open() -> None:
    assert set(red_flags(HospitalFacts(None, None, None))) == set(RedFlag)


def test_every_red_flag_of_the_seeds_stands_behind_a_standard_question() -> None:
    asked = {question.topic for question in STANDARD_HOSPITAL_QUESTIONS}
    assert set(FLAG_BY_TOPIC) <= asked
    assert set(FLAG_BY_TOPIC.values()) | {RedFlag.NO_HOSPITAL_OR_DEPARTMENT} == set(RedFlag)


def test_a_case_whose_every_answer_was_judged_ok_has_no_red_flags() -> None:
    assert red_flags(HospitalFacts("Hospital", "Thoracic oncology", "Dr Li", ALL_OK)) == ()


@pytest.mark.parametrize(("topic", "flag"), list(FLAG_BY_TOPIC.items()))
def test_an_answer_kept_as_a_concern_keeps_its_flag_and_shows_as_a_concern(
    topic: Topic, flag: RedFlag
) -> None:
    facts = HospitalFacts("Hospital", "Dept", "Dr Li", {**ALL_OK, topic: Verdict.CONCERN})
    assert red_flags(facts) == (flag,)
    assert concerns(facts) == (flag,)


@pytest.mark.parametrize(("topic", "flag"), list(FLAG_BY_TOPIC.items()))
def test_an_unanswered_standard_question_keeps_its_flag_but_is_no_concern(
    topic: Topic, flag: RedFlag
) -> None:
    verdicts = {t: v for t, v in ALL_OK.items() if t != topic}
    facts = HospitalFacts("Hospital", "Dept", "Dr Li", verdicts)
    assert red_flags(facts) == (flag,)
    assert concerns(facts) == ()


@pytest.mark.parametrize(
    "reviewer",
    [
        *(None, "", "TBD", "tbd.", " ? ", "待定", "неизвестно", "N/A", "---"),
        # a title with a placeholder, or a phrase that says nobody is named yet
        *("Dr TBD", "Prof. T.B.C.", "to be confirmed", "not assigned yet", "will be assigned", "n/a"),
        *("unknown", "pending", "Dr.", "the oncologist", "someone from thoracic", "Thoracic team"),
        *("уточняется", "Доктор уточняется", "пока не назначен", "врач будет назначен", "Д-р"),
        *("待确认", "待分配", "未定", "尚未确定", "暂无", "医生", "某医生", "专家组"),
        # a name marked as not sure yet
        "Dr Li (TBC)",
        # what the hospital will do, or when, names nobody
        *("not known yet", "will be assigned next week", "in two weeks", "They'll let us know"),
        *("hospital assigns", "confirming", "назначат на следующей неделе", "на следующей неделе"),
        *("сообщат позже", "医院下周指定", "医院", "稍后安排", "将会确认"),
    ],
)
def test_a_placeholder_reviewer_is_no_named_reviewer(reviewer: str | None) -> None:
    assert is_placeholder_name(reviewer)
    assert red_flags(HospitalFacts("Hospital", "Dept", reviewer, ALL_OK)) == (RedFlag.NO_NAMED_REVIEWER,)


@pytest.mark.parametrize(
    "reviewer",
    [
        *("Dr Li Wei", "李医生", "王主任医师", "Д-р Иванова", "Dr Na", "Li Na", "Dr Nil Sharma", "Dr Ng"),
        *("Dr Li", "Li Wei", "Иванов И.И.", "Dr. Maria Gonzalez-Ruiz", "Prof Zhang (thoracic)"),
        *("Dr He", "于医生", "已指定李医生", "Назначен Иванов", "Dr Jane Weeks"),
    ],
)
def test_a_real_name_is_a_named_reviewer(reviewer: str) -> None:
    assert not is_placeholder_name(reviewer)


def test_a_department_without_a_hospital_is_still_a_red_flag() -> None:
    assert red_flags(HospitalFacts(None, "Dept", "Dr Li", ALL_OK)) == (RedFlag.NO_HOSPITAL_OR_DEPARTMENT,)


@pytest.mark.parametrize(
    "answer",
    [
        "Eligibility is guaranteed",
        "100% success",
        "Результат гарантирован",
        "保证治愈",
        "We GUARANTEE results",
    ],
)
def test_a_promise_of_guaranteed_results_is_a_concern_even_when_marked_ok(answer: str) -> None:
    assert judge_answer(answer, Verdict.OK) == Verdict.CONCERN


@pytest.mark.parametrize(
    "answer",
    [
        "they promise he will be accepted",
        "eligibility is certain",
        "he is sure to be accepted",
        "There is no doubt he qualifies",
        "They said he'll definitely be accepted",
        "a complete cure is expected",
        "Обещают, что точно примут",
        "Наверняка возьмут",
        "一定能治好",
        "肯定会接收",
        "百分之百有效",
        # reassurance is no denial of the promise after it
        "ok no problem acceptance guaranteed",
        "Don't worry, he will definitely be accepted",
        "No guarantee, but he will definitely be accepted",
        "ok не переживайте его точно примут",
        "Не волнуйтесь, результат гарантирован",
        "ok 没问题一定能接收",
        "不用担心，一定能治好",
    ],
)
def test_a_promise_or_a_certainty_of_an_outcome_is_a_concern_even_when_marked_ok(answer: str) -> None:
    assert judge_answer(answer, Verdict.OK) == Verdict.CONCERN


@pytest.mark.parametrize(
    "answer",
    [
        "They will say before any deposit if he is not a candidate",
        "They cannot guarantee eligibility before the review",
        "No guarantee of results; they review first",
        "They do not promise anything before the review",
        "They promise to tell us before any deposit",
        "Certain tumour types need the slides",
        "English records will be accepted",
        "They will definitely need the slides",
        "Не гарантируют результат до рассмотрения",
        "Точно не знаем, нужна ли повторная биопсия",
        "不能保证疗效",
        "不一定能接收",
        "确保翻译准确",
        # a denial of the promise word itself
        "Eligibility is not guaranteed",
        "They can't promise he will be accepted",
        "We can't say for sure he will be accepted",
        "Не обещают, что примут",
        "Нельзя гарантировать результат",
        "Гарантий нет, что примут",
        "无法保证接收",
        "不保证效果",
        "不能百分之百保证治好",
    ],
)
def test_an_honest_answer_marked_ok_stays_ok(answer: str) -> None:
    assert judge_answer(answer, Verdict.OK) == Verdict.OK


def test_sending_with_red_flags_needs_a_reason_and_names_them() -> None:
    with pytest.raises(OverrideRequired) as raised:
        check_move(SEND, open_flags=[RedFlag.NO_NAMED_REVIEWER], missing_items=[], reason=None)
    assert raised.value.red_flags == ("no_named_reviewer",)
    assert raised.value.target == "sent"


def test_sending_with_missing_records_names_them_by_number_and_code() -> None:
    with pytest.raises(OverrideRequired) as raised:
        check_move(SEND, open_flags=[], missing_items=[PATHOLOGY], reason="  ")
    assert raised.value.missing_items == (PATHOLOGY,)


def test_a_reason_turns_the_send_into_an_override() -> None:
    assert check_move(SEND, open_flags=[RedFlag.NO_NAMED_REVIEWER], missing_items=[], reason="urgent")


def test_a_ready_case_is_sent_without_override() -> None:
    assert not check_move(SEND, open_flags=[], missing_items=[], reason=None)


def test_an_opinion_while_records_are_missing_needs_a_reason() -> None:
    with pytest.raises(OverrideRequired) as raised:
        check_move(OPINION, open_flags=[RedFlag.NO_NAMED_REVIEWER], missing_items=[PATHOLOGY], reason=None)
    assert raised.value.red_flags == () and raised.value.missing_items == (PATHOLOGY,)
    assert check_move(
        OPINION, open_flags=[], missing_items=[PATHOLOGY], reason="hospital reviewed without it"
    )


def test_an_opinion_with_every_record_in_needs_no_reason() -> None:
    assert not check_move(OPINION, open_flags=[RedFlag.NO_NAMED_REVIEWER], missing_items=[], reason=None)


def test_going_back_to_records_gathering_needs_a_reason() -> None:
    back = transition_for(CaseState.UNDER_REVIEW, CaseState.RECORDS_GATHERING)
    with pytest.raises(ReasonRequired):
        check_move(back, open_flags=[], missing_items=[], reason=None)


@pytest.mark.parametrize("state", OPEN_STATES)
def test_withdrawing_from_any_open_state_needs_a_reason(state: CaseState) -> None:
    withdraw = transition_for(state, CaseState.WITHDRAWN)
    with pytest.raises(ReasonRequired):
        check_move(withdraw, open_flags=[], missing_items=[], reason="   ")
    assert not check_move(withdraw, open_flags=[], missing_items=[], reason="the family decided to stop")
