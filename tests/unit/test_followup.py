"""Follow-up resolution and the corpus profile, on hand-made histories and files (no model)."""

import json

import pytest

from nanhai_qa.app.answering.followup import QuestionFrame, is_said, resolve_followup, said_before
from nanhai_qa.app.answering.models import Message
from nanhai_qa.app.profile import CorpusProfile, ProfileError, load_profile
from nanhai_qa.app.settings import DEFAULT_CORPUS, DEFAULT_PROFILE, Settings

PROFILE = CorpusProfile(
    relative_years={"2022": ["去年"], "2023": ["今年", "this year"]}, setting_words=["南海区", "南海"]
)
FRAME = QuestionFrame(PROFILE, {"2022", "2023"})


def _history(question: str) -> list[Message]:
    return [Message(role="user", content=question), Message(role="assistant", content="……")]


def test_year_of_a_question():
    assert FRAME.year_of("今年有什么计划") == "2023"
    assert FRAME.year_of("2022年做了什么") == "2022"
    assert FRAME.year_of("What is planned this year?") == "2023"
    assert FRAME.year_of("去年和今年比") is None  # two years: no preference
    assert FRAME.year_of("2019年呢") is None  # not a year of this corpus
    plain = QuestionFrame(CorpusProfile(), {"2022"})
    assert plain.year_of("今年有什么计划") is None  # no profile: no relative years
    assert plain.year_of("2022年有什么") == "2022"


@pytest.mark.parametrize(
    ("previous", "question", "resolved"),
    [
        ("2022年南海在教育上做了什么？", "那医疗呢？", "2022年南海医疗做了什么?"),
        ("去年大地艺术节办了吗？", "那今年呢？", "2023年大地艺术节办了吗？"),
        ("大地艺术节今年还办吗？", "它会怎么运营？", "大地艺术节今年还办吗？ 它会怎么运营？"),
        ("今年乡村振兴有哪些打算？", "还有呢？", "今年乡村振兴有哪些打算？ 还有呢？"),
    ],
)
def test_follow_ups_take_what_they_leave_out_from_the_previous_question(previous, question, resolved):
    assert resolve_followup(question, _history(previous), FRAME) == resolved


# A hand-made stand-in for topic_words.TopicWords (jieba's tags and rarity; tested in
# tests/unit/test_answering.py): the nouns this test's corpus uses.
TOPICS = QuestionFrame(PROFILE, {"2022", "2023"}, lambda text: [w for w in ("医疗", "党建", "学位") if w in text])


@pytest.mark.parametrize(
    ("previous", "question", "resolved"),
    [
        ("去年大地艺术节办了吗？", "今年还办不办？", "2023年大地艺术节办了吗？"),  # no topic of its own
        ("“水上南海”去年有什么进展？", "那今年呢？还有什么新动作", "“水上南海”2023年有什么进展？"),  # 动作: a frame
        ("2022年南海经济怎么样？", "那党建方面呢？", "2022年南海党建怎么样?"),  # a topic: swapped in
        ("2022年南海在教育上做了什么？", "学位新增了多少？", "学位新增了多少？"),  # a topic: stands alone
    ],
)
def test_a_question_without_a_topic_word_takes_the_previous_ones(previous, question, resolved):
    assert resolve_followup(question, _history(previous), TOPICS) == resolved


def test_a_follow_up_of_a_follow_up_goes_on_from_the_question_as_resolved():
    history = _history("2023年南海在教育上有什么计划？") + _history("那医疗呢？")
    assert resolve_followup("去年呢？", history, TOPICS) == "2022年南海医疗什么计划?"
    assert resolve_followup("那党建呢？", history, TOPICS) == "2023年南海党建什么计划?"
    # a question that stood alone is where the chain starts again; the year asked goes first
    history = _history("2022年南海在教育上做了什么？") + _history("学位新增了多少？")
    assert resolve_followup("那今年呢？", history, TOPICS) == "2023年学位新增了多少？"


def test_a_cantonese_follow_up_opens_with_gam():
    assert resolve_followup("咁医疗呢？", _history("2022年南海在教育上做了什么？"), TOPICS) == "2022年南海医疗做了什么?"


def test_an_english_follow_up_naming_a_topic_is_asked_in_the_earlier_year():
    rural = _history("What are the plans for rural areas in 2023?")
    assert resolve_followup("And what about schools?", rural, FRAME) == "And what about schools in 2023?"
    assert resolve_followup("How about hospitals in 2022?", rural, FRAME) == "How about hospitals in 2022?"
    assert resolve_followup("What about hospitals?", _history("What is the GDP?"), FRAME) == "What about hospitals?"
    # no topic of its own: the earlier question, in the year asked now / with the pronoun
    assert resolve_followup("What about this year?", _history("What did Nanhai do in 2022?"), FRAME) == (
        "What did Nanhai do in 2023年?"
    )
    assert resolve_followup("And what about it?", rural, FRAME) == f"{rural[0].content} And what about it?"


def test_an_english_question_with_words_of_its_own_stands_alone():
    before = _history("2022年南海在教育上做了什么？")
    complete = "What are the plans for rural areas in 2023?"
    assert resolve_followup(complete, before, FRAME) == complete
    assert resolve_followup("When will it open?", before, FRAME) == f"{before[0].content} When will it open?"
    assert resolve_followup("How many?", before, FRAME) == f"{before[0].content} How many?"


def test_a_complete_question_stands_alone():
    complete = "高企数量突破了多少家？"
    assert resolve_followup(complete, _history("2022年南海在教育上做了什么？"), FRAME) == complete
    assert resolve_followup("那医疗呢？", [], FRAME) == "那医疗呢？"


def test_profiles_are_validated_with_one_line_messages(tmp_path):
    bundled = load_profile(DEFAULT_PROFILE)
    assert bundled.examples and bundled.relative_years["2023"] and bundled.expansions()["看病"]
    assert load_profile(None) == CorpusProfile()
    cases = {
        "broken.json": "{",
        "unknown.json": json.dumps({"colour": "red"}),
        "years.json": json.dumps({"relative_years": {"this year": ["今年"]}}),
        "synonyms.json": json.dumps({"thesaurus": [{"everyday": [], "corpus": ["医院"]}]}),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(ProfileError) as error:
            load_profile(tmp_path / name)
        assert "\n" not in str(error.value) and name in str(error.value)
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "missing.json")


def test_the_bundled_profile_goes_with_the_bundled_article_only(tmp_path):
    assert Settings(corpus=[DEFAULT_CORPUS]).profile_path() == DEFAULT_PROFILE
    assert Settings(corpus=[tmp_path]).profile_path() is None
    assert Settings(corpus=[DEFAULT_CORPUS], profile="none").profile_path() is None
    assert Settings(corpus=[tmp_path], profile=str(DEFAULT_PROFILE)).profile_path() == DEFAULT_PROFILE


def test_a_question_asking_for_more_does_not_get_what_was_said_again():
    answer = "2023年的计划：\n以工业化思维发展都市现代农业。[1]\n推进宅基地制度改革。[2]"
    history = [Message(role="user", content="今年乡村振兴有哪些打算？"), Message(role="assistant", content=answer)]
    said = said_before("还有呢？", history)
    assert is_said("推进宅基地制度改革。", said)
    assert not is_said("引导新知识青年“下乡”。", said)
    assert not is_said("推进宅基地制度改革，建立流转平台。", said)  # only part of it was said
    assert said_before("那医疗呢？", history) == ""  # not asking for more
    assert said_before("还有吗？", history[:1]) == ""  # nothing answered yet
    assert not is_said("推进宅基地制度改革。", "")
