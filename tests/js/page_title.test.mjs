// The tab's title and round-trip times in the page's language: page_title.js
// and i18n.js's `ms`, over the compiled catalogs.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { translator } from "../../assets/ephem/i18n.js";
import { localTitle } from "../../assets/ephem/page_title.js";
import { titleWith } from "../../assets/ephem/unread.js";

const read = (lang) => JSON.parse(readFileSync(new URL(`../../assets/ephem/locales/${lang}.json`, import.meta.url), "utf8"));
const en = read("en");
const fa = translator(read("fa"));
const ru = translator(read("ru"));
const known = (text) => text in en.messages;

test("a page's English title is said in the page's language, its unread count kept", () => {
  assert.deepEqual(localTitle("ephem · enclave", "", fa.t, known), { english: "ephem · enclave", title: "ephem · محفل" });
  assert.deepEqual(localTitle("(3) ephem · enclave", "", fa.t, known), { english: "ephem · enclave", title: "(3) ephem · محفل" });
  // notify.js counts over the translated title: nothing else changes.
  const counted = titleWith("ephem · محفل", 2);
  assert.deepEqual(localTitle(counted, "ephem · enclave", fa.t, known), { english: "ephem · enclave", title: counted });
  // Its count in Persian digits, as notify.js writes it, is kept and seen past.
  const persian = titleWith("ephem · enclave", 12, fa.number);
  assert.deepEqual(localTitle(persian, "", fa.t, known), { english: "ephem · enclave", title: "(۱۲) ephem · محفل" });
});

test("a switch says the title again, from its English; a new page brings its own", () => {
  assert.equal(localTitle("(1) ephem · محفل", "ephem · enclave", ru.t, known).title, "(1) ephem · анклав");
  assert.equal(localTitle("ephem · invite", "ephem · enclave", ru.t, known).title, "ephem · приглашение");
  assert.equal(localTitle("ephem · anonymous chat", "", fa.t, known).title, "ephem · گفتگوی ناشناس");
});

test("a title not of ours, before any of ours, stays as it is", () => {
  assert.deepEqual(localTitle("something else", "", fa.t, known), { english: "", title: "something else" });
});

test("round-trip times with the language's digits and unit", () => {
  assert.equal(translator(en).ms(6.46), "6.5 ms");
  assert.equal(translator(en).ms(12), "12 ms");
  assert.equal(fa.ms(6.5), "۶٫۵ میلی‌ثانیه");
  assert.equal(ru.ms(41.5), "41,5 мс");
  assert.equal(translator(read("bn")).ms(3), "৩ মিসে");
});
