"""A person's language and time zone: asked with buttons on joining (language first, then the zone, by
country from the language or by a city they type), and changed later with /language and /timezone."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, MagicData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from casebot.clock import Clock
from casebot.db.models import Participant
from casebot.domain.roles import Role
from casebot.domain.zones import find_zones, zone_label, zones_for_locale
from casebot.rendering import Renderer
from casebot.services import Services
from casebot.services.participants import SUPPORTED_LOCALES
from casebot.telegram.callbacks import LanguageButton, ZoneButton
from casebot.telegram.context import Reply
from casebot.telegram.filters import Args
from casebot.telegram.menus import set_coordinator_menu
from casebot.telegram.routers.prompts import AwaitingCity, Pending


def language_keyboard(reply: Reply) -> InlineKeyboardMarkup:
    """One button per language, each named in itself."""
    builder = InlineKeyboardBuilder()
    for locale in SUPPORTED_LOCALES:
        builder.button(text=reply.label(f"language_{locale}"), callback_data=LanguageButton(locale=locale))
    builder.adjust(3)
    return builder.as_markup()


def zone_keyboard(zones: list[str], locale: str, clock: Clock) -> InlineKeyboardMarkup:
    """One button per time zone offered, labelled with the city and today's offset."""
    builder = InlineKeyboardBuilder()
    now = clock.now()
    for zone in zones:
        builder.button(text=zone_label(zone, locale, now), callback_data=ZoneButton(zone=zone))
    builder.adjust(2)
    return builder.as_markup()


async def ask_language(reply: Reply) -> None:
    """The first question after joining."""
    await reply("settings/choose_language", reply_markup=language_keyboard(reply))


async def ask_zone(reply: Reply, casebot_state: FSMContext, clock: Clock) -> None:
    """Offer the likely zones for the person's language; a city they type is the other way."""
    await casebot_state.set_state(AwaitingCity.city)
    zones = zones_for_locale(reply.locale)
    await reply("settings/choose_zone", reply_markup=zone_keyboard(zones, reply.locale, clock))


def onboarding_router(clock: Clock) -> Router:
    """Language and time zone, for participants (a host keeps its own /language for strangers)."""
    router = Router(name="casebot.onboarding")
    router.message.filter(MagicData(F.participant))
    router.callback_query.filter(MagicData(F.participant))

    @router.callback_query(LanguageButton.filter())
    async def language_chosen(
        query: CallbackQuery, callback_data: LanguageButton, participant: Participant, services: Services,
        casebot_state: FSMContext, reply: Reply, renderer: Renderer, bot: Bot,
    ) -> None:  # fmt: skip
        await services.participants.set_locale(participant, callback_data.locale)
        answer = reply.in_locale(participant.locale)
        await query.answer()
        await _menu_follows(participant, services, renderer, bot)
        if await answer.edit("settings/language_saved"):
            await ask_zone(answer, casebot_state, clock)
        # else a doubled press: the first one already edited the chooser and asked the zone

    @router.callback_query(ZoneButton.filter())
    async def zone_chosen(
        query: CallbackQuery, callback_data: ZoneButton, participant: Participant, services: Services,
        casebot_state: FSMContext, reply: Reply,
    ) -> None:  # fmt: skip
        await services.participants.set_timezone(participant, callback_data.zone)
        await casebot_state.clear()
        await query.answer()
        await reply.edit("settings/saved", participant=participant, now=clock.now())

    @router.message(F.text, Pending(AwaitingCity.city))
    async def city_typed(
        message: Message, participant: Participant, services: Services, casebot_state: FSMContext,
        reply: Reply,
    ) -> None:  # fmt: skip
        found = find_zones(message.text or "", participant.locale)
        if len(found) == 1:
            await services.participants.set_timezone(participant, found[0])
            await casebot_state.clear()
            await reply("settings/saved", participant=participant, now=clock.now())
        elif found:
            await reply("settings/which_zone", reply_markup=zone_keyboard(found, participant.locale, clock))
        else:
            await reply("settings/unknown_city")

    @router.message(Command("language"), Args(1))
    async def language(
        message: Message, args: list[str], participant: Participant, services: Services, reply: Reply,
        renderer: Renderer, bot: Bot,
    ) -> None:  # fmt: skip
        await services.participants.set_locale(participant, args[0])
        await reply.in_locale(participant.locale)("settings/saved", participant=participant, now=clock.now())
        await _menu_follows(participant, services, renderer, bot)

    @router.message(Command("language"))
    async def languages(message: Message, reply: Reply) -> None:
        await ask_language(reply)

    @router.message(Command("timezone"), Args(1))
    async def timezone(
        message: Message, args: list[str], participant: Participant, services: Services, reply: Reply
    ) -> None:
        await services.participants.set_timezone(participant, args[0])
        await reply("settings/saved", participant=participant, now=clock.now())

    @router.message(Command("timezone"))
    async def timezones(message: Message, casebot_state: FSMContext, reply: Reply) -> None:
        await ask_zone(reply, casebot_state, clock)

    return router


async def _menu_follows(participant: Participant, services: Services, renderer: Renderer, bot: Bot) -> None:
    """The command menu of the chat in the language just chosen (the default one follows the app's)."""
    admin = services.participants.actor_for(participant).role == Role.ADMIN
    await set_coordinator_menu(bot, renderer, participant, admin=admin)
