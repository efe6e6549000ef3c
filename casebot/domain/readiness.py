"""Red flags from the service's guidance, the coordinator's ok/concern verdicts, and the checks that
guard sending a case and recording an opinion before the records are complete."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from casebot.domain.questions import Topic
from casebot.domain.states import CaseState, Transition
from casebot.errors import ItemRef, OverrideRequired, ReasonRequired


class Verdict(StrEnum):
    """A coordinator's reading of the hospital's answer to a standard question."""

    OK = "ok"
    CONCERN = "concern"


class RedFlag(StrEnum):
    """What the seeds say must be clear before a case is sent (their descriptions live in templates)."""

    NO_HOSPITAL_OR_DEPARTMENT = "no_hospital_or_department"
    NO_NAMED_REVIEWER = "no_named_reviewer"
    PRE_TRAVEL_REVIEW_UNCONFIRMED = "pre_travel_review_unconfirmed"
    PATHOLOGY_IMAGING_ACCESS_UNKNOWN = "pathology_imaging_access_unknown"
    TRANSLATION_NEEDS_UNKNOWN = "translation_needs_unknown"
    NO_WRITTEN_TRANSLATED_SUMMARY = "no_written_translated_summary"
    COMPLICATION_SUPPORT_UNKNOWN = "complication_support_unknown"
    NO_PLAN_IF_CARE_CONTINUES_ELSEWHERE = "no_plan_if_care_continues_elsewhere"
    ELIGIBILITY_UNCLEAR = "eligibility_unclear"


# A flag clears only when the hospital's answer to the standard question behind it is judged ok.
FLAG_BY_TOPIC: Mapping[Topic, RedFlag] = {
    Topic.DEPARTMENT_AND_REVIEWER: RedFlag.NO_NAMED_REVIEWER,
    Topic.PRE_TRAVEL_REVIEW: RedFlag.PRE_TRAVEL_REVIEW_UNCONFIRMED,
    Topic.REPEAT_TESTS: RedFlag.PATHOLOGY_IMAGING_ACCESS_UNKNOWN,
    Topic.TRANSLATION: RedFlag.TRANSLATION_NEEDS_UNKNOWN,
    Topic.TRANSLATED_SUMMARY: RedFlag.NO_WRITTEN_TRANSLATED_SUMMARY,
    Topic.COMPLICATIONS_AND_FOLLOW_UP: RedFlag.COMPLICATION_SUPPORT_UNKNOWN,
    Topic.CARE_ELSEWHERE: RedFlag.NO_PLAN_IF_CARE_CONTINUES_ELSEWHERE,
    Topic.CANDIDACY_BEFORE_DEPOSIT: RedFlag.ELIGIBILITY_UNCLEAR,
}

# A reviewer's name that says nobody is named yet ("TBD", "to be confirmed", 待确认, уточняется),
# or that the name is not yet sure ("Dr Li (TBC)"), names no reviewer: the seeds' red flag stays.
_UNSURE = re.compile(
    r"\b(?:tb[acdn]|t\.b\.[acdn]|n/a|n\.a|unknown|pending|unconfirmed|unassigned|undecided|"
    r"undetermined|unnamed|unspecified|provisional(?:ly)?|tentative(?:ly)?|to\s+be\s+\w+|"
    r"not\s+(?:yet\s+)?\w+ed|(?:being|yet\s+to\s+be)\s+\w+ed|someone|somebody|anyone|anybody|"
    r"nobody|no\s+one|whoever|any|"
    # a team or a department is no named oncologist
    r"team|department|dept|committee|mdt|panel|awaiting|waiting\s+(?:for|on)|"
    r"уточня\w*|уточнит\w*|неизвестн\w*|пока\s+нет|под\s+вопросом|ожида\w*|н/д|кто-нибудь|кто-то|"
    r"не\s+(?:\w+\s+)?(?:назнач|определ|известн|подтвержд|выбран|решен)\w*|отделени\w*|консилиум\w*)\b"
    r"|待|未(?:定|知|明|确|指|分|安|落|选)|尚未|暂无|暂未|不详|不明|另行|确认中|稍后|再定|团队|小组|专家组|会诊|科室|委员会",
    re.IGNORECASE,
)
# Titles, roles and filler words: a "name" made only of them names nobody ("Dr", "the oncologist").
_NOT_A_NAME = frozenset(
    {
        "dr", "doctor", "prof", "professor", "mr", "mrs", "ms", "miss", "md", "phd", "sir", "madam",
        "oncologist", "reviewer", "physician", "surgeon", "consultant", "specialist", "chief",
        "director", "head", "staff", "attending", "the", "a", "an", "of",
        "nil", "null", "none", "no", "later", "soon", "yet", "todo", "xxx", "name", "will", "be",
        "is", "named", "assigned", "confirmed", "decided", "determined", "announced", "appointed",
        "designated", "selected", "chosen", "notified", "advised", "arranged",
        "д", "р", "др", "доктор", "врач", "проф", "профессор", "онколог", "рецензент", "заведующий",
        "зав", "нет", "позже", "потом", "скоро", "пока", "ещё", "еще", "кто", "то", "нибудь",
        "будет", "будут", "назначен", "назначена", "назначат", "определён", "определен",
        "определят", "подтверждён", "подтвержден", "подтвердят", "сообщат", "выберут",
        "医生", "大夫", "教授", "主任", "医师", "专家", "主治", "副主任", "院长", "无", "某",
    }
)  # fmt: skip
_INITIALS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
# Chinese titles follow the name unspaced (李医生): taken off the end of a word before it is judged.
_CHINESE_TITLES = re.compile(r"(?:副?主任医师|主治医师|副?主任|副?教授|医生|大夫|医师|专家|院长)$")


def is_placeholder_name(name: str | None) -> bool:
    """Whether a reviewer's name names nobody (yet): blank, no letters, a placeholder ("TBD",
    "Dr TBD", "to be confirmed", "not assigned yet", 待确认, "уточняется"), a name marked as not
    sure ("Dr Li (TBC)"), or only titles and filler words ("Dr", "the oncologist")."""
    if not name:
        return True
    folded = unicodedata.normalize("NFKC", name).casefold()
    if _UNSURE.search(folded):
        return True
    words = re.sub(r"[^\w/]+|_", " ", folded).replace("/", " ").split()
    return not any(_names_someone(word) for word in words)


def _names_someone(word: str) -> bool:
    """Whether one word of a reviewer's name is a name: not a title, a role or a filler word,
    with a letter in it; an initial alone (Latin, Cyrillic, Greek) names nobody, a Chinese
    surname does (李 of 李医生)."""
    bare = _CHINESE_TITLES.sub("", word) if len(word) > 2 else word
    if not bare or bare in _NOT_A_NAME or not any(ch.isalpha() for ch in bare):
        return False
    return len(bare) > 1 or unicodedata.name(bare, "").partition(" ")[0] not in _INITIALS


# A promise of guaranteed eligibility or results is a concern, never a green light (the seeds):
# "eligibility is guaranteed", "they promise he will be accepted", "eligibility is certain",
# 保证治愈, 一定能治好, "результат гарантирован", "точно примут". A guarantee is one whatever it is
# of; a promise or a certainty is one when it is of an outcome (acceptance, eligibility, a cure,
# a result) in the same sentence. A denied one ("no guarantee", 不能保证, "не обещают") is honest.
_GUARANTEE = re.compile(r"guarant\w*|гарант\w*|保证|包治|包好|包过")
_OUTCOME = re.compile(
    r"\b(?:accept\w*|admi(?:t|ts|tted|ssion)|eligib\w*|qualif\w*|candidat\w*|cur(?:e|ed|es|ing|able)|"
    r"result\w*|success\w*|outcome\w*|recover\w*|remission|approv\w*|heal\w*|surviv\w*|"
    r"effective\w*|works?|enrol\w*|прим(?:ут|ет|ем)|приня\w*|возьм\w*|показан\w*|подход\w*|подойд\w*|"
    r"результат\w*|излеч\w*|вылеч\w*|успе\w*|эффект\w*|выздоров\w*|ремисси\w*|кандидат\w*)\b"
    r"|接收|收治|录取|入组|治好|治愈|成功|有效|疗效|效果|符合|合格|痊愈|康复|结果|缓解"
)
_PROMISE_OR_CERTAINTY = re.compile(
    r"promis\w*|\bassur(?:e|es|ed|ing|ance)\b|\bwarrant\w*|\b100\s*%|\bhundred\s+per\s*cent|"
    r"\bcertain(?:ty|ly)\b|\b(?:is|are|be|'s|am|feel|feels|seems?|looks?|absolutely|completely|totally|"
    r"fully|100%)\s+(?:(?:absolutely|completely|totally|fully|quite|very)\s+)?(?:certain|sure)\b|"
    r"\b(?:certain|sure|bound)\s+to\b|\bfor\s+(?:sure|certain)\b|\bdefinite(?:ly)?\b|\bsurely\b|"
    r"\b(?:no|without(?:\s+a)?|beyond(?:\s+any)?)\s+doubt\b|\bundoubtedly\b|\bno\s+risk\b|\brisk[-\s]free\b|"
    r"\bnever\s+fails?\b|\balways\s+works?\b|\b(?:complete|full|total)\s+(?:cure|recovery)\b|"
    r"\b(?:will|can|'ll)\s+(?:\w+ly\s+)?cure\b|"
    r"\b(?:he|she|patient|they)(?:\s+\w+)?(?:\s+|'|’)(?:will|shall|ll|is\s+going\s+to)\s+(?:\w+ly\s+)?(?:be\s+)?"
    r"(?:accepted|admitted|approved|eligible|cured|healed)\b|"
    r"обещ\w*|\bточно\b|наверняка|несомненно|без\s+(?:всякого\s+)?сомнени\w*|\bстопроцентн\w*|"
    r"\b100\s*процент\w*|\bобязательно\b|полное\s+излечение|"
    r"承诺|确保|担保|百分之百|百分百|一定|肯定|必定|必然|无疑"
)
# A denial just before the promise makes it honest: "cannot guarantee", "no promise of", 不能保证.
_DENIED = re.compile(
    r"(?:\b(?:no|not|cannot|can't|can\s+not|don't|doesn't|didn't|won't|never|without|nor|neither|"
    r"unable\s+to|refuses?\s+to|nobody|no\s+one)\b(?:\s+\w+){0,2}\s*"
    r"|\b(?:не|нет|без|ни|никто|никаких|никакой)\b(?:\s+\w+){0,2}\s*"
    r"|(?:不|无法|没有|没|未|不能|不会|不敢|无)\w{0,2})$"
)
_SENTENCES = re.compile(r"[.!?;:。！？；：\n]+")


def promises_results(text: str) -> bool:
    """Whether an answer promises guaranteed eligibility or results (a denial of one does not)."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    for sentence in _SENTENCES.split(folded):
        for pattern in (_GUARANTEE, _PROMISE_OR_CERTAINTY):
            for match in pattern.finditer(sentence):
                if pattern is _PROMISE_OR_CERTAINTY and not _OUTCOME.search(sentence):
                    break
                before = sentence[max(0, match.start() - 40) : match.start()]
                # "no doubt" is itself the certainty; "no guarantee" is a denial of one.
                if match.group().startswith(("no ", "without", "beyond")) or not _DENIED.search(before):
                    return True
    return False


