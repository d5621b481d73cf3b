import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// Built into dist/, served by the desk at / and /assets (no CDN).
export default defineConfig({
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true, assetsDir: 'assets' },
})
