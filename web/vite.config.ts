/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

// `npm run dev` serves the app on :5173 and hands the API to `ticketflow dev`
// (BACKEND_URL, default http://127.0.0.1:8080), WebSocket included.
const backend = process.env.BACKEND_URL ?? 'http://127.0.0.1:8080'
const api = { target: backend, changeOrigin: false }

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/auth/': api,
      '/helpdesk/': api,
      '/workflow/': api,
      // The messaging service accepts WebSockets only from its own origins;
      // this proxy speaks for the page, so it presents the backend's.
      '/messaging/ws': {
        ...api,
        ws: true,
        configure: (proxy) => proxy.on('proxyReqWs', (req) => req.setHeader('origin', backend)),
      },
      '/messaging/': api,
      '/notifications': api,
    },
  },
  build: { sourcemap: true },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
})
