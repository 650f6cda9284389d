// The browser's texts (assets/ephem/i18n.js over assets/ephem/locales/*.json)
// against tests/vectors/i18n.json, which tests/i18n/test_vectors.py holds to
// what the server says: the same words, plural forms and digits.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { pickLanguage, translator } from "../../assets/ephem/i18n.js";

const read = (path) => JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8"));
const VECTORS = read("../vectors/i18n.json");
const LANGUAGES = [...new Set(VECTORS.texts.map((c) => c.lang))]; // every language the server has
const TRANSLATORS = Object.fromEntries(LANGUAGES.map((lang) => [lang, translator(read(`../../assets/ephem/locales/${lang}.json`))]));

describe("texts", () => {
  for (const c of VECTORS.texts) {
    test(`${c.lang}: ${c.text}`, () => assert.equal(TRANSLATORS[c.lang].t(c.text, c.params), c.said));
  }
});

describe("counts", () => {
  for (const c of VECTORS.counts) {
    test(`${c.lang} ${c.n}: ${c.singular}`, () =>
      assert.equal(TRANSLATORS[c.lang].tn(c.singular, c.plural, c.n, c.params), c.said));
  }
});

test("direction and digits", () => {
  assert.deepEqual(["en", "fa", "ar", "ru", "ky", "bn"].map((l) => TRANSLATORS[l].dir), ["ltr", "rtl", "rtl", "ltr", "ltr", "ltr"]);
  assert.equal(TRANSLATORS.fa.number(2026), "۲٬۰۲۶");
  assert.equal(TRANSLATORS.bn.number(2026), "২,০২৬");
});

test("language from the browser's preferences", () => {
  assert.equal(pickLanguage(["fa-IR", "en"], LANGUAGES), "fa");
  assert.equal(pickLanguage(["de", "ky-KG"], LANGUAGES), "ky");
  assert.equal(pickLanguage(["de", "ja"], LANGUAGES), "en");
  assert.equal(pickLanguage(undefined, LANGUAGES), "en");
});
