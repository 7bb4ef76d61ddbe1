import { describe, expect, it } from "vitest";
import { ApiClient } from "../../src/cli/client.js";

// Behaviour that a local test server cannot easily provoke, through an injected fetch.

function streamOf(chunks: string[], failWith?: Error): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let next = 0;
  // Pulled one chunk at a time, so the error comes after the chunks, as on a real socket.
  return new ReadableStream({
    pull(controller) {
      if (next < chunks.length) controller.enqueue(encoder.encode(chunks[next++]));
      else if (failWith) controller.error(failWith);
      else controller.close();
    },
  });
}

const bodyTimeout = () => new TypeError("terminated", { cause: { code: "UND_ERR_BODY_TIMEOUT" } });

async function collect(gen: AsyncGenerator<string>): Promise<string> {
  let out = "";
  for await (const text of gen) out += text;
  return out;
}

describe("ApiClient.tailLogs", () => {
  it("reconnects after fetch's body timeout without printing the last line twice", async () => {
    const urls: string[] = [];
    const bodies = [
      () => streamOf(["a\n", "b\n"], bodyTimeout()),
      () => streamOf(["b\n", "c\n"], bodyTimeout()),
      () => streamOf(["d\ne\n"]),
    ];
    const fetchFn = (async (url: string) => {
      urls.push(url);
      return new Response(bodies[urls.length - 1]());
    }) as unknown as typeof fetch;
    const client = new ApiClient("http://api", "t", fetchFn);
    expect(await collect(client.tailLogs("shop", 100))).toBe("a\nb\nc\nd\ne\n");
    expect(urls).toEqual([
      "http://api/api/v1/apps/shop/logs?tail=1&lines=100",
      "http://api/api/v1/apps/shop/logs?tail=1&lines=1",
      "http://api/api/v1/apps/shop/logs?tail=1&lines=1",
    ]);
  });

  it("keeps the first line after a reconnect when it is new", async () => {
    let calls = 0;
    const fetchFn = (async () =>
      new Response(
        calls++ === 0 ? streamOf(["a\n"], bodyTimeout()) : streamOf(["z\n"]),
      )) as unknown as typeof fetch;
    expect(await collect(new ApiClient("http://api", "t", fetchFn).tailLogs("shop", 5))).toBe("a\nz\n");
  });

  it("reports any other broken stream in one line", async () => {
    const fetchFn = (async () =>
      new Response(
        streamOf(
          ["a\n"],
          new TypeError("terminated", { cause: { code: "UND_ERR_SOCKET", message: "other side closed" } }),
        ),
      )) as unknown as typeof fetch;
    await expect(collect(new ApiClient("http://api", "t", fetchFn).tailLogs("shop", 5))).rejects.toThrow(
      "the log stream from http://api broke off: other side closed",
    );
  });
});

describe("ApiClient.send", () => {
  it("says when the API took too long to answer", async () => {
    const fetchFn = (async () => {
      throw new TypeError("fetch failed", {
        cause: { code: "UND_ERR_HEADERS_TIMEOUT", message: "Headers Timeout Error" },
      });
    }) as unknown as typeof fetch;
    await expect(new ApiClient("http://api", "t", fetchFn).updateConfig("shop", { A: "1" })).rejects.toThrow(
      "the paas API at http://api did not answer PATCH /api/v1/apps/shop/config within 5 minutes; it may still be working on it",
    );
  });

  it("sends the token and a JSON body", async () => {
    let seen: RequestInit | undefined;
    const fetchFn = (async (_url: string, init: RequestInit) => {
      seen = init;
      return new Response('{"A":"1"}', { status: 200 });
    }) as unknown as typeof fetch;
    expect(
      await new ApiClient("http://api/", "tok", fetchFn).updateConfig("shop", { A: "1", B: null }),
    ).toEqual({
      A: "1",
    });
    expect(seen?.method).toBe("PATCH");
    expect(seen?.body).toBe('{"A":"1","B":null}');
    expect(seen?.headers).toMatchObject({ authorization: "Bearer tok", "content-type": "application/json" });
  });

  it("explains a 2xx answer that is not JSON", async () => {
    const fetchFn = (async () => new Response("<html>hi</html>", { status: 200 })) as unknown as typeof fetch;
    await expect(new ApiClient("http://api", "t", fetchFn).listApps()).rejects.toThrow(
      "the server at http://api sent an answer that is not JSON to GET /api/v1/apps (is http://api the paas API?)",
    );
  });
});
