import { describe, expect, it } from "vitest";
import { ApiClient } from "../../src/cli/client.js";

// Behaviour that a local test server cannot easily provoke, through an injected fetch.

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
