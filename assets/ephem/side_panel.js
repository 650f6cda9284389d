// The enclave's side panel: members, invite, details and self-test (Reflex
// children) plus the safety codes (portalled in by the chat's Room). Beside
// the conversation on a wide screen, a drawer on a phone (assets/ephem/app.css).
// Opening and closing happen here, in the browser, so the drawer works while
// the server is unreachable too.

import { createElement as h, useEffect, useRef, useState } from "react";
import { useWords } from "./language.js";

const NARROW = "(max-width: 859.98px)";
const narrow = () => typeof window !== "undefined" && window.matchMedia(NARROW).matches;

// One drawer per page: the toggle in the header and the panel share it.
const drawer = {
  open: false,
  listeners: new Set(),
  set(open) {
    if (open === this.open) return;
    this.open = open;
    this.listeners.forEach((listener) => listener(open));
  },
};

// Where the Room draws the safety codes, once the panel has mounted.
const slot = {
  element: null,
  listeners: new Set(),
  set(element) {
    if (element === this.element) return;
    this.element = element;
    this.listeners.forEach((listener) => listener(element));
  },
};

function useStore(store, field) {
  const [value, setValue] = useState(store[field]);
  useEffect(() => {
    store.listeners.add(setValue);
    setValue(store[field]);
    return () => store.listeners.delete(setValue);
  }, []);
  return value;
}

export const useSideSlot = () => useStore(slot, "element");

export function EphemDrawerToggle({ label }) {
  const { t } = useWords();
  const open = useStore(drawer, "open");
  return h(
    "button",
    {
      type: "button",
      id: "ephem-side-toggle",
      className: "ephem-icon-button ephem-drawer-only",
      "aria-expanded": String(open),
      "aria-controls": "ephem-side",
      "data-testid": "side-open",
      onClick: () => drawer.set(!open),
    },
    label || t("Details"),
  );
}

export function EphemSide({ children, label }) {
  const { t } = useWords();
  const open = useStore(drawer, "open");
  const close = useRef(null);
  const wasOpen = useRef(false);

  useEffect(() => {
    // Focus goes into the drawer as it opens and back to its toggle as it closes.
    if (open && narrow()) close.current && close.current.focus();
    if (!open && wasOpen.current && narrow()) document.getElementById("ephem-side-toggle")?.focus();
    wasOpen.current = open;
    if (!open) return undefined;
    const onKey = (e) => e.key === "Escape" && drawer.set(false);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  // Leaving the page (or widening the window) leaves no drawer open behind.
  useEffect(() => () => drawer.set(false), []);

  return h(
    "div",
    { style: { display: "contents" } },
    h("div", { className: "ephem-backdrop", "data-open": String(open), onClick: () => drawer.set(false) }),
    h(
      "aside",
      {
        id: "ephem-side",
        className: "ephem-side",
        "aria-label": label || t("Enclave details"),
        "data-testid": "side-panel",
        "data-open": String(open),
      },
      h(
        "div",
        { className: "ephem-side-head ephem-drawer-only" },
        h("strong", null, label || t("Enclave details")),
        h(
          "button",
          {
            type: "button",
            ref: close,
            className: "ephem-icon-button",
            "data-testid": "side-close",
            onClick: () => drawer.set(false),
          },
          t("Close"),
        ),
      ),
      children,
      h("div", { ref: (element) => slot.set(element) }),
    ),
  );
}
