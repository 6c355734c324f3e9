// What an app tells the server about itself and its device as it runs: a push token
// (account.registerDevice: accepted and dropped, the bridge sends no push notifications, so an app
// hears of messages while it is connected), the device locked, its logs (help.saveAppLog), a
// suggestion or a promotion dismissed, the terms accepted, a bot's "updates pending" status.
// Telegram answers each `true`; so does the bridge, keeping nothing. And what it asks about
// itself: no update of the app to offer, no deep link to explain. Before, each was
// METHOD_NOT_IMPLEMENTED, an error in the app at every start.
import type { MethodRegistry } from '../../api/registry.ts';
import { register, type ChatDeps } from './common.ts';

/** Accepted and dropped: nothing here is kept or sent on. */
const ACCEPTED = [
  'account.registerDevice',
  'account.unregisterDevice',
  'account.updateDeviceLocked',
  'help.saveAppLog',
  'help.dismissSuggestion',
  'help.hidePromoData',
  'help.acceptTermsOfService',
  'help.setBotUpdatesStatus',
] as const;

export function registerAppReports(methods: MethodRegistry, deps: ChatDeps): void {
  for (const name of ACCEPTED) register(methods, deps, name, 'user', () => true);
  register(methods, deps, 'help.getAppUpdate', 'user', () => ({ _: 'help.noAppUpdate' }));
  register(methods, deps, 'help.getDeepLinkInfo', 'user', () => ({ _: 'help.deepLinkInfoEmpty' }));
}
