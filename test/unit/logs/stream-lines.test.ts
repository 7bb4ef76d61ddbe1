import { describe, expect, it } from "vitest";
import { ApiClient } from "../../../src/cli/client.js";
import { type StreamLine, streamLines } from "../../../src/cli/log-stream.js";

// The CLI's side of the stream, through an injected fetch.

function body(chunks: string[], failWith?: Error): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let next = 0;
  return new ReadableStream({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(encoder.encode(chunks[next++]));
      else if (failWith) controller.error(failWith);
      else controller.close();
    },
  });
}

const obj = (id: string, message: string) =>
  `${JSON.stringify({ id, ts: "2026-11-27T10:00:00.000001+00:00", source: "app", process: "web.1", message })}\n`;

async function collect(gen: AsyncGenerator<StreamLine>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of gen) out.push(l.message);
  return out;
}

describe("streamLines", () => {
  it("asks for NDJSON with the filters, and skips keep-alive blank lines", async () => {
    const urls: string[] = [];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      return new Response(
        body([obj("1-0", "a"), "\n", obj("2-0", "b").slice(0, 20), obj("2-0", "b").slice(20)]),
      );
    }) as unknown as typeof fetch;
    const q = { num: 5, processType: "web", dyno: "web.1", source: "app" };
    expect(await collect(streamLines(new ApiClient("http://api", "t", fetchFn), "shop", q))).toEqual([
      "a",
      "b",
    ]);
    expect(urls).toEqual(["http://api/api/v1/apps/shop/logs?format=json&num=5&ps=web&dyno=web.1&source=app"]);
  });

  it("resumes a broken tail after the last line it printed: no gap, no repeat", async () => {
    const urls: string[] = [];
    const broken = new TypeError("terminated", {
      cause: { code: "UND_ERR_SOCKET", message: "other side closed" },
    });
    const bodies = [() => body([obj("1-0", "a"), obj("2-0", "b")], broken), () => body([obj("3-0", "c")])];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      return new Response(bodies[urls.length - 1]());
    }) as unknown as typeof fetch;
    const lines = await collect(
      streamLines(new ApiClient("http://api", "t", fetchFn), "shop", { num: 1, tail: true }),
    );
    expect(lines).toEqual(["a", "b", "c"]);
    expect(urls[1]).toBe("http://api/api/v1/apps/shop/logs?format=json&num=1&tail=1&after=2-0");
  });

  it("reads platform events from /events", async () => {
    const urls: string[] = [];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      return new Response(body([obj("1-0", "Release v2 created")]));
    }) as unknown as typeof fetch;
    const client = new ApiClient("http://api", "t", fetchFn);
    expect(await collect(streamLines(client, "shop", { num: 100 }, "events"))).toEqual([
      "Release v2 created",
    ]);
    expect(urls[0]).toMatch(/\/apps\/shop\/events\?/);
  });
});