def judge_answer(text: str, verdict: Verdict) -> Verdict:
    """The verdict kept for an answer: ok becomes a concern when the answer promises guaranteed
    eligibility or results."""
    if verdict == Verdict.OK and promises_results(text):
        return Verdict.CONCERN
    return verdict


@dataclass(frozen=True, slots=True)
class HospitalFacts:
    """What is known about where a case goes, for the red-flag rules.

    ``verdicts``: the coordinator's verdict on the hospital's answer per standard topic
    (a topic absent, or answered without a verdict, counts as not yet ok).
    """

    hospital: str | None
    department: str | None
    reviewer: str | None
    verdicts: Mapping[Topic, Verdict] = field(default_factory=dict)


def red_flags(facts: HospitalFacts) -> tuple[RedFlag, ...]:
    """The red flags still open, in a stable order."""
    flags: list[RedFlag] = []
    if not facts.hospital or not facts.department:
        flags.append(RedFlag.NO_HOSPITAL_OR_DEPARTMENT)
    for topic, flag in FLAG_BY_TOPIC.items():
        reviewer_missing = flag == RedFlag.NO_NAMED_REVIEWER and is_placeholder_name(facts.reviewer)
        if reviewer_missing or facts.verdicts.get(topic) != Verdict.OK:
            flags.append(flag)
    return tuple(flags)


