import { BuildFailed } from "../errors.js";

const TYPE = /^[A-Za-z0-9_-]+$/;

/** Parse a Procfile ("type: command" per line). Bad lines are a user error with the line number. */
export function parseProcfile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const idx = line.indexOf(":");
    const type = idx > 0 ? line.slice(0, idx).trim() : "";
    const command = idx > 0 ? line.slice(idx + 1).trim() : "";
    if (!TYPE.test(type) || command === "") {
      throw new BuildFailed(
        `Procfile line ${i + 1} is not "type: command": ${JSON.stringify(raw.slice(0, 80))}; fix the Procfile and push again`,
      );
    }
    out[type.toLowerCase()] = command;
  });
  return out;
}
