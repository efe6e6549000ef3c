"""Questions in both directions: asking, and recording answers, each tracked until answered."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from casebot.db.models import Case, Question
from casebot.domain.questions import Direction
from casebot.domain.refs import format_ref
from casebot.domain.text import clean_text
from casebot.errors import NotAllowed, QuestionAlreadyAnswered, QuestionNotFound
from casebot.services.base import Actor, ServiceBase


def parse_question_number(text: str | int) -> int | None:
    """A question number typed by a person (Q3, #3 or 3), or None."""
    if isinstance(text, int):
        return text
    cleaned = text.strip().lstrip("#").lstrip("Qq")
    return int(cleaned) if cleaned.isdigit() and int(cleaned) > 0 else None


class QuestionService(ServiceBase):
    """Calls on the questions of a case."""

    async def ask(self, actor: Actor, reference: str | int, direction: Direction, text: str) -> Question:
        """Log a question: the hospital's to the family (coordinators only), or one to the hospital."""
        if direction == Direction.TO_FAMILY:
            self.require_staff(actor)
        case = await self.writable_case(actor, reference)
        text = clean_text(text, what="question")
        async with in_transaction():
            await self.lock_case(case)
            last = await Question.filter(case_id=case.id).order_by("-number").first()
            question = await Question.create(
                case_id=case.id,
                number=(last.number if last else 0) + 1,
                direction=direction,
                text=text,
                asked_by_id=actor.participant_id,
                created_at=self.now(),
            )
            event = await self.audit(
                case, actor, f"question_{direction.value}", to_value=str(question.number)
            )
            if direction == Direction.TO_FAMILY:
                payload = {
                    "case_id": case.id,
                    "question_id": question.id,
                    "number": question.number,
                    "text": text,
                }
                await self.notify(await self.family_ids(case), "question_for_family", event, payload)
        return question

    async def find(self, case: Case, number: str | int) -> Question:
        """The question with that number in the case."""
        parsed = parse_question_number(number)
        question = await Question.get_or_none(case_id=case.id, number=parsed) if parsed else None
        if question is None:
            raise QuestionNotFound(format_ref(case.id), str(number))
        return question

    async def answer(self, actor: Actor, reference: str | int, number: str | int, text: str) -> Question:
        """Record an answer once: the family answers the hospital's questions (a coordinator may
        on their behalf); only a coordinator records the hospital's answers."""
        case = await self.writable_case(actor, reference)
        question = await self.find(case, number)
        if question.direction == Direction.TO_HOSPITAL and not actor.is_staff:
            raise NotAllowed("Only a coordinator records the hospital's answers.")
        text = clean_text(text, what="answer")
        now = self.now()
        async with in_transaction():
            await self.lock_case(case)
            changed = await Question.filter(id=question.id, answered_at__isnull=True).update(
                answer=text, answered_at=now, answered_by_id=actor.participant_id
            )
            if changed == 0:
                raise QuestionAlreadyAnswered(format_ref(case.id), question.number)
            event = await self.audit(case, actor, "question_answered", to_value=str(question.number))
            if not actor.is_staff:
                payload = {
                    "case_id": case.id,
                    "number": question.number,
                    "text": question.text,
                    "answer": text,
                }
                await self.notify(self.coordinator_ids(case, actor), "family_answered", event, payload)
        question.answer, question.answered_at = text, now
        return question
