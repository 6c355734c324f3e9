import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whose budget a remote address spends (handshakes per address): an IPv4 address is itself, also
 * when written IPv4-mapped (`::ffff:192.0.2.1`, what a dual-stack listener reports); an IPv6
 * address is its /64, since one host or subscriber commonly holds a whole /64 and could otherwise
 * draw a fresh budget per address. Anything else (no address known) is one shared key as given.
 */
export function addressBudgetKey(address: string): string {
  const bare = (address.split('%')[0] ?? '').toLowerCase(); // a zone id (fe80::1%eth0) names no other host
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (isIPv4(bare) || !isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::');
  const groups = (part: string): string[] => {
    if (part === '') return [];
    const out: string[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) { // an IPv4 tail: two groups
        const [a, b, c, d] = g.split('.').map(Number) as [number, number, number, number];
        out.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
      } else out.push(g);
    }
    return out;
  };
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
