// Reloads asked over the bus (`switchboard reload`): every instance sharing a Redis bus reloads its
// own files, as its SIGHUP would, and answers with the outcome. One command then reaches a whole
// deployment and says which instance refused what, instead of a SIGHUP per process on every host.
// Requests and answers are bus notes (best effort, src/bus/types.ts Notes): an instance that is
// not subscribed at that moment (starting, its subscriber reconnecting) misses the request, and
// the command, hearing nothing from it, does not count it. Only a driver with notes (redis) has
// other instances to ask; on the memory driver there is one process and SIGHUP reaches it.
import { z } from 'zod';
import { formatIssue } from '../config/errors.ts';
import { parseJsonAs } from '../core/json.ts';
import type { Logger } from '../core/logger.ts';
import { MAX_NOTE_BYTES, type Notes, type Stoppable } from '../bus/types.ts';
import type { ConfigReloadOutcome } from './reload.ts';

/** The notes channel of reload requests, and that of the instances' answers. */
export const RELOAD_REQUESTS = 'reload';
export const RELOAD_ANSWERS = 'reload-answers';

/** Requests waiting for the next reload at most (each is answered by it); more are dropped, logged. */
const MAX_WAITING_REQUESTS = 64;
/** Issue lines one answer carries at most (the rest counted in `moreIssues`); the note must fit MAX_NOTE_BYTES. */
const MAX_ANSWER_ISSUES = 20;
const MAX_ISSUE_CHARS = 400;

export const ReloadRequestSchema = z.object({
  /** Chosen by the asker, to tell its answers from those of another asker's request. */
  id: z.string().min(1).max(64),
  /** Who asked, for the instances' logs (`switchboard reload on <host>`). */
  by: z.string().max(200).optional(),
}).strict();
export type ReloadRequest = z.infer<typeof ReloadRequestSchema>;

export const ReloadAnswerSchema = z.object({
  id: z.string().min(1).max(64),
  instance: z.string().min(1).max(300),
  ok: z.boolean(),
  /** Linked rooms in force after the reload (ok). */
  rooms: z.number().int().min(0).optional(),
  /** config.yaml settings that changed and need a restart (ok). */
  needsRestart: z.array(z.string().max(200)).max(200).optional(),
  /** Why the reload was refused: file:line: field: message lines (refused). */
  issues: z.array(z.string().max(MAX_ISSUE_CHARS)).max(MAX_ANSWER_ISSUES).optional(),
  /** Issues beyond those listed. */
  moreIssues: z.number().int().min(0).optional(),
}).strict();
export type ReloadAnswer = z.infer<typeof ReloadAnswerSchema>;

/** The answer to request `id` with a reload's outcome, cut (issues, then settings) to fit one note. */
export function answerOf(id: string, instance: string, outcome: ConfigReloadOutcome): ReloadAnswer {
  if (outcome.ok) {
    const answer: ReloadAnswer = { id, instance, ok: true, rooms: outcome.rooms, ...(outcome.needsRestart.length > 0 ? { needsRestart: outcome.needsRestart.slice(0, 200) } : {}) };
    while (noteBytes(answer) > MAX_NOTE_BYTES && answer.needsRestart !== undefined && answer.needsRestart.length > 0) answer.needsRestart = answer.needsRestart.slice(0, -1);
    return answer;
  }
  const lines = outcome.issues.map((issue) => {
    const line = formatIssue(issue);
    return line.length > MAX_ISSUE_CHARS ? `${line.slice(0, MAX_ISSUE_CHARS - 1)}…` : line;
  });
  let shown = Math.min(lines.length, MAX_ANSWER_ISSUES);
  const build = (): ReloadAnswer => ({ id, instance, ok: false, issues: lines.slice(0, shown), ...(lines.length > shown ? { moreIssues: lines.length - shown } : {}) });
  let answer = build();
  while (noteBytes(answer) > MAX_NOTE_BYTES && shown > 1) {
    shown--;
    answer = build();
  }
  return answer;
}

function noteBytes(answer: ReloadAnswer): number {
  return Buffer.byteLength(JSON.stringify(answer));
}

export interface ReloadAnswering {
  readonly notes: Notes;
  readonly instanceId: string;
  /** This instance's reload (app.reload: config.yaml, bridges/, mappings/ together, or refused). */
  reload(): Promise<ConfigReloadOutcome>;
  readonly logger: Logger;
}

/**
 * Follows the reload requests of the deployment: each runs this instance's reload and is answered
 * with its outcome. Requests that arrive while a reload runs wait for the next one (the files may
 * have changed after the running one read them), and all of them are answered by it: a burst of
 * requests costs two reloads at most.
 */
export function answerReloadRequests(deps: ReloadAnswering): Stoppable {
  let waiting: ReloadRequest[] = [];
  let running: Promise<void> | undefined;
  let closed = false;
  const answer = async (request: ReloadRequest, outcome: ConfigReloadOutcome): Promise<void> => {
    await deps.notes.publish(RELOAD_ANSWERS, JSON.stringify(answerOf(request.id, deps.instanceId, outcome))).catch((err: unknown) => {
      deps.logger.warn({ err, request: request.id }, 'could not answer a reload request over the bus (the reload itself ran)');
    });
  };
  const run = async (): Promise<void> => {
    while (waiting.length > 0 && !closed) {
      const requests = waiting;
      waiting = [];
      const outcome = await deps.reload();
      for (const request of requests) await answer(request, outcome);
    }
    running = undefined;
  };
  const subscription = deps.notes.subscribe(RELOAD_REQUESTS, (raw) => {
    const request = parseJsonAs(ReloadRequestSchema, raw);
    if (request === undefined) {
      deps.logger.warn({ bytes: Buffer.byteLength(raw) }, 'a reload request over the bus that is not one (switchboard reload sends them): ignored');
      return;
    }
    if (closed) return;
    if (waiting.length >= MAX_WAITING_REQUESTS) {
      deps.logger.warn({ request: request.id, by: request.by }, `more than ${MAX_WAITING_REQUESTS} reload requests waiting: this one is dropped (the reload they wait for answers the others)`);
      return;
    }
    deps.logger.info({ request: request.id, by: request.by }, 'reload asked over the bus');
    waiting.push(request);
    running ??= run();
  });
  return {
    close: async () => {
      closed = true;
      await subscription.close();
      await running;
    },
  };
}
