# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Phone numbers to E.164, the one form every lookup compares.

Plain Python (no Odoo import). Numbers only have to be *possible* (the right length for their
country), not *valid*: the fictional 555-01xx numbers and new number ranges the installed
``phonenumbers`` does not know yet must still match.

>>> to_e164("+1 (555) 010-2030")
'+15550102030'
>>> to_e164("0015550102030", "US")  # 00 is the international prefix of most of the world
'+15550102030'
>>> to_e164("555-010-2030", "US")
'+15550102030'
>>> to_e164("+44 20 7946 0958 ext. 12")
'+442079460958'
>>> to_e164("sip:+15550102030@pbx.example.com")
'+15550102030'
>>> to_e164("garbage", "US") is None
True
>>> to_e164("555-0108", "US") is None  # a local number without its area code: no E.164
True

Shown to people, a number is written as they write it (:func:`to_display`): nationally for
their own country's numbers, internationally for the others.

>>> to_display("+15550102030", "US")
'(555) 010-2030'
>>> to_display("+442079460958", "US")
'+44 20 7946 0958'
>>> to_display("101", "US")  # an extension, or anything that is not a phone number
'101'
>>> time_zones("+12125550100"), time_zones("+442079460958"), time_zones("+15550108301")
(['America/New_York'], ['Europe/London'], [])
"""

import re

import phonenumbers
from phonenumbers import timezone as phone_timezone

# Anything longer is not a phone number, whatever phonenumbers would make of it.
MAX_LENGTH = 64
_SIP = re.compile(r"^(?:sips?|tel):", re.I)


def to_e164(raw, region=None):
    """The E.164 form of ``raw`` (``+`` and digits, no extension), or ``None``.

    :param str raw: a number as typed or as 3CX reports it
    :param str region: ISO country code used for national numbers (``"US"``), if known
    """
    if not raw or not isinstance(raw, str) or len(raw) > MAX_LENGTH:
        return None
    text = _SIP.sub("", raw.strip()).split("@", 1)[0].strip()
    compact = re.sub(r"[\s().\-/]", "", text)
    if compact.startswith("00") and not compact.startswith("000"):
        # "00" means "international" in most of the world; NANP numbers never start with 0, so
        # reading it as "+" is right even where the dialling prefix is 011.
        text = "+" + compact[2:]
    # Callers pass what the browser sent: anything but a country code means none.
    region = region.upper() if isinstance(region, str) and region else None
    if not text.startswith("+") and region is None:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # IS_POSSIBLE_LOCAL_ONLY is not enough: "555-0108" would become "+15550108", no number.
    if phonenumbers.is_possible_number_with_reason(number) != (
        phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_display(raw, region=None):
    """``raw`` as people in ``region`` write it: national format for a number of that country
    (or of its shared country code: NANP numbers are written nationally across it),
    international otherwise; what is not a phone number is returned as it came.

    :param str raw: a number as stored or as 3CX reports it
    :param str region: the reader's ISO country code (``"US"``), if known
    """
    e164 = to_e164(raw, region)
    if not e164:
        return raw or ""
    number = phonenumbers.parse(e164)
    region = region.upper() if isinstance(region, str) and region else None
    national = region and phonenumbers.country_code_for_region(region) == number.country_code
    fmt = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if national
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, fmt)
def time_zones(e164):
    """The time zones a number may ring in, as phonenumbers knows them from its prefix (one
    for most numbers; a country's several for a number that could be anywhere in it); empty
    when unknown (the fictional 555 range, an invalid number).

    :param str e164: a number in E.164 (``to_e164``'s result)
    """
    try:
        number = phonenumbers.parse(e164 or "", None)
    except phonenumbers.NumberParseException:
        return []
    return [tz for tz in phone_timezone.time_zones_for_number(number)
            if tz != phone_timezone.UNKNOWN_TIMEZONE]
