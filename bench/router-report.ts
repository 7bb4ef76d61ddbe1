import {
  ROUTER_VS_BARE_NODE_CPU,
  ROUTER_VS_BARE_NODE_RPS,
  ROUTER_VS_CADDY_P99,
  ROUTER_VS_CADDY_RPS,
  ROUTER_VS_NGINX_P99,
  SOAK_RSS_GROWTH,
  type Upstream,
  type Via,
} from "./router-parts.js";
import type { Ratio } from "./scenarios.js";
import { ratio } from "./util.js";

// The router scenario's ratios: every target of issue 8 with its verdict, and the context
// ratios next to them.

export interface Agg {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
  cpuUsPerReq: number | null;
}

export interface ReportInput {
  get: (u: Upstream, v: Via) => Agg | undefined;
  lookup: { small: number; large: number; smallApps: number; largeApps: number };
  rss: { routerAfterKb: number | null; nginxAfterKb: number | null };
  soak: { beforeKb: number | null; afterKb: number | null } | null;
}

export function routerRatios({ get, lookup, rss, soak }: ReportInput): Ratio[] {
  const node = (v: Via) => get("node", v);
  const box = (v: Via) => get("busybox", v);
  const r = node("router");
  const ratios: Ratio[] = [
    {
      name: "router / bare node proxy req/s",
      of: "median req/s, node upstream, access line to the log stream",
      value: ratio(r?.rps, node("node-proxy")?.rps),
      target: {
        min: ROUTER_VS_BARE_NODE_RPS,
        text: `>= ${ROUTER_VS_BARE_NODE_RPS}x the bare node:http proxy`,
      },
    },
    {
      name: "router / caddy req/s",
      of: "Caddy 2 reverse_proxy, GOMAXPROCS=1, access log to a file",
      value: ratio(r?.rps, node("caddy")?.rps),
      target: { min: ROUTER_VS_CADDY_RPS, text: `>= ${ROUTER_VS_CADDY_RPS}x Caddy` },
    },
    {
      name: "router / bare node proxy CPU per request",
      of: "proxy CPU time per request (independent of how the cores were shared)",
      value: ratio(r?.cpuUsPerReq, node("node-proxy")?.cpuUsPerReq),
      target: {
        max: ROUTER_VS_BARE_NODE_CPU,
        text: `<= ${ROUTER_VS_BARE_NODE_CPU}x the bare node:http proxy`,
      },
    },
    {
      name: "router / nginx p99",
      of: "p99 latency, lower is better",
      value: ratio(r?.p99, node("nginx")?.p99),
      target: { max: ROUTER_VS_NGINX_P99, text: `<= ${ROUTER_VS_NGINX_P99}x nginx` },
    },
    {
      name: "router / caddy p99",
      of: "p99 latency, lower is better",
      value: ratio(r?.p99, node("caddy")?.p99),
      target: { max: ROUTER_VS_CADDY_P99, text: `<= ${ROUTER_VS_CADDY_P99}x Caddy` },
    },
    {
      name: `router req/s, ${lookup.largeApps} / ${lookup.smallApps} apps in the table`,
      of: "the same router with a 10,000-app table (flat: about 1)",
      value: ratio(node("router-10k")?.rps, r?.rps),
      target: { min: 0.9, text: ">= 0.9 (flat)" },
    },
    {
      name: `router CPU per request, ${lookup.largeApps} / ${lookup.smallApps} apps`,
      of: "the same in CPU per request",
      value: ratio(node("router-10k")?.cpuUsPerReq, r?.cpuUsPerReq),
      target: { max: 1.1, text: "<= 1.1 (flat)" },
    },
    {
      name: `route lookup ns, ${lookup.largeApps} / ${lookup.smallApps} apps`,
      of: `lookup() of a new Host header: ${lookup.small.toFixed(0)} ns with ${lookup.smallApps} apps, ${lookup.large.toFixed(0)} ns with ${lookup.largeApps}`,
      value: ratio(lookup.large, lookup.small),
      target: { max: 1.5, text: "<= 1.5 (flat: hash lookups, no scan)" },
    },
    {
      name: "router 2 workers / 1 worker CPU per request",
      of: "PAAS_ROUTER_WORKERS=2 (node:cluster) against 1, all processes counted",
      value: ratio(node("router-2w")?.cpuUsPerReq, r?.cpuUsPerReq),
      target: { max: 1.1, text: "<= 1.1 (flat: workers share nothing per request)" },
    },
    {
      name: "router 2 workers / 1 worker req/s",
      of: "on this 2-core box wrk, the upstream and the proxy share the cores",
      value: ratio(node("router-2w")?.rps, r?.rps),
    },
    {
      name: "router with / without access line, CPU per request",
      of: "what the line (format + batched write to the app's log stream) costs",
      value: ratio(r?.cpuUsPerReq, node("router-nolog")?.cpuUsPerReq),
    },
    {
      name: "router / nginx req/s",
      of: "nginx worker_processes 1",
      value: ratio(r?.rps, node("nginx")?.rps),
    },
    {
      name: "router / direct req/s",
      of: "what is left of the upstream's own throughput",
      value: ratio(r?.rps, node("direct")?.rps),
    },
    {
      name: "caddy / nginx req/s",
      of: "the two reference proxies",
      value: ratio(node("caddy")?.rps, node("nginx")?.rps),
    },
    {
      name: "bare node proxy / nginx req/s",
      of: "the ceiling of a one-process Node proxy here",
      value: ratio(node("node-proxy")?.rps, node("nginx")?.rps),
    },
    {
      name: "router / nginx CPU per request",
      of: "proxy CPU per request",
      value: ratio(r?.cpuUsPerReq, node("nginx")?.cpuUsPerReq),
    },
    {
      name: "router / caddy CPU per request",
      of: "proxy CPU per request",
      value: ratio(r?.cpuUsPerReq, node("caddy")?.cpuUsPerReq),
    },
  ];
  if (box("router")) {
    ratios.push(
      {
        name: "router / caddy req/s (busybox container)",
        of: "a new upstream connection per request (busybox httpd has no keep-alive)",
        value: ratio(box("router")?.rps, box("caddy")?.rps),
      },
      {
        name: "router / bare node proxy CPU per request (busybox)",
        of: "the same path in CPU per request",
        value: ratio(box("router")?.cpuUsPerReq, box("node-proxy")?.cpuUsPerReq),
      },
    );
  }
  ratios.push({
    name: "router / nginx RSS after load",
    of: "router process VmRSS over nginx master+worker VmRSS",
    value: ratio(rss.routerAfterKb, rss.nginxAfterKb),
  });
  if (soak) {
    ratios.push({
      name: "router RSS after / before the soak",
      of: "VmRSS after --soak seconds of load over VmRSS just before it (warm)",
      value: ratio(soak.afterKb, soak.beforeKb),
      target: { max: SOAK_RSS_GROWTH, text: `<= ${SOAK_RSS_GROWTH}x` },
    });
  }
  return ratios;
}
