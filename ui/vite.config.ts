/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// Set by `tauri android|ios dev` so that a device can reach the dev server.
const host = process.env.TAURI_DEV_HOST;

export default defineConfig({
  // Keep Tauri's and Rust's output visible.
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
    host: host || false,
    hmr: host ? { protocol: 'ws', host, port: 1421 } : undefined,
    // The Rust side rebuilds on its own.
    watch: { ignored: ['**/src-tauri/**'] },
  },
  envPrefix: ['VITE_', 'TAURI_ENV_*'],
  build: {
    // Tauri uses Chromium on Windows and WebKit on macOS, Linux and mobile.
    target: process.env.TAURI_ENV_PLATFORM === 'windows' ? 'chrome105' : 'safari15',
    sourcemap: !!process.env.TAURI_ENV_DEBUG,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
