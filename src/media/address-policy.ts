import ipaddr from 'ipaddr.js';

/**
 * Which addresses a remote fetch may connect to (SSRF policy). Only globally routable unicast
 * addresses pass by default: ipaddr.js classifies (maintained ranges from the IANA special-purpose
 * registries), and everything it does not call 'unicast' is refused: loopback, RFC 1918 private,
 * link-local (with 169.254.169.254, the cloud metadata service), unique-local (with
 * fd00:ec2::254), CGNAT, multicast, broadcast, unspecified, reserved, documentation, and the
 * IPv6 ranges that embed or tunnel to IPv4 (NAT64 64:ff9b::/96, 6to4, Teredo), which could reach
 * a forbidden IPv4 address through a translator. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as
 * the IPv4 address it maps.
 */

/** Cloud metadata endpoints: allowed only by an allow-list entry naming exactly them. */
const METADATA = ['169.254.169.254', 'fd00:ec2::254'].map((a) => ipaddr.parse(a).toNormalizedString());

export type AddressVerdict =
  | { readonly allowed: true; readonly address: string; readonly range: string }
  | { readonly allowed: false; readonly address: string; readonly range: string };

export interface AddressPolicyOptions {
  /**
   * CIDRs (or single addresses) that may be fetched from even though they are not public, e.g.
   * `10.1.2.0/24` for an internal XMPP upload service, or `127.0.0.1/32` in tests.
   */
  readonly allow?: readonly string[];
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseAllowEntry(entry: string): Cidr {
  const text = entry.trim();
  try {
    if (text.includes('/')) {
      const [addr, bits] = ipaddr.parseCIDR(text);
      // ::ffff:a.b.c.d/n names IPv4 addresses, which check() sees as IPv4: keep the entry in that form.
      if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
        return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
      }
      return [addr, bits];
    }
    const addr = ipaddr.process(text);
    return [addr, addr.kind() === 'ipv4' ? 32 : 128];
  } catch {
    throw new Error(`not an IP address or CIDR in the media fetch allow-list: ${JSON.stringify(entry)}`);
  }
}

export class AddressPolicy {
  private readonly allow: readonly Cidr[];

  constructor(options: AddressPolicyOptions = {}) {
    this.allow = (options.allow ?? []).map(parseAllowEntry);
  }

  /** Judges one address (any form ipaddr.js parses: dotted, decimal, octal, hex IPv4; IPv6). */
  check(address: string): AddressVerdict {
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      parsed = ipaddr.process(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    } catch {
      return { allowed: false, address, range: 'invalid' };
    }
    const normalized = parsed.toNormalizedString();
    const isMetadata = METADATA.includes(normalized);
    const range = isMetadata ? 'metadata' : parsed.range();
    const shown = parsed.toString();
    if (range === 'unicast') return { allowed: true, address: shown, range };
    const listed = this.allow.some(([net, bits]) => net.kind() === parsed.kind() && (!isMetadata || bits === (net.kind() === 'ipv4' ? 32 : 128)) && parsed.match(net, bits));
    return { allowed: listed, address: shown, range };
  }

  allows(address: string): boolean {
    return this.check(address).allowed;
  }
}

/** True when `host` (a URL hostname, brackets allowed) is an IP literal rather than a name. */
export function isIpLiteral(host: string): boolean {
  return ipaddr.isValid(host.replace(/^\[|\]$/g, ''));
}
