"""Questions in both directions: asking, and recording answers, each tracked until answered."""

from __future__ import annotations

from casebot.db.models import Case, CaseMember, Question
from casebot.domain.numbers import parse_count
from casebot.domain.outcomes import parse_turnaround
from casebot.domain.questions import Direction, Topic
from casebot.domain.readiness import FLAG_BY_TOPIC, Verdict, judge_answer
from casebot.domain.refs import format_ref
from casebot.domain.text import clean_text
from casebot.errors import InvalidInput, NotAllowed, QuestionAlreadyAnswered, QuestionNotFound
from casebot.services.base import Actor, ServiceBase
from casebot.services.outcomes import record_turnaround


def parse_question_number(text: str | int) -> int | None:
    """A question number typed by a person (Q3, #3 or 3), or None."""
    return parse_count(text, limit=100_000)


def parse_verdict(word: str) -> Verdict | None:
    """``ok`` or ``concern`` as a coordinator types it, or None."""
    try:
        return Verdict(word.strip().lower())
    except ValueError:
        return None


def split_verdict(text: str) -> tuple[Verdict | None, str]:
    """``ok …`` or ``concern …`` at the start of a coordinator's answer: the verdict and the rest."""
    first, _, rest = text.strip().partition(" ")
    verdict = parse_verdict(first.rstrip(":,.;"))
    return (verdict, rest) if verdict is not None else (None, text)


