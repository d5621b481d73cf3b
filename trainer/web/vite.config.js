import { defineConfig } from "vite";

// Served by the trainer blueprint at /trainer/ (trainer/http.py).
export default defineConfig({
  base: "/trainer/",
  build: { outDir: "dist", emptyOutDir: true, assetsDir: "assets" },
});
