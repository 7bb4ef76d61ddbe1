import { type ChildProcess, execFile, spawn } from "node:child_process";
import dgram from "node:dgram";
import fsp from "node:fs/promises";
import http2 from "node:http2";
import https from "node:https";
import path from "node:path";
import type tls from "node:tls";
import { promisify } from "node:util";
import { freePort } from "./platform.js";

// TLS test tools: certificates made with the real openssl, a loopback DNS server that
// answers 127.0.0.1 for every name (pebble resolves test names with it), Debian's pebble
// ACME server on loopback, and a TLS client that says which certificate a name got.

const run = promisify(execFile);

export interface Pair {
  cert: string;
  key: string;
}

/** A self-signed certificate (EC P-256) for names, written to dir/<file>.{crt,key}. */
export async function selfSigned(dir: string, file: string, names: string[], days = 30): Promise<Pair> {
  const cert = path.join(dir, `${file}.crt`);
  const key = path.join(dir, `${file}.key`);
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-keyout", key, "-out", cert, "-days", String(days), "-subj", `/CN=${names[0]}`],
    ...["-addext", `subjectAltName=${san}`],
  ]);
  return { cert, key };
}

/** A CA and a leaf it signed for names (pebble's own HTTPS listener needs one). */
export async function caAndLeaf(dir: string, names: string[]): Promise<{ ca: string; leaf: Pair }> {
  const ca = await selfSigned(dir, "test-ca", ["paas-test-ca"], 2);
  // req -x509 -CA: openssl 3 signs the new certificate with the CA instead of itself.
  const leaf = { cert: path.join(dir, "leaf.crt"), key: path.join(dir, "leaf.key") };
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
    ...["-CA", ca.cert, "-CAkey", ca.key, "-keyout", leaf.key, "-out", leaf.cert, "-days", "2"],
    ...["-subj", `/CN=${names[0]}`, "-addext", `subjectAltName=${san}`],
  ]);
  return { ca: ca.cert, leaf };
}

/** A DNS server on 127.0.0.1 answering every A question with 127.0.0.1 (others: no answer). */
export async function loopbackDns(): Promise<{ port: number; close(): void }> {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (msg, rinfo) => {
    if (msg.length < 17) return;
    let end = 12;
    while (end < msg.length && msg[end] !== 0) end += msg[end] + 1;
    const question = msg.subarray(12, end + 5);
    const qtype = msg.readUInt16BE(end + 1);
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(0x8180, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
    const answer =
      qtype === 1 ? Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]) : Buffer.alloc(0);
    socket.send(Buffer.concat([header, question, answer]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

export interface Pebble {
  directory: string;
  /** The CA file that signs pebble's own HTTPS listener (for NODE_EXTRA_CA_CERTS). */
  apiCa: string;
  /** The root that issued certificates chain to (PEM), from pebble's management API. */
  root(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/** pebble on loopback: HTTP-01 checks go to 127.0.0.1:httpPort, names resolved by dnsPort. */
export async function startPebble(dir: string, httpPort: number, dnsPort: number): Promise<Pebble> {
  const { ca, leaf } = await caAndLeaf(dir, ["127.0.0.1", "localhost"]);
  const [port, mgmt, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const config = path.join(dir, "pebble.json");
  await fsp.writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: leaf.cert,
        privateKey: leaf.key,
        httpPort,
        tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const env = { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" };
  const child: ChildProcess = spawn("pebble", ["-config", config, "-dnsserver", `127.0.0.1:${dnsPort}`], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => {
    out += d;
  });
  child.stderr!.on("data", (d) => {
    out += d;
  });
  const caPem = await fsp.readFile(ca, "utf8");
  const get = (p: number, urlPath: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.get(
        { host: "127.0.0.1", port: p, path: urlPath, ca: caPem, servername: "localhost" },
        (res) => {
          let body = "";
          res.on("data", (d) => {
            body += d;
          });
          res.on("end", () =>
            res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
    });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`pebble exited:\n${out}`);
    try {
      await get(port, "/dir");
      break;
    } catch (err) {
      if (i > 100) throw new Error(`pebble did not start: ${(err as Error).message}\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    directory: `https://127.0.0.1:${port}/dir`,
    apiCa: ca,
    root: () => get(mgmt, "/roots/0"),
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

export interface TlsAnswer {
  /** Subject alternative names of the certificate the server chose. */
  san: string;
  issuer: string;
  authorized: boolean;
  authorizationError: string | null;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET over TLS to 127.0.0.1:port with SNI servername (and Host: servername). */
/** servername "" sends no SNI (as a client given an IP address does); Host is then `host`. */
export function tlsGet(
  port: number,
  servername: string,
  urlPath = "/",
  ca?: string,
  host = servername,
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path: urlPath,
        servername,
        headers: { host },
        agent: false,
        ca,
        rejectUnauthorized: false,
      },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const peer = socket.getPeerCertificate();
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          body += d;
        });
        res.on("end", () =>
          resolve({
            san: peer.subjectaltname ?? "",
            issuer: String(peer.issuer?.CN ?? ""),
            authorized: socket.authorized,
            authorizationError: socket.authorizationError ? String(socket.authorizationError) : null,
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
          }),
        );
      },
    );
    req.setTimeout(15_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/** One HTTP/2 request (ALPN h2) to 127.0.0.1:port with SNI and :authority = servername. */
export function h2Request(
  port: number,
  servername: string,
  opts: { method?: string; path?: string; body?: string; ca?: string } = {},
): Promise<{ status: number; alpn: string; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    // Loopback only: the name goes in SNI and :authority, the connection to 127.0.0.1.
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      servername,
      ca: opts.ca,
      rejectUnauthorized: false,
    });
    session.on("error", reject);
    const req = session.request({
      ":method": opts.method ?? "GET",
      ":path": opts.path ?? "/",
      ":authority": servername,
      cookie: ["a=1", "b=2"],
    });
    let headers: http2.IncomingHttpHeaders = {};
    let body = "";
    req.setEncoding("utf8");
    req.on("response", (h) => {
      headers = h;
    });
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => {
      const alpn = String((session.socket as tls.TLSSocket).alpnProtocol);
      session.close();
      resolve({ status: Number(headers[":status"]), alpn, headers, body });
    });
    req.on("error", reject);
    req.setTimeout(15_000, () => req.close());
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}
