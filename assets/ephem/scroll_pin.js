// Keeps a message list at its newest message, as chat apps do: new messages
// scroll it down while the reader is at the bottom; once they scroll up to
// read, the list stays put and counts what arrived below ("new messages ↓").
// Pure: the chat panel hands in the list's measurements.

export const SLACK_PX = 48; // this close to the bottom counts as at the bottom

export const atBottom = ({ scrollTop, scrollHeight, clientHeight }, slack = SLACK_PX) =>
  scrollHeight - (scrollTop + clientHeight) <= slack;

export class ScrollPin {
  constructor() {
    this.pinned = true;
    this.below = 0; // messages that arrived while the reader was scrolled up
    this.count = null; // messages the list held at the last update
  }

  // The reader scrolled (or the list resized): pinned again at the bottom.
  scrolled(metrics) {
    this.pinned = atBottom(metrics);
    if (this.pinned) this.below = 0;
    return this.pinned;
  }

  // The list now holds `count` messages, `fromOthers` of the new ones written
  // by someone else. Returns whether to scroll to the bottom. One's own new
  // message always brings the list down: it was just sent from the composer.
  update(count, { fromOthers = 0, mine = false } = {}) {
    const first = this.count === null;
    const added = first ? 0 : Math.max(0, count - this.count);
    this.count = count;
    if (first || this.pinned || mine) {
      this.pinned = true;
      this.below = 0;
      return true;
    }
    this.below += Math.min(added, fromOthers);
    return false;
  }

  // "new messages ↓" pressed.
  jump() {
    this.pinned = true;
    this.below = 0;
  }
}
