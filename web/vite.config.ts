/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The billing API serves the built app under /app/ (same origin as /api/billing/, so no CORS).
export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.tsx", "src/**/*.test.ts"],
    // A page's first render in jsdom (lazy chunks, many queries) took over the default 5 s on a loaded 2-core machine.
    testTimeout: 20_000,
  },
});
