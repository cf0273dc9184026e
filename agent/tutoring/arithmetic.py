"""Arithmetic in a learner's words, computed exactly: "what is 12 times 7", "three quarters
of 20", "15 percent of 80", "one half plus one third", "convert 2.5 km to metres".

A small model guesses at sums ("12 times 7 is 80"); this never does. The learner's words
become tokens, the tokens a tree by precedence (brackets, powers, times and divide, plus
and minus), and the tree is evaluated with `Fraction`: no `eval`, no floats, bounded sizes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from agent.tutoring.numbers import (
    DENOMINATORS,
    FRACTION_WORDS,
    number_words_to_digits,
    spoken_number,
)

MAX_MAGNITUDE = Fraction(10**15)
MAX_EXPONENT = 12

# word or symbol → operator; longer phrases first so "multiplied by" beats "by"
OPERATORS = [
    ("multiplied by", "*"), ("divided by", "/"), ("to the power of", "^"), ("take away", "-"),
    ("times", "*"), ("x", "*"), ("×", "*"), ("*", "*"), ("÷", "/"), ("/", "/"), ("over", "/"),
    ("plus", "+"), ("+", "+"), ("minus", "-"), ("-", "-"), ("−", "-"), ("^", "^"),
    ("percent of", "%of"), ("per cent of", "%of"), ("% of", "%of"), ("percent", "%"),
    ("per cent", "%"), ("%", "%"), ("of", "of"), ("squared", "sq"), ("cubed", "cb"),
    ("square root of", "sqrt"), ("(", "("), (")", ")"),
]  # fmt: skip
OPERATOR_WORDS = {
    "*": "times", "/": "divided by", "+": "plus", "-": "minus", "^": "to the power of", "of": "of",
}  # fmt: skip
LEADS = re.compile(
    r"^(?:so |ok |okay |um |uh |and |but |hey |please )*(?:(?:can|could) you )?"
    r"(?:please )?(?:tell me |work out |calculate |compute |what(?:'s| is| are| does) |whats |"
    r"how much is |how much are |solve |find |what )?(?:the answer to |the value of |the )?"
)
CONVERSION = re.compile(r"^(.+?) (?:as|in|into) (?:an? )?(percentage|percent|decimal|fraction)$")
TAILS = re.compile(r"\s+(?:is|are|equals?|makes?|is equal to|gives?)$")
ADD_FORM = re.compile(r"^(?:add|sum) (.+?) (?:and|to) (.+)$")
SUBTRACT_FORM = re.compile(r"^subtract (.+?) from (.+)$")
MULTIPLY_FORM = re.compile(r"^multiply (.+?) (?:by|and) (.+)$")
DIVIDE_FORM = re.compile(r"^divide (.+?) by (.+)$")


class ArithmeticError_(ValueError):
    """Words that look like arithmetic but cannot be computed exactly (too big)."""


class Approximate(ArithmeticError_):
    """A result with no exact short form; the message is the sentence to say."""


@dataclass(frozen=True)
class Computed:
    """An exact result and the sentence that says it."""

    expression: str  # the calculation in words, as heard
    value: Fraction | None  # None when it has no answer (division by zero)
    sentence: str


def _tokens(text: str) -> list[str | Fraction] | None:
    """Numbers and operators, or None when a word is neither (not a calculation)."""
    tokens: list[str | Fraction] = []
    rest = text.strip()
    number = re.compile(r"\d+(?:\.\d+)?")
    fraction = re.compile(r"(\d{1,3})/(\d{1,2})(?![\d.])")  # "3/4" is one number
    while rest:
        rest = rest.lstrip(" ,")
        if not rest:
            break
        if (
            (match := fraction.match(rest))
            and int(match.group(2)) in DENOMINATORS
            and int(match.group(1)) < int(match.group(2))
        ):
            tokens.append(Fraction(int(match.group(1)), int(match.group(2))))
            rest = rest[match.end() :]
            continue
        if match := number.match(rest):
            tokens.append(Fraction(match.group()))
            rest = rest[match.end() :]
            continue
        for phrase, symbol in OPERATORS:
            if rest.startswith(phrase) and (
                not phrase[-1].isalpha() or not rest[len(phrase) : len(phrase) + 1].isalpha()
            ):
                tokens.append(symbol)
                rest = rest[len(phrase) :]
                break
        else:
            word = rest.split(" ", 1)[0]
            part = FRACTION_WORDS.get(word)
            if part is None:
                return None
            # "three quarters" is the one number 3/4; "a quarter" and "quarter" are 1/4
            if tokens and isinstance(tokens[-1], Fraction) and tokens[-1].denominator == 1:
                tokens[-1] = tokens[-1] * part
            else:
                tokens.append(part)
            rest = rest[len(word) :]
    return tokens


class _Parser:
    """Recursive descent over the tokens: sum → product → power → unary → atom."""

    def __init__(self, tokens: list[str | Fraction]) -> None:
        self.tokens, self.at = tokens, 0

    def peek(self) -> str | Fraction | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str | Fraction | None:
        token = self.peek()
        self.at += 1
        return token

    def parse(self) -> Fraction | None:
        value = self.sum()
        if self.peek() is not None:
            raise SyntaxError(f"unexpected {self.peek()!r}")
        return value

    def sum(self) -> Fraction | None:
        value = self.product()
        while self.peek() in ("+", "-"):
            op, right = self.take(), self.product()
            value = _apply(op, value, right)
        return value

    def product(self) -> Fraction | None:
        value = self.power()
        while self.peek() in ("*", "/", "%of", "of"):
            op, right = self.take(), self.power()
            value = _apply(op, value, right)
        return value

    def power(self) -> Fraction | None:
        value = self.unary()
        while self.peek() in ("^", "sq", "cb", "%"):
            op = self.take()
            if op == "^":
                value = _apply("^", value, self.unary())
            else:
                value = _apply(op, value, None)
        return value

    def unary(self) -> Fraction | None:
        if self.peek() == "-":
            self.take()
            value = self.unary()
            return None if value is None else -value
        if self.peek() == "sqrt":
            self.take()
            return _square_root(self.unary())
        return self.atom()

    def atom(self) -> Fraction | None:
        token = self.take()
        if token == "(":
            value = self.sum()
            if self.take() != ")":
                raise SyntaxError("unclosed bracket")
            return value
        if isinstance(token, Fraction):
            return token
        raise SyntaxError(f"expected a number, got {token!r}")


def _bounded(value: Fraction) -> Fraction:
    if abs(value) > MAX_MAGNITUDE or value.denominator > MAX_MAGNITUDE:
        raise ArithmeticError_("that number is too large to say")
    return value


def _apply(op, left: Fraction | None, right: Fraction | None) -> Fraction | None:
    if left is None or (right is None and op not in ("sq", "cb", "%")):
        return None  # an earlier division by zero
    if op == "+":
        return _bounded(left + right)
    if op == "-":
        return _bounded(left - right)
    if op in ("*", "of"):
        return _bounded(left * right)
    if op == "%of":
        return _bounded(left / 100 * right)
    if op == "/":
        return None if right == 0 else _bounded(left / right)
    if op == "%":
        return left / 100
    if op == "sq":
        return _bounded(left * left)
    if op == "cb":
        return _bounded(left**3)
    if op == "^":
        if right.denominator != 1 or abs(right) > MAX_EXPONENT:
            raise ArithmeticError_("I can only work out whole-number powers up to 12")
        if left == 0 and right < 0:
            return None
        return _bounded(left ** int(right))
    raise SyntaxError(f"unknown operator {op!r}")


def _square_root(value: Fraction | None) -> Fraction | None:
    if value is None:
        return None
    if value < 0:
        raise ArithmeticError_("a negative number has no real square root")
    top, bottom = _exact_root(value.numerator), _exact_root(value.denominator)
    if top is None or bottom is None:
        raise Approximate(
            f"The square root of {spoken_number(value)} is not a whole number or a fraction; "
            f"it is about {math.sqrt(value):.4g}."
        )
    return Fraction(top, bottom)


def _exact_root(n: int) -> int | None:
    root = math.isqrt(n)
    return root if root * root == n else None


def _said(tokens: list[str | Fraction]) -> str:
    words = []
    for token in tokens:
        if isinstance(token, Fraction):
            words.append(spoken_number(token))
        elif token in OPERATOR_WORDS:
            words.append(OPERATOR_WORDS[token])
        else:
            words.append({"%of": "percent of", "%": "percent", "sq": "squared", "cb": "cubed",
                          "sqrt": "the square root of", "(": "(", ")": ")"}[token])  # fmt: skip
    return " ".join(words).replace("( ", "(").replace(" )", ")")


def _as_expression(text: str) -> str:
    """'add 3 and 4' → '3 plus 4' and the like; other text unchanged."""
    for form, template in (
        (ADD_FORM, "{0} plus {1}"), (SUBTRACT_FORM, "{1} minus {0}"),
        (MULTIPLY_FORM, "{0} times {1}"), (DIVIDE_FORM, "{0} divided by {1}"),
    ):  # fmt: skip
        if match := form.match(text):
            return template.format(*match.groups())
    return text


def compute(question: str) -> Computed | None:
    """The exact answer to arithmetic in `question`, or None if it is not a calculation.

    A calculation needs at least one operator and one number ("what is 12 times 7",
    "half of 30", "5 squared"); a question about a concept ("what is a fraction") is not.
    """
    text = question.lower().strip()
    text = re.sub(r"[?!.]+$", "", text).replace(",", " ").replace("’", "'")
    text = re.sub(r"(\d) (?=\d{3}\b)", r"\1", text)  # "1 000" → "1000"
    text = number_words_to_digits(text)
    for _ in range(3):  # "can you tell me what ..." peels in steps
        text = LEADS.sub("", text, count=1).strip()
    text = TAILS.sub("", text).strip()
    text = _as_expression(text)
    if match := CONVERSION.match(text):  # "3/4 as a percentage"
        return _converted(match.group(1), match.group(2))
    tokens = _tokens(re.sub(r"\s+", " ", text))
    if not tokens or not any(isinstance(t, Fraction) for t in tokens):
        return None
    if not any(isinstance(t, str) for t in tokens):
        return None
    said = _said(tokens)
    try:
        value = _Parser(tokens).parse()
    except SyntaxError:
        return None
    except Approximate as exc:
        return Computed(said, None, str(exc))
    except ArithmeticError_ as exc:
        return Computed(said, None, f"I can't say that exactly: {exc}.")
    if value is None:
        return Computed(said, None, "That has no answer, because you cannot divide by zero.")
    return Computed(said, value, f"{_capitalised(said)} is {spoken_number(value)}.")


def _converted(amount: str, form: str) -> Computed | None:
    tokens = _tokens(amount.strip())
    if not tokens:
        return None
    try:
        value = _Parser(tokens).parse()
    except (SyntaxError, ArithmeticError_):
        return None
    if value is None:
        return None
    said = _said(tokens)
    if form.startswith("percent"):
        text = f"{_capitalised(said)} is {spoken_number(value * 100)} percent."
    elif form == "decimal":
        text = f"{_capitalised(said)} as a decimal is {float(value):.4g}."
    else:
        text = f"{_capitalised(said)} as a fraction is {value.numerator} over {value.denominator}."
    return Computed(said, value, text)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
