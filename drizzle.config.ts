import { defineConfig } from "drizzle-kit";

// Generates SQL only (no database connection): wrangler applies it locally and remotely.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
