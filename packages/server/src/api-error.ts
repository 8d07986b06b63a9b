// Errors as the OpenAI API reports them: an HTTP status and a body {"error": {"message", "type", "param", "code"}},
// where param names the request field at fault, so clients and SDKs written for OpenAI show them unchanged.

export type ApiErrorType = "invalid_request_error" | "not_found_error" | "rate_limit_error" | "server_error";

export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type: ApiErrorType = status === 429 ? "rate_limit_error" : status === 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error",
    readonly code: string | null = null,
  ) {
    super(message);
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 naming the field. */
export function invalidField(param: string, message: string, code: string | null = null): ApiError {
  return new ApiError(400, message, param, "invalid_request_error", code);
}
