"""Name pools and spelling variants for the messy-library generator.

Every variant function returns a spelling that :func:`shared.normalize.fold_name` maps to the same
key as the canonical name (case, doubled spaces, diacritics added or stripped, initials spaced or
not, curly or straight apostrophes). The generator's ground truth counts *people* and *series* by
construction; a test then checks that folding what ABS stores reproduces those counts — so a
variant that did not fold back would be a generator bug caught by that test, not a silent skew.
"""

from __future__ import annotations

import random
import unicodedata

FIRST = (
    "Brandon Stephen Martin Jane Anna Oliver Lucia Marcus Elena Tomas Ingrid Rafael Chloe Dmitri Amara Kenji "
    "Sofia Henrik Nadia Felix Iris Jonas Maya Pavel Ruth Samuel Tessa Victor Wanda Yusuf Zora Aidan Beatrix "
    "Caleb Daphne Emil Freya Gideon Hazel Ivan Julia Kira Leon Mira Nico Olga Priya Quentin Rosa Silas Zoë "
    "José Renée Søren Łucja Çağla Ólafur Agnès"
).split()
LAST = (
    "Sanderson King Smith Doe Berg Novak Reyes Lindqvist Okafor Tanaka Moreau Kowalski Haddad Fischer Ivanova "
    "Costa Nakamura Brennan Adeyemi Larsen Petrov Quinn Romano Schulz Torres Underwood Vance Whitaker Xu "
    "Yilmaz Zeller Abbott Blackwood Carver Dunmore Ellery Fairchild Greaves Holloway Ingram Jessup Kettering "
    "Lockhart Merriweather Northcott Oakes Pemberton Radcliffe Sutherland Thornbury O'Brien D'Angelo Brontë "
    "Muñoz Sjøberg Dvořák Müller Jiménez Kovač Ångström Çelik Gödel Nuñez"
).split()
SUFFIXES = (", Jr.", ", Sr.", ", III", ", PhD")
ADJ = (
    "Iron Silent Broken Hidden Golden Crimson Hollow Frozen Burning Last First Shattered Wandering Forgotten "
    "Silver Dark Bright Endless Quiet Wild Lost Fallen Rising Sunken Ashen Ivory Scarlet Emerald Obsidian "
    "Bitter Gentle Restless Sleeping Drowned Painted Veiled Distant Ancient Hungry Glass Copper Amber Storm "
    "Salt Thorned Pale Twin Midnight Winter Summer Autumn Spring Northern Southern Eastern Western Secret "
    "Sacred Cursed Stolen Borrowed Final Hollowed Radiant Woven Starlit Moonlit Weeping Laughing Burnished"
).split()
NOUN = (
    "Crown Throne Sword Road River Garden Tower Harbor Forest Mirror Key Gate Bridge Empire Queen King Oath "
    "Song Storm Shadow Flame Star Sea Mountain Library Compass Lantern Raven Wolf Fox Serpent Dragon Witch "
    "Thief Knight Saint Heir Exile Orchard Cathedral Lighthouse Archive Clockwork Engine Tide Winter Ember "
    "Veil Labyrinth Citadel Island Desert Valley Wall Market Theatre Carnival Circus Manor Abbey Vault Map "
    "Letter Promise Debt Bargain Covenant Prophecy Requiem Sonata Legacy Reckoning"
).split()
PLACE = (
    "Avalon Brightwater Cinderfell Dunmore Eastmarch Farrow Greymoor Highcastle Ironvale Juniper Kestrel "
    "Lowmarsh Mirewood Northwatch Oldharbor Pinecrest Queensreach Ravenholm Stormhold Thornwick Umberlee "
    "Valewood Westreach Yarrow Zenith Ashford Blackmere Coldspring Duskhollow Emberlyn Frostgate Goldhaven "
    "Hollowmere Ivywood Jadeport Kingsbridge Larkspur Moonfall Nightvale Oakshade Peregrine Quarry Rookwood "
    "Silverlake Tidewater Under-the-Hill Vesper Whitby"
).split()
COLLECTIVE = (
    "Chronicles",
    "Saga",
    "Cycle",
    "Trilogy",
    "Sequence",
    "Quartet",
    "Mysteries",
    "Files",
    "Legacy",
    "Archives",
    "Tales",
    "Wars",
    "Histories",
    "Series",
    "Adventures",
)
GENRES = (
    "Fantasy",
    "Science Fiction",
    "Mystery",
    "Thriller",
    "Romance",
    "Horror",
    "Historical Fiction",
    "Biography",
    "History",
    "Self-Help",
    "Young Adult",
    "Children's",
    "Literary Fiction",
    "Humor",
    "Science",
    "Business",
)
PUBLISHERS = (
    "Tantor Audio",
    "Podium Audio",
    "Recorded Books",
    "Blackstone Audio",
    "Audible Studios",
    "Penguin Audio",
    "Macmillan Audio",
    "HarperAudio",
    "Brilliance Audio",
    "Hachette Audio",
)
LANGUAGES = (("English", 85), ("German", 6), ("Spanish", 4), ("French", 3), (None, 2))

