"""What a feedback text says: keyword classification into sentiment and triage priority.

Classification is a transparent keyword lexicon, not a model: every decision can be traced to the words that
matched, and teams adapt it by passing their own :class:`Lexicon`. Terms may be single words or phrases; a
term preceded (within ``negation_window`` tokens) by a negation such as "not" or "never" flips its sentiment
and no longer counts as an issue ("not slow" is not a complaint about speed, "didn't crash" is not a crash
report). A rating on the 1-5 scale decides when the words do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

MIN_RATING = 1
MAX_RATING = 5
SATISFIED_RATING = 4


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    NEUTRAL = "neutral"


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


DEFAULT_NEGATIONS = frozenset(
    {"not", "no", "never", "don't", "doesn't", "didn't", "isn't", "wasn't", "aren't", "won't", "can't"}
    | {"cannot", "hardly", "without", "nothing"}
)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Keyword lists (lower case; multi-word phrases allowed) driving :func:`classify`."""

    positive: frozenset[str]
    negative: frozenset[str]
    critical: frozenset[str]
    high: frozenset[str]
    medium: frozenset[str]
    negations: frozenset[str] = DEFAULT_NEGATIONS
    negation_window: int = 3

    def __post_init__(self) -> None:
        if self.negation_window < 0:
            raise ValueError("negation_window must be >= 0")


def _terms(text: str) -> frozenset[str]:
    return frozenset(t.strip() for t in text.split(",") if t.strip())


DEFAULT_LEXICON = Lexicon(
    positive=_terms(
        "love, loved, great, excellent, awesome, amazing, fast, faster, easy, easier, intuitive, "
        "helpful, perfect, smooth, good, nice, like, happy, clean, clear, useful, reliable, quick, "
        "better, improved, fantastic, enjoy, convenient, works well, simple, thanks, thank you"
    ),
    negative=_terms(
        "hate, bad, terrible, awful, horrible, slow, slower, confusing, confused, broken, bug, "
        "buggy, crash, crashes, crashed, error, errors, fail, fails, failed, failure, annoying, "
        "difficult, hard to, frustrating, worse, useless, ugly, laggy, lag, freeze, freezes, frozen, "
        "stuck, missing, wrong, disappointed, poor, unusable, problem, issue, expensive, "
        "not working, doesn't work, does not work, lost, timeout"
    ),
    critical=_terms(
        "crash, crashes, crashed, data loss, lost my data, lost data, security, hacked, breach, "
        "charged twice, double charged, payment failed, can't log in, cannot log in, can't login, "
        "cannot login, outage, unusable, corrupted, deleted my"
    ),
    high=_terms(
        "broken, error, errors, fail, fails, failed, failure, bug, buggy, freeze, freezes, frozen, "
        "stuck, timeout, wrong, not working, doesn't work, does not work, lost"
    ),
    medium=_terms(
        "slow, slower, confusing, confused, hard to, difficult, annoying, laggy, lag, missing, ugly, "
        "unclear, expensive, frustrating"
    ),
)
"""A small English default: product-feedback vocabulary for sentiment and for triage priority."""


_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes inside words are kept ("don't") and curly ones normalised."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


@lru_cache(maxsize=65_536)
def _term_tokens(term: str) -> tuple[str, ...]:
    # Lexicon terms are few and fixed: tokenize each once, not once per text classified.
    return tuple(tokenize(term))


def _find(tokens: list[str], terms: Iterable[str]) -> list[tuple[str, int]]:
    """Every (term, start index) occurrence of the lexicon terms in the token list."""
    hits: list[tuple[str, int]] = []
    present = set(tokens)
    for term in terms:
        parts = _term_tokens(term)
        if not parts or parts[0] not in present:
            continue
        width = len(parts)
        for i in range(len(tokens) - width + 1):
            if tokens[i] == parts[0] and tuple(tokens[i : i + width]) == parts:
                hits.append((term, i))
    return hits


def _negated(tokens: list[str], start: int, lexicon: Lexicon) -> bool:
    window = tokens[max(0, start - lexicon.negation_window) : start]
    return any(t in lexicon.negations for t in window)


@dataclass(frozen=True, slots=True)
class Classification:
    """The sentiment and priority of one text and the terms that decided them."""

    sentiment: Sentiment
    priority: Priority
    score: int
    positive_terms: tuple[str, ...]
    negative_terms: tuple[str, ...]
    priority_terms: tuple[str, ...]


def _rating_sentiment(rating: int | None) -> Sentiment:
    if rating is None or rating == 3:
        return Sentiment.NEUTRAL
    return Sentiment.POSITIVE if rating >= SATISFIED_RATING else Sentiment.NEGATIVE


def classify(text: str, lexicon: Lexicon = DEFAULT_LEXICON, *, rating: int | None = None) -> Classification:
    """Classify a feedback text.

    Sentiment: ``score`` = (positive terms) − (negative terms), a negated term counting for the opposite side;
    positive above 0, negative below, and when the text is balanced or has no sentiment words, the ``rating``
    decides if given (4–5 positive, 1–2 negative, 3 neutral). Priority: the highest level with a non-negated
    match; without one, a negative text with a rating of 1–2 (or no rating) is ``medium`` and anything else
    ``low``.
    """
    tokens = tokenize(text)
    positive: list[str] = []
    negative: list[str] = []
    for term, start in _find(tokens, lexicon.positive):
        (negative if _negated(tokens, start, lexicon) else positive).append(term)
    for term, start in _find(tokens, lexicon.negative):
        (positive if _negated(tokens, start, lexicon) else negative).append(term)
    score = len(positive) - len(negative)
    if score > 0:
        sentiment = Sentiment.POSITIVE
    elif score < 0:
        sentiment = Sentiment.NEGATIVE
    else:
        sentiment = _rating_sentiment(rating)

    priority_terms: list[str] = []
    priority = Priority.LOW
    for level, terms in (
        (Priority.CRITICAL, lexicon.critical),
        (Priority.HIGH, lexicon.high),
        (Priority.MEDIUM, lexicon.medium),
    ):
        hits = [term for term, start in _find(tokens, terms) if not _negated(tokens, start, lexicon)]
        if hits and priority is Priority.LOW:
            priority = level
        priority_terms.extend(hits)
    if priority is Priority.LOW and sentiment is Sentiment.NEGATIVE and (rating is None or rating <= 2):
        priority = Priority.MEDIUM
    return Classification(
        sentiment=sentiment,
        priority=priority,
        score=score,
        positive_terms=tuple(sorted(set(positive))),
        negative_terms=tuple(sorted(set(negative))),
        priority_terms=tuple(sorted(set(priority_terms))),
    )
