import base64
import re

from reports import html as H
from reports import tables as T


def test_page_embeds_figures_and_marks_reported_rows():
    table = T.Table("t1", "A table", ["256"], [T.Row("ADC", [1.234])],
                    paper_rows=[T.Row("Ours", ["2.26"], T.REPORTED)], notes=["x: OOM"])
    png = b"\x89PNG fake bytes"
    page = H.render("r", ["intro <b>"], [table],
                    [("fig6", "Figure 6", "cap", png, "", ["figures/fig6.png"]),
                     ("fig9", "Figure 9", "", None, "image unavailable", [])], ["a note"])
    assert base64.b64decode(re.search(r"base64,([^\"]+)\"", page).group(1)) == png
    assert "Not drawn: image unavailable" in page
    assert "intro &lt;b&gt;" in page                                  # text is escaped
    assert '<tbody class="reported">' in page and T.REPORTED_HEADING in page
    assert page.index("<td>1.23</td>") < page.index("<td>2.26</td>")
    assert "<li>x: OOM</li>" in page and "<li>a note</li>" in page
