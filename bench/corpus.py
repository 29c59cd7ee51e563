"""Deterministic generator of Danish case articles for benchmarking sitegen.

Writes ``<out>/sitegen.toml`` and ``<out>/content/cases/<slug>.md`` with YAML
front matter and a Markdown body of 600-900 words.

Usage: python bench/corpus.py --n 1000 --out DIR [--seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

SITEGEN_TOML = '[site]\ntitle = "Bench"\nbase_url = "https://example.org/"\n'

LEVELS = ("individ", "lokalsamfund", "kommune")

# (place used in titles, official municipality name)
MUNICIPALITIES = (
    ("København", "Københavns Kommune"),
    ("Aarhus", "Aarhus Kommune"),
    ("Odense", "Odense Kommune"),
    ("Aalborg", "Aalborg Kommune"),
    ("Esbjerg", "Esbjerg Kommune"),
    ("Vejle", "Vejle Kommune"),
    ("Randers", "Randers Kommune"),
    ("Viborg", "Viborg Kommune"),
    ("Kolding", "Kolding Kommune"),
    ("Silkeborg", "Silkeborg Kommune"),
    ("Herning", "Herning Kommune"),
    ("Horsens", "Horsens Kommune"),
    ("Roskilde", "Roskilde Kommune"),
    ("Næstved", "Næstved Kommune"),
    ("Slagelse", "Slagelse Kommune"),
    ("Gentofte", "Gentofte Kommune"),
    ("Holbæk", "Holbæk Kommune"),
    ("Svendborg", "Svendborg Kommune"),
    ("Sønderborg", "Sønderborg Kommune"),
    ("Hjørring", "Hjørring Kommune"),
    ("Frederikshavn", "Frederikshavn Kommune"),
    ("Ærø", "Ærø Kommune"),
    ("Fanø", "Fanø Kommune"),
    ("Læsø", "Læsø Kommune"),
    ("Bornholm", "Bornholms Regionskommune"),
    ("Tønder", "Tønder Kommune"),
    ("Faaborg-Midtfyn", "Faaborg-Midtfyn Kommune"),
    ("Guldborgsund", "Guldborgsund Kommune"),
    ("Ringkøbing-Skjern", "Ringkøbing-Skjern Kommune"),
    ("Høje-Taastrup", "Høje-Taastrup Kommune"),
    ("Tårnby", "Tårnby Kommune"),
    ("Morsø", "Morsø Kommune"),
)

TAGS = (
    "demokrati",
    "samskabelse",
    "borgerinddragelse",
    "nærdemokrati",
    "klima",
    "børn",
    "unge",
    "ældre",
    "sundhed",
    "trivsel",
    "beskæftigelse",
    "integration",
    "kultur",
    "byudvikling",
    "landdistrikter",
    "uddannelse",
    "frivillighed",
    "digitalisering",
    "mobilitet",
    "boligområder",
    "natur",
    "foreningsliv",
    "folkeoplysning",
    "lokalråd",
    "fællesskab",
    "borgerbudgetter",
)

AUTHORS = (
    "Anne Hansen",
    "Søren Jørgensen",
    "Mette Kjærgaard",
    "Lars Sørensen",
    "Birgitte Møller",
    "Jens Nielsen",
    "Åse Thomsen",
    "Bjørn Madsen",
    "Karen Østergaard",
    "Mikkel Bæk",
    "Sofie Lærke Andersen",
    "Rasmus Dahl",
    "Ida Frøslev",
    "Peter Holm",
    "Louise Kræmer",
)

TITLE_VERBS = (
    "afprøver",
    "styrker",
    "genopfinder",
    "samler borgerne om",
    "satser på",
    "åbner for",
    "inviterer til",
    "evaluerer",
    "udvikler",
    "lærer af",
)

TITLE_OBJECTS = (
    "borgerbudgetter",
    "nærdemokrati",
    "fællesskaber på tværs",
    "grøn omstilling",
    "lokale borgerpaneler",
    "dialog med de unge",
    "ældres stemme",
    "åbne byrådsmøder",
    "trivsel i skolegården",
    "frivillige fællesskaber",
    "en ny mødeform",
    "borgersamlinger om klimaet",
    "sundhed i lokalområdet",
    "fremtidens landsbyer",
    "fælles byrum",
    "digital borgerdialog",
    "bæredygtig mobilitet",
    "lokalrådenes rolle",
)

SUBJECTS = (
    "Kommunen",
    "Borgerne",
    "Lokalrådet",
    "Projektgruppen",
    "De frivillige",
    "Forvaltningen",
    "Borgmesteren",
    "Foreningerne",
    "De unge",
    "Beboerne",
    "Byrådet",
    "Skolebestyrelsen",
    "Ældrerådet",
    "Medarbejderne",
    "Naboerne",
)

VERBS = (
    "har afprøvet",
    "ønsker at styrke",
    "diskuterer",
    "har prioriteret",
    "udvikler",
    "evaluerer",
    "inviterer til",
    "støtter",
    "samler",
    "kortlægger",
    "har sat fokus på",
    "forbedrer",
    "tager ansvar for",
    "arbejder videre med",
    "værdsætter",
)

OBJECTS = (
    "nye former for dialog",
    "et fælles budget",
    "den lokale udvikling",
    "trafiksikkerheden på skolevejen",
    "grønne områder i byen",
    "ældreplejen",
    "et åbent borgermøde",
    "fællesskabet i lokalområdet",
    "forsamlingshusets fremtid",
    "idéer fra børn og unge",
    "stierne langs åen",
    "legepladsen ved skolen",
    "kulturlivet på havnen",
    "samarbejdet med erhvervslivet",
    "de små landsbysamfund",
    "en bæredygtig fødevareproduktion",
    "adgangen til naturen",
    "sundhedstilbuddene",
    "beslutningerne om byens rum",
    "borgernes forslag",
)

ADVERBIALS = (
    "i løbet af foråret",
    "sammen med forvaltningen",
    "på tværs af generationer",
    "hver måned",
    "i tæt samarbejde med lokale foreninger",
    "uden store udgifter",
    "med stor opbakning",
    "for første gang",
    "gennem hele efteråret",
    "på en åben og ærlig måde",
    "efter en lang debat",
    "i flere omgange",
    "både fysisk og digitalt",
    "med hjælp fra frivillige",
    "i de kommende år",
)

# (common gender, neuter) forms
ADJECTIVES = (
    ("vigtig", "vigtigt"),
    ("nødvendig", "nødvendigt"),
    ("spændende", "spændende"),
    ("krævende", "krævende"),
    ("lærerig", "lærerigt"),
    ("overraskende", "overraskende"),
    ("værdifuld", "værdifuldt"),
    ("ambitiøs", "ambitiøst"),
    ("afgørende", "afgørende"),
    ("udfordrende", "udfordrende"),
)

# (definite noun, is neuter)
NOUNS = (
    ("processen", False),
    ("indsatsen", False),
    ("dialogen", False),
    ("samarbejdet", True),
    ("forløbet", True),
    ("arbejdet", True),
    ("inddragelsen", False),
    ("erfaringen", False),
    ("løsningen", False),
    ("tilgangen", False),
)

CLAUSES = (
    "flere borgere får lyst til at deltage",
    "beslutningerne bliver bedre forankret",
    "de unge føler sig hørt",
    "ældre og børn mødes oftere",
    "lokalsamfundet står stærkere",
    "kommunen lærer af sine fejl",
    "der opstår nye fællesskaber",
    "forslagene bliver ført ud i livet",
    "økonomien bliver mere gennemsigtig",
    "man kan se resultaterne i hverdagen",
)

HEADINGS = (
    "Baggrund",
    "Sådan foregik processen",
    "Erfaringer fra borgerne",
    "Resultater",
    "Udfordringer undervejs",
    "Næste skridt",
    "Hvad kan andre lære?",
    "Økonomi og ressourcer",
    "Inddragelse af børn og unge",
    "Perspektiver",
    "Rammer og roller",
    "Kommunikation og synlighed",
)

BULLETS = (
    "Åbne møder i forsamlingshuset",
    "Spørgeskema til alle husstande",
    "Workshops med skoleelever",
    "Gåture i nærområdet med beboerne",
    "Et borgerpanel med tilfældigt udvalgte deltagere",
    "Afstemning om de endelige forslag",
    "Løbende nyhedsbreve fra kommunen",
    "Fælles spisning efter møderne",
    "Samarbejde med det lokale bibliotek",
    "Opfølgning et år efter",
    "Små puljer til frivillige initiativer",
    "Besøg på plejehjem og i børnehaver",
)

LINK_TEXTS = ("se også", "læs også", "lignende erfaringer", "en beslægtet case")

PHASES = ("Forberedelse", "Idéfase", "Udvikling", "Afstemning", "Gennemførelse", "Evaluering")
MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "august", "september")


def slugify(text: str) -> str:
    """Danish slug: lowercase, æ->ae, ø->oe, å->aa, accents stripped, '-' separators."""
    text = text.lower().replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-z0-9]+", "-", text)
    return text.strip("-")


@dataclass
class Case:
    """One case article: front matter fields plus a Markdown body."""

    slug: str
    title: str
    date: dt.date
    lead: str
    municipality: str
    place: str
    level: str
    tags: list[str]
    authors: list[str]
    body: str = ""
    links: list[str] = field(default_factory=list)


def yaml_str(value: str) -> str:
    """Double-quoted YAML scalar."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def noun_phrase(rng: random.Random) -> tuple[str, str]:
    """A definite noun and an adjective that agrees with it."""
    noun, neuter = rng.choice(NOUNS)
    return noun, rng.choice(ADJECTIVES)[1 if neuter else 0]


