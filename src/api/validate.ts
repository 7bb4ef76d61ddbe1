import type { NextFunction, Request, Response } from "express";
import { z } from "zod";
import { invalid, messageOf } from "../errors.js";
import { parseAppName, parseConfigKey } from "../names.js";

// Input checked by schemas at the API's edge (zod): a route declares the body it takes with
// validate(schema), and a bad one is a 400 with one line naming the field and the rule,
// before the handler runs. The name rules stay in names.ts: the schemas call them.

/** A zod schema from one of names.ts' parsers, keeping its message. */
function fromParser<T>(parse: (raw: unknown) => T) {
  return z.unknown().transform((raw, ctx): T => {
    try {
      return parse(raw);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: messageOf(err) });
      return z.NEVER;
    }
  });
}

export const appNameSchema = fromParser(parseAppName);
export const configKeySchema = fromParser(parseConfigKey);

/** Config values: strings up to 32 KiB (null unsets). */
export const MAX_CONFIG_VALUE = 32 * 1024;

export const schemas = {
  createApp: z.object({ name: z.string({ error: "app name must be a string" }).nullish() }).optional(),
  configPatch: z
    .record(
      z.string(),
      z.union([z.string().max(MAX_CONFIG_VALUE, { error: "is longer than 32 KiB" }), z.null()], {
        error: "must be a string (or null to unset)",
      }),
    )
    .refine((o) => Object.keys(o).length > 0, {
      error: 'send a JSON object of config vars, e.g. {"KEY":"value"} (null unsets a key)',
    })
    .superRefine((o, ctx) => {
      for (const k of Object.keys(o)) {
        try {
          parseConfigKey(k);
        } catch (err) {
          ctx.addIssue({ code: "custom", message: messageOf(err) });
        }
      }
    }),
  formationPatch: z
    .record(z.string().max(64), z.union([z.string().max(32), z.number()]), {
      error: 'send the new scale, e.g. {"web": "3", "worker": "+1"}',
    })
    .refine((o) => Object.keys(o).length > 0, {
      error: 'send the new scale, e.g. {"web": "3", "worker": "+1"}',
    }),
  target: z.object({ target: z.string().max(100).nullish() }).optional(),
  domainsAdd: z.object(
    {
      hostnames: z
        .array(z.string().max(253), { error: 'send {"hostnames": ["www.example.com"]}' })
        .min(1, { error: "give at least one domain" })
        .max(100, { error: "at most 100 domains at once" }),
    },
    { error: 'send {"hostnames": ["www.example.com"]}' },
  ),
  login: z.object({
    email: z.string({ error: "give an email" }).min(1).max(254),
    password: z.string({ error: "give a password" }).min(1).max(1024),
  }),
  userAdd: z.object({
    email: z.email({ error: "give the user's email address, e.g. dev@example.com" }).max(254),
    admin: z.boolean().optional(),
    password: z.string().min(8, { error: "passwords have at least 8 characters" }).max(1024).optional(),
  }),
  password: z.object({
    password: z
      .string({ error: "give a password" })
      .min(8, { error: "passwords have at least 8 characters" })
      .max(1024),
  }),
  tokenCreate: z
    .object({
      description: z.string().max(200).optional(),
      expires: z
        .string()
        .regex(/^[1-9][0-9]{0,4}[smhd]$/, { error: "expiry looks like 30d, 12h, 90m or 3600s" })
        .optional(),
    })
    .optional(),
  member: z.object({ email: z.string({ error: "give the user's email" }).min(1).max(254) }),
} as const;

/** The first problem as one line: "field: what is wrong" (names.ts' messages name the field themselves). */
export function describe(error: z.ZodError, what = "request body"): string {
  const issue = error.issues[0];
  if (!issue) return `${what} is invalid`;
  if (issue.code === "custom" && /^(app name|config key)/.test(issue.message)) return issue.message;
  return issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message;
}

/** Parse `value` with `schema`, or throw a 400 naming the first problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what = "request body"): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(describe(r.error, what));
  return r.data;
}

/** Middleware: the JSON body must match `schema`; the handler gets the parsed value in req.body. */
export function validate<S extends z.ZodType>(schema: S) {
  return (req: Request, _res: Response, next: NextFunction) => {
    try {
      req.body = parse(schema, req.body);
      next();
    } catch (err) {
      next(err);
    }
  };
}
