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
# So does any phrase with a verb of future or of assignment ("will be assigned next week", "not
# known yet", "назначат на следующей неделе", 医院下周指定): what the hospital will do names nobody.
_UNSURE = re.compile(
    r"\b(?:tb[acdn]|t\.b\.[acdn]|n/a|n\.a|unknown|known|yet|pending|unconfirmed|unassigned|undecided|"
    r"undetermined|unnamed|unspecified|provisional(?:ly)?|tentative(?:ly)?|to\s+be\s+\w+|"
    r"not\s+(?:yet\s+)?\w+ed|(?:being|yet\s+to\s+be)\s+\w+ed|someone|somebody|anyone|anybody|"
    r"nobody|no\s+one|whoever|any|"
    # the future, and an assignment still to be made: "will be named", "they assign", "confirming"
    r"shall|going\s+to|gonna|(?:will|'ll|would)\s+(?:\w+ly\s+)?(?:be|get|have|let|tell|inform|notify|"
    r"send|name|assign|appoint|confirm|decide|announce|choose|select|pick|designate|update|advise|"
    r"provide|share|give|know|find|arrange|allocate|nominate|reply|respond|revert|come|follow|contact|"
    r"email|call|write)|assign(?:s|ing)?|appoint(?:s|ing)?|designat(?:e|es|ing)|announc(?:e|es|ing)|"
    r"decid(?:e|es|ing)|confirm(?:s|ing)?|nominat(?:e|es|ing)|allocat(?:e|es|ing)|determin(?:e|es|ing)|"
    r"notify(?:ing)?|notifies|inform(?:s|ing)?|let\s+(?:us|you|me)\s+know|get\s+back|"
    # a team or a department is no named oncologist
    r"team|department|dept|committee|mdt|panel|awaiting|waiting\s+(?:for|on)|"
    r"уточн\w*|неизвестн\w*|пока|позже|позднее|потом|скоро|будет|будут|под\s+вопросом|ожида\w*|н/д|"
    r"кто-нибудь|кто-то|назнач(?:ат|ит|им|ается|аются|ать|ают|аем)|(?:о|по)?определ(?:ят|ит|ится|ятся|им)|"
    r"сообщ(?:ат|ит|им)|подтверд(?:ят|ит|им)|выбер(?:ут|ет|ем)|реш(?:ат|ит|им)|"
    r"не\s+(?:\w+\s+)?(?:назнач|определ|известн|подтвержд|выбран|решен)\w*|отделени\w*|консилиум\w*)\b"
    r"|待|未(?:定|知|明|确|指|分|安|落|选)|尚未|暂无|暂未|不详|不明|另行|确认中|稍后|再定|团队|小组|专家组|会诊|科室|委员会"
    r"|下周|下星期|下礼拜|下个?月|以后|之后|随后|日后|近期|不久|明天|后天|改天|回头"
    r"|(?<!已)(?:指定|安排|确认|告知|通知|分配|决定|公布)",
    re.IGNORECASE,
)
# Titles, roles, filler and time words: a "name" made only of them names nobody ("Dr", "the
# oncologist", "next week", "на следующей неделе").
_NOT_A_NAME = frozenset(
    {
        "dr", "doctor", "prof", "professor", "mr", "mrs", "ms", "miss", "md", "phd", "sir", "madam",
        "oncologist", "reviewer", "physician", "surgeon", "consultant", "specialist", "chief",
        "director", "head", "staff", "attending", "the", "a", "an", "of",
        "nil", "null", "none", "no", "not", "later", "soon", "yet", "todo", "xxx", "name", "will", "be",
        "is", "named", "assigned", "confirmed", "decided", "determined", "announced", "appointed",
        "designated", "selected", "chosen", "notified", "advised", "arranged",
        "next", "week", "month", "tomorrow", "today", "tonight", "shortly", "asap", "eventually",
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
        "in", "within", "by", "after", "until", "till", "from", "with", "for", "at", "this", "that",
        "and", "or", "then", "still", "we", "they", "you", "us", "them", "our", "their", "it",
        "hospital", "clinic", "centre", "center",
        "д", "р", "др", "доктор", "врач", "проф", "профессор", "онколог", "рецензент", "заведующий",
        "зав", "нет", "позже", "потом", "скоро", "пока", "ещё", "еще", "кто", "то", "нибудь",
        "будет", "будут", "назначен", "назначена", "назначат", "определён", "определен",
        "определят", "подтверждён", "подтвержден", "подтвердят", "сообщат", "выберут",
        "на", "в", "во", "через", "после", "до", "к", "по", "с", "со", "от", "или", "этой", "этом",
        "эту", "следующей", "следующий", "следующем", "следующую", "неделе", "неделю", "недели",
        "неделя", "месяц", "месяца", "месяце", "днях", "завтра", "сегодня", "мы", "вам", "вас", "нам",
        "они", "их", "больница", "больницы", "клиника", "клиники", "госпиталь",
        "医生", "大夫", "教授", "主任", "医师", "专家", "主治", "副主任", "院长", "无", "某",
    }
)  # fmt: skip
# A span of time names nobody, whatever its number: "in two weeks", "within a few days".
_TIME_SPAN = re.compile(
    r"\b(?:(?:the|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple|of|several|some|"
    r"\d+|next|this|coming|following|end|start|early|mid|late)\s+)+(?:days?|weeks?|months?|hours?)\b"
)
_INITIALS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
# Chinese titles follow the name unspaced (李医生): taken off the end of a word before it is judged;
# so are the hospital, the department and the words of what it will do (医院, 将, 已确认).
_CHINESE_TITLES = re.compile(r"(?:副?主任医师|主治医师|副?主任|副?教授|医生|大夫|医师|专家|院长)$")
_CHINESE_FILLER = re.compile(
    r"医院|科室|院方|将|会|的|届时|到时|那边|方面|再|已?(?:确认|指定|安排|分配|决定)"
)


