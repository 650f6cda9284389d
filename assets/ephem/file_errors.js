// What went wrong with a transfer, as a stable code each reader says in its
// own language. Peers tell each other `file_cancel {id, code, message}`: the
// code is what counts (README "Files"); the English `message` shows only for
// a code this page does not know (a newer peer's). Local troubles (nobody to
// send to, the sender gone) are codes too, so the panel says every one the
// same way and says it again after a language switch.

import { formatBytes } from "./file_transfer.js";

// A transfer's error: `{code, message, limit?}` (limit: bytes, for too_large).
export function fileError(code, message = "", limit = null) {
  const error = { code: typeof code === "string" ? code.slice(0, 64) : "", message: typeof message === "string" ? message.slice(0, 200) : "" };
  if (Number.isSafeInteger(limit) && limit > 0) error.limit = limit;
  return error;
}

// The t() calls spelled out so `python -m ephem.i18n extract` finds them.
const SAID = {
  cancelled: (t) => t("The sender cancelled."),
  receiver_cancelled: (t) => t("The receiver cancelled."),
  declined: (t) => t("The receiver declined."),
  too_large: (t, e) => (e.limit ? t("Files are limited to {size}.", { size: formatBytes(e.limit) }) : t("The file is too large for the receiver.")),
  refused_too_large: (t, e) => t("Refused: files are limited to {size}.", { size: formatBytes(e.limit || 0) }),
  invalid_offer: (t) => t("The file offer was not valid."),
  out_of_order: (t) => t("A part of the file went missing."),
  size_mismatch: (t) => t("The file is not the size it was offered as."),
  corrupt: (t) => t("The file arrived damaged (its SHA-256 differs)."),
  busy: (t) => t("Too many files at once: send again later."),
  cannot_save: (t) => t("The receiver could not save the file."),
  sender_stopped: (t) => t("The sender stopped."),
  nobody: (t) => t("Nobody is connected to send it to."),
  waiting_direct: (t) => t("waiting for a direct connection"),
};

export const knownFileError = (code) => Object.hasOwn(SAID, code);

// `error` in the reader's language: "" for none, the peer's own text for a code we lack.
export function sayFileError(t, error) {
  if (!error) return "";
  if (typeof error === "string") return error;
  if (knownFileError(error.code)) return SAID[error.code](t, error);
  return error.message || error.code || "";
}