def concerns(facts: HospitalFacts) -> tuple[RedFlag, ...]:
    """The open flags whose answer the coordinator recorded as a concern (shown on the card)."""
    return tuple(
        flag for topic, flag in FLAG_BY_TOPIC.items() if facts.verdicts.get(topic) == Verdict.CONCERN
    )


def check_move(
    transition: Transition,
    *,
    open_flags: Collection[RedFlag],
    missing_items: Collection[ItemRef],
    reason: str | None,
) -> bool:
    """Check a move may happen; return True when it goes through as an override of open flags or gaps.

    Sending with red flags open or records missing needs a reason, which is kept; so does
    recording an opinion while records are missing (an opinion before the records were
    reviewed is itself a red flag). Moves marked ``needs_reason`` (going back,
    withdrawing) need one too.
    """
    has_reason = bool(reason and reason.strip())
    gaps: tuple[tuple[str, ...], tuple[ItemRef, ...]] | None = None
    if transition.target == CaseState.SENT and (open_flags or missing_items):
        gaps = (tuple(flag.value for flag in open_flags), tuple(missing_items))
    elif transition.target == CaseState.OPINION_RECEIVED and missing_items:
        gaps = ((), tuple(missing_items))
    if gaps is not None:
        if not has_reason:
            raise OverrideRequired(transition.target.value, *gaps)
        return True
    if transition.needs_reason and not has_reason:
        raise ReasonRequired(transition.source.value, transition.target.value)
    return False
