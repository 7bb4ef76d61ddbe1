// Upstream deadlines without a timer per request. Every request gets the same allowance,
// so deadlines come due in the order they were set: they live in a FIFO list linked
// through the requests themselves (arming and disarming allocate nothing), and one coarse
// interval, running only while something is armed, expires what is due from the front.
// A deadline fires up to one tick late (a tenth of the allowance, at most a second):
// Heroku's 30s H12 is coarse too.

export interface Timed {
  deadline: number;
  armed: boolean;
  prevTimed: Timed | null;
  nextTimed: Timed | null;
}

export class Deadlines<T extends Timed> {
  private head: Timed | null = null;
  private tail: Timed | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;

  constructor(
    private readonly allowanceMs: number,
    private readonly onExpire: (item: T) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tickMs = Math.min(1_000, Math.max(10, Math.round(allowanceMs / 10)));
  }

  /** (Re)start the item's clock: it expires allowanceMs from now, unless disarmed first. */
  arm(item: T): void {
    if (item.armed) this.unlink(item);
    item.deadline = this.now() + this.allowanceMs;
    item.armed = true;
    item.prevTimed = this.tail;
    item.nextTimed = null;
    if (this.tail) this.tail.nextTimed = item;
    else this.head = item;
    this.tail = item;
    if (this.timer === undefined) {
      this.timer = setInterval(this.sweep, this.tickMs);
      this.timer.unref();
    }
  }

  disarm(item: T): void {
    if (item.armed) this.unlink(item);
  }

  /** Drop everything (shutting down); nothing expires afterwards. */
  clear(): void {
    while (this.head) this.unlink(this.head);
    this.stop();
  }

  private readonly sweep = (): void => {
    const now = this.now();
    while (this.head && this.head.deadline <= now) {
      const item = this.head;
      this.unlink(item);
      this.onExpire(item as T);
    }
    if (!this.head) this.stop();
  };

  private unlink(item: Timed): void {
    if (item.prevTimed) item.prevTimed.nextTimed = item.nextTimed;
    else this.head = item.nextTimed;
    if (item.nextTimed) item.nextTimed.prevTimed = item.prevTimed;
    else this.tail = item.prevTimed;
    item.prevTimed = null;
    item.nextTimed = null;
    item.armed = false;
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
