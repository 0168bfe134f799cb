"""Author-year footnote citations: {footcite:t} and {footcite:p} with the year in the text.

sphinxcontrib-bibtex's only footnote style, ``foot``, drops the year: {footcite:t}`key` reads
"Ioffe and Szegedy[1]" and {footcite:p}`key` only "[1]". The chapters cite the way a textbook
does, "Ioffe and Szegedy (2015)" and "(Ioffe and Szegedy, 2015)", and each citation still links
to its entry in the chapter's {footbibliography}. This registers that style under the name
``author_year_foot`` (``bibtex_foot_reference_style`` in book/_config.yml):

- {footcite:t}`ioffe2015batch` -> Ioffe and Szegedy (2015) [1]
- {footcite:p}`ioffe2015batch` -> (Ioffe and Szegedy, 2015 [1])
- {footcite:p}`a,b` -> (A and B, 2015 [1]; C, 2016 [2])

where [1] is the footnote link to the entry at the end of the page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import (
    BaseReferenceStyle,
    BracketStyle,
    GroupReferenceStyle,
    PersonStyle,
)
from sphinxcontrib.bibtex.style.template import footnote_reference, join, year

NAME = "author_year_foot"


@dataclass
class _Parenthetical(BaseReferenceStyle):
    """(Author, year [1]; Author, year [2])."""

    bracket: BracketStyle = field(
        default_factory=lambda: BracketStyle(left="(", right=")", sep="; "))
    person: PersonStyle = field(default_factory=PersonStyle)

    def role_names(self) -> Iterable[str]:
        return [f"p{full}" for full in ("", "s")]

    def outer(self, role_name: str, children: list) -> object:
        return self.bracket.outer(children, brackets=True, capfirst=False)

    def inner(self, role_name: str) -> object:
        return join(sep=" ")[
            join(sep=", ")[self.person.author_or_editor_or_title(full="s" in role_name), year],
            footnote_reference,
        ]


@dataclass
class _Textual(BaseReferenceStyle):
    """Author (year) followed by the footnote link."""

    bracket: BracketStyle = field(default_factory=BracketStyle)
    person: PersonStyle = field(default_factory=PersonStyle)

    def role_names(self) -> Iterable[str]:
        return [f"{cap}t{full}" for cap in ("", "c") for full in ("", "s")]

    def outer(self, role_name: str, children: list) -> object:
        return self.bracket.outer(children, brackets=False, capfirst="c" in role_name)

    def inner(self, role_name: str) -> object:
        return join(sep=" ")[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join["(", year, ")"],
            footnote_reference,
        ]


@dataclass
class AuthorYearFootReferenceStyle(GroupReferenceStyle):
    """Footnote citations that show author and year in the text."""

    #: Person style (the name templates read it from the group style).
    person: PersonStyle = field(default_factory=PersonStyle)

    def __post_init__(self):
        self.styles.extend([_Parenthetical(person=self.person), _Textual(person=self.person)])
        super().__post_init__()


def setup(app):
    register_plugin("sphinxcontrib.bibtex.style.referencing", NAME,
                    AuthorYearFootReferenceStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
