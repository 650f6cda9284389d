"""The head's first script: the page's language before anything is drawn.

It runs as the browser parses the head, before the bundle: it picks the
language as assets/ephem/language.js will (`ephem_lang` in localStorage, else
the browser's languages, else English), sets `<html lang dir>` so the first
paint already reads the right way, and, for a language other than English,
marks `<html data-ephem-wait>`, under which the body is hidden (a style it
adds at once: a stylesheet may still be on its way at the first paint). The static
export's prerendered HTML is English (React hydrates it in English, then
redraws it in the page's language); `useEphemLang` (language.js) removes the
mark once the page is drawn in its language, and this script after
`WAIT_MS` whatever happens, so a page never stays blank for long.
"""

import json

import reflex as rx

from ephem.i18n import catalogs

WAIT_MS = 3000

# No "<", "&" or "</" in here: it is written into the HTML as it is.
_SCRIPT = """(function () {
  var dirs = %(dirs)s;
  var html = document.documentElement;
  var lang = "";
  try { lang = localStorage.getItem("ephem_lang") || ""; } catch (e) { lang = ""; }
  if (!dirs[lang]) {
    lang = "en";
    var prefs = navigator.languages || [navigator.language];
    for (var i = prefs.length - 1; i >= 0; i--) {
      var tag = String(prefs[i] || "").toLowerCase().replace("_", "-");
      var base = tag.split("-")[0];
      if (dirs[tag]) lang = tag; else if (dirs[base]) lang = base;
    }
  }
  html.lang = lang;
  html.dir = dirs[lang];
  if (lang !== "en") {
    var style = document.createElement("style");
    style.textContent = "html[data-ephem-wait] body { visibility: hidden; }";
    document.head.appendChild(style);
    html.setAttribute("data-ephem-wait", "");
    setTimeout(function () { html.removeAttribute("data-ephem-wait"); }, %(wait)d);
  }
})();"""


def script_text() -> str:
    dirs = {lang: catalogs.direction(lang) for lang in catalogs.LANGUAGES}
    return _SCRIPT % {"dirs": json.dumps(dirs), "wait": WAIT_MS}


def first_paint_script() -> rx.Component:
    return rx.el.script(script_text())
