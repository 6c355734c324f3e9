import type { z } from 'zod';

/** A JSON text as `schema` reads it: undefined for none, or for one that is not JSON or no such value. */
export function parseJsonAs<T>(schema: z.ZodType<T>, raw: string | undefined): T | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
