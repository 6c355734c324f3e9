/** How one part of an instance is doing, for /healthz. */
export interface ComponentHealth {
  /** `down` makes the instance unhealthy; `degraded` is reported but not fatal. */
  readonly status: 'ok' | 'degraded' | 'down';
  /** Small facts for operators (connections, lease held, last error). */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}