def main_clause(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"


def sentence(rng: random.Random, case: Case) -> str:
    """One plausible Danish sentence."""
    kind = rng.randrange(6)
    if kind == 0:
        return f"{main_clause(rng)} {rng.choice(ADVERBIALS)}."
    if kind == 1:
        return f"Det betyder, at {rng.choice(CLAUSES)}."
    if kind == 2:
        noun, adj = noun_phrase(rng)
        return f"{noun.capitalize()} har været {adj}, fordi {rng.choice(CLAUSES)}."
    if kind == 3:
        return (
            f"I {case.place} {rng.choice(VERBS)} {rng.choice(SUBJECTS).lower()} "
            f"{rng.choice(OBJECTS)}, så {rng.choice(CLAUSES)}."
        )
    if kind == 4:
        noun, adj = noun_phrase(rng)
        return f"Ifølge {rng.choice(AUTHORS)} er {noun} {adj} for {rng.choice(OBJECTS)}."
    return f"{main_clause(rng)}, og {rng.choice(CLAUSES)}."


def paragraph(rng: random.Random, case: Case) -> str:
    return " ".join(sentence(rng, case) for _ in range(rng.randint(3, 6)))


def bullet_list(rng: random.Random) -> str:
    return "\n".join(f"- {item}" for item in rng.sample(BULLETS, rng.randint(3, 6)))


def table(rng: random.Random) -> str:
    rows = ["| Fase | Periode | Deltagere |", "| --- | --- | ---: |"]
    for phase in rng.sample(PHASES, rng.randint(3, 5)):
        rows.append(f"| {phase} | {rng.choice(MONTHS)} | {rng.randint(8, 450)} |")
    return "\n".join(rows)


def link_paragraph(rng: random.Random, targets: list[Case]) -> str:
    parts = [f"[{rng.choice(LINK_TEXTS)}]({t.slug}.md)" for t in targets]
    return f"Erfaringerne minder om andre forløb: {', '.join(parts)}."


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


def make_body(rng: random.Random, case: Case, targets: list[Case]) -> str:
    """Markdown body of 600-900 words with headings, a list, maybe a table and links."""
    goal = rng.randint(600, 900)
    headings = rng.sample(HEADINGS, rng.randint(3, 5))
    extras: dict[int, list[str]] = {i: [] for i in range(len(headings))}
    extras[rng.randrange(len(headings))].append(bullet_list(rng))
    if rng.random() < 1 / 3:
        extras[rng.randrange(len(headings))].append(table(rng))
    if targets:
        extras[rng.randrange(len(headings))].append(link_paragraph(rng, targets))
    intro = [paragraph(rng, case)]
    sections = [[paragraph(rng, case)] for _ in headings]
    texts = [*headings, *intro, *(t for part in [*extras.values(), *sections] for t in part)]
    total = sum(word_count(t) for t in texts)
    while total < goal:
        para = paragraph(rng, case)
        if total + word_count(para) > 900:
            break
        rng.choice(sections).append(para)
        total += word_count(para)
    blocks = intro
    for index, heading in enumerate(headings):
        blocks += [f"## {heading}", *sections[index], *extras[index]]
    return "\n\n".join(blocks) + "\n"


def unique_title(base: str, seen: set[str], seen_slugs: set[str]) -> str:
    title, number = base, 1
    while title in seen or slugify(title) in seen_slugs:
        number += 1
        title = f"{base} {number}"
    return title


def make_cases(n: int, seed: int = 1) -> list[Case]:
    """Generate n cases deterministically from seed."""
    rng = random.Random(seed)
    cases: list[Case] = []
    titles: set[str] = set()
    slugs: set[str] = set()
    start = dt.date(2010, 1, 1).toordinal()
    end = dt.date(2024, 12, 31).toordinal()
    for _ in range(n):
        place, municipality = rng.choice(MUNICIPALITIES)
        title = unique_title(
            f"{place} {rng.choice(TITLE_VERBS)} {rng.choice(TITLE_OBJECTS)}", titles, slugs
        )
        titles.add(title)
        slug = slugify(title)
        slugs.add(slug)
        lead = (
            f"{municipality} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(ADVERBIALS)}. "
            f"Det betyder, at {rng.choice(CLAUSES)}."
        )
        cases.append(
            Case(
                slug=slug,
                title=title,
                date=dt.date.fromordinal(rng.randint(start, end)),
                lead=lead,
                municipality=municipality,
                place=place,
                level=rng.choice(LEVELS),
                tags=rng.sample(TAGS, rng.randint(1, 4)),
                authors=rng.sample(AUTHORS, rng.randint(1, 2)),
            )
        )
    for case in cases:
        others = [c for c in rng.sample(cases, min(len(cases), 4)) if c is not case]
        targets = others[: rng.randint(1, 3)]
        case.links = [t.slug for t in targets]
        case.body = make_body(rng, case, targets)
    return cases


def front_matter(case: Case) -> str:
    """YAML front matter with exactly sitegen's keys."""
    authors = ", ".join(yaml_str(a) for a in case.authors)
    return (
        "---\n"
        f"title: {yaml_str(case.title)}\n"
        f"date: {case.date.isoformat()}\n"
        f"lead: {yaml_str(case.lead)}\n"
        f"municipality: {yaml_str(case.municipality)}\n"
        f"level: {case.level}\n"
        f"tags: [{', '.join(case.tags)}]\n"
        f"authors: [{authors}]\n"
        "---\n\n"
    )


def write_sitegen(cases: list[Case], out: Path) -> None:
    """Write a sitegen site: sitegen.toml and content/cases/*.md."""
    target = out / "content" / "cases"
    target.mkdir(parents=True, exist_ok=True)
    (out / "sitegen.toml").write_text(SITEGEN_TOML, encoding="utf-8")
    for case in cases:
        text = front_matter(case) + case.body
        (target / f"{case.slug}.md").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of cases")
    parser.add_argument("--out", type=Path, required=True, help="site directory to write")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write_sitegen(make_cases(args.n, args.seed), args.out)


if __name__ == "__main__":
    main()
