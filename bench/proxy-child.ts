import http from "node:http";
import type { AddressInfo } from "node:net";
import { exitWhenParentGoes } from "./util.js";

// The floor for any Node reverse proxy: Host -> 127.0.0.1:port from PAAS_BENCH_ROUTES
// (JSON {"host": port}), node:http in and out with a keep-alive agent, bodies piped, and
// nothing else (no http-proxy, no forwarded headers, no access log, no retries). The
// router scenario runs it next to the paas router so "router / bare node proxy" shows what
// src/router adds on top of what Node itself costs per proxied request on this machine.

const routes = new Map<string, number>(
  Object.entries(JSON.parse(process.env.PAAS_BENCH_ROUTES ?? "{}") as Record<string, number>),
);
const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });

const server = http.createServer((req, res) => {
  const host = (req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
  const port = routes.get(host);
  if (port === undefined) {
    res.writeHead(404, { "content-type": "text/plain" }).end("no such app\n");
    return;
  }
  const up = http.request(
    { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers, agent },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("bad gateway\n");
    else res.destroy();
  });
  req.pipe(up);
});

const stop = () => {
  server.closeAllConnections();
  agent.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
exitWhenParentGoes(stop);

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`READY ${JSON.stringify({ port })}\n`);
});