_ACCENT = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "c": "ç", "n": "ñ"}


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def person_name(rng: random.Random) -> str:
    """A canonical person name; some with middle initials, dotted initials or a comma suffix."""
    first, last = rng.choice(FIRST), rng.choice(LAST)
    roll = rng.random()
    if roll < 0.18:
        return f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {last}"
    if roll < 0.26:
        letters = rng.sample("ABCDEFGHJKLMNPRSTW", rng.choice((2, 2, 3)))
        return "".join(f"{c}." for c in letters) + f" {last}"
    if roll < 0.31:
        return f"{first} {last}{rng.choice(SUFFIXES)}"
    return f"{first} {last}"


def series_name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return f"The {rng.choice(ADJ)} {rng.choice(COLLECTIVE)}"
    if roll < 0.5:
        return f"{rng.choice(PLACE)} {rng.choice(COLLECTIVE)}"
    if roll < 0.65:
        return f"Tales of {rng.choice(PLACE)}"
    if roll < 0.8:
        return f"The {rng.choice(NOUN)}'s {rng.choice(NOUN)}"
    return f"{rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(COLLECTIVE)}"


def title_text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return f"The {rng.choice(ADJ)} {rng.choice(NOUN)} of {rng.choice(PLACE)}"
    if roll < 0.55:
        return f"{rng.choice(ADJ)} {rng.choice(NOUN)} of {rng.choice(PLACE)}"
    if roll < 0.7:
        return f"A {rng.choice(NOUN)} of {rng.choice(NOUN)}s and {rng.choice(ADJ)} {rng.choice(NOUN)}s"
    if roll < 0.85:
        return f"The {rng.choice(NOUN)}'s {rng.choice(ADJ)} {rng.choice(NOUN)}"
    return f"{rng.choice(ADJ)} {rng.choice(NOUN)}: A Novel of {rng.choice(PLACE)}"


def variant(name: str, rng: random.Random) -> str:
    """A different spelling of the same name that still folds to the same key."""
    options = [name.lower(), name.replace(" ", "  ", 1), name.upper()]
    if strip_accents(name) != name:
        options.append(strip_accents(name))
    else:
        for i, ch in enumerate(name):
            if ch in _ACCENT:
                options.append(name[:i] + _ACCENT[ch] + name[i + 1 :])
                break
    if "'" in name:
        options.append(name.replace("'", "\u2019"))
    if ". " in name or "." in name:
        spaced = name.replace(". ", ".").replace(".", ". ").replace("  ", " ").strip()
        if spaced != name:
            options.append(spaced)
    return rng.choice(options)


def asin(rng: random.Random) -> str:
    return "B0" + "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=8))


def isbn13(rng: random.Random) -> str:
    body = f"{rng.choice(('978', '979'))}{rng.randrange(10**9):09d}"
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)
