import type { Command } from "commander";
import { invalid } from "../../errors.js";
import type { ApiClient } from "../client.js";
import { appOf, type Cli, clientOf, positiveInt, progress, withAppOption } from "../context.js";
import { formatTable, heading, json } from "../output.js";

// `paas domains*` and `paas https:*`: custom domains, the default <app>.<PAAS_DOMAIN>
// name, the HTTP->HTTPS redirect and HSTS. Heroku's and Dokku's command names.

export interface DomainOptions {
  defaultDomain: boolean;
  httpsRedirect: boolean;
  hstsMaxAge: number | null;
}

export interface DomainsView {
  app: string;
  default: { hostname: string; enabled: boolean };
  domains: { hostname: string; wildcard: boolean }[];
  options: DomainOptions;
  added?: string[];
  removed?: string[];
}

const seg = encodeURIComponent;
const api = {
  get: (c: ApiClient, app: string) => c.json<DomainsView>("GET", `/apps/${seg(app)}/domains`),
  add: (c: ApiClient, app: string, hostnames: string[]) =>
    c.json<DomainsView>("POST", `/apps/${seg(app)}/domains`, { hostnames }),
  remove: (c: ApiClient, app: string, name: string) =>
    c.json<DomainsView>("DELETE", `/apps/${seg(app)}/domains/${seg(name)}`),
  clear: (c: ApiClient, app: string) => c.json<DomainsView>("DELETE", `/apps/${seg(app)}/domains`),
  options: (c: ApiClient, app: string, patch: Partial<DomainOptions>) =>
    c.json<DomainsView>("PATCH", `/apps/${seg(app)}/domain-options`, patch),
};

export function formatDomains(v: DomainsView): string[] {
  const lines = [heading(`${v.app} Domains`)];
  const rows = [
    [v.default.hostname, "default", v.default.enabled ? "on" : "off (paas domains:enable-default)"],
    ...v.domains.map((d) => [d.hostname, d.wildcard ? "wildcard" : "custom", "on"]),
  ];
  lines.push(...formatTable(["Domain Name", "Kind", "Served"], rows));
  const o = v.options;
  lines.push("");
  lines.push(`HTTPS redirect: ${o.httpsRedirect ? "on" : "off"}`);
  lines.push(`HSTS:           ${o.hstsMaxAge === null ? "off" : `max-age=${o.hstsMaxAge}`}`);
  return lines;
}

async function show(cli: Cli, app: string, opts: { json?: boolean }): Promise<void> {
  const v = await api.get(clientOf(cli), app);
  if (opts.json) return cli.io.out(json(v));
  for (const line of formatDomains(v)) cli.io.out(line);
}

export function registerDomains(program: Command, cli: Cli): void {
  withAppOption(program.command("domains"))
    .description("list the app's domains (the default one and custom ones)")
    .option("--json", "print JSON")
    .action(async (opts) => show(cli, await appOf(cli, opts.app), opts));

  withAppOption(program.command("domains:add <domains...>"))
    .description("add custom domains (www.example.com, *.example.com); point their DNS at the router")
    .action(async (names: string[], opts) => {
      const app = await appOf(cli, opts.app);
      const client = clientOf(cli);
      const v = await progress(cli.io, `Adding ${names.join(", ")} to ${app}`, () =>
        api.add(client, app, names),
      );
      cli.io.out(`Point a CNAME or A record for ${v.added?.join(", ")} at this platform's router.`);
    });

  withAppOption(program.command("domains:remove <domain>"))
    .description("remove a custom domain")
    .action(async (name: string, opts) => {
      const app = await appOf(cli, opts.app);
      const client = clientOf(cli);
      await progress(cli.io, `Removing ${name} from ${app}`, () => api.remove(client, app, name));
    });

  withAppOption(program.command("domains:clear"))
    .description("remove every custom domain of the app")
    .action(async (opts) => {
      const app = await appOf(cli, opts.app);
      const client = clientOf(cli);
      await progress(
        cli.io,
        `Removing all custom domains from ${app}`,
        () => api.clear(client, app),
        (v) => `done, ${v.removed?.length ?? 0} removed`,
      );
    });

  for (const [cmd, on] of [
    ["domains:disable-default", false],
    ["domains:enable-default", true],
  ] as const) {
    withAppOption(program.command(cmd))
      .description(
        on ? "serve <app>.<PAAS_DOMAIN> again" : "stop serving <app>.<PAAS_DOMAIN> (custom domains only)",
      )
      .action(async (opts) => {
        const app = await appOf(cli, opts.app);
        const client = clientOf(cli);
        await progress(cli.io, `${on ? "Enabling" : "Disabling"} the default domain of ${app}`, () =>
          api.options(client, app, { defaultDomain: on }),
        );
      });
  }

  withAppOption(program.command("https:redirect <state>"))
    .description("redirect plain HTTP requests to HTTPS: on or off")
    .action(async (state: string, opts) => {
      const on = onOff(state, "https:redirect on|off");
      const app = await appOf(cli, opts.app);
      const client = clientOf(cli);
      await progress(cli.io, `Turning the HTTPS redirect ${on ? "on" : "off"} for ${app}`, () =>
        api.options(client, app, { httpsRedirect: on }),
      );
    });

  withAppOption(program.command("https:hsts <state>"))
    .description("send Strict-Transport-Security on HTTPS answers: on or off")
    .option("--max-age <seconds>", "how long browsers remember (default 31536000, a year)", positiveInt)
    .action(async (state: string, opts) => {
      const on = onOff(state, "https:hsts on|off [--max-age SECONDS]");
      const app = await appOf(cli, opts.app);
      const client = clientOf(cli);
      const maxAge = on ? ((opts.maxAge as number | undefined) ?? 31_536_000) : null;
      await progress(cli.io, `Turning HSTS ${on ? `on (max-age=${maxAge})` : "off"} for ${app}`, () =>
        api.options(client, app, { hstsMaxAge: maxAge }),
      );
    });
}

function onOff(state: string, usage: string): boolean {
  if (state === "on") return true;
  if (state === "off") return false;
  throw invalid(`give on or off: paas ${usage}`);
}
