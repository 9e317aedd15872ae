"""The sector's count of people: one person with client files at several institutions is one.

A person is recognised by the keyed hash (HMAC-SHA256 with the server's data key,
``core.services.identifiers.national_number_hash``) of the national register number when a file
has one, else by normalised name (``Client.sort_key``: lowercase, accents removed) and birth date.
The number itself never leaves the clients table: the federation's figures are counts.
"""
from __future__ import annotations

from sqlalchemy import String, and_, cast, func, literal, select

from core.models.people import Client


def people():
    """SQL: each client file with the id of its *person* across institutions (``client_id``,
    ``person_id``), for the sector's count of people.

    Files with the same keyed hash of the national number are one person. A file without the
    number is the person of the files with the same name and birth date that have one (the
    smallest hash if several), else of the files with that name and birth date alone. Names compare
    by ``sort_key`` (lowercase, accents removed), as the registry matches referrals. A person's id
    is the smallest id of their files, so counting people is counting distinct integers.
    """
    numbered = (select(Client.sort_key, Client.birth_date,
                       func.min(Client.national_number_hash).label("hash"))
                .where(Client.national_number_hash.is_not(None))
                .group_by(Client.sort_key, Client.birth_date).subquery("numbered"))
    by_name = literal("p:") + Client.sort_key + literal("|") + cast(Client.birth_date, String)
    keyed = (select(Client.id.label("client_id"),
                    func.coalesce(Client.national_number_hash, numbered.c.hash, by_name).label("person"))
             .outerjoin(numbered, and_(numbered.c.sort_key == Client.sort_key,
                                       numbered.c.birth_date == Client.birth_date))
             .subquery("keyed"))
    return select(keyed.c.client_id, func.min(keyed.c.client_id).over(partition_by=keyed.c.person)
                  .label("person_id")).subquery("people")
