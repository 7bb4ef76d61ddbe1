// The platform's error vocabulary. Every error a user can cause or see is one of these:
// each carries a one-line, user-facing message (what was wrong, what to do) and maps to
// one HTTP status. The API's error middleware and the CLI's top-level catch are the only
// places that turn them into output.

export type ErrorCode =
  | "invalid_input"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "build_failed"
  | "deploy_failed"
  | "unavailable"
  | "internal";

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  build_failed: 422,
  deploy_failed: 422,
  unavailable: 503,
  internal: 500,
};

export class PaasError extends Error {
  readonly code: ErrorCode;
  /** Extra facts for the user (failing command, exit code, last log lines). */
  readonly details?: string[];

  constructor(code: ErrorCode, message: string, details?: string[]) {
    super(message);
    this.name = "PaasError";
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return STATUS[this.code];
  }
}

export const invalid = (message: string) => new PaasError("invalid_input", message);
export const notFound = (message: string) => new PaasError("not_found", message);
export const conflict = (message: string) => new PaasError("conflict", message);
export const unauthorized = (message: string) => new PaasError("unauthorized", message);
export const forbidden = (message: string) => new PaasError("forbidden", message);

export class BuildFailed extends PaasError {
  constructor(message: string, details?: string[]) {
    super("build_failed", message, details);
    this.name = "BuildFailed";
  }
}

export class DeployFailed extends PaasError {
  constructor(message: string, details?: string[]) {
    super("deploy_failed", message, details);
    this.name = "DeployFailed";
  }
}

export function isPaasError(err: unknown): err is PaasError {
  return err instanceof PaasError;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
