// The entry Reflex bundles (`library = "$/public/ephem_client.js"` in
// ephem/ui/components/client.py): the browser client itself is the modules in ephem/.
export { EphemClient } from "./ephem/client.js";
// The enclave's side panel (a drawer on a phone) and the header button that opens it.
export { EphemDrawerToggle, EphemSide } from "./ephem/side_panel.js";
// Sound and desktop-notification choices, and the home page's unread counts.
export { AlertPrefs as EphemAlertPrefs, UnreadBadge as EphemUnread } from "./ephem/notify.js";

// For the sign-up form (ephem/ui/state.py, through rx.call_script, which sees
// only window globals): solve a proof-of-work challenge in a worker.
import { solveInWorker } from "./ephem/pow.js";
if (typeof window !== "undefined") window.ephemSolve = (challenge) => solveInWorker(challenge);

// Installable, and a clear page when offline: the service worker.
import { registerServiceWorker } from "./ephem/install.js";
registerServiceWorker();

// The language menu (every page) and the page's language on <html lang dir>.
export { LanguageMenu as EphemLanguageMenu, pageWord, useEphemLang } from "./ephem/language.js";