def is_placeholder_name(name: str | None) -> bool:
    """Whether a reviewer's name names nobody (yet): blank, no letters, a placeholder ("TBD",
    "Dr TBD", "to be confirmed", "not assigned yet", 待确认, "уточняется"), a name marked as not
    sure ("Dr Li (TBC)"), what the hospital will do ("will be assigned next week", 医院下周指定),
    or only titles, filler and time words ("Dr", "the oncologist", "in two weeks")."""
    if not name:
        return True
    folded = unicodedata.normalize("NFKC", name).casefold().replace("’", "'")
    if _UNSURE.search(folded):
        return True
    words = re.sub(r"[^\w/]+|_", " ", _TIME_SPAN.sub(" ", folded)).replace("/", " ").split()
    return not any(_names_someone(word) for word in words)


def _names_someone(word: str) -> bool:
    """Whether one word of a reviewer's name is a name: not a title, a role, a filler or a time
    word, with a letter in it; an initial alone (Latin, Cyrillic, Greek) names nobody, a Chinese
    surname does (李 of 李医生)."""
    word = _CHINESE_FILLER.sub("", word)
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
# A denial makes a promise honest only when it governs the promise word itself: "cannot guarantee",
# "no guarantee", "not guaranteed", "нельзя гарантировать", 不能保证, 不一定, with at most a few
# auxiliaries between ("can't say for sure", "не могут точно", 不能百分之百保证). A negation of
# something else is reassurance, not a denial: "no problem, acceptance guaranteed", "не переживайте,
# точно примут", 没问题一定能接收, 不用担心.
_DENIED = re.compile(
    r"(?:\b(?:no|not|never|without|nor|neither|cannot|unable\s+to|refuses?\s+to|nobody|no\s+one|none)\b"
    r"|n't\b)(?:,?\s+(?:be|been|being|is|are|can|could|will|would|'ll|should|may|might|must|do|does|did|"
    r"give|given|offer|offered|make|made|provide|provided|say|said|tell|know|predict|promise|guarantee|"
    r"a|an|any|the|yet|really|actually|always|ever|fully|absolutely|completely|totally|definitely|"
    r"entirely|100\s*%|for|sure|certain|that|he|she|they|it|patient|us|you|them|him|her|anyone|"
    r"anybody)){0,4}\s*$"
    r"|\b(?:не|нет|без|ни|никто|никаких|никакой|никакие|никакого|нельзя|невозможно)"
    r"(?:,?\s+(?:могут|может|можем|могу|можно|могли|сможем|смогут|будут|будет|будем|станут|стали|дают|"
    r"даёт|дает|дадут|дадим|даём|даем|дать|сказать|скажут|скажем|знаем|знают|знает|обещать|обещают|"
    r"обещаем|гарантировать|гарантируют|что|его|её|ее|их|вам|нам|вас|им|ему|ей|всегда|полностью|"
    r"абсолютно|100\s*%|даже|вообще|какой|какие|каких|какого|какую)){0,4}\s*$"
    r"|(?:不|没|无|未|难以|无法|没法|没办法|谁也不|谁都不|没有人|没人|无人)(?:能够|可能|可以|敢|能|会|可|好|"
    r"用|太|给予|给|作出|做出|做|作|打|出|提供|说|你|您|百分之百|百分百|完全|绝对|任何|保证|承诺|确定|"
    r"他|她|，|,|\s){0,4}$"
)
# ... or when it follows it: "гарантий нет", 保证不了.
_DENIED_AFTER = re.compile(r"(?:\s*(?:\w+\s+)?нет\b|不了|不到)")
_SENTENCES = re.compile(r"[.!?;:。！？；：\n]+")


