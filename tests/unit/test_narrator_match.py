"""shared.imports.narrator_match: deciding which narrator in play a rough transcript names.

The transcripts in ``HEARD`` are what PocketSphinx 5.1.1 really wrote for festival's two voices
(HTS "slt" and diphone "kal") saying "<Title>, written by <Author>, narrated by <Narrator>": the
thresholds are pinned against them here, without audio. tests/integration/test_narrator_listen.py
runs the whole chain on generated speech.
"""

from __future__ import annotations

import json

import pytest

from shared.imports.narrator_match import (
    AMBIGUITY_MARGIN,
    CUE_THRESHOLD,
    NAME_THRESHOLD,
    SURNAME_FLOOR,
    NamesInPlay,
    decide,
    find_cues,
    phonetic_key,
    similarity,
    surname_similarity,
    words,
)

#: (narrator spoken, what the recogniser wrote).
HEARD: list[tuple[str, str]] = [
    ("Stephen Briggs", "guards guards written by terry attracted narrated by stephen brands"),
    ("Stephen Briggs", "guards guards threatened by terry bastard narrated by stephen breyer does"),
    ("Stephen Briggs", "guards guards britain by terry tragic narrated by stephen friends to buy"),
    ("Stephen Briggs", "guards guards written by terry tragedy narrated by stephen branson nonetheless have"),
    ("Stephen Briggs", "guards guards written by terry tragic narrated by stephen gregg some by"),
    ("Nigel Planer", "guards guards rich in dietary tragedy narrated by nigel planar"),
    ("Nigel Planer", "guards guards threatened by terry bastard narrated by nigel plane or"),
    ("Tony Robinson", "margaret chan by terry tragic narrated by tony robinson"),
    ("Stephen Fry", "harry potter and the philosophers stone written by j k rallying narrated by stephen fry"),
    ("Jim Dale", "harry potter and the source air stone written by j k rallying narrated by jim dale"),
    ("Michael Kramer", "the eye of the world's rich and by robert jordan narrated by michael kramer"),
    ("Kate Reading", "guards guards threatened by terry bastard narrated by kate read them"),
    ("Rosamund Pike", "the eye of the world's rich and by robert jordan narrated by rosamund pike"),
    ("Ray Porter", "project hail mary written by andy weir narrated by rape torture"),
    ("Ray Porter", "guards guards threatened by terry bastard narrated by rape or dark"),
    ("Andy Serkis", "the hobbit written by jay are hard to obtain narrated by and the circus"),
    ("Rob Inglis", "the hobbit written by jay are hard to obtain narrated by rob england's"),
    ("Roy Dotrice", "a game of brown's written by george r r martin narrated by roy that tries"),
    ("Campbell Scott", "the shining written by stephen king narrated by candle scott"),
    ("Jeff Hays", "dungeon crawl or carlyle written by matt damon narrated by jeff hayes"),
    ("Tim Gerard Reynolds", "red rising written by pierce brown narrated by ten gerard reynolds"),
    ("Scott Brick", "the unwritten by frank herbert narrated by scott break"),
]
POOL = sorted({name for name, _ in HEARD})

