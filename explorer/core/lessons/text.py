"""A step's text, from what the lecturer typed to what the panel shows.

The text is what a lecturer reads out, with formulas in it. Formulas are written in Unicode
(s_θ(x) ≈ ∇ₓ log p(x), σ², ε): every font a Qt window has draws them, nothing has to be
typeset, and the file reads the same in an editor. A few marks cover the rest:

    blank line        a new paragraph
    - item            a bullet (a line starting with "- ")
    **words**         bold
    *words*           italic
    $formula$         a formula: serif italic, set apart from the prose
    x_{i}, x^{2}      subscript, superscript (any text in the braces)

`to_html` gives Qt rich text (the subset QLabel draws); `to_plain` the same for a terminal.
Everything else is shown as typed (HTML in the text is escaped, never interpreted).
"""

from __future__ import annotations

import html
import re

FORMULA_STYLE = "font-family: 'DejaVu Serif', 'Times New Roman', serif; font-style: italic;"

_INLINE = [
    (re.compile(r"\$([^$]+)\$"), lambda m: f"<span style=\"{FORMULA_STYLE}\">{m.group(1)}</span>"),
    (re.compile(r"\*\*(.+?)\*\*"), r"<b>\1</b>"),
    (re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])"), r"<i>\1</i>"),
    (re.compile(r"_\{([^{}]*)\}"), r"<sub>\1</sub>"),
    (re.compile(r"\^\{([^{}]*)\}"), r"<sup>\1</sup>"),
]


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, repl in _INLINE:
        out = pattern.sub(repl, out)
    return out


def blocks(text: str) -> list[tuple[str, list[str]]]:
    """The text as ("p", [lines]) paragraphs and ("ul", [items]) lists."""
    out: list[tuple[str, list[str]]] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in chunk.splitlines() if ln.strip()]
        para: list[str] = []
        items: list[str] = []
        for ln in lines:
            if ln.startswith("- "):
                if para:
                    out.append(("p", para))
                    para = []
                items.append(ln[2:].strip())
            elif items and not para:
                items[-1] += " " + ln          # a bullet's continuation line
            else:
                para.append(ln)
        if items:
            out.append(("ul", items))
        if para:
            out.append(("p", para))
    return out


def to_html(text: str) -> str:
    parts = []
    for kind, lines in blocks(text):
        if kind == "ul":
            parts.append("<ul style=\"margin-top: 0px; margin-bottom: 4px;\">"
                         + "".join(f"<li>{_inline(i)}</li>" for i in lines) + "</ul>")
        else:
            parts.append(f"<p style=\"margin-top: 0px; margin-bottom: 6px;\">{_inline(' '.join(lines))}</p>")
    return "".join(parts)


def to_plain(text: str) -> str:
    """For a terminal: the marks dropped, sub- and superscripts as _x and ^x."""
    parts = []
    for kind, lines in blocks(text):
        body = [f"  - {i}" for i in lines] if kind == "ul" else [" ".join(lines)]
        for b in body:
            b = re.sub(r"\$([^$]+)\$", r"\1", b)
            b = re.sub(r"\*\*(.+?)\*\*", r"\1", b)
            b = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"\1", b)
            b = re.sub(r"([_^])\{([^{}]*)\}", lambda m: m.group(1) + (m.group(2) if len(m.group(2)) <= 1
                                                                     else f"({m.group(2)})"), b)
            parts.append(b)
    return "\n".join(parts)
