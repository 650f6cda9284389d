// What peers tell each other when a transfer stops is a code; each reader says
// it in its own language (file_errors.js), the peer's English only for a code
// it does not know. The same for device troubles in a call (call_state.js).

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { explain, sayTrouble, trouble } from "../../assets/ephem/call_state.js";
import { fileError, knownFileError, sayFileError } from "../../assets/ephem/file_errors.js";
import { english, translator } from "../../assets/ephem/i18n.js";

const catalog = (lang) => JSON.parse(readFileSync(new URL(`../../assets/ephem/locales/${lang}.json`, import.meta.url), "utf8"));
const fa = translator(catalog("fa"));
const ru = translator(catalog("ru"));

test("a peer's code is said in the reader's language, whatever language the peer wrote", () => {
  const busy = fileError("busy", "Too many files at once: send again later.");
  assert.equal(sayFileError(english.t, busy), "Too many files at once: send again later.");
  assert.equal(sayFileError(fa.t, busy), "فایل‌های هم‌زمان زیادند: بعداً دوباره بفرستید.");
  assert.equal(sayFileError(ru.t, fileError("corrupt", "anything at all")), "Файл пришёл повреждённым (SHA-256 не совпадает).");
});

test("too_large names the receiver's limit when the peer sent one", () => {
  assert.equal(sayFileError(english.t, fileError("too_large", "", 2 * 1024 ** 3)), "Files are limited to 2 GB.");
  assert.equal(sayFileError(fa.t, fileError("too_large", "", 1024)), "حداکثر اندازهٔ فایل 1 KB است.");
  assert.equal(sayFileError(english.t, fileError("too_large", "Files are limited to 9 GB.")), "The file is too large for the receiver.");
  assert.equal(fileError("too_large", "", -5).limit, undefined); // nonsense from a peer is dropped
});

test("a code this page does not know shows the peer's own text, cut short", () => {
  assert.equal(knownFileError("disk_on_fire"), false);
  assert.equal(sayFileError(fa.t, fileError("disk_on_fire", "The disk is on fire.")), "The disk is on fire.");
  assert.equal(sayFileError(fa.t, fileError("x", "y".repeat(500))).length, 200);
  assert.equal(sayFileError(fa.t, null), "");
});

test("every code the panel knows is translated in every language", () => {
  const codes = ["cancelled", "receiver_cancelled", "declined", "too_large", "refused_too_large", "invalid_offer", "out_of_order",
    "size_mismatch", "corrupt", "busy", "cannot_save", "sender_stopped", "nobody", "waiting_direct"];
  for (const lang of ["fa", "ar", "ru", "ky", "bn"]) {
    const { t } = translator(catalog(lang));
    for (const code of codes) {
      assert.ok(knownFileError(code), code);
      const error = fileError(code, "", 1024);
      assert.notEqual(sayFileError(t, error), sayFileError(english.t, error), `${lang} ${code}`);
    }
  }
});

test("a device trouble is kept as what happened and said again in the page's language", () => {
  const kept = trouble({ name: "NotFoundError", message: "" }, "camera");
  assert.equal(sayTrouble(english.t, kept), "No camera was found on this device.");
  assert.equal(sayTrouble(fa.t, kept), "هیچ دوربین روی این دستگاه پیدا نشد.");
  assert.equal(sayTrouble(ru.t, trouble({ name: "ended" }, "microphone")), "Устройство (микрофон) перестало работать.");
  assert.equal(explain({ name: "NotSupportedError" }, "screen", fa.t), "این مرورگر نمی‌تواند صفحه‌اش را به اشتراک بگذارد.");
  assert.equal(sayTrouble(fa.t, ""), "");
});