#: Held out: recorded after the thresholds above were set, for 14 narrators never used to set them
#: (both voices each). (narrator spoken, what the recogniser wrote, heard at the time). The misses
#: are misheard surnames ("derek for ten" for Perkins); none of them is a wrong answer.
HELD_OUT: list[tuple[str, str, bool]] = [
    (
        "Nick Podehl",
        "the name of the wind written by patrick office narrated by nick could tell with bay",
        False,
    ),  # slt
    ("Nick Podehl", "the name of the wind written by patrick authors narrated by nato to buy", False),  # kal
    ("George Guidall", "american gods written by neil diamond narrated by george the doll in new the to", True),  # slt
    ("George Guidall", "american gods threatened by neil diamond narrated by george big old them the", False),  # kal
    ("Jefferson Mays", "leviathan wakes britain by james essay corey narrated by jefferson a spoof", False),  # slt
    ("Jefferson Mays", "leviathan wakes in britain by james as a glory narrated by jefferson man is if", True),  # kal
    ("Michael Page", "the lines of like la mora written by scott lynch narrated by michael page him by", True),  # slt
    ("Michael Page", "the lies of locke was more a written by scott lynch narrated by michael page by", True),  # kal
    (
        "William Dufris",
        "oh man so are written by john scott's a narrated by william difference in new the to",
        True,
    ),  # slt
    (
        "William Dufris",
        "all that is more written by john spells and narrated by willing to friends him the",
        False,
    ),  # kal
    ("Robin Miles", "the fifth season written by and cage and ascend narrated by robin miles fun", True),  # slt
    ("Robin Miles", "the fifth season threatened by an edge on us at the narrator by robin miles if", True),  # kal
    ("Mel Hudson", "children of time written by adrian tchaikovsky narrated by mel had sent him by", True),  # slt
    ("Mel Hudson", "children of time written by a tree and tchaikovsky narrated by the hudson", True),  # kal
    (
        "Steven Pacey",
        "the blade itself britain by joe abercrombie narrated by stephen pay see them the to",
        True,
    ),  # slt
    ("Steven Pacey", "the blade itself written by joe abercrombie and narrated by stephen bases with the", True),  # kal
    ("Moira Quirk", "get in the ninth grade ten by ten send me your narrated by my record if", False),  # slt
    ("Moira Quirk", "did the other night and returned items and they're narrated by moira quark if", True),  # kal
    ("Lenny Henry", "and and stabilize rich and by neil diamond narrated by lenny henry with by", True),  # slt
    ("Lenny Henry", "i'm nancy boy is threatened by neil diamond narrated by lenny henry by", True),  # kal
    ("Tom Stechschulte", "the road written by cormac mccarthy narrated by tom stepchild in new the to", True),  # slt
    ("Tom Stechschulte", "the road threatened by cormac mccarthy narrated by tom startled them the", False),  # kal
    ("Perdita Weeks", "sir search and i'm madeline miller narrated by thirty two weeks if", True),  # slt
    ("Perdita Weeks", "sirs written by my other one or narrated by thirty two weeks if", True),  # kal
    ("Derek Perkins", "sapiens written by you know hari narrated by derek for ten steam by", False),  # slt
    ("Derek Perkins", "sapiens written by yuval know there are a narrated by derek perkins by", True),  # kal
    (
        "Michelle Obama",
        "becoming rich and i'm michelle obama narrated by michelle obama in new the new to",
        True,
    ),  # slt
    ("Michelle Obama", "but um written by michelle obama's narrated by michelle obama them the", True),  # kal
]
HELD_OUT_POOL = sorted({name for name, _, _ in HELD_OUT})


def play(expected: str, *, pool: list[str] = POOL) -> NamesInPlay:
    return NamesInPlay(expected=(expected,), candidates=tuple(n for n in pool if n != expected))


# -- similarity -----------------------------------------------------------------------------------


def test_similarity_is_one_for_the_same_words_and_low_for_other_people() -> None:
    assert similarity(["stephen", "briggs"], ["stephen", "briggs"]) == 1.0
    assert similarity(words("kate reading"), words("Tony Robinson")) < 0.3
    assert similarity([], ["anyone"]) == 0.0


def test_the_phonetic_half_forgives_spelling_and_word_boundaries() -> None:
    assert phonetic_key(["planar"]) == phonetic_key(["planer"])
    assert similarity(["jeff", "hayes"], ["jeff", "hays"]) > 0.8
    # Per word (Metaphone's word-initial rules apply), then joined (boundaries are not kept).
    assert phonetic_key(["knight"]) == "NT"
    assert phonetic_key(["andy", "serkis"]) == "ANTSRKS"
    assert similarity(words("and the circus"), words("Andy Serkis")) >= NAME_THRESHOLD
    assert similarity(words("nigel planar"), words("Nigel Planer")) > 0.9


