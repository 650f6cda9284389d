// This tab's sessionStorage, best effort: blocked or full storage (private
// modes, quotas) must not break the chat.
export const storage = {
  get(key) {
    try {
      return sessionStorage.getItem(key);
    } catch (err) {
      return null;
    }
  },
  set(key, value) {
    try {
      sessionStorage.setItem(key, value);
    } catch (err) {
      /* blocked or full: best effort */
    }
  },
  remove(key) {
    try {
      sessionStorage.removeItem(key);
    } catch (err) {
      /* blocked */
    }
  },
};

// The session token, kept by the page in localStorage (remembered account) or
// sessionStorage (this tab only). It never goes up into Reflex state.
const TOKEN_KEY = "ephem_session";
export function keptToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || sessionStorage.getItem(TOKEN_KEY) || "";
  } catch (err) {
    return "";
  }
}
