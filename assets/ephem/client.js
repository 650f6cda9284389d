// The component Reflex renders (`EphemClient`, wrapped by ephem/ui/components/client.py
// through assets/ephem_client.js): it owns the page's session, passes props
// down to it and sends everything the page shows up through `onEvent`.

import { createElement as h, useEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { CallPanel } from "./call_panel.js";
import { ChatPanel, PANEL } from "./chat_panel.js";
import { ReportPanel } from "./report_panel.js";
import { SafetyPanel } from "./safety_panel.js";
import { useSideSlot } from "./side_panel.js";
import { EphemSession } from "./session.js";
import { keptToken, storage } from "./storage.js";
import { language, subscribe } from "./language.js";

const TOKEN_TRIES = 50; // 5 s for the page to store a fresh token

// The enclave's call and chat, over whichever mesh the session has now; the
// safety codes go to the side panel (side_panel.js) once it is there.
// `children`: the page's own lines drawn above the composer (typing).
function Room({ session, keepHistory, reporting, onReported, children }) {
  const [mesh, setMesh] = useState(session.mesh);
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = (next) => {
      setMesh(next);
      setVersion((v) => v + 1);
    };
    session.meshListeners.add(listener);
    setMesh(session.mesh);
    return () => session.meshListeners.delete(listener);
  }, [session]);
  const slot = useSideSlot();
  const safety = h(SafetyPanel, { mesh });
  return h(
    "div",
    { style: PANEL },
    h(CallPanel, { mesh }),
    reporting ? h(ReportPanel, { key: reporting.nonce, mesh, request: reporting, onDone: onReported }) : null,
    h(ChatPanel, { session, mesh, keepHistory }, children),
    slot ? createPortal(safety, slot) : safety,
  );
}

// Rendered once per page. Without `showChat` it draws nothing; with it, the
// enclave's call and chat. `videoCrowd`: above this many cameras a call sends
// lower-resolution video.
export function EphemClient({ account, enclaveId, command, showChat, keepHistory, videoCrowd, blocked, onEvent, children }) {
  const up = useRef(onEvent);
  up.current = onEvent;
  const [session, setSession] = useState(null);
  const [token, setToken] = useState("");
  const [reporting, setReporting] = useState(null); // the `report` command being filled in

  // `account` says who is signed in; the token itself is read from this
  // browser's storage, where sign-up's script may write it a moment later.
  useEffect(() => {
    let tries = 0;
    const look = () => {
      const found = account ? keptToken() : "";
      if (found || !account || ++tries >= TOKEN_TRIES) {
        setToken(found);
        return true;
      }
      return false;
    };
    if (look()) return undefined;
    const timer = setInterval(() => look() && clearInterval(timer), 100);
    return () => clearInterval(timer);
  }, [account]);

  useEffect(() => {
    if (!token) return undefined;
    const emit = (kind, data) => up.current && up.current(kind, data);
    // The session of the page's last render, if it just went (a re-render from a
    // spinner after a backend restart): its links go on.
    const created = EphemSession.take(token, emit) || new EphemSession(token, emit);
    created.setEnclave(enclaveId || "");
    created.lang = language();
    const unfollow = subscribe((lang) => created.setLanguage(lang));
    setSession(created);
    return () => {
      unfollow();
      setSession(null);
      created.park();
    };
  }, [token]);

  useEffect(() => {
    if (session) session.setEnclave(enclaveId || "");
  }, [session, enclaveId]);

  // A command runs once per tab, even when a page remounts or reloads with the
  // same state: its nonce is remembered in sessionStorage.
  useEffect(() => {
    if (!session || !command || !command.nonce) return;
    if (storage.get("ephem.command") === command.nonce) return;
    storage.set("ephem.command", command.nonce);
    // A report is written here, in the browser: the messages it may attach never go up to Reflex.
    if (command.op === "report") setReporting(command);
    else session.run(command);
  }, [session, command && command.nonce]);

  // Accounts this one blocked: the mesh drops their frames and calls.
  const blockedKey = (blocked || []).join(",");
  useEffect(() => {
    if (!session) return;
    session.blocked = new Set(blocked || []);
    if (session.mesh) session.mesh.applyBlocks();
  }, [session, blockedKey]);

  const onReported = (outcome) => {
    setReporting(null);
    if (outcome) up.current && up.current("reported", outcome);
  };

  useEffect(() => {
    if (!session) return;
    session.videoCrowd = videoCrowd || 0;
    if (session.mesh) session.mesh.call.applyCrowd();
  }, [session, videoCrowd]);

  if (!showChat || !session) return null;
  return h(Room, { session, keepHistory, reporting, onReported }, children);
}
