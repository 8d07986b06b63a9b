// The errors a scheduler raises for a request it cannot take: a bad request (naming the field and the numbers, so a
// server can answer 400 with it) and a full queue (a server answers 429).

export class SchedulerError extends Error {
  override name = "SchedulerError";
}

/** A request that can never run as given; `field` names the offending option (promptIds, maxTokens, ...). */
export class RequestError extends SchedulerError {
  override name = "RequestError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** The waiting queue is at its limit; try again later. */
export class QueueFullError extends SchedulerError {
  override name = "QueueFullError";
  constructor(readonly limit: number) {
    super(`the request queue is full (${limit} requests waiting); try again later`);
  }
}
