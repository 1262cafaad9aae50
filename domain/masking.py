"""Personal data shown masked outside the case's own caseworkers (art. 39).

A complainant's identity and contact details are visible only to the
caseworkers of the case (procedures §2); every other page, report and export
shows them through these functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "*"

# An ASCII letter: names with one are written in words ("John Smith"), others
# are Chinese names masked character by character.
_LATIN = re.compile(r"[A-Za-z]")
_NOT_SPACE = re.compile(r"\S+")


def _mask_word(word: str) -> str:
    """Keep the first letter and the punctuation of a word, hide its other letters."""
    masked, first = [], True
    for char in word:
        if char.isalnum():
            masked.append(char if first else MASK)
            first = False
        else:
            masked.append(char)
    return "".join(masked)


def mask_name(name: str) -> str:
    """Mask a person's name: "王晓梅" -> "王*梅", "John Smith" -> "J*** S****"."""
    name = name.strip()
    if _LATIN.search(name) or " " in name:
        return _NOT_SPACE.sub(lambda m: _mask_word(m.group()), name)
    if len(name) <= 1:
        return MASK * len(name)
    if len(name) == 2:
        return name[0] + MASK
    # Surname and last character stay, so a caseworker can still tell two
    # masked names apart in a list.
    return name[0] + MASK * (len(name) - 2) + name[-1]


def _mask_digits(text: str, keep: set[int]) -> str:
    """Hide every digit of text whose index among the digits is not in keep."""
    masked, index = [], 0
    for char in text:
        if char.isdigit():
            masked.append(char if index in keep else MASK)
            index += 1
        else:
            masked.append(char)
    return "".join(masked)


def mask_phone(phone: str) -> str:
    """Mask a phone number: "13812345678" -> "138****5678"."""
    digits = [c for c in phone if c.isdigit()]
    count = len(digits)
    if count == 0:
        return phone
    # A mainland mobile number, perhaps written with the country code 86: the
    # carrier prefix and the last four digits stay, as on bank statements.
    national = 2 if count == 13 and digits[:3] == ["8", "6", "1"] else 0
    if count - national == 11 and digits[national] == "1":
        kept = {*range(national + 3), *range(count - 4, count)}
        return _mask_digits(phone, kept)
    # Landlines and short numbers: at most the last four digits, and never
    # more than half of them, so that a short extension is not shown whole.
    shown = min(4, count // 2)
    return _mask_digits(phone, set(range(count - shown, count)))


def mask_id_number(number: str) -> str:
    """Mask an identity card number: the first 3 and last 4 characters stay."""
    number = number.strip()
    # The 18-character number (and the old 15-digit one): the first 3 name only
    # a province and part of a region, the last 4 a sequence and check digit;
    # the birth date between stays hidden.
    if len(number) >= 15:
        return number[:3] + MASK * (len(number) - 7) + number[-4:]
    shown = min(4, len(number) // 2)
    return MASK * (len(number) - shown) + number[len(number) - shown :]


def mask_text_names(text: str, names: Iterable[str]) -> str:
    """Replace each given full name in free text with its masked form."""
    wanted = {name.strip() for name in names if name.strip()}
    if not wanted:
        return text
    # Longest first, so that "王晓梅" is masked whole before "王晓" can match it.
    patterns = []
    for name in sorted(wanted, key=len, reverse=True):
        escaped = re.escape(name)
        if _LATIN.search(name):
            # "Ann" must not mask the start of "Annual".
            escaped = rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"
        patterns.append(escaped)
    return re.sub("|".join(patterns), lambda m: mask_name(m.group()), text)
