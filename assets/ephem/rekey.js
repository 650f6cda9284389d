// Links that outlive the server connection: the rules for giving a link kept
// across a socket drop to the peer's new connection. Pure, like
// conversation.js; the twin of ephem/peer/rekey.py.
//
// When the `/ephem` socket drops (ours, or the server restarts) every open
// link is kept and marked `stale`: the peer_id it was made for is gone, so it
// cannot be signaled until the peer is heard of again. Each connection gets a
// new peer_id (contract), and the server announces the peers of the room on
// the new one (`join` ack, `peer_joined`) with their account ids: a stale,
// open link to that account is that peer, re-keyed instead of rebuilt.

// What to do with `peer` ({peer_id, account_id}), a connection the server
// says is in the room, given our links (each {peer: {peer_id, account_id},
// stale, open}):
//   {kind: "known", link}  a link made for this very connection;
//   {kind: "rekey", link}  the one stale, open link to the same account;
//   {kind: "new"}          none, or several (two tabs of one account were
//                          linked to us: which is which cannot be told, so
//                          neither is guessed and a link is built).
export function place(links, peer) {
  const all = [...links];
  const known = all.find((l) => l.peer.peer_id === peer.peer_id);
  if (known) return { kind: "known", link: known };
  const stale = all.filter((l) => l.stale && l.open && l.peer.account_id === peer.account_id);
  return stale.length === 1 ? { kind: "rekey", link: stale[0] } : { kind: "new" };
}

// Contract: of two peer_ids, the smaller is the polite side. After a re-key
// both ends compare their new ids, so they agree again once both are back.
export const isPolite = (mine, theirs) => mine < theirs;
