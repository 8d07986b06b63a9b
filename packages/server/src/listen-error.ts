// Why the server could not start listening, in words a person can act on (the address is taken, not an address of
// this machine, needs privileges), with the host and port so a command line can name its own options.

/** The server could not listen (address in use, not this machine's, needs privileges), with the host and port. */
export class ServerListenError extends Error {
  /** Always `"ServerListenError"`. */
  override name = "ServerListenError";
  constructor(
    /** The system error code: EADDRINUSE, EADDRNOTAVAIL, EACCES, ENOTFOUND, ... */
    readonly code: string,
    /** The address asked for. */
    readonly host: string,
    /** The port asked for. */
    readonly port: number,
    /** What is wrong, without the host and port (e.g. "is already in use"). */
    readonly problem: string,
    options?: {
      /** The system error. */
      cause?: unknown;
    },
  ) {
    super(`cannot listen on ${host}:${port}: ${problem}`, options);
  }
}

/** Turns a listen() failure into a ServerListenError; anything unexpected keeps its system message. */
export function listenError(error: NodeJS.ErrnoException, host: string, port: number): ServerListenError {
  const code = error.code ?? "UNKNOWN";
  const problem =
    code === "EADDRINUSE"
      ? "the port is already in use (another server holds it; 0 picks a free port)"
      : code === "EADDRNOTAVAIL"
        ? "the address is not one of this machine's (127.0.0.1: this machine only; 0.0.0.0: every interface)"
        : code === "EACCES" || code === "EPERM"
          ? `permission denied${port > 0 && port < 1024 ? " (ports below 1024 need privileges; use 1024 or above)" : ""}`
          : code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME"
            ? "the host is neither an IP address nor a name this machine resolves"
            : code === "EAFNOSUPPORT"
              ? "this machine does not support that address family (IPv6?)"
              : error.message;
  return new ServerListenError(code, host, port, problem, { cause: error });
}
