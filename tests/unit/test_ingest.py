from pathlib import Path

import pytest

from nanhai_qa.ingest import IngestError, read_document, read_documents


def test_every_chunk_and_sentence_round_trips_to_the_source(article):
    assert len(article.chunks) > 60
    for chunk in article.chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.sentences, chunk
        for sentence in chunk.sentences:
            assert chunk.start <= sentence.start < sentence.end <= chunk.end
            assert article.text[sentence.start : sentence.end] == sentence.text


def test_title_heading_paths_and_periods(article):
    assert article.title == "2023年 南海这么干!"
    by_text = {c.text: c for c in article.chunks}
    hospital = by_text["新增义务教育阶段学位超2万个，区人民医院新院全面开业。"]
    assert hospital.heading_path == ("回顾2022年", "(三) 全力以赴推动高质量发展")
    assert hospital.period == "2022 review" and hospital.kind == "bullet"
    labs = next(c for c in article.chunks if c.text.startswith("支持季华实验室"))
    assert labs.heading == "奋进2023年 › (三) 坚持制造业当家，焕发产业转型升级新活力 › 1 全力构建一流创新生态"
    assert labs.period == "2023 plan"
    brand = by_text["打造一批标志性改革品牌。"]
    assert brand.kind == "paragraph" and brand.heading_path[-1] == "1 纵深推进重点领域改革"
    intro = article.chunks[0]
    assert intro.period == "intro" and intro.text.startswith("12月28日")
    slogans = [c for c in article.chunks if c.kind == "slogan"]
    assert [c.period for c in slogans] == ["2022 review", "2023 plan"]
    assert slogans[0].text.startswith("抓改革促转型") and slogans[0].text.endswith("推动各项事业取得新进步")
    byline = article.chunks[-1]
    assert byline.kind == "byline" and byline.heading_path == () and "黄婷" in byline.text


def test_a_heading_naming_another_year_opens_a_part(tmp_path):
    # "工作安排" is no review or plan word: the year alone must end the 2022 part
    report = ("# 西山镇工作报告\n\n## 一、2022年工作回顾\n\n新建管网32公里。\n\n"
              "## 二、2023年工作安排\n\n新增床位120张。\n")
    (tmp_path / "report.md").write_text(report, encoding="utf-8")
    periods = {c.text: c.period for c in read_document(tmp_path / "report.md").chunks}
    assert periods == {"新建管网32公里。": "2022 review", "新增床位120张。": "2023"}


def test_units_are_bullets_or_paragraphs_never_windows(article):
    bullets = [c for c in article.chunks if c.kind == "bullet"]
    assert len(bullets) == sum(line.startswith("- ") for line in article.text.splitlines()) == 59
    assert all(not c.text.startswith("-") for c in bullets)
    # Sentences split at Chinese sentence ends: the intro paragraph has three.
    assert [s.text[-1] for s in article.chunks[0].sentences] == ["。", "？", "！"]


def test_chunk_ids_are_stable_and_unique(article):
    again = read_document(Path(article.path))
    assert [c.id for c in again.chunks] == [c.id for c in article.chunks]
    assert len({c.id for c in article.chunks}) == len(article.chunks)


def test_folder_of_txt_and_md_documents(tmp_path, article):
    markdown = "# 标题\n\n## 第一部分\n\n- 第一条。\n- 第二条！\n\n一段话。第二句。\n"
    (tmp_path / "a.md").write_text(markdown, encoding="utf-8")
    (tmp_path / "b.txt").write_text(article.text, encoding="utf-8")
    (tmp_path / "ignored.csv").write_text("x", encoding="utf-8")
    docs = read_documents([tmp_path])
    assert [d.id for d in docs] == ["a", "b"]
    md = docs[0]
    assert md.title == "标题"
    assert [c.text for c in md.chunks] == ["第一条。", "第二条！", "一段话。第二句。"]
    assert md.chunks[0].heading_path == ("第一部分",)
    assert [s.text for s in md.chunks[2].sentences] == ["一段话。", "第二句。"]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\xff\xfe\xfa bad utf-8", "UTF-8"), (b"", "没有"), (b"a\x00b", "NUL")],
)
def test_bad_documents_get_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        read_documents([path])
    assert path.read_bytes() == content  # read, never written


def test_missing_path_and_wrong_suffix(tmp_path):
    with pytest.raises(IngestError, match="找不到"):
        read_documents([tmp_path / "nope.txt"])
    (tmp_path / "x.csv").write_bytes(b"a,b")
    with pytest.raises(IngestError, match=".txt"):
        read_documents([tmp_path / "x.csv"])
