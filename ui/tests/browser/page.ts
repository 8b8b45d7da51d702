// The browser tests' page (mock.html): the UI over the mock backend, or over a real core when
// `?bridge=ws://…` names a parley-bridge (bridge-backend.ts).
if (new URLSearchParams(location.search).has('bridge')) await import('./bridge-backend');
else await import('./mock-backend');
await import('../../src/main');
export {};
