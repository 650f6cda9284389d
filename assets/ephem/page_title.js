// The tab's title in the page's language. The pages are titled in English
// (ephem/ui/routes.py, through add_page), which Reflex writes into <title> on
// every page; language.js says it in the page's language, again on a switch,
// keeping notify.js's "(N) " unread count in front. Pure: language.js feeds it.
import { stripCount } from "./unread.js";

// `shown`: document.title now; `english`: the English of the title said last
// (after a switch the page shows its title only in the old language); `t`:
// the page's translator; `known(text)`: an English text of the catalogs (a
// page's title, as Reflex wrote it). Returns `{english, title}`.
export function localTitle(shown, english, t, known) {
  const base = stripCount(shown);
  if (known(base)) english = base;
  if (!english) return { english, title: shown };
  return { english, title: shown.slice(0, shown.length - base.length) + t(english) };
}
