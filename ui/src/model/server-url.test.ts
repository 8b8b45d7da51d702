import { describe, expect, it } from 'vitest';
import { firewallHint, inviteServer, isInvite, isLoopbackHost, normalizeServerUrl, serverEndpoint } from './server-url';

function ok(input: string): string {
  const result = normalizeServerUrl(input);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(input)} to be accepted: ${result.error}`);
  return result.url;
}

function error(input: string): string {
  const result = normalizeServerUrl(input);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected, got ${result.url}`);
  return result.error;
}

describe('normalizeServerUrl', () => {
  it('assumes https for a bare host name', () => {
    expect(ok('chat.example.org')).toBe('https://chat.example.org');
    expect(ok('  Chat.Example.ORG:8443  ')).toBe('https://chat.example.org:8443');
  });

  it('assumes http for loopback hosts without a scheme', () => {
    expect(ok('localhost:8080')).toBe('http://localhost:8080');
    expect(ok('127.0.0.1:3000/')).toBe('http://127.0.0.1:3000');
    expect(ok('[::1]:9000')).toBe('http://[::1]:9000');
  });

  it('keeps an explicit scheme, even http for remote hosts', () => {
    expect(ok('http://chat.example.org')).toBe('http://chat.example.org');
    expect(ok('https://localhost:8443')).toBe('https://localhost:8443');
  });

  it('drops default ports and trailing slashes but keeps a base path', () => {
    expect(ok('https://example.org:443/')).toBe('https://example.org');
    expect(ok('http://example.org:80')).toBe('http://example.org');
    expect(ok('example.org/parley//')).toBe('https://example.org/parley');
  });

  it('maps WebSocket URLs to their HTTP equivalents', () => {
    expect(ok('wss://example.org/parley')).toBe('https://example.org/parley');
    expect(ok('WS://localhost:8080')).toBe('http://localhost:8080');
  });

  it('rejects empty input, spaces and other schemes', () => {
    expect(error('   ')).toMatch(/enter/i);
    expect(error('exa mple.org')).toMatch(/spaces/);
    expect(error('ftp://example.org')).toMatch(/"ftp:"/);
    expect(error('javascript://alert(1)')).toMatch(/"javascript:"/);
  });

  it('rejects credentials, queries, fragments and malformed hosts', () => {
    expect(error('https://user:secret@example.org')).toMatch(/password/);
    expect(error('example.org/?room=1')).toMatch(/"\?"/);
    expect(error('example.org/#x')).toMatch(/"#"/);
    expect(error('example.org:99999')).toMatch(/not a valid/);
  });
});

describe('isLoopbackHost', () => {
  it('recognises loopback names and addresses only', () => {
    for (const host of ['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.1.2.3', '[::1]']) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of ['example.org', 'localhost.example.org', '10.0.0.1', '128.0.0.1', '[::2]']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });
});

const INVITE = 'parley://join?server=https%3A%2F%2F192.168.1.20%3A7891&fp=PyqRvAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

describe('invites', () => {
  it('are recognised whatever the case and spaces around, and kept whole', () => {
    expect(isInvite(INVITE)).toBe(true);
    expect(isInvite(`  PARLEY://JOIN?server=x`)).toBe(true);
    expect(isInvite('parley://other')).toBe(false);
    expect(isInvite('https://chat.example.org')).toBe(false);
    expect(ok(`  ${INVITE} `)).toBe(INVITE);
  });

  it('name their server', () => {
    expect(inviteServer(INVITE)).toBe('https://192.168.1.20:7891');
    expect(inviteServer('parley://join?fp=abc')).toBeNull();
    expect(inviteServer('parley://join?server=%E0%A4%A&fp=x')).toBeNull();
    expect(inviteServer('chat.example.org')).toBeNull();
  });
});

describe('the port a server is reached on', () => {
  it('is the address\'s, else 443 for https and 80 for http', () => {
    expect(serverEndpoint('192.168.1.20:7891')).toEqual({ host: '192.168.1.20:7891', port: 7891, loopback: false });
    expect(serverEndpoint('chat.example.org')?.port).toBe(443);
    expect(serverEndpoint('http://chat.example.org')?.port).toBe(80);
    expect(serverEndpoint('localhost:8080')).toEqual({ host: 'localhost:8080', port: 8080, loopback: true });
    expect(serverEndpoint(INVITE)?.port).toBe(7891);
    expect(serverEndpoint('ftp://x')).toBeNull();
  });

  it('is named when an unreachable server is on another computer', () => {
    expect(firewallHint('https://192.168.1.20:7891')).toBe('If the server is on another computer, its firewall must let in TCP port 7891.');
    expect(firewallHint('chat.example.org')).toMatch(/TCP port 443\.$/);
    expect(firewallHint('http://10.0.0.5')).toMatch(/TCP port 80\.$/);
    expect(firewallHint(INVITE)).toMatch(/TCP port 7891\.$/);
    expect(firewallHint('http://127.0.0.1:8080')).toBeNull();
    expect(firewallHint('localhost:8080')).toBeNull();
    expect(firewallHint('http://[::1]:8080')).toBeNull();
  });
});
