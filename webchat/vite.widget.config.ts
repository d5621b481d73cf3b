import { defineConfig } from "vite";

// The embeddable widget: one classic script (IIFE) the shop's page includes.
export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: false,
    target: "es2019",
    lib: { entry: "src/widget.ts", name: "ShopWebchat", formats: ["iife"], fileName: () => "widget.js" },
  },
});