class QuestionService(ServiceBase):
    """Calls on the questions of a case."""

    async def ask(self, actor: Actor, reference: str | int, direction: Direction, text: str) -> Question:
        """Log a question: the hospital's to the family (coordinators only), or one to the hospital
        (a coordinator's chase, or a family member's own question, which reaches the coordinator)."""
        if direction == Direction.TO_FAMILY:
            self.require_staff(actor)
        text = clean_text(text, what="question")
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            last = await Question.filter(case_id=case.id).order_by("-number").first()
            question = await Question.create(
                case_id=case.id,
                number=(last.number if last else 0) + 1,
                direction=direction,
                text=text,
                asked_by_id=actor.participant_id,
                asked_by_family=direction == Direction.TO_HOSPITAL and not actor.is_staff,
                created_at=self.now(),
            )
            event = await self.audit(
                case, actor, f"question_{direction.value}", to_value=str(question.number)
            )
            payload = {
                "case_id": case.id,
                "question_id": question.id,
                "number": question.number,
                "text": text,
            }
            if direction == Direction.TO_FAMILY:
                await self.notify(await self.family_ids(case), "question_for_family", event, payload)
            elif not actor.is_staff:
                await self.notify(self.coordinator_ids(case, actor), "family_question", event, payload)
        return question

    async def find(self, case: Case, number: str | int) -> Question:
        """The question with that number in the case."""
        parsed = parse_question_number(number)
        question = await Question.get_or_none(case_id=case.id, number=parsed) if parsed else None
        if question is None:
            raise QuestionNotFound(format_ref(case.id), str(number)[:20])
        return question

    async def answer(
        self,
        actor: Actor,
        reference: str | int,
        number: str | int,
        text: str,
        verdict: Verdict | None = None,
        *,
        message_id: int | None = None,
    ) -> Question:
        """Record an answer once: the family answers the hospital's questions (a coordinator may on
        their behalf); only a coordinator records the hospital's answers. ``message_id`` is the
        family's message that gave the answer: editing it later corrects the answer.

        The hospital's answer to a standard question behind a red flag needs the coordinator's
        verdict, ok or concern (typed first: "ok …"); only ok clears the flag, and a promise of
        guaranteed eligibility or results is kept as a concern. Any other answer is kept whole,
        as typed, and carries no verdict. An answer with a verdict may be answered again (the
        hospital says more, changes its stance, or an ok was recorded by mistake): the audit
        trail keeps the earlier verdict and answer. Any other answered question is closed.
        """
        now = self.now()
        async with self.transaction():
            case = await self.locked_case(actor, reference)
            question = await self.find(case, number)
            if question.direction == Direction.TO_HOSPITAL and not actor.is_staff:
                raise NotAllowed(
                    "Only a coordinator records the hospital's answers.", key="hospital_answers_staff_only"
                )
            flagged = question.direction == Direction.TO_HOSPITAL and question.topic in FLAG_BY_TOPIC
            if flagged and verdict is None:
                verdict, text = split_verdict(text)
            text = clean_text(text, what="answer")
            judged: Verdict | None = None
            if flagged:
                if verdict is None:
                    raise InvalidInput(
                        f"Q{question.number} stands behind a red flag: start the answer with ok or "
                        f"concern, e.g. /answer {format_ref(case.id)} {question.number} ok …",
                        key="verdict_required",
                        reference=format_ref(case.id),
                        number=question.number,
                    )
                judged = judge_answer(text, verdict)
            elif verdict is not None and question.direction == Direction.TO_HOSPITAL:
                judged = judge_answer(text, verdict)
            reopened = question.answered_at is not None and question.verdict is not None
            if reopened and (judged is None or (question.answer, question.verdict) == (text, judged.value)):
                raise QuestionAlreadyAnswered(format_ref(case.id), question.number)
            changed = await Question.filter(
                id=question.id,
                **({"verdict": question.verdict} if reopened else {"answered_at__isnull": True}),
            ).update(
                answer=text,
                answered_at=now,
                answered_by_id=actor.participant_id,
                answer_message_id=message_id,
                verdict=judged.value if judged else None,
            )
            if changed == 0:
                raise QuestionAlreadyAnswered(format_ref(case.id), question.number)
            event = await self.audit(
                case,
                actor,
                "question_answered",
                from_value=f"{question.number}:{question.verdict or ('answered' if reopened else 'open')}",
                to_value=f"{question.number}:{judged.value if judged else 'answered'}",
                # The answer given again replaces this one on the card: the trail keeps it.
                reason=question.answer if reopened else None,
            )
            if question.topic == Topic.REVIEW_DURATION and question.direction == Direction.TO_HOSPITAL:
                # The hospital's stated turnaround sets the review's own clock.
                days = parse_turnaround(text)
                if days is not None:
                    await record_turnaround(self, actor, case, days)
            if not actor.is_staff:
                payload = {
                    "case_id": case.id,
                    "number": question.number,
                    "text": question.text,
                    "answer": text,
                }
                await self.notify(self.coordinator_ids(case, actor), "family_answered", event, payload)
            elif question.direction == Direction.TO_HOSPITAL and question.asked_by_family:
                payload = {
                    "case_id": case.id,
                    "number": question.number,
                    "text": question.text,
                    "answer": text,
                }
                await self.notify(await self.family_ids(case), "hospital_answered", event, payload)
        question.answer, question.answered_at = text, now
        question.verdict = judged.value if judged else None
        return question

    async def correct_answer(self, actor: Actor, message_id: int, text: str) -> Question | None:
        """A family member edited the message that gave their answer to the hospital's question
        (a reply or /reply): the new words replace it, the trail keeps the earlier ones, and the
        coordinator is told. None when that message gave no answer of theirs (an edit of anything
        else, or of a second answer that was refused). The same words again change nothing.
        """
        text = clean_text(text, what="answer")
        given = await Question.get_or_none(
            answered_by_id=actor.participant_id, answer_message_id=message_id, direction=Direction.TO_FAMILY
        )
        if given is None:
            return None
        async with self.transaction():
            case = await self.locked_case(actor, given.case_id)
            question = await self.find(case, given.number)
            if (question.answer_message_id, question.answered_by_id) != (  # type: ignore[attr-defined]
                message_id,
                actor.participant_id,
            ):
                return None  # answered again by someone else meanwhile
            if question.answer == text:
                return question
            earlier, now = question.answer, self.now()
            await Question.filter(id=question.id).update(answer=text, answered_at=now)
            event = await self.audit(
                case,
                actor,
                "answer_corrected",
                from_value=str(question.number),
                to_value=str(question.number),
                reason=earlier,
            )
            payload = {
                "case_id": case.id,
                "number": question.number,
                "text": question.text,
                "answer": text,
                "corrected": True,
            }
            await self.notify(self.coordinator_ids(case, actor), "family_answered", event, payload)
        question.answer, question.answered_at = text, now
        return question

    @staticmethod
    async def cases_asking(case_ids: list[int], number: str | int) -> list[int]:
        """Which of these cases (a family member's) wait for the family's answer to question
        ``number``: numbers repeat across cases, so a bare number may name more than one."""
        parsed = parse_question_number(number)
        if parsed is None or not case_ids:
            return []
        found = await Question.filter(
            case_id__in=case_ids, number=parsed, direction=Direction.TO_FAMILY, answered_at__isnull=True
        ).only("id", "case_id")
        return sorted({question.case_id for question in found})

    @staticmethod
    async def family_joined(case_id: int) -> bool:
        """Whether anyone of the family has joined the case (a question to them reaches them now;
        otherwise it is sent to whoever joins)."""
        return await CaseMember.exists(case_id=case_id)
