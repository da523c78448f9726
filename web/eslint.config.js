import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/api/schema.d.ts"] },
  {
    extends: [js.configs.recommended, ...tseslint.configs.strict],
    files: ["**/*.{ts,tsx}"],
    languageOptions: { ecmaVersion: 2022, globals: globals.browser },
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
    },
  },
  // docs/web.md: a feature never imports another feature (shared pieces live in api/, ui/ or sections/);
  // a section imports neither features nor other sections.
  {
    files: ["src/features/**/*.{ts,tsx}", "src/sections/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^\\.\\./(?!\\.\\./)", message: "import from api/, ui/, app/ or sections/, not a sibling feature" },
            { regex: "/features/", message: "a feature's code stays in its feature" },
          ],
        },
      ],
    },
  },
  {
    files: ["src/sections/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^\\.\\./(?!\\.\\./)|/features/|/sections/|/app/", message: "a section imports from api/ and ui/ only" }] },
      ],
    },
  },
);
