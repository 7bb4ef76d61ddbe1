/**
 * A user-facing error with its HTTP status. Plugin code imports only types from the host
 * (src/plugins/types.ts), so it cannot throw core's PaasError; the host turns an error with
 * `status` 4xx into that answer.
 */
export class AddonError extends Error {
  readonly code: string;
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = "AddonError";
    this.code = status === 404 ? "not_found" : status === 409 ? "conflict" : "invalid_input";
  }
}
