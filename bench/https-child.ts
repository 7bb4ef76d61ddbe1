import { Redis } from "ioredis";
import { loadSettings } from "../src/config.js";
import { messageOf } from "../src/errors.js";
import { startRouter } from "../src/router/index.js";
import { storeOver } from "../src/store/index.js";
import { keySecretBox } from "../src/store/secret-box.js";
import { exitWhenParentGoes } from "./util.js";

// The paas router with its HTTPS listener in a process of its own, for the https scenario:
// certificates come from the store (sealed with PAAS_BENCH_SECRET, base64), HTTP/2 is
// offered or not (PAAS_BENCH_HTTP2=on|off), no access log. Prints `READY {"port":N}` with
// the HTTPS port once listening.

async function main(): Promise<void> {
  const settings = loadSettings({
    PAAS_REDIS_URL: process.env.PAAS_REDIS_URL,
    PAAS_NAMESPACE: process.env.PAAS_NAMESPACE,
    PAAS_DOMAIN: process.env.PAAS_DOMAIN,
    PAAS_HTTPS_PORT: "0",
  });
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const subscriber = new Redis(settings.redisUrl, { maxRetriesPerRequest: null });
  const store = storeOver(redis, settings.namespace);
  store.certs.useSecretBox(keySecretBox(Buffer.from(process.env.PAAS_BENCH_SECRET ?? "", "base64")));
  const router = await startRouter({
    settings,
    routes: store.routes,
    subscriber,
    port: 0,
    host: "127.0.0.1",
    drainMs: 1_000,
    tls: { certs: store.certs, port: 0, http2: process.env.PAAS_BENCH_HTTP2 === "on" },
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 3_000).unref();
    router
      .close()
      .catch(() => {})
      .finally(() => {
        redis.disconnect();
        subscriber.disconnect();
        process.exit(0);
      });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  exitWhenParentGoes(stop);
  process.stdout.write(`READY ${JSON.stringify({ port: router.httpsPort })}\n`);
}

main().catch((err) => {
  process.stderr.write(`https-child: ${messageOf(err)}\n`);
  process.exit(1);
});
