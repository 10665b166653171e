"""How deep a TOML text nests arrays and inline tables, found without parsing it.

tomllib parses nesting recursively and raises RecursionError a few hundred levels down, and
code that walks a parsed value (deepcopy, validation, formatting) fails the same way sooner
or later; every reader of user TOML (presets, lessons, --vary values, the window's fields)
refuses nesting past a small limit first, so the error names the key instead.
"""

from __future__ import annotations

from ..errors import SpecError

MAX_DEPTH = 8   # no key nests tables or arrays deeper than covariances (a list of matrices)


def toml_too_deep(text: str, limit: int) -> str | None:
    """The key whose value nests arrays or inline tables more than `limit` deep, or None.

    tomllib parses nesting recursively and raises RecursionError a few hundred levels down;
    this scan (strings and comments skipped) finds the culprit first, so the error names it.
    """
    depth, table, stmt, i, n = 0, "", 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            q3 = text[i:i + 3]
            if q3 in ('"""', "'''"):
                j = text.find(q3, i + 3)
                i = n if j < 0 else j + 3
                continue
            j = i + 1
            while j < n and text[j] not in (c, "\n"):
                j += 2 if c == '"' and text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if depth == 0 and c == "\n":
            stmt = i + 1
        elif depth == 0 and c == "[" and not text[stmt:i].strip():  # a [table] header line
            j = text.find("\n", i)
            j = n if j < 0 else j
            table = text[i:j].split("#")[0].strip().strip("[]").strip()
            i = j
            continue
        elif c in "[{":
            depth += 1
            if depth > limit:
                key = text[stmt:i].split("=")[0].strip().strip("\"'")
                return f"{table}.{key}" if table else (key or "preset")
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def loads(text: str, where: str | None = None, key: str = "", limit: int = MAX_DEPTH) -> dict:
    """tomllib.loads with every failure one SpecError naming `where` (a file) and `key`:
    nesting past `limit` by the key it is under, a syntax error by tomllib's own line and
    column (which quote nothing of the text: the file may be anything)."""
    import tomllib
    deep = toml_too_deep(text, limit)
    if deep:
        deep = deep if not key else f"{key}" if deep in ("x", "preset") else f"{key}.{deep}"
        raise SpecError(deep, f"arrays or tables nested more than {limit} deep", where)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(key, f"not valid TOML: {str(e).splitlines()[0] if str(e) else e}",
                        where) from None
    except RecursionError:
        raise SpecError(key, "arrays or tables nested too deeply", where) from None