def promises_results(text: str) -> bool:
    """Whether an answer promises guaranteed eligibility or results (a denial of one does not)."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    for sentence in _SENTENCES.split(folded):
        for pattern in (_GUARANTEE, _PROMISE_OR_CERTAINTY):
            for match in pattern.finditer(sentence):
                if pattern is _PROMISE_OR_CERTAINTY and not _OUTCOME.search(sentence):
                    break
                before = sentence[max(0, match.start() - 60) : match.start()]
                # "no doubt" is itself the certainty; "no guarantee" is a denial of one.
                if match.group().startswith(("no ", "without", "beyond")):
                    return True
                if not _DENIED.search(before) and not _DENIED_AFTER.match(sentence, match.end()):
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


NO_OPINION_FILE = "no_opinion_file"
"""The gap of a move to opinion_received before the written opinion went to the family by the bot."""


def check_move(
    transition: Transition,
    *,
    open_flags: Collection[RedFlag],
    missing_items: Collection[ItemRef],
    reason: str | None,
    opinion_file: bool = True,
) -> bool:
    """Check a move may happen; return True when it goes through as an override of open flags or gaps.

    Sending with red flags open or records missing needs a reason, which is kept; so does
    recording an opinion while records are missing (an opinion before the records were
    reviewed is itself a red flag), or before the written opinion was sent to the family
    through the bot (``opinion_file`` False: the reason says how it came another way). Moves
    marked ``needs_reason`` (going back, withdrawing) need one too.
    """
    has_reason = bool(reason and reason.strip())
    gaps: tuple[tuple[str, ...], tuple[ItemRef, ...]] | None = None
    if transition.target == CaseState.SENT and (open_flags or missing_items):
        gaps = (tuple(flag.value for flag in open_flags), tuple(missing_items))
    elif transition.target == CaseState.OPINION_RECEIVED and (missing_items or not opinion_file):
        gaps = (() if opinion_file else (NO_OPINION_FILE,), tuple(missing_items))
    if gaps is not None:
        if not has_reason:
            raise OverrideRequired(transition.target.value, *gaps)
        return True
    if transition.needs_reason and not has_reason:
        raise ReasonRequired(transition.source.value, transition.target.value)
    return False
