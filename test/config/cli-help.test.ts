import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { COMMANDS, HELP } from '../../src/cli.ts';

/**
 * Every option a command parses (COMMANDS[name].options, what parseArgs is given) is listed where
 * an operator looks: the command's lines in `switchboard --help`, its own `--help`, and its lines
 * in the README's CLI summary; every short form in the Short forms line of both.
 */

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const readmeCli = /### CLI\n\n```\n([\s\S]*?)```\n\n([\s\S]*?)\n\n/.exec(README);

/** `--name` as a whole option (so --kek is not found inside --kek-only). */
const mentions = (text: string, option: string) => new RegExp(`--${option}(?![\\w-])`).test(text);
/** The lines of `text` that start with `prefix` followed by a space. */
const linesOf = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(`${prefix} `)).join('\n');

test('the README has a CLI summary with a short-forms line after it', () => {
  assert.ok(readmeCli, 'README: "### CLI" then a code block');
  assert.match(readmeCli[2] ?? '', /^Short forms:/);
});

for (const [name, command] of Object.entries(COMMANDS)) {
  test(`${name}: every option it parses is in switchboard --help, its own --help and the README`, () => {
    const helpLines = linesOf(HELP, `  ${name}`);
    const readmeLines = linesOf(readmeCli?.[1] ?? '', `switchboard ${name}`);
    assert.notEqual(helpLines, '', `switchboard --help has no line for ${name}`);
    assert.notEqual(readmeLines, '', `the README's CLI summary has no line for ${name}`);
    const shortForms = [HELP.split('\n').find((l) => l.startsWith('Short forms:')) ?? '', readmeCli?.[2] ?? ''];
    for (const [option, spec] of Object.entries(command.options)) {
      assert.ok(mentions(helpLines, option), `switchboard --help, ${name} lines, lack --${option}:\n${helpLines}`);
      assert.ok(mentions(command.help, option), `switchboard ${name} --help lacks --${option}`);
      assert.ok(mentions(readmeLines, option), `README CLI summary, ${name} lines, lack --${option}:\n${readmeLines}`);
      if (spec.short !== undefined) {
        assert.match(shortForms[0] ?? '', new RegExp(`-${spec.short} --${option}(?![\\w-])`), `switchboard --help: -${spec.short} --${option}`);
        assert.match(shortForms[1] ?? '', new RegExp(`\`-${spec.short}\` \`--${option}\``), `README short forms: -${spec.short} --${option}`);
      }
    }
  });
}
