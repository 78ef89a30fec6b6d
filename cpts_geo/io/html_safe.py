"""The one escaping rule of every HTML page cpts_geo writes, and its Content-Security-Policy.

Every user-supplied string (CPTS, commune and territory names, file names, titles, option values)
reaches a page as text, never as markup:

- in Python templates through :func:`escape` (``&``, ``<``, ``>``, ``"`` and ``'`` as entities);
- inside a ``<script>`` element through :func:`script_json` (JSON where ``<``, ``>``, ``&`` and
  the line separators U+2028/U+2029 are ``\\uXXXX`` escapes, so no value can close the script);
- in the page's JavaScript through ``textContent``, or through the one JS helper ``cgEscape``
  (:data:`JS_ESCAPE`) where Leaflet takes HTML (``setContent``, ``bindTooltip``,
  ``addAttribution``).

Each generated page also carries a Content-Security-Policy (:func:`with_csp`): its scripts are
allowed by the SHA-256 hash of their text, so an inline event handler (``onerror=…``), a
``javascript:`` link or an injected ``<script>`` would not run even if some text escaped the
rule above. The pages stay offline files: everything they need is inlined.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from collections.abc import Iterable
from typing import Any

#: characters of JSON text that are rewritten as \\uXXXX escapes inside a <script> element
_SCRIPT_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                   "\u2029": "\\u2029"}
_SCRIPT_UNSAFE = re.compile("[<>&\u2028\u2029]")
#: an inline script element: its attributes and its text (a script with ``src`` has no text)
_INLINE_SCRIPT = re.compile(r"<script(\s[^>]*)?>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_CHARSET = re.compile(r"<meta\s[^>]*charset[^>]*>", re.IGNORECASE)

#: the JavaScript helper of the rule, embedded in every page that hands text to Leaflet as HTML:
#: ``cgEscape(value)`` is the text of ``value`` with ``& < > " '`` as entities
JS_ESCAPE = r"""function cgEscape(s) {
  return String(s === null || s === undefined ? '' : s).replace(/[&<>"']/g, function (c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]; });
}"""


def escape(value: Any) -> str:
    """Text of ``value`` for HTML (element content or a quoted attribute); None is empty.

    Parameters
    ----------
    value : object
        Any value; it is converted with ``str``.

    Returns
    -------
    str
        The text with ``&``, ``<``, ``>``, ``"`` and ``'`` written as character references.

    Examples
    --------
    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    # « { » as a character reference too: the same text in HTML, but never a template opener
    # when folium / branca compile a rendered map element again (a CPTS named « {{ 7*7 }} »)
    return "" if value is None else html.escape(str(value), quote=True).replace("{", "&#123;")


def script_safe(json_text: str) -> str:
    """JSON text made safe inside a ``<script>`` element (see :func:`script_json`).

    ``<``, ``>`` and ``&`` can only appear inside JSON strings, where the ``\\uXXXX`` escape means
    the same character: the value is unchanged, but no ``</script>`` or ``<!--`` can appear.
    Likewise the template openers ``{{``, ``{%`` and ``{#`` (which JSON structure never writes)
    get their second character escaped: folium / branca compile the output of a map element as a
    Jinja template again, and a CPTS named « {{ 7*7 }} » must stay that text, never be evaluated.

    Parameters
    ----------
    json_text : str
        Text produced by a JSON encoder.

    Returns
    -------
    str
    """
    text = _SCRIPT_UNSAFE.sub(lambda m: _SCRIPT_ESCAPES[m.group(0)], json_text)
    return _TEMPLATE_OPENER.sub(lambda m: "{" + _TEMPLATE_ESCAPES[m.group(1)], text)


def inert_json_dumps(value: Any, **dumps: Any) -> str:
    """:func:`json.dumps` whose text never opens a Jinja tag (``{{``, ``{%``, ``{#`` inside a
    string get their second character as a ``\\uXXXX`` escape: the same JSON value).

    Installed as the ``json.dumps_function`` policy of jinja2's default environment by
    :func:`make_templates_inert`, so that folium's ``tojson`` writes user strings that branca's
    second compilation of the rendered map cannot evaluate.

    Parameters
    ----------
    value : object
        Anything :func:`json.dumps` accepts.
    **dumps
        Keyword arguments of :func:`json.dumps`.

    Returns
    -------
    str

    Examples
    --------
    >>> inert_json_dumps({"cpts": "CPTS {{ 7*7 }}"})
    '{"cpts": "CPTS {\\\\u007b 7*7 }}"}'
    """
    return _TEMPLATE_OPENER.sub(lambda m: "{" + _TEMPLATE_ESCAPES[m.group(1)], json.dumps(value, **dumps))


def make_templates_inert() -> None:
    """Make jinja2's default environment (the one of ``jinja2.Template(source)``, used by folium
    and branca) dump JSON with :func:`inert_json_dumps`: branca compiles the rendered output of
    every map element as a template again, so a name written ``{{ … }}`` would be evaluated."""
    from jinja2 import Template

    Template("").environment.policies["json.dumps_function"] = inert_json_dumps
    try:  # folium's templates have an environment class of their own
        from folium.template import Template as FoliumTemplate
    except ImportError:  # older folium: jinja2's default environment only
        return
    FoliumTemplate("").environment.policies["json.dumps_function"] = inert_json_dumps


#: Jinja's openers; JSON structure never writes them (an object opens with ``{"`` or ``{}``)
_TEMPLATE_OPENER = re.compile(r"\{([{%#])")
_TEMPLATE_ESCAPES = {"{": "\\u007b", "%": "\\u0025", "#": "\\u0023"}


def script_json(value: Any, **dumps: Any) -> str:
    """``value`` as JSON text to write inside a ``<script>`` element.

    Parameters
    ----------
    value : object
        Anything :func:`json.dumps` accepts.
    **dumps
        Extra keyword arguments of :func:`json.dumps` (``separators``, ``default``…).

    Returns
    -------
    str
        JSON where ``<``, ``>``, ``&``, U+2028 and U+2029 are ``\\uXXXX`` escapes.

    Examples
    --------
    >>> script_json({"cpts": "</script><script>alert(1)</script>"})
    '{"cpts": "\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"}'
    """
    dumps.setdefault("ensure_ascii", False)
    return script_safe(json.dumps(value, **dumps))


def script_hash(text: str) -> str:
    """CSP source (``'sha256-…'``) allowing the inline script whose text is ``text``.

    The text is hashed as the browser sees it: line ends normalised to ``\\n`` by the HTML parser.

    Parameters
    ----------
    text : str
        The text between ``<script>`` and ``</script>``.

    Returns
    -------
    str
        ``'sha256-<base64>'``, quotes included.
    """
    norm = text.replace("\r\n", "\n").replace("\r", "\n")
    digest = hashlib.sha256(norm.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def inline_scripts(page: str) -> list[str]:
    """Texts of the inline ``<script>`` elements of an HTML page (those without ``src``).

    Parameters
    ----------
    page : str
        An HTML document.

    Returns
    -------
    list of str
    """
    return [body for attrs, body in _INLINE_SCRIPT.findall(page)
            if not re.search(r"\bsrc\s*=", attrs or "", re.IGNORECASE)]


def page_policy(script_hashes: Iterable[str], *, remote_images: bool = False) -> str:
    """Content-Security-Policy of an offline page whose only scripts are ``script_hashes``.

    Scripts: only those hashes (no ``'unsafe-inline'``, no ``'unsafe-hashes'``: inline event
    handlers and ``javascript:`` links never run); styles inline (Leaflet positions everything
    with them); images from the page itself (``data:``, ``blob:``), plus any ``https:`` server
    when ``remote_images`` (an online tile background was asked for); nothing else is fetched.

    Parameters
    ----------
    script_hashes : iterable of str
        CSP sources of the page's scripts (:func:`script_hash`).
    remote_images : bool
        Allow ``https:``/``http:`` images.

    Returns
    -------
    str
        The policy text.
    """
    hashes = " ".join(dict.fromkeys(script_hashes)) or "'none'"
    images = "data: blob:" + (" https: http:" if remote_images else "")
    return ("default-src 'none'; "
            f"script-src {hashes}; "
            "style-src 'unsafe-inline'; "
            f"img-src {images}; "
            "font-src data:; "
            "base-uri 'none'; form-action 'none'; object-src 'none'")


def with_csp(page: str, *, remote_images: bool = False) -> str:
    """``page`` with a Content-Security-Policy ``<meta>`` at the top of its ``<head>`` (after the
    charset declaration when the page has one there), before any script.

    The policy (:func:`page_policy`) allows exactly the inline scripts the page holds now, by
    hash: call it once, on the finished page.

    Parameters
    ----------
    page : str
        A whole HTML document with a ``<head>`` element.
    remote_images : bool
        Allow images from ``https:``/``http:`` servers (online map tiles).

    Returns
    -------
    str
        The page with ``<meta http-equiv="Content-Security-Policy" content="…">``.

    Raises
    ------
    ValueError
        When ``page`` has no ``<head>`` element (the policy must precede every script).
    """
    head = _HEAD.search(page)
    if head is None:
        raise ValueError("page: no <head> element to hold the Content-Security-Policy")
    policy = page_policy(map(script_hash, inline_scripts(page)), remote_images=remote_images)
    meta = f'\n<meta http-equiv="Content-Security-Policy" content="{escape(policy)}">'
    at = head.end()
    charset = _CHARSET.search(page, at)  # the encoding stays declared first, before any script
    first_script = page.lower().find("<script", at)
    if charset is not None and (first_script < 0 or charset.end() <= first_script):
        at = charset.end()
    return page[:at] + meta + page[at:]


__all__ = ["JS_ESCAPE", "escape", "inline_scripts", "page_policy", "script_hash", "script_json",
           "script_safe", "with_csp"]
