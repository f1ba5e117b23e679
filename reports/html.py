"""``index.html``: one self-contained page (inline CSS, figures as base64 PNG) that opens offline and
shows every table and figure of the report, with the notes on missing or failed runs."""

from __future__ import annotations

import base64
import html

from reports.tables import Table, to_html

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table.results { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
table.results caption { text-align: left; font-weight: bold; padding-bottom: 0.4em; }
table.results th, table.results td { border: 1px solid #ddd; padding: 3px 8px; }
table.results td { text-align: right; font-variant-numeric: tabular-nums; }
table.results thead th { background: #eee; }
table.results tbody.measured th { text-align: left; font-weight: normal; }
table.results tbody.reported { background: #f6f2e6; font-style: italic; color: #555; }
table.results tbody.reported tr:first-child th { text-align: left; font-style: normal; font-weight: bold;
  border-top: 3px double #999; }
table.results tbody.reported th { text-align: left; font-weight: normal; }
ul.notes { font-size: 0.85em; color: #555; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; } .skipped { color: #a33; }
.files { font-size: 0.8em; color: #777; }
"""


def render(title: str, intro: list[str], tables: list[Table],
           figures: list[tuple[str, str, str, bytes | None, str, list[str]]], notes: list[str]) -> str:
    """The page. ``figures`` holds ``(key, title, caption, png bytes or None, note, file names)``."""
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
           f"<style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    out += [f"<p>{e(p)}</p>" for p in intro]
    if notes:
        out.append("<h2>Notes</h2>")
        out.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    out.append("<h2>Tables</h2>")
    for t in tables:
        out.append(to_html(t))
        out.append(f'<p class="files">{" · ".join(_link(f"tables/{t.key}.{x}") for x in ("md", "csv", "tex"))}</p>')
    out.append("<h2>Figures</h2>")
    for key, fig_title, caption, png, note, files in figures:
        out.append(f'<figure id="{e(key)}"><h3>{e(fig_title)}</h3>')
        if png is not None:
            data = base64.b64encode(png).decode("ascii")
            out.append(f'<img alt="{e(fig_title)}" src="data:image/png;base64,{data}">')
            out.append(f"<figcaption>{e(caption)}{(' — ' + e(note)) if note else ''}</figcaption>")
            out.append(f'<p class="files">{" · ".join(_link(f) for f in files)}</p>')
        else:
            out.append(f'<p class="skipped">Not drawn: {e(note)}</p>')
        out.append("</figure>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _link(path: str) -> str:
    return f'<a href="{html.escape(path)}">{html.escape(path)}</a>'
