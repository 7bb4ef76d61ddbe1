import { describe, expect, it } from "vitest";
import { ErrorPages } from "../../src/router/pages.js";

// The 404 page's advice must be something the platform accepts: a name under PAAS_DOMAIN
// cannot be claimed with domains:add (it is some app's default name), so it says apps:create.
describe("router 404 page", () => {
  const pages = new ErrorPages();
  const ctx = { domain: "localhost", requestId: "r1" };

  it("suggests creating the app for a name under the platform's domain", () => {
    const html = pages.render("404", 404, { ...ctx, host: "shop.localhost" });
    expect(html).toContain("No app is deployed at shop.localhost");
    expect(html).toContain("paas apps:create shop");
    expect(html).not.toContain("domains:add");
  });

  it("suggests domains:add for a custom name", () => {
    const html = pages.render("404", 404, { ...ctx, host: "www.example.com" });
    expect(html).toContain("paas domains:add www.example.com -a &lt;app&gt;");
    expect(html).not.toContain("apps:create");
  });

  it("escapes a hostile host in the suggestion", () => {
    const html = pages.render("404", 404, { ...ctx, host: "<b>x</b>.localhost" });
    expect(html).not.toContain("<b>x</b>");
    expect(html).toContain("paas apps:create &lt;b&gt;x&lt;/b&gt;");
  });
});
