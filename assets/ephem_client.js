// The entry Reflex bundles (`library = "$/public/ephem_client.js"` in
// ephem/ui/components/client.py): the browser client itself is the modules in ephem/.
export { EphemClient } from "./ephem/client.js";
