// Rewrite the README's trigger catalog from src/plugins/catalog.ts (compiled: run `npm run build` first).
import fs from "node:fs";
import path from "node:path";
import { CATALOG_BEGIN, CATALOG_END, catalogMarkdown } from "../dist/plugins/catalog.js";

const readme = path.resolve(import.meta.dirname, "..", "README.md");
const text = fs.readFileSync(readme, "utf8");
const start = text.indexOf(CATALOG_BEGIN);
const end = text.indexOf(CATALOG_END);
if (start < 0 || end < start) throw new Error("README.md has no trigger catalog markers");
fs.writeFileSync(readme, text.slice(0, start) + catalogMarkdown() + text.slice(end + CATALOG_END.length));
console.log("README.md: trigger catalog updated");
