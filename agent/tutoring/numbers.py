"""Numbers as learners say them and as the tutor should say them back.

ASR writes "twelve times seven" as often as "12 times 7"; a fraction answer reads better
as "five sixths" than as 0.8333. Both directions live here.
"""

from __future__ import annotations

import re
from fractions import Fraction

UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}  # fmt: skip
SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
DENOMINATORS = {
    2: ("half", "halves"), 3: ("third", "thirds"), 4: ("quarter", "quarters"),
    5: ("fifth", "fifths"), 6: ("sixth", "sixths"), 7: ("seventh", "sevenths"),
    8: ("eighth", "eighths"), 9: ("ninth", "ninths"), 10: ("tenth", "tenths"),
    11: ("eleventh", "elevenths"), 12: ("twelfth", "twelfths"),
}  # fmt: skip
FRACTION_WORDS: dict[str, Fraction] = {
    word: Fraction(1, d) for d, pair in DENOMINATORS.items() for word in pair
}
FRACTION_WORDS.update({"fourth": Fraction(1, 4), "fourths": Fraction(1, 4)})
SMALL_WORDS = {value: word for word, value in {**UNITS, **TENS}.items()}

_NUMBER_WORD = "|".join([*UNITS, *TENS, *SCALES])
_SPELLED = re.compile(rf"\b(?:{_NUMBER_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_NUMBER_WORD}))*\b")
_POINT = re.compile(r"(\d+) point ((?:\d )*\d)\b")


def _value(words: list[str]) -> int:
    total, current = 0, 0
    for word in words:
        if word in UNITS:
            current += UNITS[word]
        elif word in TENS:
            current += TENS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:  # thousand, million
            total += max(current, 1) * SCALES[word]
            current = 0
    return total + current


def number_words_to_digits(text: str) -> str:
    """'twelve times seven' → '12 times 7'; 'one hundred and five' → '105';
    'three point five' → '3.5'; 'a half' → 'half'. Other words are left alone."""

    def replace(match: re.Match) -> str:
        words = [w for w in re.split(r"[\s-]+", match.group()) if w and w != "and"]
        # "one and two" is two numbers; "and" joins parts of one only after a scale word
        parts = re.split(r"\s+and\s+", match.group())
        if len(parts) > 1 and not any(p.split()[-1] in SCALES for p in parts[:-1]):
            return " and ".join(str(_value(re.split(r"[\s-]+", p))) for p in parts)
        return str(_value(words))

    text = _SPELLED.sub(replace, text)
    text = _POINT.sub(lambda m: f"{m.group(1)}.{m.group(2).replace(' ', '')}", text)
    return re.sub(r"\ban? (?=(?:" + "|".join(FRACTION_WORDS) + r")\b)", "", text)


def _fraction_words(value: Fraction) -> str:
    singular, plural = DENOMINATORS[value.denominator]
    count = value.numerator
    name = singular if count == 1 else plural
    if value.denominator == 2 and count == 1:
        return "one half"
    return f"{SMALL_WORDS.get(count, str(count))} {name}"


def _terminates(value: Fraction) -> bool:
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def spoken_number(value: Fraction) -> str:
    """How the tutor says an exact value: 84, minus 2, 3.5, five sixths, 2 and one third,
    or about 0.538 for a fraction with no short name."""
    if value < 0:
        return "minus " + spoken_number(-value)
    if value.denominator == 1:
        return str(value.numerator)
    if value < 1 and value.denominator in DENOMINATORS:
        return _fraction_words(value)
    if _terminates(value) and value.denominator <= 1000:
        return f"{float(value):.3f}".rstrip("0").rstrip(".")
    whole, part = divmod(value.numerator, value.denominator)
    if value.denominator in DENOMINATORS:
        return f"{whole} and {_fraction_words(Fraction(part, value.denominator))}"
    return f"about {float(value):.3g}"
