"""HTML from feeds → paragraphs, subheadings and plain text."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from watcher.article import Block
from watcher.feeds import html
from watcher.feeds.html import html_to_blocks, html_to_text, text_to_blocks, to_blocks


def paragraphs(*texts: str) -> list[Block]:
    return [Block(kind="paragraph", text=text) for text in texts]


def test_paragraph_elements_become_paragraphs() -> None:
    html = "<p>First.</p><div>Second.</div><ul><li>Third.</li><li>Fourth.</li></ul>"
    html += "<blockquote>Fifth.</blockquote>"
    assert html_to_blocks(html) == paragraphs("First.", "Second.", "Third.", "Fourth.", "Fifth.")


def test_headings_h1_to_h4_become_subheadings_and_h5_stays_a_paragraph() -> None:
    blocks = html_to_blocks("<h1>One</h1><h2>Two</h2><h3>Three</h3><h4>Four</h4><h5>Five</h5>")
    assert [block.kind for block in blocks] == ["subheading"] * 4 + ["paragraph"]


def test_double_line_break_splits_a_paragraph_and_a_single_one_does_not() -> None:
    blocks = html_to_blocks("<p>Line one<br>line two<br/>\n <br>New paragraph</p>")
    assert blocks == paragraphs("Line one line two", "New paragraph")


def test_scripts_styles_figures_and_iframes_leave_no_words() -> None:
    html = (
        "<style>p { color: red }</style><p>Kept.</p><script>if (a < b) alert(1)</script>"
        "<figure><img src='x.jpg'><figcaption>A caption</figcaption></figure>"
        "<iframe src='https://video.example.org'>Fallback</iframe><p>Also kept.</p>"
    )
    assert html_to_blocks(html) == paragraphs("Kept.", "Also kept.")


def test_a_figure_whose_end_tag_is_missing_hides_none_of_the_text_after_it() -> None:
    # As in a real feed: a slideshow figure never closed, closed only by its ancestor's end.
    slideshow = (
        "<article class='slideshow'><figure class='slide'><figcaption>The X factor</figcaption>"
        "<img src='a.jpg'/><div class='slide-body'><p>Games fill the whole screen now.</p>"
        "<p>Ten of them are worth a try.</p></div></article>"
    )
    assert html_to_blocks(slideshow) == paragraphs(
        "Games fill the whole screen now.", "Ten of them are worth a try."
    )
    unclosed = "<p>Before.</p><figure><img src='a.jpg'></section><p>After the figure.</p>"
    assert html_to_blocks(unclosed) == paragraphs("Before.", "After the figure.")
    video = "<p>Before.</p><video controls><source src='a.mp4'><p>After the video.</p>"
    assert html_to_blocks(video) == paragraphs("Before.", "After the video.")


def test_a_figure_closed_by_its_own_end_tag_keeps_its_caption_and_credit_out() -> None:
    closed = "<figure><img src='a.jpg'><p>Photo: Agency</p></figure><p>Text.</p>"
    assert html_to_blocks(closed) == paragraphs("Text.")
    # `</figure>` closes a caption left open, as in a browser: the caption is still dropped.
    caption_left_open = "<figure><img src='a.jpg'><figcaption>Caption</figure><p>Text.</p>"
    assert html_to_blocks(caption_left_open) == paragraphs("Text.")


def test_trailing_read_more_links_are_no_words_of_the_article() -> None:
    endings = [
        "<p>Continue reading...</p>",
        "<p><a href='https://news.example/a'>Read full article &gt;&gt;</a></p>",
        "<p>To read this article in full, please click here</p>",
        "<p>[<a href='https://news.example/a'>Weiterlesen</a>]</p>",
        "<p>The post <a href='https://news.example/a'>Ferry strike</a> appeared first on "
        "<a href='https://news.example/'>Harbour News</a>.</p>",
    ]
    for ending in endings:
        blocks = to_blocks(f"<p>The ferry strike ends.</p>{ending}", is_html=True)
        assert blocks == paragraphs("The ferry strike ends."), ending
    glued = "<p>The strike ends. <em>By Jana Berg.</em>[<a href='https://n.example/a'>mehr</a>]</p>"
    assert to_blocks(glued, is_html=True) == paragraphs("The strike ends. By Jana Berg.")
    assert to_blocks("Two steps took me there... [read more]", is_html=False) == paragraphs(
        "Two steps took me there..."
    )


def test_read_more_words_inside_the_article_are_kept() -> None:
    kept = (
        "<p>Read more about the strike in our live blog.</p><p>More than 200 ferries stopped.</p>"
    )
    assert to_blocks(kept, is_html=True) == paragraphs(
        "Read more about the strike in our live blog.", "More than 200 ferries stopped."
    )
    middle = "<p>First.</p><p>Continue reading...</p><p>Last.</p>"
    assert to_blocks(middle, is_html=True) == paragraphs("First.", "Continue reading...", "Last.")


def test_entities_decoded_and_whitespace_collapsed() -> None:
    blocks = html_to_blocks("<p>  Fish &amp; chips\n\t&#8211; &quot;fresh&quot;  </p>")
    assert blocks == paragraphs('Fish & chips – "fresh"')


def test_soft_hyphens_and_zero_width_characters_are_kept_for_the_matcher() -> None:
    assert html_to_text("<b>bor\u00adder</b> cross\u200bing") == "bor\u00adder cross\u200bing"


def test_empty_blocks_are_dropped() -> None:
    assert html_to_blocks("<p> </p><p>&nbsp;</p><div><p>Text</p></div><p></p>") == paragraphs(
        "Text"
    )


def test_markup_without_paragraphs_splits_on_blank_lines() -> None:
    blocks = html_to_blocks("First <a href='#'>part</a>.\n\nSecond part.")
    assert blocks == paragraphs("First part.", "Second part.")


def test_plain_text_splits_on_blank_lines() -> None:
    assert text_to_blocks("One\nline.\n \nTwo.\n\n\n") == paragraphs("One line.", "Two.")


def test_plain_text_with_a_tag_is_read_as_html() -> None:
    assert to_blocks("<p>Tagged</p>", is_html=False) == paragraphs("Tagged")
    assert to_blocks("a < b and c > d", is_html=False) == paragraphs("a < b and c > d")


def test_html_to_text_gives_one_line() -> None:
    assert html_to_text("<h2>Title</h2><p>Body <em>text</em></p>") == "Title Body text"


def test_unterminated_comment_is_not_text() -> None:
    assert html_to_text("<p>safe</p><!-- never closed <b>x</b>") == "safe"


# Markup plain and not: the walk must take what it can read exactly and leave the rest.
MARKUP_PIECES = [
    "<p>", "</p>", "<P class='a'>", "<br>", "<br/>", "<br />", "<br\t/>", "<p/>", "<h2>", "</h2>",
    "<h2 id=x/>", "<div a=b>", "</div >", "<td>", "</th>", "<li>", "</LI>", "<a b c d>",
    '<a href="x>y">', "<a\nb\n=\n'1'\n>", "<a b='1'c='2'>", "<a b==1>", "<a href=>", "</a b>",
    "<img src='a' />", "<p\xa0x>", "<o:p>", "</o:p>", "< p>", "</ p>", "<script>", "</script>",
    "<style>", "<title>", "</title>", "<textarea>", "<figure>", "</figure>", "<svg/>", "<!-- c -->",
    "<video>", "</section>", "<figcaption>",
    "<!--", "<?pi?>", "<!DOCTYPE x>", "<![CDATA[x]]>", "a < b", ">", "<", "&amp;", "&nbsp;",
    "&#1;", "&#x0;", "&copy", "&", "&#", " ", "  ", "\n", "\t", "\xa0", "\u2028", "\x0b",
    "word", "Wörd", ".",
]  # fmt: skip


def html_parser_blocks(fragment: str) -> list[tuple[str, str]]:
    collector = html._BlockCollector()
    collector.feed(fragment)
    collector.close()
    collector.finish()
    return collector.blocks


@given(st.lists(st.sampled_from(MARKUP_PIECES), max_size=16).map("".join))
@example("<script><style></script>word")  # raw text: the <style> inside is no tag
@example("<title><p>x</title>y")
@example("<h2 id=x/>word<br>")
@example("<p>a &amp; b<br/>\n<br />c &copy d</p>")
def test_plain_markup_walk_reads_what_html_parser_reads(fragment: str) -> None:
    collector = html._BlockCollector()
    if html._walk_plain_markup(fragment, collector):
        collector.finish()
        assert collector.blocks == html_parser_blocks(fragment)


def test_usual_feed_markup_is_walked_without_html_parser() -> None:
    fragment = '<p class="lead">A <a href="https://x.example/a?b=1&amp;c=2">link</a>.</p><br/>'
    assert html._walk_plain_markup(fragment, html._BlockCollector())
