import { resolve } from 'node:path'
import { defineConfig } from 'vite'

// One IIFE file with ECharts inside: the weekly report inlines it, so it works offline.
export default defineConfig({
  // Library mode leaves ECharts' `process.env.NODE_ENV` checks in; a browser has no
  // `process`, and the report's charts never rendered.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    outDir: 'dist/report',
    emptyOutDir: false,
    chunkSizeWarningLimit: 2000,
    lib: {
      entry: resolve(__dirname, 'src/report.js'),
      name: 'AnalyticsReport',
      formats: ['iife'],
      fileName: () => 'report.js',
    },
  },
})
