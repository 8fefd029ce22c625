"""Wordings, scripts, question validation and the rate limit, on fixed inputs."""

import pytest

from nanhai_qa.app.answering.validate import clean_question
from nanhai_qa.app.prompts import ENGLISH, SIMPLIFIED, TRADITIONAL, asker_script, prompt, prompt_version, render
from nanhai_qa.app.ratelimit import RateLimiter
from nanhai_qa.ingest.formats import unwrap


def test_rate_limiter_buckets_per_client():
    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=2, clock=lambda: now[0])
    assert [limiter.wait_seconds("a") for _ in range(2)] == [0, 0]
    assert limiter.wait_seconds("a") == pytest.approx(10.0)  # 6 a minute: one every 10 s
    assert limiter.wait_seconds("b") == 0  # another client has its own bucket
    now[0] += 10
    assert limiter.wait_seconds("a") == 0
    assert RateLimiter(per_minute=0, burst=1).wait_seconds("a") == 0  # off


def test_questions_in_scripts_the_model_does_not_read():
    for question in ("นันไห่มีแผนอะไร", "ནང་ཧའེ་", "한국어 질문", "ما هي خطة"):
        assert clean_question(question, 500).error == prompt("error_unsupported_script")
    for question in ("2023年計劃係乜？", "What is Nanhai's plan for 2023?", "南海の計画は？"):
        assert clean_question(question, 500).error is None


def test_unwrap_joins_lines_broken_for_width_only():
    wrapped = ["南海区二〇二三年工作报告", "今年全区新增学位两万个，新建学校十所，改扩建学",
               "校五所，教师队伍持续壮大。", "下一段从这里开始，写得比较短。"]
    assert unwrap(wrapped) == [
        "南海区二〇二三年工作报告", "今年全区新增学位两万个，新建学校十所，改扩建学校五所，教师队伍持续壮大。",
        "下一段从这里开始，写得比较短。",
    ]


def test_the_askers_script_sets_the_wording():
    assert asker_script("医疗怎么样？") == SIMPLIFIED
    assert asker_script("醫療點樣？") == TRADITIONAL
    assert asker_script("How about hospitals?") == ENGLISH
    assert prompt("refusal", TRADITIONAL) != prompt("refusal") and "沒有" in prompt("refusal", TRADITIONAL)
    assert prompt("refusal", ENGLISH).startswith("Sorry")


def test_every_prompt_renders():
    for name in ("llm_system", "llm_answer", "llm_passage", "llm_rewrite"):
        assert prompt_version(name).isdigit()
        assert not prompt(name).startswith("# version")
    assert "忽略" in prompt("llm_system") and "[2]" in prompt("llm_system")
    text = render("llm_answer", passages="[1] 原文", question="问题？")
    assert "[1] 原文" in text and "问题？" in text
    assert render("llm_rewrite", history="用户：教育呢", question="那医疗呢？").endswith("改写后的问题：")
    assert render("llm_passage", n=2, period="2023年的计划", heading="奋进2023年", text="正文").startswith("[2]（")


def test_the_page_and_desk_labels_come_from_the_wording_file():
    """Every label the chat page and the staff desk ask for is in prompts/ui_labels.txt, every
    line there is asked for, and no Chinese wording is left in their code outside docstrings
    and comments."""
    import re
    from pathlib import Path

    from nanhai_qa.app.prompts import _labels, label

    root = Path(__file__).resolve().parents[2]
    sources = {p: p.read_text(encoding="utf-8") for p in (root / "app" / "web").glob("*.py")}
    sources[root / "app" / "staff" / "desk.py"] = (root / "app" / "staff" / "desk.py").read_text(encoding="utf-8")
    code = "\n".join(sources.values())
    asked = set(re.findall(r"""label\(\s*["']([a-z_]+)["']""", code))
    asked |= set(re.findall(r'"(documents_header_\w+)"', code))  # asked for in a loop
    kinds = {key for key in _labels() if key.startswith("kind_")}  # asked for as f"kind_{kind}"
    assert asked <= set(_labels()), asked - set(_labels())
    assert set(_labels()) - kinds == asked
    assert label("documents", count=3) == "资料清单（3 份）" and label("staff_columns").split("|")[0] == "编号"
    for path, text in sources.items():
        without_docs = re.sub(r'"""[\s\S]*?"""|#[^\n]*', "", text)
        assert not re.search(r"[\u4e00-\u9fff]", without_docs), path
