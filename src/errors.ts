// One error type for the whole product, with Aerospike's numeric result codes. Codes cross threads
// and sockets as plain numbers; names and messages are for people. Tests match on codes only.
// docs/errors.md documents every code below, and test/errors.test.ts keeps the two in step.

export const Status = {
  // client-side (negative, as in Aerospike's clients)
  CLIENT_ERROR: -1,
  SERVER_NOT_AVAILABLE: -8,
  TIMEOUT_CLIENT: -9,
  CONNECTION_CLOSED: -10,
  MAX_RETRIES_EXCEEDED: -11,
  CLIENT_QUEUE_FULL: -12,
  // server (positive)
  OK: 0,
  SERVER_ERROR: 1,
  KEY_NOT_FOUND: 2,
  GENERATION: 3,
  PARAMETER: 4,
  KEY_EXISTS: 5,
  BIN_EXISTS: 6,
  SERVER_MEM: 8,
  TIMEOUT: 9,
  ALWAYS_FORBIDDEN: 10,
  PARTITION_UNAVAILABLE: 11,
  BIN_TYPE: 12,
  RECORD_TOO_BIG: 13,
  KEY_BUSY: 14,
  SCAN_ABORT: 15,
  UNSUPPORTED_FEATURE: 16,
  BIN_NOT_FOUND: 17,
  DEVICE_OVERLOAD: 18,
  INVALID_NAMESPACE: 20,
  BIN_NAME_TOO_LONG: 21,
  FAIL_FORBIDDEN: 22,
  ELEMENT_NOT_FOUND: 23,
  ELEMENT_EXISTS: 24,
  OP_NOT_APPLICABLE: 26,
  FILTERED_OUT: 27,
  SECURITY_NOT_ENABLED: 52,
  INVALID_COMMAND: 54,
  INVALID_FIELD: 55,
  INVALID_USER: 60,
  USER_ALREADY_EXISTS: 61,
  INVALID_PASSWORD: 62,
  INVALID_CREDENTIAL: 65,
  EXPIRED_SESSION: 66,
  INVALID_ROLE: 70,
  ROLE_ALREADY_EXISTS: 71,
  INVALID_PRIVILEGE: 72,
  NOT_AUTHENTICATED: 80,
  ROLE_VIOLATION: 81,
  NOT_WHITELISTED: 82,
  QUOTA_EXCEEDED: 83,
  BATCH_MAX_REQUESTS_EXCEEDED: 151,
} as const;

export type StatusName = keyof typeof Status;
export type StatusCode = (typeof Status)[StatusName];

const namesByCode = new Map<number, StatusName>();
for (const name of Object.keys(Status) as StatusName[]) namesByCode.set(Status[name], name);

/** The name of a result code, or `UNKNOWN_<code>` for one this build does not know. */
export function statusName(code: number): string {
  return namesByCode.get(code) ?? `UNKNOWN_${code}`;
}

/** Every known code, for the documentation test and for `aerie info`. */
export function allStatusCodes(): ReadonlyArray<{ code: number; name: StatusName }> {
  return [...namesByCode].map(([code, name]) => ({ code, name }));
}

/**
 * The error every Aerie API throws. `code` is stable; `inDoubt` is true for a write whose outcome
 * is unknown (it may or may not have been applied) and must never be treated as "failed".
 */
export class AerieError extends Error {
  readonly code: number;
  readonly inDoubt: boolean;

  constructor(code: number, message?: string, inDoubt = false) {
    super(message ?? statusName(code));
    this.code = code;
    this.inDoubt = inDoubt;
  }

  override get name(): string {
    return `AerieError[${statusName(this.code)}]`;
  }

  /** The plain form that crosses a thread or a socket. */
  toJSON(): { code: number; message: string; inDoubt: boolean } {
    return { code: this.code, message: this.message, inDoubt: this.inDoubt };
  }
}
