// The errors a scheduler raises for a request it cannot take: a bad request (naming the field and the numbers, so a
// server can answer 400 with it) and a full queue (a server answers 429).

/** Base class of the scheduler's errors; also thrown for invalid scheduler options. */
export class SchedulerError extends Error {
  /** The class's name. */
  override name = "SchedulerError";
}

/** A request that can never run as given; `field` names the offending option (promptIds, maxTokens, ...). */
export class RequestError extends SchedulerError {
  /** Always `"RequestError"`. */
  override name = "RequestError";
  constructor(
    /** The request field at fault, e.g. "promptIds" or "maxTokens" (a server reports it as the error's `param`). */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The waiting queue is at its limit; try again later. */
export class QueueFullError extends SchedulerError {
  /** Always `"QueueFullError"`. */
  override name = "QueueFullError";
  constructor(
    /** The scheduler's maxQueuedRequests. */
    readonly limit: number,
  ) {
    super(`the request queue is full (${limit} requests waiting); try again later`);
  }
}
