// Methods Telegram serves on an auth key nobody is logged in on (core.telegram.org/api/auth and
// the connect path of the stock libraries). A method outside this list that the bridge does not
// serve answers 401 AUTH_KEY_UNREGISTERED before login, like Telegram does, so clients go on as
// with a logged-out session; a method in it answers 400 METHOD_NOT_IMPLEMENTED instead.
const NO_LOGIN_PREFIXES = ['auth.', 'langpack.'];

const NO_LOGIN_METHODS = new Set([
  'help.getConfig',
  'help.getNearestDc',
  'help.getCdnConfig',
  'help.getAppConfig',
  'help.getCountriesList',
  'account.getPassword',
  'account.sendVerifyEmailCode',
  'account.verifyEmail',
]);

export function servedBeforeLogin(method: string): boolean {
  return NO_LOGIN_METHODS.has(method) || NO_LOGIN_PREFIXES.some((p) => method.startsWith(p));
}