def test_words_fold_names_as_the_rest_of_the_project_does() -> None:
    assert words("J. K. Rowling") == ["jk", "rowling"]
    assert words("Stéphen BRIGGS") == ["stephen", "briggs"]
    assert words("rob england's") == ["rob", "englands"]


def test_the_surname_is_looked_for_at_the_end_of_what_was_heard() -> None:
    assert surname_similarity(["stephen", "brands"], ["stephen", "briggs"]) >= SURNAME_FLOOR
    assert surname_similarity(["stephen"], ["stephen", "fry"]) < SURNAME_FLOOR
    assert surname_similarity(["roy", "that", "tries"], ["roy", "dotrice"]) >= SURNAME_FLOOR


# -- cues -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heard", ["narrated by", "narrate it by", "narrated buy", "read by", "red by", "performed by", "reformed by"]
)
def test_a_misheard_cue_is_still_a_cue(heard: str) -> None:
    assert find_cues(words(f"the book {heard} someone"))


@pytest.mark.parametrize("heard", ["written by", "threatened by", "rich in by", "translated by", "chapter one"])
def test_other_credits_are_not_cues(heard: str) -> None:
    assert not find_cues(words(f"the book {heard} someone"))


def test_thresholds_keep_their_order() -> None:
    assert 0.5 < NAME_THRESHOLD < CUE_THRESHOLD < 1.0
    assert 0.0 < SURNAME_FLOOR < NAME_THRESHOLD
    assert 0.0 < AMBIGUITY_MARGIN < 1.0 - NAME_THRESHOLD


# -- decisions on real recogniser output ----------------------------------------------------------


@pytest.mark.parametrize(("spoken", "transcript"), HEARD)
def test_the_spoken_narrator_is_heard_among_all_the_others(spoken: str, transcript: str) -> None:
    verdict = decide(transcript, play(spoken))
    assert (verdict.outcome, verdict.name, verdict.reason) == ("heard", spoken, None), verdict
    assert NAME_THRESHOLD <= verdict.confidence <= 1.0
    assert verdict.heard_as and verdict.heard_as in verdict.snippet


@pytest.mark.parametrize(("spoken", "transcript"), HEARD)
def test_expecting_anyone_else_is_a_mismatch_naming_the_spoken_one(spoken: str, transcript: str) -> None:
    for expected in POOL:
        if expected != spoken:
            verdict = decide(transcript, play(expected))
            assert (verdict.outcome, verdict.name) == ("mismatch", spoken), (expected, verdict)


@pytest.mark.parametrize(("spoken", "transcript"), HEARD)
def test_a_narrator_not_in_play_is_never_guessed(spoken: str, transcript: str) -> None:
    others = [n for n in POOL if n != spoken]
    for expected in others:
        verdict = decide(transcript, play(expected, pool=others))
        assert verdict.outcome == "not_heard", (expected, verdict)
        assert verdict.reason in ("no_confident_name", "ambiguous")


@pytest.mark.parametrize(("spoken", "transcript", "heard"), HELD_OUT)
def test_held_out_transcripts_are_heard_or_not_heard_and_never_answered_wrongly(
    spoken: str, transcript: str, heard: bool
) -> None:
    verdict = decide(transcript, play(spoken, pool=HELD_OUT_POOL))
    assert verdict.outcome == ("heard" if heard else "not_heard"), verdict
    others = [n for n in HELD_OUT_POOL if n != spoken]
    for expected in others:
        against_all = decide(transcript, play(expected, pool=HELD_OUT_POOL))
        if heard:
            assert (against_all.outcome, against_all.name) == ("mismatch", spoken), (expected, against_all)
        else:
            assert against_all.outcome == "not_heard", (expected, against_all)
        assert decide(transcript, play(expected, pool=others)).outcome == "not_heard"


