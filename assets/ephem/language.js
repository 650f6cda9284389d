// The page's language: chosen from the browser's preferred languages on a
// first visit, switched from the language menu on every page, remembered in
// localStorage and set on <html lang dir> at once (the static export too: this
// module runs as soon as the bundle loads, before any backend answers).
// The Reflex state hears it through the menu's `onChange` (AuthState.set_lang)
// and the /ephem connection names it in its `auth` (session.js).

import { createElement as h, useEffect, useSyncExternalStore } from "react";
import { pickLanguage, translator } from "./i18n.js";
import ar from "./locales/ar.json";
import bn from "./locales/bn.json";
import en from "./locales/en.json";
import fa from "./locales/fa.json";
import index from "./locales/index.json";
import ky from "./locales/ky.json";
import ru from "./locales/ru.json";

const CATALOGS = { en, fa, ar, ru, ky, bn };
export const LANGUAGE_KEY = "ephem_lang";
export const LANGUAGES = index; // [{lang, name (in itself), dir}], in menu order

const listeners = new Set();
const translators = {};
let current = "";

function stored() {
  try {
    const lang = window.localStorage.getItem(LANGUAGE_KEY);
    return lang && lang in CATALOGS ? lang : "";
  } catch {
    return ""; // storage refused (private mode): the browser's preference each time
  }
}

function apply() {
  if (typeof document === "undefined") return;
  document.documentElement.lang = current;
  document.documentElement.dir = CATALOGS[current].dir;
}

export function language() {
  if (!current) {
    const preferred = typeof navigator === "undefined" ? [] : navigator.languages || [navigator.language];
    current = (typeof window !== "undefined" && stored()) || pickLanguage(preferred, Object.keys(CATALOGS));
    apply();
  }
  return current;
}

export function setLanguage(lang) {
  if (!(lang in CATALOGS) || lang === language()) return;
  current = lang;
  try {
    window.localStorage.setItem(LANGUAGE_KEY, lang);
  } catch {
    // not remembered, still switched
  }
  apply();
  listeners.forEach((listener) => listener(lang));
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// `locale`: for Intl (times in messages) with the numbering system the server
// writes too (Persian and Bengali digits; Latin ones in Arabic, as CLDR now
// says). The browser's own tag when it speaks the page's language (en-GB's
// 24-hour clock), and when the page is English only because we lack the
// browser's language (a German reader keeps German times).
function intlLocale(lang, numbering) {
  const preferred = typeof navigator === "undefined" ? "" : navigator.language || "";
  const base = preferred.split("-")[0].toLowerCase();
  let tag = base === lang || (lang === "en" && base && !(base in CATALOGS)) ? preferred : lang;
  if (!tag.includes("-u-")) tag = `${tag}-u-nu-${numbering || "latn"}`;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return lang;
  }
}

export function words(lang = language()) {
  const catalog = CATALOGS[lang];
  return (translators[lang] ||= { ...translator(catalog), locale: intlLocale(lang, catalog.numbering) });
}

// A Reflex page's text (ephem/ui/words.py `t`) in `lang` (useEphemLang's), from
// the catalogs bundled here: the page is drawn in the remembered or preferred
// language at once, with no wait for the state (compiled in English) to hear
// it from the backend.
export const pageWord = (text, lang) => (typeof text === "string" ? words(lang in CATALOGS ? lang : "en").t(text) : text);

// The language a Reflex component draws its texts in (the hook `t` adds to
// it). "en" while React hydrates a prerendered page (the static export's HTML
// is English: the same text, no mismatch), the page's language right after,
// and again on every switch. Once drawn in it, the page is shown (`reveal`).
export function useEphemLang() {
  const lang = useSyncExternalStore(subscribe, language, () => "en");
  useEffect(() => {
    if (lang === language()) reveal();
  }, [lang]);
  return lang;
}

// The head's script (ephem/ui/first_paint.py) hides a page that is not in
// English until its texts are in the page's language; this shows it.
export function reveal() {
  if (typeof document !== "undefined") document.documentElement.removeAttribute("data-ephem-wait");
}

// `const { t, tn } = useWords()`: a component redrawn in the new language when it changes.
export function useWords() {
  return words(useSyncExternalStore(subscribe, language, () => "en"));
}

// A labelled <select> (keyboard and screen reader friendly as it is), each
// language in its own name. `onChange(lang)` at mount and on every switch, so
// the server-side state says its words in the page's language. `compact` (a
// phone's crowded room header): only the globe shows, the select lies over it
// unseen, so a tap or the keyboard still opens the same native list.
export function LanguageMenu({ onChange, compact }) {
  const { t, lang } = useWords();
  useEffect(() => {
    if (onChange) onChange(lang);
    if (lang === language()) reveal();
  }, [lang]);
  const hidden = compact ? { position: "absolute", inset: 0, width: "100%", opacity: 0, cursor: "pointer" } : {};
  return h(
    "label",
    {
      className: "ephem-language",
      "data-compact": compact ? "true" : undefined,
      title: t("Language"),
      style: { position: "relative", display: "inline-flex", alignItems: "center", gap: "0.35rem", fontSize: "0.85rem", flexShrink: 0 },
    },
    h("span", { "aria-hidden": "true", style: compact ? { fontSize: "1.1rem", padding: "0.2rem" } : undefined }, "🌐"),
    h(
      "select",
      {
        value: lang,
        "data-testid": "language-menu",
        "aria-label": t("Language"),
        onChange: (e) => setLanguage(e.target.value),
        style: {
          font: "inherit",
          padding: "0.2rem 0.3rem",
          borderRadius: "6px",
          background: "transparent",
          color: "inherit",
          border: "1px solid var(--gray-a7)",
          ...hidden,
        },
      },
      LANGUAGES.map((item) => h("option", { key: item.lang, value: item.lang, lang: item.lang, dir: item.dir }, item.name)),
    ),
  );
}

if (typeof window !== "undefined") language(); // <html lang dir> before the first render
