/**
 * `${VAR}` and `${VAR:-default}` in config values, so secrets (a Redis URL with its password,
 * token hashes) come from the environment instead of the file. `$${` writes a literal `${`.
 * Like the shell, `:-` also applies when the variable is set but empty.
 */
const REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

export type Substitution =
  | { readonly ok: true; readonly value: string; readonly changed: boolean }
  | { readonly ok: false; readonly missing: readonly string[] };

export function substituteEnv(text: string, env: Env): Substitution {
  if (!text.includes('${')) return { ok: true, value: text, changed: false };
  const missing: string[] = [];
  const value = text.replace(REFERENCE, (whole: string, escape: string, name: string, fallback: string | undefined) => {
    if (escape === '$') return whole.slice(1);
    const set = env[name];
    if (set !== undefined && (set !== '' || fallback === undefined)) return set;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return whole;
  });
  return missing.length > 0 ? { ok: false, missing } : { ok: true, value, changed: value !== text };
}
