// Where the backend is. The only module that imports Reflex's own files
// (`$/...`, resolved by Vite in the app's build): unit tests never load it.
import { getBackendURL } from "$/utils/state";
import env from "$/env.json";

// The backend origin in dev, prod and static export alike.
export function backendOrigin() {
  return getBackendURL(env.PING).origin;
}
