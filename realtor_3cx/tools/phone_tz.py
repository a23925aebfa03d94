# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The time zone a phone number is in, for a contact created from a call.

Plain Python (no Odoo import). ``phonenumbers`` knows the zones of a number's area (a US area
code is in one zone; a Russian mobile range spans eleven). A contact needs *one* zone (its
calling window is kept in it), so:

* one zone for the number: that one;
* several, or none known (the fictional 555 range, a mobile range): the first zone of the
  number's country in the tz database's order, which lists a country's main zone first
  (``America/New_York`` for the US, ``Europe/Moscow`` first of the Russian mobile zones),
  among the number's own zones when it has several. It is a guess, but a far better one than
  the realtor's own zone, which is what a new contact would get otherwise; the form shows it
  for the realtor to correct.

>>> time_zone_for("+13105550100")
'America/Los_Angeles'
>>> time_zone_for("+442079460958")
'Europe/London'
>>> time_zone_for("+15550108301")  # no area: the country's first zone
'America/New_York'
>>> time_zone_for("+79161234567")  # eleven zones: the country's first of them
'Europe/Moscow'
>>> time_zone_for("not a number") is None
True

A number's jurisdiction (the calling rules that govern it) is its country and, where the
geocoder knows it, its area's region: an area code presumes its subscriber a resident.

>>> jurisdiction_for("+13055550147"), jurisdiction_for("+14155550147")
(('US', 'Florida'), ('US', 'San Francisco, CA'))
>>> jurisdiction_for("+15550108301"), jurisdiction_for("not a number")
(('US', ''), (None, ''))
"""

import functools

import phonenumbers
import pytz

from .phone import time_zones, to_e164


def time_zone_for(raw, region=None):
    """The time zone (an IANA name) the number ``raw`` is most likely in, or ``None``.

    :param str raw: the number, in any format :func:`~.phone.to_e164` reads
    :param str region: ISO country code for national numbers, if known
    """
    e164 = to_e164(raw, region)
    if not e164:
        return None
    number = phonenumbers.parse(e164)
    zones = time_zones(e164)
    if len(zones) == 1:
        return zones[0]
    country = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(number.country_code)
    )
    ordered = (pytz.country_timezones.get(country) or []) if country else []
    guesses = [z for z in ordered if z in zones] if zones else list(ordered)
    if guesses:
        return guesses[0]
    return zones[0] if zones else None


# The calling rules ask it on every outbound check, the same few numbers again and again; the
# geocoder's answer for a number never changes in a process.
@functools.lru_cache(maxsize=4096)
def jurisdiction_for(e164):
    """``(country, region)`` of the E.164 number ``e164``: the ISO country code (``None``
    when not a number) and the geocoder's English description of its area (``"Florida"``,
    ``"Miami, FL"``, ``"London"``; empty when unknown)."""
    try:
        number = phonenumbers.parse(e164 or "")
    except phonenumbers.NumberParseException:
        return None, ""
    country = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(number.country_code)
    )
    if not country or country == "ZZ":
        return None, ""
    # Imported here: the geocoder's data maps about 99 MB into the process, which every Odoo
    # worker and the telephony worker paid at load when it was imported with this module.
    from phonenumbers import geocoder

    return country, geocoder.description_for_number(number, "en", region=country)
