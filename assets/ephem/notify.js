// Telling the reader about messages they have not seen: the count in the tab's
// title, an optional sound, a desktop notification while the tab is hidden
// (permission asked on a click, never on load), none for one's own messages;
// and the per-enclave unread counts the home page shows. All of it stays in
// the browser: the rules are unread.js, the choices live in localStorage.

import { createElement as h, useEffect, useRef, useState } from "react";
import { noteTitle, parseCounts, ReadMark, shouldNotify, titleWith, withCount } from "./unread.js";
import { useWords } from "./language.js";

const SOUND_KEY = "ephem.sound";
const DESKTOP_KEY = "ephem.notify";
const COUNTS_EVENT = "ephem-unread";
const TOKEN_KEY = "ephem_session";

function local(key, value) {
  try {
    if (value === undefined) return localStorage.getItem(key);
    if (value) localStorage.setItem(key, value);
    else localStorage.removeItem(key);
  } catch (err) {
    /* storage blocked: the choice lasts for this page only */
  }
  return null;
}

// Counts are kept where the session token is: a session-only account's go
// with its tab.
function countsStorage() {
  try {
    return localStorage.getItem(TOKEN_KEY) ? localStorage : sessionStorage;
  } catch (err) {
    return null;
  }
}

const countsKey = (accountId) => `ephem.unread.${accountId}`;

export function readCounts(accountId) {
  const store = countsStorage();
  try {
    return store && accountId ? parseCounts(store.getItem(countsKey(accountId))) : {};
  } catch (err) {
    return {};
  }
}

function writeCount(accountId, enclaveId, count) {
  const store = countsStorage();
  if (!store || !accountId || !enclaveId) return;
  const before = readCounts(accountId);
  if ((before[enclaveId] || 0) === count) return;
  try {
    store.setItem(countsKey(accountId), JSON.stringify(withCount(before, enclaveId, count)));
  } catch (err) {
    return;
  }
  window.dispatchEvent(new Event(COUNTS_EVENT)); // this tab; other tabs get `storage`
}

const notificationsSupported = () => typeof window !== "undefined" && "Notification" in window;

// A short two-note chime, made on the spot: no sound file to fetch.
let audio = null;
function chime() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const now = audio.currentTime;
    [880, 1320].forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.12);
      osc.stop(now + i * 0.12 + 0.3);
    });
  } catch (err) {
    /* no audio here: the title and notifications still tell */
  }
}

function useHidden() {
  const [hidden, setHidden] = useState(typeof document !== "undefined" && document.visibilityState === "hidden");
  useEffect(() => {
    const onChange = () => setHidden(document.visibilityState === "hidden");
    document.addEventListener("visibilitychange", onChange);
    return () => document.removeEventListener("visibilitychange", onChange);
  }, []);
  return hidden;
}

// Called by the chat panel on each render: `pinned` says the list shows its newest message.
export function useAttention({ messages, pinned, accountId, enclaveId }) {
  const hidden = useHidden();
  const { t } = useWords();
  const mark = useRef(null);
  if (!mark.current) mark.current = new ReadMark();
  const [unread, setUnread] = useState(0);
  const lastId = messages.length ? messages[messages.length - 1].id : "";

  useEffect(() => {
    const { unread: count, fresh } = mark.current.update(messages, !hidden && pinned);
    setUnread(count);
    writeCount(accountId, enclaveId, count);
    if (!fresh.length) return;
    const permission = notificationsSupported() ? Notification.permission : "denied";
    const enabled = local(DESKTOP_KEY) === "1";
    if (local(SOUND_KEY) === "1" && (hidden || !pinned)) chime();
    fresh.forEach((message) => {
      if (!shouldNotify({ message, hidden, enabled, permission })) return;
      try {
        // The text stays on this device: the notification is drawn by its own OS.
        const note = new Notification(noteTitle(message, t), {
          body: String(message.text).slice(0, 140),
          tag: `ephem-${enclaveId}`,
        });
        note.onclick = () => {
          window.focus();
          note.close();
        };
      } catch (err) {
        /* some platforms allow notifications only from a service worker */
      }
    });
  }, [messages.length, lastId, hidden, pinned, accountId, enclaveId]);

  // The tab's title carries the count; the page's own title comes back at zero.
  useEffect(() => {
    document.title = titleWith(document.title, unread);
  }, [unread]);
  useEffect(() => () => {
    document.title = titleWith(document.title, 0);
  }, []);
  return unread;
}

