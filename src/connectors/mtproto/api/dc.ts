import { isIPv6 } from 'node:net';

/** Where clients reach this server: the one data center the config advertises. */
export interface DcAddress {
  readonly id: number;
  readonly host: string;
  readonly port: number;
}

/** dcOption for the address (the ipv6 flag from the address itself). */
export function dcOption(dc: DcAddress): { _: 'dcOption'; id: number; ip_address: string; port: number; ipv6: boolean } {
  return { _: 'dcOption', id: dc.id, ip_address: dc.host, port: dc.port, ipv6: isIPv6(dc.host) };
}
