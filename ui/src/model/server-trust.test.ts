import { describe, expect, it } from 'vitest';
import { addressPieces, fingerprintGroups, messageSentence, sharingPortText, trustQuestion } from './server-trust';

const HEX = '3F2A91BC0D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8';

describe('server trust', () => {
  it('asks its own question for the three certificate and http refusals only', () => {
    expect(trustQuestion('untrusted_certificate')).toBe('untrusted_certificate');
    expect(trustQuestion('certificate_changed')).toBe('certificate_changed');
    expect(trustQuestion('plain_http')).toBe('plain_http');
    expect(trustQuestion('server_unreachable')).toBeNull();
    expect(trustQuestion('invalid_invite')).toBeNull();
  });

  it('shows a fingerprint in 16 groups of four, whatever form it came in', () => {
    const groups = fingerprintGroups(`sha256:${HEX.match(/.{4}/g)?.join(' ')}`);
    expect(groups).toHaveLength(16);
    expect(groups[0]).toBe('3F2A');
    expect(groups.join('')).toBe(HEX);
    expect(fingerprintGroups(HEX.toLowerCase())).toEqual(groups);
    expect(fingerprintGroups(`SHA256 Fingerprint=${HEX.match(/.{2}/g)?.join(':')}`.replace('Fingerprint=', ''))).toEqual(groups);
    expect(fingerprintGroups('not a fingerprint')).toEqual(['not a fingerprint']);
    expect(fingerprintGroups('  ')).toEqual([]);
  });

  it('makes a sentence of the core\'s message, leaving an address at its start alone', () => {
    expect(messageSentence('the server refused')).toBe('The server refused.');
    expect(messageSentence('https://192.168.1.66:7891 presented a different certificate')).toBe('https://192.168.1.66:7891 presented a different certificate.');
    expect(messageSentence(' Done. ')).toBe('Done.');
  });

  it('lets a long address break after its colons only', () => {
    expect(addressPieces('[fd12:3456::1]:7891')).toEqual(['[fd12:', '3456:', ':', '1]:', '7891']);
    expect(addressPieces('192.168.1.20:7891').join('')).toBe('192.168.1.20:7891');
  });

  it('names the port to let in', () => {
    expect(sharingPortText(7891)).toBe('Others join on port 7891 (TCP); allow it in this computer\u2019s firewall if asked.');
  });
});
