"""Filing for someone else: who the requester is, when an agent files for a person who phoned.

The filing itself is `Intake.file_request(on_behalf_of=...)` (who may: `Policy.may_file_on_behalf`);
this module only says who the typed e-mail is. A person is accepted when the desk knows them (in
`app.yaml`'s people, or seen on a chat platform: an `identities` row) or when the address is at one
of the organisation's own domains (the domains of `app.yaml`'s people and single sign-on's
`allowed_domains`). Anything else is refused: a typo would otherwise file a request nobody can
ever read. See docs/decisions (filing on behalf).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.access import name_from_email
from bot.config import AppConfig
from bot.desk.unit import Unit
from bot.errors import DeskError
from bot.i18n import _
from bot.model import Identity

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def organisation_domains(config: AppConfig) -> tuple[str, ...]:
    """The organisation's own e-mail domains: its people's in `app.yaml` and single sign-on's allowed ones."""
    found = {p.email.rsplit("@", 1)[-1].lower() for p in config.people}
    if config.sign_in.oidc is not None:
        found |= set(config.sign_in.oidc.allowed_domains)
    return tuple(sorted(found))


async def requester_for(unit: Unit, typed: str) -> tuple[str, str]:
    """(e-mail, name) of the person a request is filed for, from the e-mail the agent typed.

    The name is the directory's (`app.yaml`, then what a chat platform told us), else made from the
    address. Raises `DeskError` for what is no e-mail address, or an unknown address outside the
    organisation's domains.
    """
    email = typed.strip().lower()
    if not email:
        raise DeskError(_("Give the e-mail address of the person you file it for."))
    if not _EMAIL.match(email):
        raise DeskError(_("'{email}' is not an e-mail address.", email=typed.strip()))
    person = unit.config.person(email)
    if person is not None:
        return email, person.name
    async with unit.sessions() as session:
        names = (await session.execute(select(Identity.name).where(Identity.email == email))).scalars().all()
    named = next((n for n in names if n), None)
    if names:
        return email, named or name_from_email(email)
    domains = organisation_domains(unit.config)
    if email.rsplit("@", 1)[-1] not in domains:
        raise DeskError(_("Zonedesk does not know {email}, and it is not an address of your organisation "
                          "({domains}). Check the spelling.", email=email, domains=", ".join(domains)))
    return email, name_from_email(email)
