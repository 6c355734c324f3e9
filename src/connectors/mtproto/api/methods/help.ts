// help.*: what a client asks while connecting, before anyone logs in.
import type { MethodRegistry } from '../registry.ts';
import type { DcAddress } from '../dc.ts';
import { buildConfig, type ConfigLimits } from './config.ts';

export interface HelpOptions {
  /** This server as the client should reach it (read per call: the port is known after start). */
  dc: () => DcAddress;
  limits?: ConfigLimits;
}

const emptyJsonObject = { _: 'jsonObject', value: [] };

export function registerHelp(registry: MethodRegistry, opts: HelpOptions): void {
  registry
    .register('help.getConfig', { auth: 'none', handle: (_call, ctx) => buildConfig(opts.dc(), ctx.now, opts.limits) })
    // One DC: it is the nearest. The country is unknown (no GeoIP): an empty code.
    .register('help.getNearestDc', { auth: 'none', handle: () => ({ _: 'nearestDc', country: '', this_dc: opts.dc().id, nearest_dc: opts.dc().id }) })
    .register('help.getCdnConfig', { auth: 'none', handle: () => ({ _: 'cdnConfig', public_keys: [] }) })
    // No server-side app options. Older layers answer a bare JSONValue, newer ones help.appConfig.
    .register('help.getAppConfig', {
      auth: 'none',
      handle: (_call, ctx) => (ctx.schema.byName.has('help.appConfig') ? { _: 'help.appConfig', hash: 0, config: emptyJsonObject } : emptyJsonObject),
    })
    .register('help.getCountriesList', { auth: 'none', handle: () => ({ _: 'help.countriesList', countries: [], hash: 0 }) });
}
