// Errors as the OpenAI API reports them: an HTTP status and a body {"error": {"message", "type", "param", "code"}},
// where param names the request field at fault, so clients and SDKs written for OpenAI show them unchanged.

/** OpenAI's error types, by HTTP status: 400 invalid request, 401 authentication, 403 permission, 404 not found, 429 rate limit, 5xx server error. */
export type ApiErrorType = "invalid_request_error" | "authentication_error" | "permission_error" | "not_found_error" | "rate_limit_error" | "server_error";

/** An ApiError as plain data (it crosses to and from worker threads this way). */
export interface ApiErrorData {
  /** The HTTP status. */
  status: number;
  /** What went wrong, for a person. */
  message: string;
  /** The request field at fault, or null. */
  param: string | null;
  /** The error type. */
  type: ApiErrorType;
  /** A machine-readable code, or null. */
  code: string | null;
}

/** An error answered as OpenAI does: an HTTP status and a JSON body naming the field at fault. */
export class ApiError extends Error {
  /** Always `"ApiError"`. */
  override name = "ApiError";
  constructor(
    /** The HTTP status to answer with. */
    readonly status: number,
    message: string,
    /** The request field at fault (OpenAI's `param`), or null. */
    readonly param: string | null = null,
    /** The error type, derived from the status by default. */
    readonly type: ApiErrorType = status === 429 ? "rate_limit_error" : status === 404 ? "not_found_error" : status >= 500 ? "server_error" : "invalid_request_error",
    /** A machine-readable code (e.g. "invalid_json"), or null. */
    readonly code: string | null = null,
  ) {
    super(message);
  }

  /** The response body: `{"error": {"message", "type", "param", "code"}}`. */
  body(): {
    /** The error as OpenAI clients read it. */
    error: {
      /** What went wrong, for a person. */
      message: string;
      /** The error type. */
      type: string;
      /** The request field at fault. */
      param: string | null;
      /** A machine-readable code. */
      code: string | null;
    };
  } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  /** The error as plain data, to send to or from a worker thread. */
  toData(): ApiErrorData {
    return { status: this.status, message: this.message, param: this.param, type: this.type, code: this.code };
  }

  /** The error again from {@link toData}'s data. */
  static fromData(data: ApiErrorData): ApiError {
    return new ApiError(data.status, data.message, data.param, data.type, data.code);
  }
}

/** A 400 naming the field. */
export function invalidField(param: string, message: string, code: string | null = null): ApiError {
  return new ApiError(400, message, param, "invalid_request_error", code);
}
