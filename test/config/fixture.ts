import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throwaway config tree: config.yaml plus any bridges/ and mappings/ files, removed by cleanup(). */
export interface ConfigTree {
  readonly dir: string;
  readonly configFile: string;
  write(relativePath: string, text: string): string;
  cleanup(): void;
}

export function makeConfigTree(configYaml: string, files: Record<string, string> = {}): ConfigTree {
  const dir = mkdtempSync(join(tmpdir(), 'sb-config-'));
  mkdirSync(join(dir, 'bridges'));
  const write = (relativePath: string, text: string): string => {
    const path = join(dir, relativePath);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return path;
  };
  const configFile = write('config.yaml', configYaml);
  for (const [path, text] of Object.entries(files)) write(path, text);
  return { dir, configFile, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const LOBBY_BRIDGE = 'endpoints:\n  - websocket: lobby\n  - xmpp: lobby@conference.example.org\n';