function Toggle({ testid, label, checked, onChange, note }) {
  return h(
    "label",
    { style: { display: "flex", gap: "0.5rem", alignItems: "flex-start", fontSize: "0.9rem", cursor: "pointer" } },
    h("input", { type: "checkbox", "data-testid": testid, checked, onChange: (e) => onChange(e.target.checked), style: { marginTop: "0.2rem" } }),
    h("span", null, label, note ? h("span", { style: { display: "block", fontSize: "0.8rem", color: "var(--gray-11)" } }, note) : null),
  );
}

// The reader's choices: sound, and desktop notifications (asking the browser on this click).
export function AlertPrefs() {
  const { t } = useWords();
  const [sound, setSound] = useState(false);
  const [desktop, setDesktop] = useState(false);
  const [permission, setPermission] = useState("default");
  useEffect(() => {
    setSound(local(SOUND_KEY) === "1");
    setDesktop(local(DESKTOP_KEY) === "1");
    setPermission(notificationsSupported() ? Notification.permission : "unsupported");
  }, []);

  const onDesktop = async (on) => {
    if (on && notificationsSupported() && Notification.permission === "default") {
      const answer = await Notification.requestPermission();
      setPermission(answer);
      if (answer !== "granted") return;
    }
    local(DESKTOP_KEY, on ? "1" : "");
    setDesktop(on);
  };
  const blocked = permission === "denied" || permission === "unsupported";
  return h(
    "div",
    { style: { display: "flex", flexDirection: "column", gap: "0.5rem" }, "data-testid": "alert-prefs" },
    h(Toggle, {
      testid: "alert-sound",
      label: t("Play a sound for new messages"),
      checked: sound,
      onChange: (on) => {
        local(SOUND_KEY, on ? "1" : "");
        setSound(on);
        if (on) chime(); // a click may start audio: and the reader hears what it will be
      },
    }),
    h(Toggle, {
      testid: "alert-desktop",
      label: t("Notify me when this tab is hidden"),
      checked: desktop && !blocked,
      onChange: onDesktop,
      note: blocked
        ? permission === "unsupported"
          ? t("This browser cannot show notifications.")
          : t("Notifications are blocked for this site in the browser's settings.")
        : t("Shows who wrote and the start of the message, on this device only."),
    }),
  );
}

// The home page's count for one enclave, from this browser's storage.
export function UnreadBadge({ account, enclaveId }) {
  const [count, setCount] = useState(0);
  useEffect(() => {
    const read = () => setCount(readCounts(account)[enclaveId] || 0);
    read();
    window.addEventListener(COUNTS_EVENT, read);
    window.addEventListener("storage", read);
    return () => {
      window.removeEventListener(COUNTS_EVENT, read);
      window.removeEventListener("storage", read);
    };
  }, [account, enclaveId]);
  if (!count) return null;
  return h(
    "span",
    {
      "data-testid": "enclave-unread",
      "data-count": String(count),
      style: {
        background: "var(--accent-9)",
        color: "var(--accent-contrast)",
        borderRadius: "999px",
        padding: "0.05rem 0.5rem",
        fontSize: "0.8rem",
        fontWeight: 600,
        whiteSpace: "nowrap",
      },
    },
    count > 99 ? "99+ unread" : `${count} unread`,
  );
}
