import { messageOf } from "../errors.js";
import type { AppName } from "../names.js";
import type { Store } from "../store/index.js";

type Log = (msg: string, ctx?: Record<string, unknown>) => void;

/**
 * A pass over every app every `tickMs`, never two at once (a pass still running makes the next
 * tick a no-op); one app's failure is logged and the pass goes on. The health monitors of both
 * schedulers are such passes; they differ only in what one app's pass does.
 */
export abstract class AppPass {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  protected constructor(
    protected readonly store: Store,
    protected readonly log: Log,
    private readonly tickMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.beforePass();
      for (const app of await this.store.apps.list()) {
        await this.app(app).catch((err) =>
          this.log("health check pass failed", { level: "warn", app, error: messageOf(err) }),
        );
      }
    } catch (err) {
      this.log("health monitor pass failed", { error: messageOf(err) });
    } finally {
      this.running = false;
    }
  }

  /** Once per pass, before the apps (e.g. learn which node this is). */
  protected async beforePass(): Promise<void> {}

  protected abstract app(app: AppName): Promise<void>;
}
