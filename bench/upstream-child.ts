import http from "node:http";
import type { AddressInfo } from "node:net";
import { exitWhenParentGoes } from "./util.js";

// The bench's app: a node:http server answering every request with the same small body
// (PAAS_BENCH_BODY, ~100 bytes), run as its own process by the router scenario. Prints
// `READY {"port":N}` once listening; exits on SIGTERM or when the parent closes stdin.

const UPSTREAM_BODY = process.env.PAAS_BENCH_BODY || "paas bench upstream ok\n";

const server = http.createServer((req, res) => {
  // Drain any request body so keep-alive connections stay usable.
  req.resume();
  res.writeHead(200, {
    "content-type": "text/plain",
    "content-length": String(Buffer.byteLength(UPSTREAM_BODY)),
  });
  res.end(UPSTREAM_BODY);
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
exitWhenParentGoes(stop);

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`READY ${JSON.stringify({ port })}\n`);
});
