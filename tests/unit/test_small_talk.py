"""Small talk told from questions, on hand-made messages (no model)."""

import pytest

from nanhai_qa.app.answering.engine import asked_aside
from nanhai_qa.app.answering.followup import without_exchanges
from nanhai_qa.app.answering.small_talk import SmallTalk, small_talk, without_small_talk


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("你好", SmallTalk.GREETING),
        ("您好呀！", SmallTalk.GREETING),
        ("你好，你是谁？", SmallTalk.GREETING),
        ("在吗在吗", SmallTalk.GREETING),
        ("早晨", SmallTalk.GREETING),  # Cantonese "good morning"
        ("Hello!", SmallTalk.GREETING),
        ("What can you do?", SmallTalk.GREETING),
        ("謝謝！", SmallTalk.THANKS),  # Traditional
        ("唔該晒", SmallTalk.THANKS),  # Cantonese
        ("好的，谢谢。再见", SmallTalk.THANKS),
        ("Thank you!", SmallTalk.THANKS),
        ("谢谢，你好", SmallTalk.GREETING),  # a greeting, with thanks, is answered as a greeting
    ],
)
def test_a_message_made_only_of_small_talk_is_told_apart(message, kind):
    assert small_talk(message) is kind


@pytest.mark.parametrize(
    "message",
    [
        "你好，南海今年有什么打算？",  # a question after the greeting
        "好的政策有哪些",  # 好的 inside a question
        "好多企业落户了吗",
        "History of Nanhai?",  # "hi" inside a word
        "hi there",
        "help me find the GDP",
        "你是谁提出的？",
    ],
)
def test_a_question_is_not_small_talk(message):
    assert small_talk(message) is None


@pytest.mark.parametrize(
    ("message", "asked"),
    [
        ("你好，南海今年有什么打算？", "南海今年有什么打算？"),
        ("你好呀，请问今年有什么计划", "请问今年有什么计划"),
        ("好的，那医疗呢？", "那医疗呢？"),  # so that it reads as a follow-up
        ("唔該，今年南海點樣搞旅遊？", "今年南海點樣搞旅遊？"),  # the original script is kept
        ("Hi, what is planned for 2023?", "what is planned for 2023?"),
        ("help me find the GDP", "help me find the GDP"),  # "help" is what is asked: no mark after it
        ("你好南海今年有什么打算", "你好南海今年有什么打算"),  # no mark: left as asked
        ("好的政策有哪些", "好的政策有哪些"),
    ],
)
def test_small_talk_opening_a_question_is_left_out_of_what_is_searched(message, asked):
    assert without_small_talk(message) == asked


def test_small_talk_and_overview_turns_are_left_out_of_the_history():
    from nanhai_qa.app.answering.models import Message

    asked = [Message(role="user", content="2022年南海在教育上做了什么？"),
             Message(role="assistant", content="新增学位…")]
    thanked = [Message(role="user", content="谢谢！"), Message(role="assistant", content="不客气！")]
    overview = [Message(role="user", content="这篇文章讲了什么？"), Message(role="assistant", content="大意…")]
    assert without_exchanges(asked + thanked, asked_aside) == asked
    assert without_exchanges(thanked + asked, asked_aside) == asked
    assert without_exchanges(asked + overview, asked_aside) == asked
    assert without_exchanges(asked, asked_aside) == asked
