"""The verdict on one stage: was co-production achieved? Worked out from counts alone.

The guide's rule is the definition: co-production is achieved when every partner
agrees with all, or most, of the statements. We also need at least one resident
and one professional, because co-production is the two working together.

- **Yes**: residents and professionals answered, and every partner agrees with
  more than half of the statements.
- **Partly**: residents and professionals answered and more than half of the
  partners agree with most statements, but not all of them do yet.
- **Not yet**: half of the partners or fewer agree with most statements, or
  residents or professionals have not answered.
- **No answers yet**: nobody answered, or there is nothing to answer.

A pure function of counts, with no database, so a hand-made table can test it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.domain.words import PROFESSIONAL_ROLES, RESIDENT_ROLES

YES, PARTLY, NOT_YET, NO_ANSWERS = "yes", "partly", "not_yet", "no_answers"
VERDICT_NAMES = {YES: "Yes", PARTLY: "Partly", NOT_YET: "Not yet", NO_ANSWERS: "No answers yet"}
RULE = (
    "Co-production is achieved when every partner agrees with all or most of the "
    "statements, and both residents and professionals have answered."
)
# Singular and plural names for the sentence that says who is not yet agreeing.
ROLE_WORDS = {
    "child": ("child", "children"),
    "young_person": ("young person", "young people"),
    "parent_carer": ("parent or carer", "parents or carers"),
    "professional": ("professional", "professionals"),
    "other": ("other partner", "other partners"),
    "unknown": ("partner with no role given", "partners with no role given"),
}
# A statement is flagged when this share (or more) of those who answered it disagree.
FLAG_PERCENT = 30
NAMED_STATEMENTS = 3  # name this many statements in the reason, then "and N more"


@dataclass(frozen=True, slots=True)
class RoleCount:
    """How many partners of one role answered, and how many agree with most statements."""

    role: str
    partners: int
    agree_with_most: int


@dataclass(frozen=True, slots=True)
class StatementCount:
    """One statement's answers among the partners who answered the stage."""

    text: str
    agree: int
    not_sure: int
    disagree: int
    unanswered: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    level: str
    reason: str
    ladder_note: str | None
    flagged: list[str] = field(default_factory=list)  # statements 30% or more disagree with
    rule: str = RULE

    @property
    def name(self) -> str:
        return VERDICT_NAMES[self.level]

    @property
    def headline(self) -> str:
        return " ".join(p for p in (f"{self.name}.", self.reason, self.ladder_note) if p)


def flagged(s: StatementCount) -> bool:
    """True when 30% or more of the partners who answered the statement disagree with it."""
    answered = s.agree + s.not_sure + s.disagree
    return answered > 0 and s.disagree * 100 >= FLAG_PERCENT * answered


def decide(
    n_statements: int,
    roles: list[RoleCount],
    statements: list[StatementCount],
    ladder_gap: float | None = None,
) -> Verdict:
    """Return the verdict, its one-sentence reason and the ladder gap note, from counts."""
    partners = sum(r.partners for r in roles)
    agreeing = sum(r.agree_with_most for r in roles)
    residents = sum(r.partners for r in roles if r.role in RESIDENT_ROLES)
    professionals = sum(r.partners for r in roles if r.role in PROFESSIONAL_ROLES)
    flags = [s.text for s in statements if flagged(s)]
    note = ladder_note(ladder_gap)
    if n_statements == 0:
        return Verdict(NO_ANSWERS, "This project has no statements to answer yet.", note, flags)
    if partners == 0:
        return Verdict(NO_ANSWERS, "Nobody has answered the checklist for this stage yet.", note)
    if residents == 0 or professionals == 0:
        missing = "resident (child, young person, parent or carer)" if not residents else "professional"
        reason = f"No {missing} has answered yet, so we cannot yet say they agree together."
        return Verdict(NOT_YET, reason, note, flags)
    if agreeing == partners:
        reason = (
            f"All {partners} partners agree with most of the statements: "
            f"{residents} {_plural(residents, 'resident')} and "
            f"{professionals} {_plural(professionals, 'professional')}."
        )
        return Verdict(YES, reason, note, flags)
    level = PARTLY if agreeing * 2 > partners else NOT_YET
    return Verdict(level, _who_is_not_agreeing(roles, statements, partners), note, flags)


def _who_is_not_agreeing(roles: list[RoleCount], statements: list[StatementCount], partners: int) -> str:
    """Say, by role and counts, who does not yet agree with most statements, and on which."""
    groups = []
    for r in sorted(roles, key=lambda r: _role_order(r.role)):
        behind = r.partners - r.agree_with_most
        if behind:
            one, many = ROLE_WORDS.get(r.role, ROLE_WORDS["unknown"])
            groups.append(f"{behind} of {r.partners} {one if r.partners == 1 else many}")
    behind_total = sum(r.partners - r.agree_with_most for r in roles)
    verb = "does" if behind_total == 1 else "do"
    sentence = f"{_join(groups)} {verb} not yet agree with most statements"
    # The statements with the fewest partners agreeing are where the gap is.
    short = sorted((s for s in statements if s.agree < partners), key=lambda s: s.agree)
    if short:
        named = [f"“{s.text}”" for s in short[:NAMED_STATEMENTS]]
        more = len(short) - len(named)
        if more:
            named.append(f"{more} more")
        sentence += f"; fewest agree with {_join(named)}"
    return sentence + "."


def ladder_note(gap: float | None) -> str | None:
    """Say how far apart residents and professionals put the stage on the ladder, if a rung or more."""
    if gap is None or abs(gap) < 1:
        return None
    size = abs(gap)
    amount = f"{size:g} {'rung' if size == 1 else 'rungs'}"
    direction = "lower" if gap < 0 else "higher"
    return f"Residents put this stage {amount} {direction} on the ladder than professionals do."


def _role_order(role: str) -> int:
    order = list(ROLE_WORDS)
    return order.index(role) if role in order else len(order)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _join(parts: list[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
