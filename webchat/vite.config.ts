import { defineConfig } from "vite";

// The chat page; served by the Rasa channel under /webhooks/webchat/ (relative asset paths).
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2019" },
});
