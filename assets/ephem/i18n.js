// Texts in the page's language, from the same catalogs as the server's:
// assets/ephem/locales/<lang>.json is compiled from
// ephem/i18n/locales/<lang>/LC_MESSAGES/ephem.po (`python -m ephem.i18n
// compile`). The twin of `ephem.i18n.translate`, held to
// tests/vectors/i18n.json by tests/js/i18n.test.mjs and tests/i18n/test_vectors.py.
// Pure: no React, no Socket.IO; the caller imports or fetches the catalog.

const PLACEHOLDER = /\{(\w+)\}/g;

// `catalog`: one parsed locales/<lang>.json (locales/index.json lists them,
// with each language's own name and direction, for a language menu). `t(text, params)` and
// `tn(singular, plural, n, params)` take the English, as the server's N_ and NP_ do.
export function translator(catalog) {
  const lang = catalog.lang;
  const numbers = new Intl.NumberFormat(lang, { numberingSystem: catalog.numbering || "latn", useGrouping: true });
  const plurals = new Intl.PluralRules(lang);
  const fill = (text, params) =>
    text.replace(PLACEHOLDER, (whole, name) => {
      if (!params || !(name in params)) return whole;
      const value = params[name];
      return typeof value === "number" && Number.isInteger(value) ? numbers.format(value) : String(value);
    });
  const t = (text, params) => {
    const said = catalog.messages[text];
    return fill(typeof said === "string" && said ? said : text, params);
  };
  const tn = (singular, plural, n, params) => {
    const forms = catalog.messages[singular];
    let form;
    if (Array.isArray(forms) && forms.length) {
      const index = catalog.plural_categories.indexOf(plurals.select(n));
      // A category integers never reach (Russian "other" is for fractions): the last form.
      form = forms[index >= 0 && index < forms.length ? index : forms.length - 1];
    }
    if (!form) form = n === 1 ? singular : plural;
    return fill(form, { n, ...params });
  };
  return { lang, name: catalog.name, dir: catalog.dir, t, tn, number: (n) => numbers.format(n) };
}

// The English itself: the default `t` of pure modules whose words a panel says
// again with the page's translator (`explain(err, what, t)`).
export const english = translator({ lang: "en", messages: {}, plural_categories: ["one", "other"], dir: "ltr" });

// The best of `available` for the browser's preferences (navigator.languages):
// exact tag, then its language part; else `fallback`.
export function pickLanguage(preferences, available, fallback = "en") {
  for (const tag of preferences || []) {
    if (typeof tag !== "string") continue;
    const lower = tag.toLowerCase().replace("_", "-");
    if (available.includes(lower)) return lower;
    const base = lower.split("-")[0];
    if (available.includes(base)) return base;
  }
  return fallback;
}
