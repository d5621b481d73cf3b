import { resolve } from 'node:path'
import { defineConfig } from 'vite'

// The dashboard page. The weekly report's charts bundle is a second, self-contained build
// (vite.report.config.js -> dist/report/report.js), which the report inlines.
export default defineConfig({
  base: '/dashboard/',
  build: {
    chunkSizeWarningLimit: 2000,
    rollupOptions: { input: { main: resolve(__dirname, 'index.html') } },
  },
})