def test_the_issue_example_among_the_discworld_narrators() -> None:
    transcript = "guards guards written by terry tragic narrated by stephen friends"
    names = NamesInPlay(expected=("Stephen Briggs",), candidates=("Nigel Planer",), series=("Tony Robinson",))
    assert decide(transcript, names).outcome == "heard"
    wrong = NamesInPlay(expected=("Nigel Planer",), candidates=("Stephen Briggs",), series=("Tony Robinson",))
    verdict = decide(transcript, wrong)
    assert (verdict.outcome, verdict.name) == ("mismatch", "Stephen Briggs")


def test_a_first_name_alone_is_not_a_name() -> None:
    verdict = decide("narrated by stephen", NamesInPlay(expected=("Nigel Planer",), candidates=("Stephen Fry",)))
    assert (verdict.outcome, verdict.reason) == ("not_heard", "no_confident_name")


def test_the_author_named_after_written_by_is_not_taken_for_the_narrator() -> None:
    transcript = "mort written by stephen briggs narrated by nigel planer"
    verdict = decide(transcript, NamesInPlay(expected=("Stephen Briggs",), candidates=("Nigel Planer",)))
    assert (verdict.outcome, verdict.name) == ("mismatch", "Nigel Planer")


def test_read_by_and_performed_by_are_cues_too() -> None:
    names = NamesInPlay(expected=("Nigel Planer",), candidates=("Tony Robinson",))
    assert decide("this book is read by nigel planar", names).outcome == "heard"
    assert decide("performed by tony robinson", names).outcome == "mismatch"


def test_two_names_in_play_that_sound_alike_are_ambiguous_not_a_guess() -> None:
    verdict = decide("narrated by john smith", NamesInPlay(expected=("Jon Smith",), candidates=("John Smith",)))
    assert (verdict.outcome, verdict.reason) == ("not_heard", "ambiguous")


def test_silence_and_no_intro_are_not_heard() -> None:
    names = NamesInPlay(expected=("Stephen Briggs",))
    assert decide("", names).reason == "silence"
    no_intro = decide("chapter one it was a dark and stormy night", names)
    assert (no_intro.outcome, no_intro.reason, no_intro.name) == ("not_heard", "no_intro", None)
    assert no_intro.snippet.startswith("chapter one")


def test_one_of_several_expected_narrators_is_enough() -> None:
    names = NamesInPlay(expected=("Michael Kramer", "Kate Reading"), candidates=("Rosamund Pike",))
    verdict = decide("the eye of the world narrated by kate reading", names)
    assert (verdict.outcome, verdict.name) == ("heard", "Kate Reading")


# -- names in play --------------------------------------------------------------------------------


def test_names_in_play_need_an_expected_narrator() -> None:
    with pytest.raises(ValueError, match="expected narrator"):
        NamesInPlay(expected=(" ", "..."), candidates=("Nigel Planer",))


def test_names_in_play_drop_duplicates_and_keep_a_shared_name_on_the_expected_side() -> None:
    names = NamesInPlay(
        expected=("Stephen Briggs", "Briggs, Stephen"),
        candidates=("Nigel Planer", "Stephen  Briggs"),
        series=("Nigel Planer", "Tony Robinson"),
    )
    assert names.expected == ("Stephen Briggs",)
    assert names.others == ("Nigel Planer", "Tony Robinson")
    verdict = decide("narrated by stephen brands", names)
    assert (verdict.outcome, verdict.name) == ("heard", "Stephen Briggs")


def test_a_last_first_name_is_matched_in_natural_order() -> None:
    verdict = decide("narrated by nigel planar", NamesInPlay(expected=("Planer, Nigel",)))
    assert (verdict.outcome, verdict.name) == ("heard", "Planer, Nigel")


def test_the_verdict_is_plain_json() -> None:
    verdict = decide("narrated by nigel planar", NamesInPlay(expected=("Nigel Planer",)))
    stored = json.loads(json.dumps(verdict.as_dict()))
    assert stored["outcome"] == "heard" and stored["name"] == "Nigel Planer"
    assert set(stored) == {"outcome", "name", "confidence", "heard_as", "snippet", "reason", "seconds", "audio_seconds"}
