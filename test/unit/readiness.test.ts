import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { probePort, waitForPort } from "../../src/runtime/readiness.js";

// Real sockets, loopback only. holdMs is kept short so each probe takes a fraction of a second.
const HOST = "127.0.0.1";
const HOLD = 100;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

function listen(onConnection: (s: net.Socket) => void, port = 0): Promise<number> {
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    onConnection(s);
  });
  servers.push(srv);
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, HOST, () => resolve((srv.address() as net.AddressInfo).port));
  });
}

const silent = (s: net.Socket) => {
  s.on("error", () => {});
};
const closesAtOnce = (s: net.Socket) => {
  s.on("error", () => {});
  s.end();
};

/** A port that nothing listens on (freshly freed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, HOST, () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

afterEach(async () => {
  for (const s of sockets) s.destroy();
  for (const srv of servers.splice(0)) {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});

describe("probePort", () => {
  it("is true for a server that accepts and stays silent", async () => {
    const port = await listen(silent);
    expect(await probePort(HOST, port, HOLD)).toBe(true);
  });

  it("is true for a server that answers", async () => {
    const port = await listen((s) => {
      s.on("error", () => {});
      s.once("data", () => s.end("HTTP/1.0 200 OK\r\n\r\n"));
    });
    expect(await probePort(HOST, port, HOLD)).toBe(true);
  });

  it("is false for a server that accepts and closes at once (Docker's userland proxy with nothing behind it)", async () => {
    const port = await listen(closesAtOnce);
    expect(await probePort(HOST, port, HOLD)).toBe(false);
  });

  it("is false for a server that resets the connection", async () => {
    const port = await listen((s) => s.resetAndDestroy());
    expect(await probePort(HOST, port, HOLD)).toBe(false);
  });

  it("sends the app nothing: no request reaches its handlers", async () => {
    let received = 0;
    const port = await listen((s) => {
      s.on("error", () => {});
      s.on("data", (d) => {
        received += d.length;
      });
    });
    expect(await probePort(HOST, port, HOLD)).toBe(true);
    expect(received).toBe(0);
  });

  it("is false when nothing listens", async () => {
    expect(await probePort(HOST, await closedPort(), HOLD)).toBe(false);
  });
});

/** A fake clock whose sleep moves time forward, recording each sleep. */
function fakeClock() {
  let t = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

describe("waitForPort", () => {
  it("is ready at once when the port answers", async () => {
    const port = await listen(silent);
    const clock = fakeClock();
    const outcome = await waitForPort(HOST, port, {
      timeoutMs: 5000,
      isAlive: async () => true,
      sleep: clock.sleep,
      now: clock.now,
    });
    expect(outcome).toBe("ready");
    expect(clock.sleeps).toEqual([]);
  });

  it("keeps probing until the port starts answering", async () => {
    const port = await closedPort();
    const clock = fakeClock();
    const outcome = await waitForPort(HOST, port, {
      timeoutMs: 10_000,
      intervalMs: 500,
      isAlive: async () => true,
      now: clock.now,
      sleep: async (ms) => {
        await clock.sleep(ms);
        if (clock.sleeps.length === 2) await listen(silent, port);
      },
    });
    expect(outcome).toBe("ready");
    expect(clock.sleeps).toEqual([500, 500]);
  });

  it("says died as soon as the container is gone", async () => {
    const port = await listen(closesAtOnce);
    const clock = fakeClock();
    let checks = 0;
    const outcome = await waitForPort(HOST, port, {
      timeoutMs: 60_000,
      isAlive: async () => ++checks < 3,
      sleep: clock.sleep,
      now: clock.now,
    });
    expect(outcome).toBe("died");
    expect(checks).toBe(3);
    expect(clock.sleeps).toEqual([250, 250]);
  });

  it("times out on the injected clock when the port never answers", async () => {
    const port = await listen(closesAtOnce);
    const clock = fakeClock();
    const outcome = await waitForPort(HOST, port, {
      timeoutMs: 1000,
      intervalMs: 250,
      isAlive: async () => true,
      sleep: clock.sleep,
      now: clock.now,
    });
    expect(outcome).toBe("timeout");
    expect(clock.sleeps).toEqual([250, 250, 250, 250]);
  });
});
