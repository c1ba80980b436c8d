"""Text signals for the offline grader: sentences, reasoning, lists, negation, injection."""

from __future__ import annotations

import re

from service.retrieval.search import tokenize

_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])|;\s+|\s+-\s+(?=[A-Z])")
_BULLET = re.compile(r"^\s*([-*•]|\d+[.)])\s+")
REASON = re.compile(
    r"\b(because|since|so that|so we|so the|which means|that means|to avoid|to ensure|to keep|"
    r"in order to|otherwise|trade-?off|the reason|given that|due to|lets us|let us|allows?|"
    r"enables?|this way|prevents?|avoids?|at the cost of|in exchange|over .{3,40} because|"
    r"matters more|cheaper|faster|simpler|safer|as long as|unless|if we|when we|which keeps|"
    r"means we|guarantees?|protects?|so|thus|hence|therefore|that way|in case|keeps?|stops?|"
    r"saves?|costs?|risks?|otherwise|so that|which is why|the point is)\b",
    re.I,
)
NEGATION = re.compile(
    r"\b(not|never|no|don't|do not|won't|wouldn't|avoid|avoiding|instead of|rather than|"
    r"without|isn't|aren't|shouldn't|against)\b",
    re.I,
)
INJECTION = re.compile(
    r"(ignore (all |the |any |your )?(previous |prior |above )?(instructions|rubric|criteria|rules)|"
    r"mark (everything|all|every item|each item)( items?)?( as)? met|give (me )?(full|maximum|max) "
    r"(marks|score|points)|you are now|system prompt|disregard (the|all|your)|score (this|me) "
    r"(as )?(100|perfect|strong hire)|grade (this|me) as|as an ai|override the (grader|rubric))",
    re.I,
)
_VERB_HINT = re.compile(
    r"\b(is|are|be|use|using|would|will|we|i|write|read|store|send|partition|process|keep|land|"
    r"run|build|choose|pick|join|compute|handle|serve|load|stream|batch|check|monitor|ask|need)\b",
    re.I,
)


def paragraphs(answer: str) -> list[str]:
    """Join wrapped lines; blank lines and bullet items start a new paragraph."""
    blocks: list[str] = []
    current: list[str] = []
    for raw in answer.splitlines():
        line = raw.strip()
        if not line or _BULLET.match(line):
            if current:
                blocks.append(" ".join(current))
            current = [_BULLET.sub("", line).strip()] if line else []
        else:
            current.append(line)
    if current:
        blocks.append(" ".join(current))
    return [b for b in blocks if b]


_CLAUSE = re.compile(r",\s+(?=(?:and|but|while|whereas|plus|then|and then)\s)")
CLAUSE_WORDS = 18


def clauses(sentence: str) -> list[str]:
    """Split a long compound sentence at ', and' / ', but' / ', while' boundaries."""
    if len(sentence.split()) <= CLAUSE_WORDS:
        return [sentence]
    return [c.strip() for c in _CLAUSE.split(sentence) if len(c.strip()) > 2]


def sentences(answer: str) -> list[str]:
    """Split an answer into sentence-like units (bullets, semicolons and long clauses split too)."""
    out: list[str] = []
    for block in paragraphs(answer):
        for part in _SENT_SPLIT.split(block):
            if part and len(part.strip()) > 2:
                out += clauses(part.strip())
    return out


def has_reason(text: str) -> bool:
    return bool(REASON.search(text))


def is_injection(text: str) -> bool:
    return bool(INJECTION.search(text))


def answer_units(text: str) -> list[str]:
    """The sentence units of an answer that grading and retrieval see (injected ones removed)."""
    return [u for u in sentences(text) if not is_injection(u)]


def without_injection(text: str) -> str:
    """The text minus sentences that try to instruct the grader or interviewer."""
    return " ".join(answer_units(text))


def is_bare_list(text: str) -> bool:
    """A comma/slash separated run of terms with no reasoning: 'Kafka, Spark, S3, Airflow'."""
    parts = [p.strip() for p in re.split(r"[,/|+]|\band\b", text) if p.strip()]
    if len(parts) < 3:
        return False
    short = sum(1 for p in parts if len(p.split()) <= 3)
    verbs = len(_VERB_HINT.findall(text))
    return short / len(parts) >= 0.75 and verbs <= 1 and not has_reason(text)


def negated_near(text: str, cue: str) -> bool:
    """True when a negation appears within five words before the cue."""
    low = text.lower()
    pos = low.find(cue.lower()) if cue else -1
    if pos < 0:
        return bool(NEGATION.search(text))
    window = " ".join(low[:pos].split()[-5:])
    return bool(NEGATION.search(window))


def stems(text: str) -> set[str]:
    return set(tokenize(text))


def cue_hits(text: str, cues: list[str], words: set[str] | None = None) -> list[str]:
    """Cues present in ``text``, matched on stems so 'partitions' finds 'partitioning'."""
    words = stems(text) if words is None else words
    low = text.lower()
    hits = []
    for cue in cues:
        cue_stems = stems(cue)
        if cue.lower() in low or (cue_stems and cue_stems <= words):
            hits.append(cue)
    return hits


def content_ratio(answer: str) -> float:
    """Share of words that are not stopwords; keyword dumps score close to 1."""
    words = re.findall(r"[A-Za-z0-9']+", answer)
    if not words:
        return 0.0
    return len(tokenize(answer)) / len(words)
